"""robots.txt: may peacewatch fetch this article page? One cached answer per host.

Parsing is urllib.robotparser's. Fetching is injected (`RobotsFetch`), so the pipeline passes
the core Fetcher and tests pass a loopback server or a plain function. Status handling follows
RFC 9309: a 4xx robots.txt means "no rules" (allow), a 5xx or a failed fetch means "unreachable"
(disallow for now, retried sooner than a good answer expires).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from peacewatch.errors import PeacewatchError, RefusedURLError

if TYPE_CHECKING:  # urllib.robotparser loads urllib.request: only when a robots.txt is read
    from urllib.robotparser import RobotFileParser

__all__ = ["RobotsCache", "RobotsFetch", "RobotsRules", "parse_robots", "robots_url"]

# (status, body); raise PeacewatchError when nothing came back
RobotsFetch = Callable[[str], Awaitable[tuple[int, bytes]]]

GOOD_TTL = timedelta(hours=24)
UNREACHABLE_TTL = timedelta(minutes=30)
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB


@dataclass(frozen=True)
class RobotsRules:
    """A parsed robots.txt, or a blanket allow/deny when there was none to read."""

    parser: RobotFileParser | None
    allow_all: bool = False
    deny_all: bool = False
    note: str = ""

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.deny_all:
            return False
        if self.allow_all or self.parser is None:
            return True
        return self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def parse_robots(status: int, content: bytes) -> RobotsRules:
    """Rules from one robots.txt response (pure)."""
    if 200 <= status < 300:
        from urllib.robotparser import RobotFileParser

        parser = RobotFileParser()
        text = content[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        parser.parse(text.splitlines())
        return RobotsRules(parser, note="robots.txt")
    if 400 <= status < 500:
        return RobotsRules(None, allow_all=True, note=f"robots.txt status {status}: no rules")
    return RobotsRules(None, deny_all=True, note=f"robots.txt status {status}: unreachable")


class RobotsCache:
    """Per-host robots.txt answers with expiry; `now` always comes from the caller."""

    def __init__(
        self,
        fetch: RobotsFetch,
        user_agent: str,
        *,
        ttl: timedelta = GOOD_TTL,
        unreachable_ttl: timedelta = UNREACHABLE_TTL,
    ) -> None:
        self._fetch = fetch
        self.user_agent = user_agent
        self.ttl = ttl
        self.unreachable_ttl = unreachable_ttl
        self._cache: dict[str, tuple[datetime, RobotsRules]] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one robots.txt request per host at a time
        self.fetches = 0  # how many robots.txt requests were made (for reports and tests)

    async def rules(self, url: str, *, now: datetime) -> RobotsRules:
        key = robots_url(url)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._cache.get(key)  # another task may have fetched it meanwhile
            if cached is not None and cached[0] > now:
                return cached[1]
            return await self._refresh(key, now)

    async def _refresh(self, key: str, now: datetime) -> RobotsRules:
        self.fetches += 1
        try:
            status, body = await self._fetch(key)
            rules = parse_robots(status, body)
        except PeacewatchError as exc:
            rules = RobotsRules(None, deny_all=True, note=f"robots.txt unreachable: {exc}")
        ttl = self.unreachable_ttl if rules.deny_all and rules.parser is None else self.ttl
        self._cache[key] = (now + ttl, rules)
        return rules

    async def allowed(self, url: str, *, now: datetime) -> bool:
        return (await self.rules(url, now=now)).allowed(url, self.user_agent)

    async def check(self, url: str, *, now: datetime) -> None:
        """Raise RefusedURLError when robots.txt forbids `url`."""
        rules = await self.rules(url, now=now)
        if not rules.allowed(url, self.user_agent):
            raise RefusedURLError(f"refused by {rules.note}: {url}", url=url)
