"""A poll's bookkeeping on its source: when the next poll comes (jitter, the adaptive interval
from the source's recent polls, backoff after failures), whether the server's validators can
still be trusted, and the record of a failed poll.

Separate from `pipeline`, which decides what happens in a poll and in what order: this is the
arithmetic and the source-row reads and writes around it. The pure part of the cadence is
`ingest.cadence` (no clock, database or randomness); these helpers read those from the Runtime.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from peacewatch import store
from peacewatch.ingest.cadence import Cadence, format_seconds, header_floor, next_interval
from peacewatch.models import FetchResult, Source, SourceReport, Validators
from peacewatch.runtime import Runtime
from peacewatch.timeutil import add_seconds, parse_iso, to_iso

# the conductor's logger: these lines keep the name that log filters and readers know
log = logging.getLogger("peacewatch.pipeline")


def next_poll(rt: Runtime, now: str, interval: float) -> str:
    jitter = rt.config.settings.schedule.jitter
    return add_seconds(now, interval * (1 + rt.rng.uniform(-jitter, jitter)))


def adapt_interval(
    rt: Runtime,
    source: Source,
    result: FetchResult,
    *,
    now: str,
    items_total: int,
    items_new: int,
    floor: tuple[float, str] | None,
    row: dict | None = None,
) -> Cadence:
    """The wait before a source's next poll after a successful one (ingest.cadence): from
    the rate of new items over the last week and this poll's share of seen items, within
    the source's min_interval and max_interval, never sooner than the feed (ttl,
    sy:updatePeriod; remembered for 304s) or the response (Cache-Control, Expires) allow.
    `row`: the source's row as read before this poll (read here when not given)."""
    if row is None:
        row = store.source_row(rt.db, source.id) or {}
    first_poll = row.get("last_success_at") is None
    history = [(0.0, items_new)]
    if items_new and not first_poll:  # only a poll with new items looks at the rate
        at = parse_iso(now)
        week_ago = to_iso(at - timedelta(days=7))
        history[:0] = [
            ((at - parse_iso(started)).total_seconds(), new)
            for started, new in store.recent_polls(rt.db, source.id, week_ago)
        ]
    floors = []
    if floor is not None:
        floors.append(floor)
    elif row.get("feed_floor"):
        floors.append((float(row["feed_floor"]), str(row["feed_floor_reason"])))
    from_headers = header_floor(result.headers, rt.clock())
    if from_headers is not None:
        floors.append(from_headers)
    return next_interval(
        current=float(row.get("poll_interval") or source.interval),
        minimum=float(max(60, source.min_interval)), maximum=float(source.max_interval),
        first_poll=first_poll, items_total=items_total,
        items_new=items_new, history=history, floors=floors,
    )  # fmt: skip


def backoff_delay(
    rt: Runtime, failures: int, interval: float, retry_after: float | None = None
) -> float:
    """Seconds until the next try after `failures` consecutive failures (>= 1).

    Retry-After wins when the server sent one; otherwise the delay doubles from a few
    minutes, with jitter so failing sources do not retry in lockstep, capped at max_backoff.
    A source is never given up: at worst it is tried once per max_backoff.
    """
    cap = rt.config.settings.schedule.max_backoff
    if retry_after is not None:
        return min(max(retry_after, 1.0), cap)
    base = min(cap, min(interval, 300.0) * 2 ** (failures - 1))
    return min(cap, rt.rng.uniform(base * 0.75, base * 1.25))


def _body_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _validators_lied(stored: Validators, result: FetchResult, body_hash: str) -> bool:
    """The server sent the validators we hold, with a body that differs from last time."""
    if not stored.body_hash or stored.body_hash == body_hash:
        return False
    if result.etag and stored.etag:
        return result.etag == stored.etag
    return bool(result.last_modified and result.last_modified == stored.last_modified)


def _record_failure(
    rt: Runtime,
    source: Source,
    row: dict,
    *,
    started: str,
    elapsed_ms: int,
    outcome: str,
    status: int | None,
    error: str,
    nbytes: int = 0,
    retry_after: float | None = None,
    conditional: bool = False,
    failed_body: str | None = None,
) -> SourceReport:
    now = rt.now()
    failures = int(row["consecutive_failures"]) + 1
    delay = backoff_delay(rt, failures, source.interval, retry_after)
    next_due = add_seconds(now, delay)
    reason = (
        f"Retry-After: {format_seconds(delay)}"
        if retry_after is not None
        else f"backoff after {failures} failure{'s' if failures > 1 else ''}: "
        f"{format_seconds(delay)}"
    )
    with store.transaction(rt.db):
        store.record_fetch(
            rt.db, source_id=source.id, url=row["url"], started_at=started, finished_at=now,
            outcome=outcome, status=status, nbytes=nbytes, elapsed_ms=elapsed_ms,
            conditional=conditional, error=error,
        )  # fmt: skip
        store.mark_failure(rt.db, source.id, now=now, next_due=next_due, status=status,
                           outcome=outcome, error=error, reason=reason,
                           failed_body=failed_body)  # fmt: skip
    log.warning("source %s failed (%s): %s; next try %s", source.id, outcome, error, next_due)
    return SourceReport(source.id, outcome, status=status, error=error, next_due=next_due)
