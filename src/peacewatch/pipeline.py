"""The one conductor: fetch -> parse -> store (-> tag) for each source, and the health that
follows from it. Only this module knows the order; each step lives in its own module.

Everything a fetch writes (items, the fetch record, the source's health and validators) goes
in one transaction with no await inside, so neither a kill nor a cancelled task can leave a
half-stored fetch.

Beside it, without any say in the order: `runtime` (what a poll needs, injected), `polling`
(the next poll's time, validators' trust, a failed poll's record), `parsing` (a body into
items by the source's kind) and `page_rounds` (a round of the article-page queue).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from peacewatch import page_rounds, store
from peacewatch.config import Config
from peacewatch.errors import FetchError, ParseError
from peacewatch.ingest.fetch import Fetcher
from peacewatch.ingest.outlets import OutletRegistry
from peacewatch.ingest.parsepool import parse_feed_call
from peacewatch.models import (
    FetchResult,
    ParsedItem,
    RunReport,
    SaveReport,
    Source,
    SourceReport,
    Validators,
)
from peacewatch.parsing import _feed_arguments, _feed_warning, parse_result
from peacewatch.polling import (
    _body_hash,
    _record_failure,
    _validators_lied,
    adapt_interval,
    next_poll,
)
from peacewatch.runtime import Runtime, make_page_fetcher, make_parse_pool, make_story_index
from peacewatch.store import meta
from peacewatch.store import pages as article_store
from peacewatch.timeutil import parse_iso

if TYPE_CHECKING:
    from peacewatch.store import stories as story_store

# What only some polls need is imported where it is used (here, in `parsing` and in
# `page_rounds`), so that revalidating unchanged feeds (most polls) never loads the feed
# parser (feedparser), HTML parsing (bs4, htmldate), reading lists, language detection
# (py3langid, numpy) or the tagger: ingest.feeds, ingest.articles, ingest.readinglist,
# store.languages, store.tags and the story clusterer (store.stories).
# `python -X importtime -m peacewatch` shows the difference.

log = logging.getLogger("peacewatch.pipeline")


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


def after_store(rt: Runtime, item_ids: list[int], now: str) -> None:
    """Steps that run on new and changed items inside the fetch's transaction."""
    if rt.defer_stories:
        process_items(rt.db, rt.config, item_ids, now, cluster=False)
        if item_ids:
            rt.unclustered.update(item_ids)
            meta.note_story_round_owed(rt.db)  # a kill before the round: the next run's
        return
    process_items(rt.db, rt.config, item_ids, now, rt.story_index() if item_ids else None)


def cluster_deferred(rt: Runtime) -> int:
    """Give every item without a story its story, oldest first (see Runtime.defer_stories),
    also those a killed run left; how many items were clustered. The parse worker, idle once
    the polls are done, makes the next batch's story features meanwhile (`cluster_missing`)."""
    from peacewatch.store import stories as story_store

    rt.unclustered.clear()
    offload = rt.parse_pool.submit if rt.parse_pool is not None else None
    return story_store.cluster_missing(rt.db, rt.story_index(), now=rt.now(), offload=offload)


STORY_BATCH = 500  # items per transaction of a story round


async def cluster_stories(rt: Runtime) -> int:
    """A story round: the items this runtime's polls stored since the last round get their
    stories, oldest first, one transaction per batch; the event loop gets control between
    batches, so polls go on. Returns how many items were clustered."""
    from peacewatch.store import stories as story_store

    done = 0
    while rt.unclustered:
        ids = story_store.oldest_first(rt.db, rt.unclustered)
        rt.unclustered.clear()
        try:
            while ids:
                batch = ids[:STORY_BATCH]
                with store.transaction(rt.db):
                    rt.story_index().cluster_items(rt.db, batch, rt.now())
                del ids[:STORY_BATCH]
                done += len(batch)
                # a cancelled round stops here, never inside the transaction
                await asyncio.sleep(0)
        finally:
            rt.unclustered.update(ids)  # a failed or cancelled round's rest: the next round
    return done


def process_items(
    db: store.Database,
    config: Config,
    item_ids: list[int],
    now: str,
    stories: story_store.StoryIndex | None = None,
    *,
    cluster: bool = True,
) -> None:
    """The language of items that declare none, tagging (so an item is never stored without
    its tags), then (unless not `cluster`) its story, which reads the tags (an item already
    in a story keeps it until `recluster`). Inside the caller's transaction; used by polls
    and import-list. The tagger and the clusterer are imported here: a poll that only
    revalidates loads neither."""
    if not item_ids:
        return
    from peacewatch.store import languages
    from peacewatch.store import tags as tag_store

    languages.detect_items(db, item_ids)
    if config.ruleset is not None:
        tag_store.tag_items(db, item_ids, config.ruleset, now)
    if cluster:
        (stories or make_story_index(config)).cluster_items(db, item_ids, now)


async def poll_source(rt: Runtime, source_id: str) -> SourceReport:
    """One poll of one source, recorded whatever happens. The article pages it asks for
    (list entries, feed entries lacking a date, summary or trustworthy link) are only
    queued: `read_article_pages` reads them, so a poll never waits for a page. Never raises
    PeacewatchError."""
    if not rt.outlets_synced:
        sync_outlets(rt)  # also when the caller synced sources with store.sync_sources
    return await _poll(rt, source_id)


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
            rt, source, result, row=row, started=started, outcome="not_modified",
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
        return _record_success(rt, source, result, row=row, started=started,
                               outcome="unchanged", validators=validators,
                               unconditional=unconditional)  # fmt: skip
    if body_hash == row["failed_body_hash"] and (
        (parse_iso(started) - parse_iso(row["failed_body_at"])).total_seconds()
        < settings.http.unconditional_every
    ):
        # The bytes the parser failed on last time: the same failure, not parsed again (a
        # broken feed often stays broken for weeks). Once per unconditional_every they are
        # parsed again, so that a parser that has learnt to read them gets its chance.
        return _record_failure(
            rt, source, row, started=started, elapsed_ms=result.elapsed_ms,
            outcome=row["failed_body_outcome"], status=result.status,
            error=row["failed_body_error"], nbytes=len(result.content),
            conditional=result.conditional,
        )  # fmt: skip
    floor: tuple[float, str] | None = None
    try:
        if source.kind in ("list", "page"):
            # small pages, read with the outlet registry and the clock: in this process
            items, warning = parse_result(source, result, rt)
        elif (
            rt.parse_pool is not None
            and len(result.content) > settings.parse_inline_bytes
            and rt.parse_pool.has_room
        ):
            # the worker runs feeds.parse_feed itself, so it never imports the rest of us;
            # with bodies queued for it already, this process parses instead of waiting
            parsed = await rt.parse_pool.run(parse_feed_call, _feed_arguments(source, result))
            items, warning, floor = parsed.items, _feed_warning(parsed), parsed.floor
        else:
            parsed = parse_feed_call(_feed_arguments(source, result))
            items, warning, floor = parsed.items, _feed_warning(parsed), parsed.floor
    except ParseError as error:
        return _record_failure(
            rt, source, row, started=started, elapsed_ms=result.elapsed_ms,
            outcome=error.outcome, status=result.status, error=str(error),
            nbytes=len(result.content), conditional=result.conditional, failed_body=body_hash,
        )  # fmt: skip
    return _record_success(rt, source, result, row=row, started=started, outcome="ok",
                           items=items, warning=warning, validators=validators,
                           unconditional=unconditional, floor=floor)  # fmt: skip


async def read_article_pages(
    rt: Runtime, *, imported_only: bool = False, budget: float | None = None
) -> dict[str, int]:
    """One round of the article-page queue (`page_rounds.read_article_pages`): an item a page
    changed goes on through `after_store`, as a poll's items do."""
    return await page_rounds.read_article_pages(
        rt, after_store, imported_only=imported_only, budget=budget
    )


def _record_success(
    rt: Runtime,
    source: Source,
    result: FetchResult,
    *,
    row: dict,
    started: str,
    outcome: str,
    validators: Validators,
    unconditional: bool,
    items: list[ParsedItem] | None = None,
    warning: str | None = None,
    floor: tuple[float, str] | None = None,
) -> SourceReport:
    now = rt.now()
    new_url = result.permanent_redirect
    pages = rt.config.settings.pages
    with store.transaction(rt.db):
        report = SaveReport()
        if items and source.kind == "list":
            entries = [item.extra["list_entry"] for item in items]
            report = article_store.save_list_entries(
                rt.db, entries, list_ref=source.id, source_id=source.id,
                registry=rt.outlets or OutletRegistry({}), now=now,
                queue_pages=pages.enabled and "list" in pages.items,
            )  # fmt: skip
            after_store(rt, [*report.new, *report.changed], now)
        elif items:
            outlet = outlet_id(rt, source.outlet)
            report = store.save_items(
                rt.db, items, source_id=source.id, outlet_id=outlet, now=now
            )  # fmt: skip
            if pages.enabled:
                article_store.queue_pages_for_items(
                    rt.db, report.new, source_id=source.id, registry=rt.outlets, now=now,
                    reasons=pages.items,
                )  # fmt: skip
            after_store(rt, [*report.new, *report.changed], now)
        cadence = adapt_interval(
            rt, source, result, now=now, items_total=len(items or []),
            items_new=len(report.new), floor=floor, row=row,
        )  # fmt: skip
        next_due = next_poll(rt, now, cadence.seconds)
        store.record_fetch(
            rt.db, source_id=source.id, url=result.url, started_at=started, finished_at=now,
            outcome=outcome, status=result.status, nbytes=len(result.content),
            elapsed_ms=result.elapsed_ms, conditional=result.conditional, error=warning,
            items_total=len(items or []), report=report,
        )  # fmt: skip
        store.mark_success(
            rt.db, source.id, now=now, next_due=next_due, status=result.status, outcome=outcome,
            validators=validators, new_url=new_url, unconditional=unconditional,
            interval=cadence.seconds, reason=cadence.reason, feed_floor=floor,
        )  # fmt: skip
    if new_url:
        log.info("source %s moved permanently to %s", source.id, new_url)
    if warning:
        log.warning("source %s: %s", source.id, warning)
    return SourceReport(
        source.id, outcome, status=result.status, items_new=len(report.new),
        items_seen=report.seen, items_changed=len(report.changed), next_due=next_due,
    )  # fmt: skip


async def run_cycle(rt: Runtime, source_ids: Iterable[str]) -> RunReport:
    """Poll the given sources concurrently (within the fetcher's limits). Their writes share
    commits (store.group_commit), all committed when the cycle returns."""
    t0 = time.monotonic()
    with store.group_commit(rt.db):
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


async def run_once_async(
    config: Config,
    db: store.Database,
    *,
    all_sources: bool = False,
    only: Iterable[str] = (),
    fetcher: Fetcher | None = None,
    pages: bool = True,
    on_report: Callable[[RunReport], None] | None = None,
) -> RunReport:
    """Sync the configured sources into the database, poll the due (or chosen) ones, hand
    the report to `on_report`, then (unless `pages` is false or [pages] is disabled) run one
    round of the article-page queue within [pages] budget; its counts are in the report's
    `pages`."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(config.settings.http)
    page_fetcher = make_page_fetcher(config) if own else None
    pool = make_parse_pool(config)
    try:
        rt = Runtime(
            config, db, fetcher, parse_pool=pool, page_fetcher=page_fetcher, defer_stories=True
        )
        sync_sources(rt, rt.now())
        report = await run_cycle(rt, select_sources(rt, all_sources=all_sources, only=only))
        if any(r.items_new or r.items_changed for r in report.sources) or (
            meta.story_round_owed(rt.db)  # a killed run's items, even when nothing is new
        ):
            cluster_deferred(rt)  # the cycle's new items, and any a killed run left
        if on_report is not None:
            on_report(report)
        settings = config.settings.pages
        if pages and settings.enabled:
            t0 = time.monotonic()
            report.pages = await read_article_pages(rt, budget=settings.budget)
            report.pages_seconds = time.monotonic() - t0  # pages change items, never add one
        return report
    finally:
        if pool is not None:
            pool.close()
        if page_fetcher is not None:
            await page_fetcher.aclose()
        if own:
            await fetcher.aclose()


def run_once(
    config: Config,
    db: store.Database,
    *,
    all_sources: bool = False,
    only: Iterable[str] = (),
    pages: bool = True,
    on_report: Callable[[RunReport], None] | None = None,
) -> RunReport:
    return asyncio.run(
        run_once_async(
            config, db, all_sources=all_sources, only=only, pages=pages, on_report=on_report
        )
    )
