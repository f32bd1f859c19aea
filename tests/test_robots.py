"""robots.txt rules, status handling (RFC 9309) and the per-host cache with expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from peacewatch.errors import FetchError, RefusedURLError
from peacewatch.ingest.robots import RobotsCache, parse_robots, robots_url

ROBOTS = b"""
User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: peacewatch
Disallow: /no-bots/
"""
NOW = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)


def test_rules_and_user_agents() -> None:
    rules = parse_robots(200, ROBOTS)
    assert rules.allowed("https://s.net/news/1", "otherbot")
    assert not rules.allowed("https://s.net/private/1", "otherbot")
    assert not rules.allowed("https://s.net/no-bots/1", "peacewatch/0.1 (+https://p.org)")
    assert rules.allowed("https://s.net/private/1", "peacewatch/0.1 (+https://p.org)")
    assert rules.crawl_delay("otherbot") == 2.0


def test_status_handling() -> None:
    assert parse_robots(404, b"").allowed("https://s.net/x", "a")  # no rules: allowed
    assert parse_robots(403, b"").allowed("https://s.net/x", "a")
    assert not parse_robots(503, b"").allowed("https://s.net/x", "a")  # unreachable: wait


def test_robots_url() -> None:
    assert robots_url("https://s.net:8443/a/b?c=d#e") == "https://s.net:8443/robots.txt"


def test_cache_per_host_with_expiry_and_unreachable_retried_sooner() -> None:
    calls: list[str] = []
    answers = {"https://a.net/robots.txt": (200, ROBOTS)}

    async def fetch(url: str) -> tuple[int, bytes]:
        calls.append(url)
        if url not in answers:
            raise FetchError("timeout", "timed out")
        return answers[url]

    cache = RobotsCache(fetch, "otherbot", ttl=timedelta(hours=24),
                        unreachable_ttl=timedelta(minutes=30))  # fmt: skip

    async def run() -> None:
        assert await cache.allowed("https://a.net/news/1", now=NOW)
        assert not await cache.allowed("https://a.net/private/2", now=NOW)
        assert len(calls) == 1  # one robots.txt per host
        assert not await cache.allowed("https://b.net/x", now=NOW)  # unreachable: refused
        with pytest.raises(RefusedURLError, match="unreachable"):
            await cache.check("https://b.net/x", now=NOW + timedelta(minutes=10))
        assert len(calls) == 2
        answers["https://b.net/robots.txt"] = (404, b"")
        assert await cache.allowed("https://b.net/x", now=NOW + timedelta(minutes=31))
        assert await cache.allowed("https://a.net/news/1", now=NOW + timedelta(hours=23))
        assert len(calls) == 3
        await cache.allowed("https://a.net/news/1", now=NOW + timedelta(hours=25))
        assert len(calls) == 4

    asyncio.run(run())
