"""Adaptive poll intervals (issue #14.3): faster when polls bring new items, slower when they
bring none, within min_interval and max_interval, never sooner than the feed's ttl,
sy:updatePeriod, Cache-Control or Expires allow; why is recorded and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch.cli import cli
from peacewatch.config import load_config
from peacewatch.errors import ConfigError
from peacewatch.ingest.cadence import feed_floor, header_floor, next_interval
from support import poll, rows, setup, write_config

T0 = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)


class ChangingFeed:
    """A feed that gains one item every `every` seconds of simulated time, up to `until`,
    and shows its latest 30."""

    def __init__(self, every: float, *, extra: str = "", until: datetime | None = None) -> None:
        self.every = every
        self.now = T0
        self.until = until
        self.extra = extra

    def __call__(self) -> bytes:
        last = min(self.now, self.until) if self.until else self.now
        count = int((last - (T0 - timedelta(days=1))).total_seconds() // self.every)
        items = "".join(
            f"<item><title>Talks, day {k}</title><link>https://news.example.net/{k}</link>"
            f"<guid>{k}</guid><description>Envoys met.</description>"
            f"<pubDate>{(T0 - timedelta(days=1) + timedelta(seconds=k * self.every)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            for k in range(max(0, count - 30), count)
        )
        return (
            '<?xml version="1.0"?><rss version="2.0" '
            'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>'
            f"{self.extra}{items}</channel></rss>"
        ).encode()


def follow(config, db, feed: ChangingFeed, polls: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Poll `polls` times, each at the moment the previous poll chose; the source rows after
    each poll."""
    seen = []
    for _ in range(polls):
        poll(config, db, clock=lambda: feed.now)
        [row] = rows(db, "SELECT poll_interval, next_due_at, next_due_reason FROM sources")
        seen.append(row)
        feed.now = datetime.fromisoformat(row["next_due_at"])
    return seen


def test_intervals_follow_the_rate_of_new_items_up_and_down(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    # one new item every 20 minutes for 12 hours, then nothing
    feed = ChangingFeed(1200, until=T0 + timedelta(hours=12))
    http_server.route("/f.xml", body=feed)
    config, db = setup(
        tmp_path, [{"id": "f", "url": http_server.url("/f.xml"), "interval": "1h"}],
        schedule={"jitter": 0, "min_interval": "5m", "max_interval": "6h"},
    )  # fmt: skip
    history = follow(config, db, feed, 6)
    assert history[0]["poll_interval"] == 3600
    assert history[0]["next_due_reason"] == "first poll: the configured interval"
    # learnt: about one new item per poll, every 20 minutes
    for row in history[1:]:
        assert row["poll_interval"] == pytest.approx(1200, rel=0.05), history
    assert "about one every 20m" in history[-1]["next_due_reason"]
    # the feed goes quiet: each empty poll waits 1.5 times longer, up to max_interval
    feed.now = T0 + timedelta(hours=13)
    quiet = follow(config, db, feed, 12)
    waits = [row["poll_interval"] for row in quiet]
    assert all(b >= a for a, b in pairwise(waits)), waits
    assert waits[-1] == 6 * 3600
    assert quiet[-1]["next_due_reason"] == "no new items: slower; held at max_interval 6h"
    # it speaks again: faster at once
    feed.until = None
    feed.now = feed.now + timedelta(hours=6)
    [row] = follow(config, db, feed, 1)
    assert row["poll_interval"] < 6 * 3600


def test_a_source_never_polls_faster_than_min_interval(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    feed = ChangingFeed(30)  # an item every 30 s
    http_server.route("/f.xml", body=feed)
    config, db = setup(
        tmp_path, [{"id": "f", "url": http_server.url("/f.xml"), "interval": "10m",
                    "min_interval": "2m"}],
        schedule={"jitter": 0},
    )  # fmt: skip
    history = follow(config, db, feed, 3)
    assert history[-1]["poll_interval"] == 120
    assert history[-1]["next_due_reason"].endswith("held at min_interval 2m")


@pytest.mark.parametrize(
    ("extra", "headers", "floor", "why"),
    [
        ("<ttl>180</ttl>", {}, 3 * 3600, "ttl 180 min asks for at least 3h"),
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>6</sy:updateFrequency>",
            {}, 4 * 3600, "sy:updatePeriod daily x6 asks for at least 4h",
        ),
        ("", {"Cache-Control": "public, max-age=7200"}, 7200,
         "Cache-Control max-age=7200 asks for at least 2h"),
    ],
)  # fmt: skip
def test_the_feed_and_the_response_set_a_floor(
    tmp_path: Path, http_server: FixtureServer, extra: str, headers: dict, floor: int, why: str
) -> None:
    feed = ChangingFeed(600, extra=extra)  # new items every 10 minutes: would poll every 10m
    http_server.route("/f.xml", body=feed, headers=headers)
    config, db = setup(tmp_path, [{"id": "f", "url": http_server.url("/f.xml"), "interval": "30m"}],
                       schedule={"jitter": 0})  # fmt: skip
    history = follow(config, db, feed, 3)
    for row in history[1:]:
        assert row["poll_interval"] == floor
        assert row["next_due_reason"] == why


def test_a_304_keeps_the_feeds_floor(tmp_path: Path, http_server: FixtureServer) -> None:
    feed = ChangingFeed(600, extra="<ttl>120</ttl>")
    http_server.route("/f.xml", body=feed, etag='"v1"')
    config, db = setup(tmp_path, [{"id": "f", "url": http_server.url("/f.xml"), "interval": "1h"}],
                       schedule={"jitter": 0})  # fmt: skip
    history = follow(config, db, feed, 3)  # the body never changes for the server: 304s
    # the first poll already waits for the ttl; then 304s bring nothing new: slower
    assert [r["poll_interval"] for r in history] == [7200, 10800, 16200]
    assert history[0]["next_due_reason"] == "ttl 120 min asks for at least 2h"
    assert history[1]["next_due_reason"] == "no new items: slower"
    assert [r.headers.get("if-none-match") for r in http_server.hits("/f.xml")] == [
        None,
        '"v1"',
        '"v1"',
    ]
    assert rows(db, "SELECT feed_floor, feed_floor_reason FROM sources") == [
        {"feed_floor": 7200, "feed_floor_reason": "ttl 120 min"}
    ]


def test_failures_keep_their_backoff_and_say_so(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/busy.xml", status=429, headers={"Retry-After": "600"})
    http_server.route("/gone.xml", status=500)
    config, db = setup(tmp_path, [{"id": "busy", "url": http_server.url("/busy.xml")},
                                  {"id": "gone", "url": http_server.url("/gone.xml")}])  # fmt: skip
    poll(config, db)
    reasons = {
        r["id"]: r["next_due_reason"] for r in rows(db, "SELECT id, next_due_reason FROM sources")
    }
    assert reasons["busy"] == "Retry-After: 10m"
    assert reasons["gone"].startswith("backoff after 1 failure: ")


def test_sources_shows_the_interval_and_why(tmp_path: Path, http_server: FixtureServer) -> None:
    feed = ChangingFeed(1200)
    http_server.route("/f.xml", body=feed)
    config = write_config(tmp_path / "c", [{"id": "f", "url": http_server.url("/f.xml"),
                                            "interval": "1h"}])  # fmt: skip
    db = str(tmp_path / "x.db")
    args = ["--config", str(config), "--db", db]
    CliRunner().invoke(cli, [*args, "run", "--once", "--no-pages"], catch_exceptions=False)
    table = CliRunner().invoke(cli, [*args, "sources"], catch_exceptions=False).stdout
    header, line = table.splitlines()[:2]
    assert header.split()[-4:] == ["every", "items", "redated", "why"]
    assert line.split()[-8:] == ["1h", "30", "0", "first", "poll:", "the", "configured", "interval"]


def test_interval_bounds_are_validated(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", [
        {"id": "a", "url": "https://a.example.net/f", "interval": "30s"},
        {"id": "b", "url": "https://b.example.net/f", "min_interval": "2h", "max_interval": "1h"},
        {"id": "c", "url": "https://c.example.net/f", "interval": "10h"},
        {"id": "d", "url": "https://d.example.net/f", "min_interval": 20},
    ])  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config(config)
    path = config / "sources.toml"
    assert info.value.problems == [
        f"{path}: source 'a' (entry 1): 'interval': must be at least 60 seconds, got \"30s\"",
        f"{path}: source 'b' (entry 2): 'min_interval': must not exceed max_interval (3600 s), got 7200 s",
        f"{path}: source 'c' (entry 3): 'interval': must lie between min_interval (300 s) and max_interval (21600 s), got 36000 s",
        f"{path}: source 'd' (entry 4): 'min_interval': must be at least 60 seconds, got 20",
    ]
    (config / "sources.toml").write_text("")
    with (config / "peacewatch.toml").open("a") as handle:
        handle.write('[schedule]\nmin_interval = "2h"\nmax_interval = "1h"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.problems == [
        f"{config / 'peacewatch.toml'}: [schedule]: 'min_interval': must not exceed max_interval (3600 s), got 7200 s"
    ]


def test_floors_from_feed_elements_and_headers() -> None:
    assert feed_floor({"ttl": "60"}) == (3600.0, "ttl 60 min")
    assert feed_floor({"sy_updateperiod": "hourly", "sy_updatefrequency": "2"}) == (
        1800.0, "sy:updatePeriod hourly x2",
    )  # fmt: skip
    assert feed_floor({"ttl": "soon"}) is None
    now = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
    assert header_floor({"Cache-Control": "max-age=600", "Age": "100"}, now) == (
        500.0, "Cache-Control max-age=600",
    )  # fmt: skip
    assert header_floor({"Expires": "Thu, 20 Nov 2025 09:00:00 GMT"}, now) == (3600.0, "Expires")
    assert header_floor({"Cache-Control": "no-cache"}, now) is None
    assert header_floor({"Expires": "0"}, now) is None


def test_every_item_new_means_some_may_have_been_missed() -> None:
    cadence = next_interval(current=3600, minimum=300, maximum=21600, first_poll=False,
                            items_total=30, items_new=30, history=[(3600, 30), (0, 30)],
                            floors=[])  # fmt: skip
    assert cadence.seconds == 300
    assert cadence.reason.startswith("30 new items in 1h: about one every 2m")
    cadence = next_interval(current=3600, minimum=300, maximum=21600, first_poll=False,
                            items_total=30, items_new=30, history=[(86400, 30), (0, 30)],
                            floors=[])  # fmt: skip
    assert cadence.seconds == 1800
    assert cadence.reason == "all 30 items new, some may have been missed: faster"
