"""What a poll needs, injected: the `Runtime` the conductor and its steps share (the
configuration, database, fetchers, clock, randomness, parse worker, outlet registry, robots
cache and the window's stories), and what builds its parts.

Separate from `pipeline` so that the steps beside it (`polling`, `parsing`, `page_rounds`)
take the same Runtime without importing the conductor.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from peacewatch import store
from peacewatch.config import Config
from peacewatch.errors import FetchError, RefusedURLError
from peacewatch.ingest.fetch import Fetcher
from peacewatch.ingest.netguard import check_url_async
from peacewatch.ingest.outlets import OutletRegistry, load_outlets
from peacewatch.ingest.parsepool import ParsePool, resolve_workers
from peacewatch.ingest.robots import RobotsCache
from peacewatch.models import Source
from peacewatch.timeutil import to_iso

if TYPE_CHECKING:
    from peacewatch.store import stories as story_store

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


def make_story_index(config: Config) -> story_store.StoryIndex:
    """The story index for a configuration: its alias table and the default settings."""
    from peacewatch.store import stories as story_store
    from peacewatch.stories.aliases import AliasTable
    from peacewatch.stories.cluster import Settings as StorySettings

    aliases = config.aliases if config.aliases is not None else AliasTable()
    return story_store.StoryIndex(aliases, StorySettings())


def make_parse_pool(config: Config) -> ParsePool | None:
    workers = resolve_workers(config.settings.parse_workers)
    return ParsePool(workers) if workers > 0 else None


def make_page_fetcher(config: Config) -> Fetcher:
    """The article pages' own fetcher: [pages] concurrency at once, one at a time per host,
    on connections of their own, so no page ever holds a slot a feed's poll waits for."""
    http = config.settings.http
    return Fetcher(replace(http, concurrency=config.settings.pages.concurrency, per_host=1))
