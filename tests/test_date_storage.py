"""Dates in the store (issue #12): a page's date witnesses and verdict in `date_candidates`,
`published_local` beside `published`, and a feed's date that the page corrects, recorded on
the item and counted in the source's health. End to end through a loopback HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.cli import cli
from peacewatch.store.migrations import MIGRATIONS
from support import rows
from test_article_pipeline import HTML, configure, page, poll_all


def serve_feed(server: FixtureServer, pub_date: str, description: str = "") -> None:
    """One feed item dated `pub_date`, without a summary unless `description` is given (so its
    page is read); its page says 2025-11-20T08:00:00Z in JSON-LD and 20 November in the URL."""
    base = server.url("")
    story = f"{base}/2025/11/20/grain-talks.html"
    server.route("/2025/11/20/grain-talks.html", content_type=HTML, body=page(
        "Grain corridor talks resume", "2025-11-20T08:00:00+00:00", story,
        lead="Negotiators met in Istanbul on Thursday to revive the Black Sea grain corridor.",
    ))  # fmt: skip
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Grain corridor talks resume</title><link>{story}</link><guid>g1</guid>
<pubDate>{pub_date}</pubDate>{description}</item></channel></rss>""".encode()
    server.route("/feed.xml", body=feed)


def item_row(db: store.Database) -> dict:
    return rows(
        db,
        """SELECT published, published_local, date_source, date_candidates, date_disagreement
           FROM items""",
    )[0]


def test_feed_date_days_away_from_the_page_gives_way_and_is_counted(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_feed(http_server, "Mon, 24 Nov 2025 09:00:00 GMT")
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    poll_all(config, db)
    item = item_row(db)
    assert (item["published"], item["published_local"], item["date_source"]) == (
        "2025-11-20T08:00:00+00:00", "2025-11-20T08:00:00+00:00", "jsonld",
    )  # fmt: skip
    assert json.loads(item["date_disagreement"]) == {
        "feed": "2025-11-24T09:00:00+00:00", "page": "2025-11-20T08:00:00+00:00",
        "kind": "days_apart", "days": 4,
    }  # fmt: skip
    assert rows(db, "SELECT field, old_value, new_value FROM item_revisions") == [
        {"field": "published", "old_value": "2025-11-24T09:00:00+00:00",
         "new_value": "2025-11-20T08:00:00+00:00"}
    ]  # fmt: skip
    assert rows(db, "SELECT date_disagreements FROM sources") == [{"date_disagreements": 1}]

    # the source's health shows it
    args = ["--config", str(config.config_dir), "--db", str(tmp_path / "test.db"), "sources"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()[:2]
    column = header.index("redated")  # a fixed-width column; after it comes why, in words
    assert line[column:].split()[0] == "1"
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert json.loads(result.output.splitlines()[0])["date_disagreements"] == 1


def test_feed_date_that_is_the_fetch_time_gives_way(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    # a summary and a trustworthy link: only the date, the time of the poll, sends for the page
    serve_feed(http_server, format_datetime(datetime.now(UTC), usegmt=True),
               "<description>Negotiators met in Istanbul on Thursday.</description>")  # fmt: skip
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    poll_all(config, db)
    assert rows(db, "SELECT reason, state FROM page_fetches") == [
        {"reason": "fetch_time_date", "state": "done"}
    ]
    item = item_row(db)
    assert (item["published"], item["date_source"]) == ("2025-11-20T08:00:00+00:00", "jsonld")
    assert json.loads(item["date_disagreement"])["kind"] == "fetch_time"
    assert rows(db, "SELECT date_disagreements FROM sources") == [{"date_disagreements": 1}]


def test_feed_date_close_to_the_page_is_kept_and_the_candidates_stored(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_feed(http_server, "Thu, 20 Nov 2025 08:05:00 GMT")
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    poll_all(config, db)
    item = item_row(db)
    assert (item["published"], item["date_source"], item["date_disagreement"]) == (
        "2025-11-20T08:05:00+00:00", "feed", None,
    )  # fmt: skip
    candidates = json.loads(item["date_candidates"])
    assert candidates["chosen"] == "2025-11-20T08:00:00+00:00"
    assert candidates["source"] == "jsonld"
    assert candidates["reason"] == "jsonld, confirmed by url", candidates
    assert {c["source"] for c in candidates["candidates"]} >= {"jsonld", "url"}
    assert rows(db, "SELECT date_disagreements FROM sources") == [{"date_disagreements": 0}]


def test_migration_0005_is_appended_after_the_shipped_ones(tmp_path: Path) -> None:
    names = [name for name, _ in MIGRATIONS]
    assert names[:5] == [
        "0001_core", "0002_tagging", "0003_outlets_articles", "0004_analyst_views_digests",
        "0005_date_candidates",
    ]  # fmt: skip
    db = store.open_db(tmp_path / "m.db")
    columns = {r["name"] for r in rows(db, "PRAGMA table_info(items)")}
    assert {"published_local", "date_candidates", "date_disagreement"} <= columns
    assert "date_disagreements" in {r["name"] for r in rows(db, "PRAGMA table_info(sources)")}


def test_feed_items_get_the_outlets_local_day(tmp_path: Path, http_server: FixtureServer) -> None:
    base = http_server.url("")
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Drought relief bill signed</title><link>{base}/a</link><guid>a</guid>
<description>The governor signed the bill on Monday evening.</description>
<pubDate>Tue, 02 Mar 2021 01:15:00 GMT</pubDate></item>
<item><title>Kyiv talks open</title><link>{base}/b</link><guid>b</guid>
<description>Delegations met in Kyiv on Tuesday morning.</description>
<pubDate>Tue, 02 Mar 2021 09:00:00 +0200</pubDate></item>
</channel></rss>""".encode()
    http_server.route("/feed.xml", body=feed)
    config, db = configure(tmp_path, [
        {"id": "west", "url": http_server.url("/feed.xml"), "timezone": "America/Los_Angeles"},
    ])  # fmt: skip
    poll_all(config, db)
    got = rows(db, "SELECT title, published, published_local FROM items ORDER BY id")
    assert got == [
        {"title": "Drought relief bill signed", "published": "2021-03-02T01:15:00+00:00",
         "published_local": "2021-03-01T17:15:00-08:00"},  # the source's zone
        {"title": "Kyiv talks open", "published": "2021-03-02T07:00:00+00:00",
         "published_local": "2021-03-02T09:00:00+02:00"},  # the feed's own offset
    ]  # fmt: skip


def test_items_sharing_a_stamp_near_the_poll_have_their_pages_read(tmp_path: Path) -> None:
    from peacewatch.models import ParsedItem
    from peacewatch.store.pages import queue_pages_for_items

    now = "2025-11-21T12:00:00+00:00"
    db = store.open_db(tmp_path / "q.db")

    def item(n: int, published: str) -> ParsedItem:
        url = f"https://kyivindependent.com/story-{n}"
        return ParsedItem(title=f"Story number {n} about talks", url=url, canonical_url=url,
                          published=published, summary="A summary.")  # fmt: skip

    with store.transaction(db):
        store.ensure_outlet(db, "ex", "Example")
        saved = store.save_items(
            db,
            [item(1, "2025-11-21T11:57:00+00:00"), item(2, "2025-11-21T11:57:00+00:00"),
             item(3, "2025-11-21T11:56:00+00:00"), item(4, "2025-11-21T11:59:30+00:00"),
             item(5, "2025-11-20T08:00:00+00:00")],
            source_id=None, outlet_id="ex", now=now,
        )  # fmt: skip
        queued = queue_pages_for_items(db, saved.new, source_id=None, registry=None, now=now)
    # 1 and 2 share a stamp 3 minutes before the poll; 4 is 30 s before it; 3 and 5 look real
    assert queued == 3
    assert rows(db, "SELECT url, reason FROM page_fetches ORDER BY url") == [
        {"url": f"https://kyivindependent.com/story-{n}", "reason": "fetch_time_date"}
        for n in (1, 2, 4)
    ]


def test_redated_items_query_lists_the_corrected_item(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    from peacewatch.surfaces.datasette_app import load_metadata

    serve_feed(http_server, "Mon, 24 Nov 2025 09:00:00 GMT")
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    poll_all(config, db)
    config_file = Path(__file__).parent.parent / "config" / "datasette.yml"
    queries = load_metadata(config_file, "test")["databases"]["test"]["queries"]
    sql = queries["redated_items"]["sql"]
    got = rows(db, sql)
    assert [(r["source"], r["feed_date"], r["published"], r["why"]) for r in got] == [
        ("f", "2025-11-24T09:00:00+00:00", "2025-11-20T08:00:00+00:00", "days_apart")
    ]
    assert got[0]["page_verdict"] == "jsonld, confirmed by url"


def test_a_redated_item_is_tagged_again(tmp_path: Path, http_server: FixtureServer) -> None:
    """The 28-point plan's rule counts "Trump peace plan" only in November 2025. Dated by the
    feed (the time of the poll) the item has no tag; the page's date gives it one. The feed
    has a summary, so only the date changes."""
    import shutil

    from peacewatch.config import load_config

    base = http_server.url("")
    story = f"{base}/2025/11/20/trump-plan.html"
    title = "Trump peace plan for Ukraine leaves Kyiv weighing its options"
    http_server.route("/2025/11/20/trump-plan.html", content_type=HTML,
                      body=page(title, "2025-11-20T08:00:00+00:00", story))  # fmt: skip
    now = format_datetime(datetime.now(UTC), usegmt=True)
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>{title}</title><link>{story}</link><guid>t1</guid>
<description>Kyiv weighs what the plan would leave it.</description>
<pubDate>{now}</pubDate></item></channel></rss>"""
    http_server.route("/feed.xml", body=feed.encode())
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    repo = Path(__file__).resolve().parent.parent
    shutil.copy(repo / "config" / "initiatives.toml", config.config_dir / "initiatives.toml")
    shutil.copy(repo / "config" / "tagging-model.npz", config.config_dir / "tagging-model.npz")
    poll_all(load_config(config.config_dir), db)
    assert item_row(db)["published"] == "2025-11-20T08:00:00+00:00"
    assert rows(db, "SELECT initiative_id FROM item_initiatives") == [
        {"initiative_id": "us-28pt-plan"}
    ]
