"""The article-page queue's bookkeeping: which items ask for their page and why, which
pages are due in a round (fairly across sources), and when a failed or refused page is
tried again. Runs raw SQL inside the caller's transaction; never commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import timedelta
from typing import Any

from peacewatch import store
from peacewatch.errors import RefusedURLError
from peacewatch.ingest.date_verdict import FETCH_TIME_SLACK
from peacewatch.ingest.netguard import check_scheme
from peacewatch.ingest.outlets import OutletRegistry, host_of
from peacewatch.timeutil import parse_iso, to_iso

__all__ = [
    "MAX_ATTEMPTS",
    "REDIRECTOR_HOSTS",
    "due_pages",
    "mark_page_failed",
    "page_error",
    "page_reason",
    "queue_page",
    "queue_pages_for_items",
]

RETRY_BASE = timedelta(hours=1)
MAX_ATTEMPTS = 5


def _dicts(db: store.Database, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def queue_page(
    db: store.Database, item_id: int, url: str, *, source_id: str | None, reason: str, now: str
) -> None:
    """Ask for an item's page to be read (once; a queued or done page stays as it is)."""
    db.execute(
        """INSERT OR IGNORE INTO page_fetches (item_id, url, source_id, reason, queued_at,
           next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)""",
        [item_id, url, source_id, reason, now, now],
    )


# Link shorteners, feed proxies and aggregators: their links say nothing about the story's
# real address, so the page is read to learn its canonical URL.
REDIRECTOR_HOSTS = {
    "feedproxy.google.com", "feeds.feedburner.com", "news.google.com", "t.co", "bit.ly",
    "ow.ly", "buff.ly", "dlvr.it", "tinyurl.com", "lnkd.in", "trib.al", "apple.news",
    "flip.it", "rss.app", "feeds.feedblitz.com", "l.facebook.com", "href.li", "rebrand.ly",
}  # fmt: skip


def page_reason(
    row: dict[str, Any], registry: OutletRegistry | None, *, fetch_time: bool = False
) -> str | None:
    """Why a feed item's article page should be read, or None when the feed said enough.
    `fetch_time`: the feed's date looks like the moment it was fetched, not published."""
    url = row.get("url")
    if not url:
        return None
    try:
        check_scheme(str(url))  # never queue what could not be fetched (file:, example.org)
    except RefusedURLError:
        return None
    host = host_of(str(url))
    if host in REDIRECTOR_HOSTS or any(host.endswith("." + h) for h in REDIRECTOR_HOSTS):
        return "untrusted_link"
    outlet = registry.get(str(row.get("outlet_id"))) if registry is not None else None
    if (
        outlet is not None
        and outlet.domains
        and registry is not None
        and registry.by_domain(str(url)) is not outlet
    ):
        return "untrusted_link"  # a link away from the outlet's own site
    if row.get("published") is None:
        return "no_date"
    if fetch_time:
        return "fetch_time_date"
    if not row.get("summary"):
        return "no_summary"
    return None


def queue_pages_for_items(
    db: store.Database,
    item_ids: Iterable[int],
    *,
    source_id: str | None,
    registry: OutletRegistry | None,
    now: str,
    reasons: Collection[str] | None = None,
) -> int:
    """Queue the article pages of new feed items that lack a date, a summary or a
    trustworthy link, or whose date is the fetch time (only for `reasons`, when given);
    return how many were queued."""
    queued = 0
    ids = list(item_ids)
    for start in range(0, len(ids), 500):  # one query per 500 items, not one per item
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = _dicts(
            db,
            f"SELECT id, url, outlet_id, published, summary FROM items WHERE id IN ({marks})",
            chunk,
        )
        stamps = Counter(row["published"] for row in found if row["published"])
        for row in found:
            reason = page_reason(row, registry, fetch_time=_fetch_time(row, stamps, now))
            if reason is not None and (reasons is None or reason in reasons):
                queue_page(db, row["id"], row["url"], source_id=source_id, reason=reason, now=now)
                queued += 1
    return queued


def _fetch_time(row: dict[str, Any], stamps: Counter[str], now: str) -> bool:
    """A date within seconds of the poll, or one several new items share near the poll: the
    feed stamps entries with the time it was generated."""
    if not row["published"]:
        return False
    gap = abs(parse_iso(row["published"]) - parse_iso(now))
    return gap <= timedelta(seconds=60) or (
        gap <= FETCH_TIME_SLACK and stamps[row["published"]] > 1
    )


def due_pages(
    db: store.Database,
    *,
    now: str,
    limit: int = 100,
    per_source: int = 20,
    imported_only: bool = False,
) -> list[dict[str, Any]]:
    """The pages one round of the page queue reads: due (pending, or refused and past their
    backoff), at most `per_source` of one source's (imported lists count as one source),
    taken in turns across sources so that one busy source cannot starve the others."""
    where = (
        "p.state IN ('pending', 'refused') AND p.next_attempt_at IS NOT NULL"
        " AND p.next_attempt_at <= ?"
    )
    if imported_only:
        where += " AND p.source_id IS NULL"
    return _dicts(
        db,
        f"""SELECT * FROM (
              SELECT p.*, i.outlet_id, o.timezone, row_number() OVER (
                PARTITION BY p.source_id ORDER BY p.queued_at, p.item_id) AS turn
              FROM page_fetches p
              JOIN items i ON i.id = p.item_id JOIN outlets o ON o.id = i.outlet_id
              WHERE {where})
            WHERE turn <= ? ORDER BY turn, queued_at, item_id LIMIT ?""",
        [now, per_source, limit],
    )


def page_error(db: store.Database, item_id: int) -> str:
    """The error recorded for an item's page ("" when none)."""
    row = db.execute("SELECT error FROM page_fetches WHERE item_id = ?", [item_id]).fetchone()
    return str(row[0]) if row and row[0] else ""


def mark_page_failed(
    db: store.Database,
    item_id: int,
    *,
    now: str,
    error: str,
    refused: bool = False,
    http_status: int | None = None,
    refused_backoff: timedelta = timedelta(days=1),
) -> None:
    """A refused page (unresolvable host, private address, robots.txt) is tried again after
    `refused_backoff`, doubling; a failed one after an hour, doubling; either at most
    MAX_ATTEMPTS times."""
    row = db.execute("SELECT attempts FROM page_fetches WHERE item_id = ?", [item_id]).fetchone()
    attempts = (int(row[0]) if row else 0) + 1
    if refused:
        state = "refused"
        next_at = (
            to_iso(parse_iso(now) + refused_backoff * 2 ** (attempts - 1))
            if attempts < MAX_ATTEMPTS
            else None
        )
    elif attempts >= MAX_ATTEMPTS:
        state, next_at = "failed", None
    else:
        state, next_at = "pending", to_iso(parse_iso(now) + RETRY_BASE * 2 ** (attempts - 1))
    db.execute(
        """UPDATE page_fetches SET state = ?, attempts = ?, last_attempt_at = ?,
           next_attempt_at = ?, http_status = ?, error = ? WHERE item_id = ?""",
        [state, attempts, now, next_at, http_status, error, item_id],
    )
