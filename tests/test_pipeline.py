"""End to end: a real HTTP server on loopback -> fetcher -> parser -> SQLite file.

Each test asserts the stored rows, not only that nothing crashed.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.config import load_config
from peacewatch.store import meta
from support import poll, rows, setup, table_dump, write_config

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
BASIC = (FEEDS / "rss2-basic.xml").read_bytes()


def feed(*items: tuple[str, str, str]) -> bytes:
    """An RSS body with (guid, title, link) items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{g}</guid>"
        f"<pubDate>Fri, 21 Nov 2025 10:00:00 +0000</pubDate></item>"
        for g, t, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def fetches(db, source_id: str):  # type: ignore[no-untyped-def]
    return rows(db, "SELECT * FROM fetches WHERE source_id = ? ORDER BY id", [source_id])


def source(db, source_id: str):  # type: ignore[no-untyped-def]
    return rows(db, "SELECT * FROM sources WHERE id = ?", [source_id])[0]


def test_first_fetch_stores_items_and_records_the_fetch(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/basic.xml", body=BASIC, etag='"v1"')
    config, db = setup(tmp_path, [{"id": "basic", "url": http_server.url("/basic.xml")}])
    report = poll(config, db)
    assert report.items_new == 3 and report.failed == 0
    items = rows(
        db, "SELECT title, published, canonical_url, outlet_id, source_id FROM items ORDER BY id"
    )
    assert items[0] == {
        "title": "Ukraine and Russia agree to new round of talks in Istanbul",
        "published": "2025-11-20T12:03:00+00:00",
        "canonical_url": "https://news.example.org/world/2025/nov/20/ukraine-russia-talks",
        "outlet_id": "example-news",
        "source_id": "basic",
    }
    [record] = fetches(db, "basic")
    assert (record["status"], record["outcome"], record["items_new"], record["items_seen"]) == (
        200,
        "ok",
        3,
        0,
    )
    assert record["bytes"] == len(BASIC) and record["elapsed_ms"] >= 0 and record["finished_at"]
    health = source(db, "basic")
    assert health["etag"] == '"v1"' and health["consecutive_failures"] == 0
    assert health["last_success_at"] and health["next_due_at"] > health["last_success_at"]
    # the FTS index follows the items table
    assert rows(db, "SELECT rowid FROM items_fts WHERE items_fts MATCH 'istanbul'") == [
        {"rowid": 1}
    ]


def test_revalidation_304_costs_no_parsing_and_changes_no_items(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route(
        "/f.xml", body=BASIC, etag='"v1"', last_modified="Fri, 21 Nov 2025 10:00:00 GMT"
    )
    config, db = setup(tmp_path, [{"id": "f", "url": http_server.url("/f.xml")}])
    poll(config, db)
    before = table_dump(db, "items", "item_urls", "item_sources", "item_revisions")
    poll(config, db)
    second = http_server.hits("/f.xml")[-1]
    assert second.headers["if-none-match"] == '"v1"'
    assert second.headers["if-modified-since"] == "Fri, 21 Nov 2025 10:00:00 GMT"
    assert [f["outcome"] for f in fetches(db, "f")] == ["ok", "not_modified"]
    assert fetches(db, "f")[1]["status"] == 304
    assert table_dump(db, "items", "item_urls", "item_sources", "item_revisions") == before


def test_unchanged_200_body_is_not_parsed_again(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/plain.xml", body=BASIC)  # no validators at all
    config, db = setup(tmp_path, [{"id": "plain", "url": http_server.url("/plain.xml")}])
    poll(config, db)
    poll(config, db)
    assert [(f["outcome"], f["items_total"]) for f in fetches(db, "plain")] == [
        ("ok", 3),
        ("unchanged", 0),
    ]


def test_a_body_that_failed_to_parse_is_not_parsed_again_until_unconditional_every(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    # A broken feed is often served byte for byte the same for weeks: the same bytes are the
    # same failure, recorded without parsing them, as an unchanged good body is not parsed
    # again. `failed_body_at` tells when the bytes were last parsed.
    bad = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    route = http_server.route("/bad.xml", body=bad)
    config, db = setup(tmp_path, [{"id": "bad", "url": http_server.url("/bad.xml")}],
                       http={"unconditional_every": 3600})  # fmt: skip
    t0 = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)

    def poll_at(seconds: float) -> dict:  # type: ignore[type-arg]
        poll(config, db, clock=lambda: t0 + timedelta(seconds=seconds))
        return source(db, "bad")

    first = poll_at(0)
    [record] = fetches(db, "bad")
    assert record["outcome"] == "parse_error" and first["consecutive_failures"] == 1
    assert first["failed_body_at"] == "2025-11-21T12:00:00+00:00"
    again = poll_at(600)
    second = fetches(db, "bad")[-1]
    assert (second["outcome"], second["error"], second["status"]) == (
        record["outcome"], record["error"], 200,
    )  # fmt: skip
    assert again["consecutive_failures"] == 2 and again["last_error"] == record["error"]
    assert again["failed_body_at"] == first["failed_body_at"]  # not parsed again
    # past unconditional_every the same bytes are parsed once more
    later = poll_at(3600)
    assert later["failed_body_at"] == "2025-11-21T13:00:00+00:00"
    # a body that parses clears the memory; bad bytes after it are parsed again
    route.body = feed(("a", "First story", "https://l.example/a"))
    fixed = poll_at(3700)
    assert fixed["failed_body_hash"] is None and fixed["consecutive_failures"] == 0
    route.body = bad
    assert poll_at(3800)["failed_body_at"] == "2025-11-21T13:03:20+00:00"


def test_lying_etag_is_caught_by_the_periodic_unconditional_fetch(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    route = http_server.route(
        "/liar.xml", body=feed(("a", "First story", "https://l.example/a")), etag='"same"'
    )
    config, db = setup(tmp_path, [{"id": "liar", "url": http_server.url("/liar.xml")}],
                       http={"unconditional_every": 60})  # fmt: skip
    t0 = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)
    poll(config, db, clock=lambda: t0)
    # The feed changes but the server keeps the ETag: a conditional GET gets a false 304.
    route.body = feed(
        ("a", "First story", "https://l.example/a"), ("b", "Second story", "https://l.example/b")
    )
    poll(config, db, clock=lambda: t0 + timedelta(seconds=10))
    assert fetches(db, "liar")[-1]["outcome"] == "not_modified"
    # Past unconditional_every we fetch without validators, see the new body, stop trusting.
    poll(config, db, clock=lambda: t0 + timedelta(seconds=120))
    assert "if-none-match" not in http_server.hits("/liar.xml")[-1].headers
    assert fetches(db, "liar")[-1]["items_new"] == 1
    assert source(db, "liar")["trust_validators"] == 0
    poll(config, db, clock=lambda: t0 + timedelta(seconds=130))
    assert "if-none-match" not in http_server.hits("/liar.xml")[-1].headers
    assert fetches(db, "liar")[-1]["outcome"] == "unchanged"


def test_429_with_retry_after_sets_next_due(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/busy.xml", status=429, headers={"Retry-After": "120"}, body=b"slow down")
    config, db = setup(tmp_path, [{"id": "busy", "url": http_server.url("/busy.xml")}])
    t0 = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)
    poll(config, db, clock=lambda: t0)
    [record] = fetches(db, "busy")
    assert (record["status"], record["outcome"]) == (429, "rate_limited")
    health = source(db, "busy")
    assert health["next_due_at"] == "2025-11-21T12:02:00+00:00"
    assert (
        health["consecutive_failures"] == 1
        and health["failing_since"] == "2025-11-21T12:00:00+00:00"
    )


def test_503_retry_after_http_date(tmp_path: Path, http_server: FixtureServer) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    http_server.route("/down.xml", status=503, headers={"Retry-After": later})
    config, db = setup(tmp_path, [{"id": "down", "url": http_server.url("/down.xml")}])
    poll(config, db)
    due = datetime.fromisoformat(source(db, "down")["next_due_at"])
    assert timedelta(hours=1, minutes=58) < due - datetime.now(UTC) <= timedelta(hours=2)


def test_5xx_backs_off_exponentially_and_recovers(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    route = http_server.route("/flaky.xml", status=500, body=b"oops")
    config, db = setup(tmp_path, [{"id": "flaky", "url": http_server.url("/flaky.xml"), "interval": "1h"}],
                       schedule={"max_backoff": "1d"})  # fmt: skip
    t0 = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)
    delays = []
    for n in range(6):
        poll(config, db, clock=lambda n=n: t0 + timedelta(days=n))
        due = datetime.fromisoformat(source(db, "flaky")["next_due_at"])
        delays.append((due - (t0 + timedelta(days=n))).total_seconds())
    assert source(db, "flaky")["consecutive_failures"] == 6
    # 300 s doubling with +-25% jitter: each delay lies in its band, and the cap holds
    for n, delay in enumerate(delays):
        base = min(86400, 300 * 2**n)
        assert base * 0.75 <= delay <= min(86400, base * 1.25)
    route.status = 200
    route.body = BASIC
    poll(config, db, clock=lambda: t0 + timedelta(days=7))
    health = source(db, "flaky")
    assert health["consecutive_failures"] == 0 and health["failing_since"] is None
    assert [f["outcome"] for f in fetches(db, "flaky")] == ["http_error"] * 6 + ["ok"]


def test_stalling_server_times_out_and_is_recorded(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/stall.xml", body=BASIC, stall=5)
    http_server.route("/ok.xml", body=BASIC)
    config, db = setup(
        tmp_path,
        [
            {"id": "stall", "url": http_server.url("/stall.xml")},
            {"id": "ok", "url": http_server.url("/ok.xml")},
        ],
        http={"read_timeout": 0.5, "total_timeout": 1},
    )
    report = poll(config, db)
    assert {s.source_id: s.outcome for s in report.sources} == {"stall": "timeout", "ok": "ok"}
    assert fetches(db, "stall")[0]["outcome"] == "timeout"
    assert rows(db, "SELECT count(*) AS n FROM items")[0]["n"] == 3


def test_body_over_the_cap_is_cut_off_while_streaming(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/endless.xml", endless=True)
    http_server.route("/big.xml", body=b"<rss>" + b" " * 200_000 + b"</rss>")
    config, db = setup(
        tmp_path,
        [
            {"id": "endless", "url": http_server.url("/endless.xml")},
            {"id": "big", "url": http_server.url("/big.xml")},
        ],
        http={"max_body_bytes": 100_000},
    )
    poll(config, db)
    for sid in ("endless", "big"):
        [record] = fetches(db, sid)
        assert record["outcome"] == "too_large", record
        assert record["error"]


def test_gzip_response_is_decoded(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/gz.xml", body=BASIC, gzip=True)
    config, db = setup(tmp_path, [{"id": "gz", "url": http_server.url("/gz.xml")}])
    poll(config, db)
    assert fetches(db, "gz")[0]["items_new"] == 3


def test_permanent_redirect_updates_the_stored_url_temporary_does_not(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/old.xml", status=301, location="/new.xml")
    http_server.route("/tmp.xml", status=302, location="/new.xml")
    http_server.route("/new.xml", body=BASIC)
    config, db = setup(tmp_path, [{"id": "moved", "url": http_server.url("/old.xml")},
                                  {"id": "temp", "url": http_server.url("/tmp.xml")}])  # fmt: skip
    poll(config, db)
    assert source(db, "moved")["url"] == http_server.url("/new.xml")
    assert source(db, "moved")["config_url"] == http_server.url("/old.xml")
    assert source(db, "temp")["url"] == http_server.url("/tmp.xml")
    # same story carried by two sources: stored once, linked to both
    assert rows(db, "SELECT count(*) AS n FROM items")[0]["n"] == 3
    assert rows(db, "SELECT count(*) AS n FROM item_sources")[0]["n"] == 6


def test_redirect_loop_and_too_many_redirects(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/a", status=302, location="/b")
    http_server.route("/b", status=302, location="/a")
    for n in range(8):
        http_server.route(f"/hop{n}", status=302, location=f"/hop{n + 1}")
    config, db = setup(tmp_path, [{"id": "loop", "url": http_server.url("/a")},
                                  {"id": "long", "url": http_server.url("/hop0")}])  # fmt: skip
    poll(config, db)
    assert fetches(db, "loop")[0]["outcome"] == "redirect_loop"
    assert "/b -> " in fetches(db, "loop")[0]["error"]
    assert fetches(db, "long")[0]["outcome"] == "too_many_redirects"


def test_html_page_where_a_feed_should_be(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route(
        "/page", body=(FEEDS / "not-a-feed.html").read_bytes(), content_type="text/html"
    )
    config, db = setup(tmp_path, [{"id": "page", "url": http_server.url("/page")}])
    poll(config, db)
    [record] = fetches(db, "page")
    assert (record["status"], record["outcome"]) == (200, "not_a_feed")
    assert source(db, "page")["consecutive_failures"] == 1


def test_malformed_feed_stores_what_was_recovered_and_the_reason(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/broken.xml", body=(FEEDS / "rss2-malformed.xml").read_bytes())
    http_server.route("/truncated.xml", body=BASIC[: len(BASIC) // 3])
    config, db = setup(tmp_path, [{"id": "broken", "url": http_server.url("/broken.xml")},
                                  {"id": "trunc", "url": http_server.url("/truncated.xml")}])  # fmt: skip
    poll(config, db)
    [record] = fetches(db, "broken")
    assert record["outcome"] == "ok" and record["items_new"] == 2
    assert "malformed feed" in record["error"]
    assert fetches(db, "trunc")[0]["outcome"] in ("parse_error", "ok")
    assert rows(db, "SELECT count(*) AS n FROM items WHERE source_id = 'broken'")[0]["n"] == 2


def test_non_utf8_feed(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/ru.xml", body=(FEEDS / "rss2-windows-1251.xml").read_bytes(),
                      content_type="application/rss+xml")  # fmt: skip
    config, db = setup(
        tmp_path, [{"id": "ru", "url": http_server.url("/ru.xml"), "outlet": "TASS"}]
    )
    poll(config, db)
    assert rows(db, "SELECT title, lang, outlet_id FROM items") == [
        {"title": "Переговоры в Стамбуле завершились", "lang": "ru", "outlet_id": "tass"}
    ]


def test_entries_without_dates_or_guids(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/nd.xml", body=(FEEDS / "rss2-no-dates-no-guids.xml").read_bytes())
    config, db = setup(tmp_path, [{"id": "nd", "url": http_server.url("/nd.xml")}])
    poll(config, db)
    poll(config, db, clock=lambda: datetime.now(UTC) + timedelta(days=2))
    assert rows(db, "SELECT published, guid, url FROM items ORDER BY id") == [
        {"published": None, "guid": None, "url": "https://undated.example.net/a"},
        {"published": None, "guid": None, "url": "https://undated.example.net/b"},
    ]


def test_same_story_under_url_variants_is_stored_once(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/v.xml", body=(FEEDS / "rss2-url-variants.xml").read_bytes())
    config, db = setup(tmp_path, [{"id": "v", "url": http_server.url("/v.xml")}])
    poll(config, db)
    items = rows(db, "SELECT id, title, canonical_url FROM items")
    assert len(items) == 1
    assert items[0]["canonical_url"] == "https://variants.example.com/news/ceasefire-monitoring"
    assert items[0]["title"] == "Ceasefire monitoring mission proposed (updated)"
    assert rows(db, "SELECT field, old_value FROM item_revisions") == [
        {"field": "title", "old_value": "Ceasefire monitoring mission proposed"}
    ]
    [link] = rows(db, "SELECT guid FROM item_sources")
    assert link["guid"].endswith("v-1")  # the first guid stays; feedparser resolves permalinks


def test_same_headline_same_outlet_within_days_is_one_story(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route(
        "/one.xml", body=feed(("1", "Envoy arrives in Kyiv", "https://one.example/a"))
    )
    http_server.route(
        "/two.xml", body=feed(("x", "Envoy arrives in Kyiv!", "https://mirror.example/other-path"))
    )
    http_server.route(
        "/other.xml", body=feed(("y", "Envoy arrives in Kyiv", "https://else.example/z"))
    )
    config, db = setup(tmp_path, [
        {"id": "one", "url": http_server.url("/one.xml"), "outlet": "Example"},
        {"id": "two", "url": http_server.url("/two.xml"), "outlet": "Example"},
        {"id": "other", "url": http_server.url("/other.xml"), "outlet": "Another Outlet"},
    ])  # fmt: skip
    poll(config, db, only=["one"])
    poll(config, db, only=["two"])
    poll(config, db, only=["other"])
    assert rows(db, "SELECT outlet_id, count(*) AS n FROM items GROUP BY outlet_id ORDER BY 1") == [
        {"outlet_id": "another-outlet", "n": 1},
        {"outlet_id": "example", "n": 1},
    ]
    assert rows(db, "SELECT count(*) AS n FROM item_urls")[0]["n"] == 3


def test_edited_headline_updates_the_item_and_keeps_a_revision(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    route = http_server.route(
        "/e.xml", body=feed(("g1", "Talks stall in Geneva", "https://e.example/1"))
    )
    config, db = setup(tmp_path, [{"id": "e", "url": http_server.url("/e.xml")}])
    poll(config, db)
    route.body = feed(
        ("g1", "Talks resume in Geneva after stalling", "https://e.example/1?utm_campaign=x")
    )
    poll(config, db)
    assert rows(db, "SELECT id, title FROM items") == [
        {"id": 1, "title": "Talks resume in Geneva after stalling"}
    ]
    assert rows(db, "SELECT item_id, field, old_value, new_value FROM item_revisions") == [
        {"item_id": 1, "field": "title", "old_value": "Talks stall in Geneva",
         "new_value": "Talks resume in Geneva after stalling"}
    ]  # fmt: skip
    assert fetches(db, "e")[-1]["items_changed"] == 1
    assert rows(db, "SELECT rowid FROM items_fts WHERE items_fts MATCH 'resume'") == [{"rowid": 1}]
    assert rows(db, "SELECT rowid FROM items_fts WHERE items_fts MATCH 'stall'") == []


def test_one_broken_source_never_stops_the_others(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/good.xml", body=BASIC)
    config, db = setup(tmp_path, [
        {"id": "missing", "url": http_server.url("/missing.xml")},
        {"id": "refused", "url": "http://127.0.0.1:9/feed.xml"},
        {"id": "good", "url": http_server.url("/good.xml")},
    ])  # fmt: skip
    report = poll(config, db)
    outcomes = {s.source_id: s.outcome for s in report.sources}
    assert outcomes == {"missing": "http_error", "refused": "network_error", "good": "ok"}
    assert rows(db, "SELECT count(*) AS n FROM fetches")[0]["n"] == 3
    assert fetches(db, "missing")[0]["status"] == 404


def test_rerunning_the_same_input_changes_nothing(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/a.xml", body=BASIC)
    http_server.route("/b.xml", body=(FEEDS / "rss2-url-variants.xml").read_bytes())
    config, db = setup(tmp_path, [{"id": "a", "url": http_server.url("/a.xml")},
                                  {"id": "b", "url": http_server.url("/b.xml")}])  # fmt: skip
    poll(config, db)
    before = table_dump(db, "items", "item_urls", "item_sources", "item_revisions")
    # forget the body hashes so the same bytes are parsed and stored again
    db.execute("UPDATE sources SET body_hash = NULL, etag = NULL")
    poll(config, db)
    assert table_dump(db, "items", "item_urls", "item_sources", "item_revisions") == before
    assert [f["items_seen"] for f in rows(db, "SELECT items_seen FROM fetches WHERE id > 2")] == [
        3,
        3,
    ]


def test_per_host_limit_and_gap_are_respected(tmp_path: Path, http_server: FixtureServer) -> None:
    for n in range(6):
        http_server.route(f"/s{n}.xml", body=BASIC, delay=0.2)
    config, db = setup(tmp_path, [{"id": f"s{n}", "url": http_server.url(f"/s{n}.xml")} for n in range(6)],
                       http={"per_host": 2, "host_gap": 0.05})  # fmt: skip
    poll(config, db)
    assert http_server.max_active == 2
    starts = sorted(r.at for r in http_server.requests)
    # six 0.2 s requests, two at a time, take at least 0.6 s
    assert starts[-1] - starts[0] >= 0.35
    # request starts are spaced by host_gap (measured at the server, so allow thread jitter)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert sum(gaps) / len(gaps) >= 0.04


def test_parsing_in_a_worker_process_stores_the_same_rows(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    from peacewatch.pipeline import run_once

    http_server.route("/a.xml", body=BASIC)
    http_server.route("/b.xml", body=(FEEDS / "rss2-url-variants.xml").read_bytes())
    http_server.route(
        "/html", body=(FEEDS / "not-a-feed.html").read_bytes(), content_type="text/html"
    )
    sources = [{"id": "a", "url": http_server.url("/a.xml")}, {"id": "b", "url": http_server.url("/b.xml")},
               {"id": "html", "url": http_server.url("/html")}]  # fmt: skip
    config, db = setup(tmp_path / "pool", sources, parse={"workers": 1, "inline_bytes": 0})
    report = run_once(config, db, all_sources=True)
    assert {s.source_id: s.outcome for s in report.sources} == {
        "a": "ok",
        "b": "ok",
        "html": "not_a_feed",
    }
    inline_config, inline_db = setup(tmp_path / "inline", sources, parse={"workers": 0})
    run_once(inline_config, inline_db, all_sources=True)
    # ids follow whichever source finished first: compare the stories themselves
    query = (
        "SELECT title, canonical_url, published, summary FROM items ORDER BY canonical_url, title"
    )
    assert rows(db, query) == rows(inline_db, query)
    assert len(rows(db, query)) == 4


def test_run_once_clusters_the_cycle_at_its_end_and_what_a_killed_run_left(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    from peacewatch.pipeline import run_once
    from peacewatch.store import stories as story_store

    route = http_server.route("/a.xml", body=BASIC)
    http_server.route("/b.xml", body=(FEEDS / "rss2-url-variants.xml").read_bytes())
    sources = [{"id": "a", "url": http_server.url("/a.xml")},
               {"id": "b", "url": http_server.url("/b.xml")}]  # fmt: skip
    config, db = setup(tmp_path, sources)
    run_once(config, db, all_sources=True)
    stored = rows(db, "SELECT count(*) AS n FROM items")[0]["n"]
    assert stored > 0 and story_store.unclustered(db) == 0
    assert not meta.story_round_owed(db)  # the round ended: no note left
    # a run killed after storing but before its cycle ended leaves items without a story, and
    # the note its polls' transactions wrote
    db.execute("DELETE FROM story_members")
    meta.note_story_round_owed(db)
    db.conn.commit()
    assert story_store.unclustered(db) == stored
    route.body = feed(("new-1", "A new headline", "https://a.example/new-1"))
    run_once(config, db, all_sources=True)
    assert story_store.unclustered(db) == 0 and not meta.story_round_owed(db)
    # the same with nothing new on the next run: the note alone brings the round
    db.execute("DELETE FROM story_members")
    meta.note_story_round_owed(db)
    db.conn.commit()
    report = run_once(config, db, all_sources=True)
    assert not any(r.items_new or r.items_changed for r in report.sources)
    assert story_store.unclustered(db) == 0 and not meta.story_round_owed(db)
    # without the note, a cycle with nothing new leaves the clustering alone (no scan of the
    # whole store on every revalidation)
    db.execute("DELETE FROM story_members")
    db.conn.commit()
    run_once(config, db, all_sources=True)
    assert story_store.unclustered(db) == stored + 1


def test_a_poll_that_stores_items_for_a_later_round_notes_it_in_its_transaction(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    # run --once's polls store items and leave their stories to the round at the cycle's end:
    # stop before that round (as a kill would) and the note is there, committed with the items
    from peacewatch.ingest.fetch import Fetcher
    from peacewatch.pipeline import run_cycle, select_sources, sync_sources
    from peacewatch.runtime import Runtime
    from peacewatch.store import stories as story_store

    http_server.route("/a.xml", body=BASIC)
    config, db = setup(tmp_path, [{"id": "a", "url": http_server.url("/a.xml")}])

    async def polls_only() -> None:
        async with Fetcher(config.settings.http) as fetcher:
            rt = Runtime(config, db, fetcher, defer_stories=True)
            sync_sources(rt, rt.now())
            await run_cycle(rt, select_sources(rt, all_sources=True))

    asyncio.run(polls_only())
    assert story_store.unclustered(db) > 0
    assert meta.story_round_owed(db)


def test_small_bodies_are_parsed_in_process_larger_ones_in_the_worker(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    # Starting a worker (or handing it a body) costs more than parsing a few KiB: below
    # [parse] inline_bytes the main process parses, and no worker is started for it.
    from peacewatch.ingest.fetch import Fetcher
    from peacewatch.pipeline import run_cycle, select_sources
    from peacewatch.runtime import Runtime, make_parse_pool

    large = feed(
        *((f"g{n}", f"Story {n} " + "x" * 300, f"https://e.example/{n}") for n in range(60))
    )
    assert len(BASIC) < 16384 < len(large)
    http_server.route("/small.xml", body=BASIC)
    http_server.route("/large.xml", body=large)

    def cycle(path: str) -> tuple[int, bool]:
        config, db = setup(tmp_path / path.strip("/."), [{"id": "s", "url": http_server.url(path)}],
                           parse={"workers": 1})  # fmt: skip
        pool = make_parse_pool(config)
        assert pool is not None

        async def go() -> int:
            async with Fetcher(config.settings.http) as fetcher:
                rt = Runtime(config, db, fetcher, parse_pool=pool)
                store.sync_sources(db, config.sources, rt.now())
                report = await run_cycle(rt, select_sources(rt, all_sources=True))
                return report.items_new

        try:
            return asyncio.run(go()), pool._executor is not None
        finally:
            pool.close()

    assert cycle("/small.xml") == (3, False)
    assert cycle("/large.xml") == (60, True)


def test_new_and_edited_items_are_tagged_in_the_fetch_transaction(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    route = http_server.route(
        "/t.xml", body=feed(("g1", "Envoys meet in Vienna", "https://t.example/1"))
    )
    config_dir = tmp_path / "config"
    write_config(config_dir, [{"id": "t", "url": http_server.url("/t.xml")}])
    shutil.copy(Path(__file__).parent.parent / "config" / "initiatives.toml", config_dir)
    shutil.copy(Path(__file__).parent.parent / "config" / "tagging-model.npz", config_dir)
    config = load_config(config_dir)
    db = store.open_db(tmp_path / "t.db")
    poll(config, db)
    assert rows(db, "SELECT initiative_id FROM item_initiatives") == []
    route.body = feed(
        (
            "g1",
            "Zelensky and Witkoff discuss the 28-point peace plan in Geneva",
            "https://t.example/1",
        )
    )
    poll(config, db)
    # (the undated item is dated by the day first seen: in the Geneva round's window, the
    # revised framework's event also names it)
    [tag] = rows(
        db,
        "SELECT item_id, initiative_id, evidence, rules_version FROM item_initiatives"
        " WHERE initiative_id = 'us-28pt-plan'",
    )
    assert (tag["item_id"], tag["initiative_id"]) == (1, "us-28pt-plan")
    assert "28-point" in tag["evidence"] and tag["rules_version"] == config.ruleset.version
    assert rows(db, "SELECT relevant FROM item_classification") == [{"relevant": 1}]
