"""The one conductor: fetch -> parse -> store (-> tag) for each source, and the health that
follows from it. Only this module knows the order; each step lives in its own module.

Everything a fetch writes (items, the fetch record, the source's health and validators) goes
in one transaction with no await inside, so neither a kill nor a cancelled task can leave a
half-stored fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from peacewatch import store, tag_store
from peacewatch.config import Config
from peacewatch.errors import FetchError, ParseError
from peacewatch.feeds import parse_feed
from peacewatch.fetch import Fetcher
from peacewatch.models import (
    FetchResult,
    ParsedItem,
    RunReport,
    SaveReport,
    Source,
    SourceReport,
    Validators,
)
from peacewatch.parsepool import ParsePool, resolve_workers
from peacewatch.timeutil import add_seconds, parse_iso, to_iso

log = logging.getLogger("peacewatch.pipeline")

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What a poll needs, injected so tests can swap the clock, randomness or transport."""

    config: Config
    db: store.Database
    fetcher: Fetcher
    clock: Clock = _utcnow
    rng: random.Random = field(default_factory=random.Random)
    parse_pool: ParsePool | None = None  # None: parse in this process

    def now(self) -> str:
        return to_iso(self.clock())

    def source(self, source_id: str) -> Source | None:
        for source in self.config.sources:
            if source.id == source_id:
                return source
        return None


def next_poll(rt: Runtime, now: str, interval: float) -> str:
    jitter = rt.config.settings.schedule.jitter
    return add_seconds(now, interval * (1 + rt.rng.uniform(-jitter, jitter)))


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


def parse_result(source: Source, result: FetchResult) -> tuple[list[ParsedItem], str | None]:
    """Items and a warning (a recovered malformed feed) from a fetched body."""
    parsed = parse_feed(
        result.content,
        url=result.url,
        headers=result.headers,
        lang=source.lang,
        timezone=source.timezone,
        outlet=source.outlet,
    )
    warning = (
        f"malformed feed, recovered {len(parsed.items)} items: {parsed.bozo}"
        if parsed.bozo
        else None
    )
    return parsed.items, warning


def after_store(rt: Runtime, item_ids: list[int], now: str) -> None:
    """Steps that run on new and changed items inside the fetch's transaction: tagging, so an
    item is never stored without its tags."""
    if item_ids and rt.config.ruleset is not None:
        tag_store.tag_items(rt.db, item_ids, rt.config.ruleset, now)


async def poll_source(rt: Runtime, source_id: str) -> SourceReport:
    """One poll of one source, recorded whatever happens. Never raises PeacewatchError."""
    source = rt.source(source_id)
    row = store.source_row(rt.db, source_id)
    if source is None or row is None:
        return SourceReport(source_id, "unknown_source", error="not in the configuration")
    url = row["url"]
    stored = store.source_validators(rt.db, row)
    settings = rt.config.settings
    started = rt.now()
    # Now and then fetch without validators: some servers keep them after the feed changed.
    last_plain = row["last_unconditional_at"]
    unconditional = (
        last_plain is None
        or (parse_iso(started) - parse_iso(last_plain)).total_seconds()
        >= settings.http.unconditional_every
    )
    send = None if unconditional else stored
    t0 = time.monotonic()
    try:
        result = await rt.fetcher.get(url, source_id=source_id, validators=send)
    except FetchError as error:
        return _record_failure(
            rt, source, row, started=started, elapsed_ms=int((time.monotonic() - t0) * 1000),
            outcome=error.outcome, status=error.status, error=str(error),
            nbytes=error.bytes_read, retry_after=error.retry_after, conditional=send is not None,
        )  # fmt: skip
    if result.not_modified:
        return _record_success(
            rt, source, result, started=started, outcome="not_modified",
            validators=Validators(
                etag=result.etag or stored.etag,
                last_modified=result.last_modified or stored.last_modified,
                body_hash=stored.body_hash, trust_validators=stored.trust_validators,
            ),
            unconditional=unconditional,
        )  # fmt: skip
    body_hash = _body_hash(result.content)
    trust = stored.trust_validators
    if trust and _validators_lied(stored, result, body_hash):
        log.warning("source %s: body changed under unchanged validators; no longer sending them",
                    source_id)  # fmt: skip
        trust = False
    validators = Validators(result.etag, result.last_modified, body_hash, trust)
    if body_hash == stored.body_hash:
        return _record_success(rt, source, result, started=started, outcome="unchanged",
                               validators=validators, unconditional=unconditional)  # fmt: skip
    try:
        if rt.parse_pool is not None:
            items, warning = await rt.parse_pool.run(parse_result, source, result)
        else:
            items, warning = parse_result(source, result)
    except ParseError as error:
        return _record_failure(
            rt, source, row, started=started, elapsed_ms=result.elapsed_ms,
            outcome=error.outcome, status=result.status, error=str(error),
            nbytes=len(result.content), conditional=result.conditional,
        )  # fmt: skip
    return _record_success(rt, source, result, started=started, outcome="ok", items=items,
                           warning=warning, validators=validators,
                           unconditional=unconditional)  # fmt: skip


def _record_success(
    rt: Runtime,
    source: Source,
    result: FetchResult,
    *,
    started: str,
    outcome: str,
    validators: Validators,
    unconditional: bool,
    items: list[ParsedItem] | None = None,
    warning: str | None = None,
) -> SourceReport:
    now = rt.now()
    next_due = next_poll(rt, now, source.interval)
    new_url = result.permanent_redirect
    with store.transaction(rt.db):
        report = SaveReport()
        if items:
            report = store.save_items(
                rt.db, items, source_id=source.id, outlet_id=store.outlet_id_for(source.outlet),
                now=now,
            )  # fmt: skip
            after_store(rt, [*report.new, *report.changed], now)
        store.record_fetch(
            rt.db, source_id=source.id, url=result.url, started_at=started, finished_at=now,
            outcome=outcome, status=result.status, nbytes=len(result.content),
            elapsed_ms=result.elapsed_ms, conditional=result.conditional, error=warning,
            items_total=len(items or []), report=report,
        )  # fmt: skip
        store.mark_success(
            rt.db, source.id, now=now, next_due=next_due, status=result.status, outcome=outcome,
            validators=validators, new_url=new_url, unconditional=unconditional,
        )  # fmt: skip
    if new_url:
        log.info("source %s moved permanently to %s", source.id, new_url)
    if warning:
        log.warning("source %s: %s", source.id, warning)
    return SourceReport(
        source.id, outcome, status=result.status, items_new=len(report.new),
        items_seen=report.seen, items_changed=len(report.changed), next_due=next_due,
    )  # fmt: skip


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
) -> SourceReport:
    now = rt.now()
    failures = int(row["consecutive_failures"]) + 1
    next_due = add_seconds(now, backoff_delay(rt, failures, source.interval, retry_after))
    with store.transaction(rt.db):
        store.record_fetch(
            rt.db, source_id=source.id, url=row["url"], started_at=started, finished_at=now,
            outcome=outcome, status=status, nbytes=nbytes, elapsed_ms=elapsed_ms,
            conditional=conditional, error=error,
        )  # fmt: skip
        store.mark_failure(rt.db, source.id, now=now, next_due=next_due, status=status,
                           outcome=outcome, error=error)  # fmt: skip
    log.warning("source %s failed (%s): %s; next try %s", source.id, outcome, error, next_due)
    return SourceReport(source.id, outcome, status=status, error=error, next_due=next_due)


async def run_cycle(rt: Runtime, source_ids: Iterable[str]) -> RunReport:
    """Poll the given sources concurrently (within the fetcher's limits)."""
    t0 = time.monotonic()
    reports = await asyncio.gather(*(poll_source(rt, sid) for sid in source_ids))
    return RunReport(sources=list(reports), seconds=time.monotonic() - t0)


def select_sources(
    rt: Runtime, *, all_sources: bool = False, only: Iterable[str] = ()
) -> list[str]:
    wanted = list(only)
    if wanted:
        return wanted
    if all_sources:
        return [s.id for s in rt.config.sources if s.enabled]
    return store.due_sources(rt.db, rt.now())


def make_parse_pool(config: Config) -> ParsePool | None:
    workers = resolve_workers(config.settings.parse_workers)
    return ParsePool(workers) if workers > 0 else None


async def run_once_async(
    config: Config,
    db: store.Database,
    *,
    all_sources: bool = False,
    only: Iterable[str] = (),
    fetcher: Fetcher | None = None,
) -> RunReport:
    """Sync the configured sources into the database, then poll the due (or chosen) ones."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(config.settings.http)
    pool = make_parse_pool(config)
    try:
        rt = Runtime(config, db, fetcher, parse_pool=pool)
        store.sync_sources(db, config.sources, rt.now())
        return await run_cycle(rt, select_sources(rt, all_sources=all_sources, only=only))
    finally:
        if pool is not None:
            pool.close()
        if own:
            await fetcher.aclose()


def run_once(
    config: Config, db: store.Database, *, all_sources: bool = False, only: Iterable[str] = ()
) -> RunReport:
    return asyncio.run(run_once_async(config, db, all_sources=all_sources, only=only))
