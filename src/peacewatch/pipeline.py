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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from peacewatch import store
from peacewatch.config import Config
from peacewatch.errors import FetchError, ParseError, RefusedURLError
from peacewatch.ingest.cadence import Cadence, format_seconds, header_floor, next_interval
from peacewatch.ingest.fetch import Fetcher, URLGuard
from peacewatch.ingest.netguard import check_url_async
from peacewatch.ingest.outlets import OutletRegistry, load_outlets
from peacewatch.ingest.parsepool import ParsePool, parse_feed_call, resolve_workers
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
from peacewatch.store import meta
from peacewatch.store import pages as article_store
from peacewatch.timeutil import add_seconds, parse_iso, to_iso

if TYPE_CHECKING:
    from peacewatch.ingest.articles import Article
    from peacewatch.store import stories as story_store

# What only some polls need is imported where it is used, so that revalidating unchanged
# feeds (most polls) never loads the feed parser (feedparser), HTML parsing (bs4, htmldate),
# reading lists, language detection (py3langid, numpy) or the tagger: ingest.feeds,
# ingest.articles, ingest.readinglist, store.languages, store.tags and the story clusterer
# (store.stories). `python -X importtime -m peacewatch` shows the difference.

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
    # Article pages go through a fetcher of their own, so that pages
    # never hold a slot a feed's poll is waiting for; None: the feeds' fetcher.
    page_fetcher: Fetcher | None = None
    outlets_synced: bool = False  # registry written to the database by this runtime
    stories: story_store.StoryIndex | None = None  # the window's stories, made on first use
    # With defer_stories, polls store and tag their items and leave the story step to a
    # story round (`cluster_stories`, or `cluster_deferred` at the end of run --once) that
    # clusters many polls' items at once, oldest first. Item by item in time order is the
    # order the clusterer is built for; poll by poll, a first cycle over feeds that each span
    # weeks made every item meet every story of its window, and stories of hundreds of
    # members (bench_ingest's 200 synthetic feeds: 32 s poll by poll, 4 s in one round).
    # Items a killed process left without a story are clustered at the next start.
    defer_stories: bool = False
    # what this runtime's polls stored since the last story round (with defer_stories)
    unclustered: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._sources = {source.id: source for source in self.config.sources}
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
            # the feeds' fetcher: this runs in a page's guard, which holds a page slot
            result = await self.fetcher.get(url, accept="text/plain, */*;q=0.5", guard=guard)
        except RefusedURLError:
            raise
        except FetchError as error:
            if error.status is not None and 400 <= error.status < 500:
                return error.status, b""
            raise
        return result.status, result.content

    @property
    def pages_fetcher(self) -> Fetcher:
        return self.page_fetcher or self.fetcher

    def now(self) -> str:
        return to_iso(self.clock())

    def story_index(self) -> story_store.StoryIndex:
        if self.stories is None:
            self.stories = make_story_index(self.config)
        return self.stories

    def source(self, source_id: str) -> Source | None:
        return self._sources.get(source_id)


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
    from peacewatch.ingest.readinglist import parse_html_list, parse_text_list

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
    from peacewatch.ingest.articles import extract_article

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
    parsed = parse_feed_call(_feed_arguments(source, result))
    return parsed.items, _feed_warning(parsed)


def _feed_arguments(source: Source, result: FetchResult) -> dict[str, Any]:
    return {
        "content": result.content, "url": result.url, "headers": result.headers,
        "lang": source.lang, "timezone": source.timezone, "outlet": source.outlet,
    }  # fmt: skip


def make_story_index(config: Config) -> story_store.StoryIndex:
    """The story index for a configuration: its alias table and the default settings."""
    from peacewatch.store import stories as story_store
    from peacewatch.stories.aliases import AliasTable
    from peacewatch.stories.cluster import Settings as StorySettings

    aliases = config.aliases if config.aliases is not None else AliasTable()
    return story_store.StoryIndex(aliases, StorySettings())


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


def _extract_page(rt: Runtime, result: FetchResult, timezone: str | None) -> Article:
    """extract_article on a body from the web: a failure on one page is that page's failure
    (recorded and retried later), never the source's or the cycle's."""
    from peacewatch.ingest.articles import extract_article

    try:
        return extract_article(
            result.content, result.url, headers=result.headers, now=rt.clock(), timezone=timezone
        )
    except (ValueError, LookupError, RecursionError, AssertionError) as error:
        log.debug("cannot read article page %s", result.url, exc_info=True)
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
    rt: Runtime, *, imported_only: bool = False, budget: float | None = None
) -> dict[str, int]:
    """One round of the article-page queue: fetch the due pages (at most [pages] per_cycle,
    per_poll of one source's), read them and fold what they say into their items. Returns
    counts per outcome: done, failed, refused, and `later` for pages left due (the budget ran
    out, or an earlier page of their host was refused or unreachable in this round).

    Pages go through their own fetcher, politely per host. A refused page waits for its
    backoff. INFO gets one line per source with pages, per-page detail goes to DEBUG.
    `imported_only`: only the pages `import-list` queued. `budget`: seconds for the round;
    pages not fetched by then stay due for the next round.
    """
    settings = rt.config.settings.pages
    due = article_store.due_pages(
        rt.db, now=rt.now(), limit=settings.per_cycle, per_source=settings.per_poll,
        imported_only=imported_only,
    )  # fmt: skip
    if not due:
        return {}
    guards: dict[bool, URLGuard] = {}
    outcomes: dict[int, str] = {}

    def guard_for(page: dict) -> URLGuard:
        source = rt.source(page["source_id"]) if page["source_id"] else None
        allow = source.allow_private if source is not None else False
        if allow not in guards:
            guards[allow] = page_guard(rt, allow_private=allow)
        return guards[allow]

    async def one(page: dict, url: str) -> tuple[str, bool]:
        """The page's outcome, and whether its host is of no use for the rest of the round
        (unresolvable, private, unreachable, timing out)."""
        try:
            result = await rt.pages_fetcher.get(
                url, source_id=page["source_id"] or "", accept=PAGE_ACCEPT,
                guard=guard_for(page),
            )  # fmt: skip
            article = _extract_page(rt, result, page["timezone"])
        except RefusedURLError as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(
                    rt.db, page["item_id"], now=rt.now(), error=str(error), refused=True,
                    refused_backoff=timedelta(seconds=settings.refused_backoff),
                )  # fmt: skip
            log.debug("article page refused: %s", error)
            # robots.txt rules are per page; an unresolvable, private or unreachable host
            # (robots.txt included) refuses every page of it
            text = str(error)
            return "refused", "robots" not in text or "unreachable" in text
        except (FetchError, ParseError) as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(
                    rt.db, page["item_id"], now=rt.now(), error=str(error),
                    http_status=getattr(error, "status", None),
                )  # fmt: skip
            log.debug("article page %s failed: %s", url, error)
            host_down = isinstance(error, FetchError) and error.outcome in (
                "network_error", "timeout"
            )  # fmt: skip
            return "failed", host_down
        now = rt.now()
        with store.transaction(rt.db):
            changed = article_store.apply_article(
                rt.db, page["item_id"], article, now=now, http_status=result.status
            )
            if changed:
                after_store(rt, [page["item_id"]], now)
        log.debug("article page %s read", url)
        return "done", False

    async def host_turn(pages: list[tuple[dict, str]]) -> None:
        # One host's pages one after another: polite, and once the host is found refused
        # (its address) its other pages are refused for the same reason without a lookup;
        # once it is unreachable they wait for a later round instead of failing the same way.
        for n, (page, url) in enumerate(pages):
            outcome, host_down = await one(page, url)
            outcomes[page["item_id"]] = outcome
            if host_down and outcome == "refused":
                error = article_store.page_error(rt.db, page["item_id"])
                with store.transaction(rt.db):
                    for other, _url in pages[n + 1 :]:
                        article_store.mark_page_failed(
                            rt.db, other["item_id"], now=rt.now(), error=error, refused=True,
                            refused_backoff=timedelta(seconds=settings.refused_backoff),
                        )  # fmt: skip
                        outcomes[other["item_id"]] = "refused"
            if host_down:
                return

    by_host: dict[str, list[tuple[dict, str]]] = {}
    for page in due:
        # tracking parameters stripped: the same page, without telling anyone we came
        url = canonicalize_url(page["url"])
        by_host.setdefault(urlsplit(url).netloc.lower(), []).append((page, url))
    tasks = [asyncio.ensure_future(host_turn(pages)) for pages in by_host.values()]
    # Cancelled pages stop at an await, never inside their (synchronous) transaction.
    _done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("reading article pages crashed", exc_info=task.exception())
    per_source: dict[str, dict[str, int]] = {}
    for page in due:
        outcome = outcomes.get(page["item_id"], "later")
        counts = per_source.setdefault(page["source_id"] or "imported lists", {})
        counts[outcome] = counts.get(outcome, 0) + 1
    totals: dict[str, int] = {}
    for name, counts in sorted(per_source.items()):
        log.info("article pages for %s: %s", name, _counts_text(counts))
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))


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


def make_parse_pool(config: Config) -> ParsePool | None:
    workers = resolve_workers(config.settings.parse_workers)
    return ParsePool(workers) if workers > 0 else None


def make_page_fetcher(config: Config) -> Fetcher:
    """The article pages' own fetcher: [pages] concurrency at once, one at a time per host,
    on connections of their own, so no page ever holds a slot a feed's poll waits for."""
    http = config.settings.http
    return Fetcher(replace(http, concurrency=config.settings.pages.concurrency, per_host=1))


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
