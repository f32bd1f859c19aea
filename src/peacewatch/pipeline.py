"""The one conductor: fetch -> parse -> store (-> tag) for each source, and the health that
follows from it. Only this module knows the order; each step lives in its own module.

Everything a fetch writes (items, the fetch record, the source's health and validators) goes
in one transaction with no await inside, so neither a kill nor a cancelled task can leave a
half-stored fetch.

Longer than 500 lines because it is the one conductor: every decision about order (poll,
parse, store, tag, read the pages a poll queued) is kept here on purpose, not spread out.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from peacewatch import store
from peacewatch.config import Config
from peacewatch.errors import FetchError, ParseError, RefusedURLError
from peacewatch.ingest.articles import Article, extract_article
from peacewatch.ingest.feeds import parse_feed, parse_feed_call
from peacewatch.ingest.fetch import Fetcher, URLGuard
from peacewatch.ingest.netguard import check_url_async
from peacewatch.ingest.outlets import OutletRegistry, load_outlets
from peacewatch.ingest.parsepool import ParsePool, resolve_workers
from peacewatch.ingest.readinglist import parse_html_list, parse_text_list
from peacewatch.ingest.robots import RobotsCache
from peacewatch.ingest.urls import canonicalize_url
from peacewatch.models import (
    FetchResult,
    ParsedFeed,
    ParsedItem,
    RunReport,
    SaveReport,
    Source,
    SourceReport,
    Validators,
)
from peacewatch.store import languages
from peacewatch.store import pages as article_store
from peacewatch.store import stories as story_store
from peacewatch.store import tags as tag_store
from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cluster import Settings as StorySettings
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
    outlets: OutletRegistry | None = None  # config/outlets.toml, loaded on first use
    robots: RobotsCache | None = None  # robots.txt answers per host, for article pages
    pages_per_poll: int = 20  # article pages read after one poll of a source
    outlets_synced: bool = False  # registry written to the database by this runtime
    stories: story_store.StoryIndex | None = None  # the window's stories, made on first use

    def __post_init__(self) -> None:
        if self.outlets is None:
            self.outlets = self.config.outlets or load_outlets(self.config.config_dir)
        if self.robots is None:
            self.robots = RobotsCache(self._fetch_robots, self.config.settings.http.user_agent)

    async def _fetch_robots(self, url: str) -> tuple[int, bytes]:
        origin = urlsplit(url).hostname

        async def guard(target: str) -> None:
            # the page's host was checked already; a redirect elsewhere is checked afresh
            if urlsplit(target).hostname != origin:
                await check_url_async(target)

        try:
            result = await self.fetcher.get(url, accept="text/plain, */*;q=0.5", guard=guard)
        except RefusedURLError:
            raise
        except FetchError as error:
            if error.status is not None and 400 <= error.status < 500:
                return error.status, b""
            raise
        return result.status, result.content

    def now(self) -> str:
        return to_iso(self.clock())

    def story_index(self) -> story_store.StoryIndex:
        if self.stories is None:
            self.stories = make_story_index(self.config)
        return self.stories

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


def outlet_id(rt: Runtime, name: str) -> str:
    """The registered outlet a source names, else the slug the core derives from the name."""
    known = rt.outlets.resolve(name) if rt.outlets is not None else None
    return known.id if known is not None else store.outlet_id_for(name)


def sync_configuration(db: store.Database, config: Config, now: str) -> None:
    """Write the outlet registry (folding derived outlets it now describes into registered
    ones), then the configured sources, pointing at registered outlets."""
    registry = config.outlets or OutletRegistry({})
    _sync_registry(db, registry)
    sources = []
    for source in config.sources:
        known = registry.resolve(source.outlet)
        # a registered outlet's id is its own slug, so the core's outlet_id_for keeps it
        sources.append(replace(source, outlet=known.id) if known is not None else source)
    store.sync_sources(db, sources, now)


def _sync_registry(db: store.Database, registry: OutletRegistry) -> None:
    """Write the registry and fold derived outlets it now describes into registered ones."""
    with store.transaction(db):
        merges = article_store.sync_outlets(db, registry)
    for derived, registered in merges:
        log.info("outlet %s is now described in outlets.toml as %s: merged", derived, registered)


def sync_outlets(rt: Runtime) -> None:
    _sync_registry(rt.db, rt.outlets or OutletRegistry({}))
    rt.outlets_synced = True


def sync_sources(rt: Runtime, now: str) -> None:
    sync_configuration(rt.db, rt.config, now)
    rt.outlets_synced = True


def _parse_list(
    rt: Runtime, source: Source, result: FetchResult
) -> tuple[list[ParsedItem], str | None]:
    content_type = result.headers.get("content-type", "")
    today = rt.clock().date()
    if "text/plain" in content_type:
        text = result.content.decode("utf-8", errors="replace")
        parsed = parse_text_list(text, registry=rt.outlets, today=today)
    else:
        parsed = parse_html_list(
            result.content, result.url, registry=rt.outlets, today=today, headers=result.headers
        )
    items = [
        ParsedItem(
            title=entry.title,
            url=entry.url,
            canonical_url=None,
            published=entry.published,
            published_local=entry.date if entry.date_precision == "day" else None,
            author=entry.author,
            outlet=entry.outlet,
            extra={"list_entry": entry},
        )
        for entry in parsed.entries
    ]
    warning = None
    if parsed.problems:
        shown = "; ".join(f"line {p.line}: {p.reason}" for p in parsed.problems[:5])
        more = f" (+{len(parsed.problems) - 5} more)" if len(parsed.problems) > 5 else ""
        warning = f"{len(parsed.problems)} list lines skipped: {shown}{more}"
    if not items and not parsed.problems:
        raise ParseError("empty_list", "no reading-list entries found on the page")
    return items, warning


def _parse_page(rt: Runtime, source: Source, result: FetchResult) -> list[ParsedItem]:
    article = extract_article(
        result.content, result.url, headers=result.headers, now=rt.clock(),
        timezone=source.timezone,
    )  # fmt: skip
    if not article.title:
        raise ParseError("no_headline", "the page has no headline")
    item = ParsedItem(
        title=article.title, url=result.url, canonical_url=None,
        published=article.published, published_local=article.published_local,
        date_candidates=article.date_candidates, updated=article.modified, summary=article.lead,
        author=article.author, lang=article.lang or source.lang,
        lang_source="page" if article.lang else "source" if source.lang else None,
    )  # fmt: skip
    return [item]


def _feed_warning(parsed: ParsedFeed) -> str | None:
    if not parsed.bozo:
        return None
    return f"malformed feed, recovered {len(parsed.items)} items: {parsed.bozo}"


def parse_result(
    source: Source, result: FetchResult, rt: Runtime | None = None
) -> tuple[list[ParsedItem], str | None]:
    """Items and a warning (a recovered malformed feed, skipped list lines) from a body."""
    if rt is not None and source.kind == "list":
        return _parse_list(rt, source, result)
    if rt is not None and source.kind == "page":
        return _parse_page(rt, source, result), None
    parsed = parse_feed(**_feed_arguments(source, result))
    return parsed.items, _feed_warning(parsed)


def _feed_arguments(source: Source, result: FetchResult) -> dict[str, Any]:
    return {
        "content": result.content, "url": result.url, "headers": result.headers,
        "lang": source.lang, "timezone": source.timezone, "outlet": source.outlet,
    }  # fmt: skip


def make_story_index(config: Config) -> story_store.StoryIndex:
    """The story index for a configuration: its alias table and the default settings."""
    aliases = config.aliases if config.aliases is not None else AliasTable()
    return story_store.StoryIndex(aliases, StorySettings())


def after_store(rt: Runtime, item_ids: list[int], now: str) -> None:
    """Steps that run on new and changed items inside the fetch's transaction."""
    process_items(rt.db, rt.config, item_ids, now, rt.story_index())


def process_items(
    db: store.Database,
    config: Config,
    item_ids: list[int],
    now: str,
    stories: story_store.StoryIndex | None = None,
) -> None:
    """The language of items that declare none, tagging (so an item is never stored without
    its tags), then its story, which reads the tags (an item already in a story keeps it
    until `recluster`). Inside the caller's transaction; used by polls and import-list."""
    if not item_ids:
        return
    languages.detect_items(db, item_ids)
    if config.ruleset is not None:
        tag_store.tag_items(db, item_ids, config.ruleset, now)
    (stories or make_story_index(config)).cluster_items(db, item_ids, now)


async def poll_source(rt: Runtime, source_id: str) -> SourceReport:
    """One poll of one source, recorded whatever happens, then the article pages it queued
    (list entries, feed entries lacking a date, summary or trustworthy link). Never raises
    PeacewatchError."""
    if not rt.outlets_synced:
        sync_outlets(rt)  # also when the caller synced sources with store.sync_sources
    report = await _poll(rt, source_id)
    source = rt.source(source_id)
    if source is not None and report.error is None:
        await read_article_pages(rt, source_id=source_id, allow_private=source.allow_private)
    return report


async def _poll(rt: Runtime, source_id: str) -> SourceReport:
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
        if source.kind in ("list", "page"):
            # small pages, read with the outlet registry and the clock: in this process
            items, warning = parse_result(source, result, rt)
        elif rt.parse_pool is not None:
            # the worker runs feeds.parse_feed itself, so it never imports the rest of us
            parsed = await rt.parse_pool.run(parse_feed_call, _feed_arguments(source, result))
            items, warning = parsed.items, _feed_warning(parsed)
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


def _extract_page(rt: Runtime, result: FetchResult, timezone: str | None) -> Article:
    """extract_article on a body from the web: a failure on one page is that page's failure
    (recorded and retried later), never the source's or the cycle's."""
    try:
        return extract_article(
            result.content, result.url, headers=result.headers, now=rt.clock(), timezone=timezone
        )
    except (ValueError, LookupError, RecursionError, AssertionError) as error:
        log.exception("cannot read article page %s", result.url)
        raise ParseError("unreadable_page", f"cannot read the page: {error!r}") from error


def page_guard(rt: Runtime, *, allow_private: bool) -> URLGuard:
    """Checks for every URL of an article page's redirect chain: scheme, address, robots."""

    async def guard(url: str) -> None:
        await check_url_async(url, allow_private=allow_private)
        if rt.robots is not None:
            await rt.robots.check(url, now=rt.clock())

    return guard


PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


async def read_article_pages(
    rt: Runtime, *, source_id: str | None, allow_private: bool = False
) -> dict[str, int]:
    """Fetch the due article pages queued by a source (or by import-list when None), read
    them and fold what they say into their items. Returns counts per outcome."""
    due = article_store.due_pages(rt.db, now=rt.now(), source_id=source_id,
                                  limit=rt.pages_per_poll)  # fmt: skip
    if not due:
        return {}
    guard = page_guard(rt, allow_private=allow_private)

    async def one(page: dict) -> str:
        try:
            # tracking parameters stripped: the same page, without telling anyone we came
            url = canonicalize_url(page["url"])
            result = await rt.fetcher.get(
                url, source_id=source_id or "", accept=PAGE_ACCEPT, guard=guard
            )
            article = _extract_page(rt, result, page["timezone"])
        except RefusedURLError as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(rt.db, page["item_id"], now=rt.now(),
                                               error=str(error), refused=True)  # fmt: skip
            log.info("article page refused: %s", error)
            return "refused"
        except (FetchError, ParseError) as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(
                    rt.db, page["item_id"], now=rt.now(), error=str(error),
                    http_status=getattr(error, "status", None),
                )  # fmt: skip
            return "failed"
        now = rt.now()
        with store.transaction(rt.db):
            changed = article_store.apply_article(
                rt.db, page["item_id"], article, now=now, http_status=result.status
            )
            if changed:
                after_store(rt, [page["item_id"]], now)
        return "done"

    outcomes = await asyncio.gather(*(one(page) for page in due))
    counts = {name: outcomes.count(name) for name in set(outcomes)}
    log.info("article pages for %s: %s", source_id or "imported lists", counts)
    return counts


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
        if items and source.kind == "list":
            entries = [item.extra["list_entry"] for item in items]
            report = article_store.save_list_entries(
                rt.db, entries, list_ref=source.id, source_id=source.id,
                registry=rt.outlets or OutletRegistry({}), now=now,
            )  # fmt: skip
            after_store(rt, [*report.new, *report.changed], now)
        elif items:
            outlet = outlet_id(rt, source.outlet)
            report = store.save_items(
                rt.db, items, source_id=source.id, outlet_id=outlet, now=now
            )  # fmt: skip
            article_store.queue_pages_for_items(
                rt.db, report.new, source_id=source.id, registry=rt.outlets, now=now
            )
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
        sync_sources(rt, rt.now())
        report = await run_cycle(rt, select_sources(rt, all_sources=all_sources, only=only))
        await read_article_pages(rt, source_id=None)  # pages queued by import-list
        return report
    finally:
        if pool is not None:
            pool.close()
        if own:
            await fetcher.aclose()


def run_once(
    config: Config, db: store.Database, *, all_sources: bool = False, only: Iterable[str] = ()
) -> RunReport:
    return asyncio.run(run_once_async(config, db, all_sources=all_sources, only=only))
