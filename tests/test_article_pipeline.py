"""End to end through a loopback HTTP server: reading lists (HTML and text) as sources, their
article pages read under robots.txt and the SSRF guard, feed items enriched from their pages,
unknown outlets recorded. Every test asserts stored rows."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.cli import cli
from peacewatch.config import Config, load_config
from peacewatch.ingest.fetch import Fetcher
from peacewatch.models import RunReport
from peacewatch.pipeline import read_article_pages, run_cycle, sync_sources
from peacewatch.runtime import Runtime
from support import rows, table_dump, write_config

REPO = Path(__file__).resolve().parent.parent
HTML = "text/html; charset=utf-8"


def page(title: str, published: str, canonical: str, lead: str = "") -> bytes:
    return f"""<!DOCTYPE html><html lang="en"><head><title>{title} | Example Outlet</title>
<link rel="canonical" href="{canonical}">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{title}",
"datePublished": "{published}"}}</script></head>
<body><article><p>{lead or "A lead paragraph long enough to be taken as the lead of the story."}</p>
</article></body></html>""".encode()


def serve_list_site(server: FixtureServer) -> None:
    base = server.url("")
    server.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n",
                 content_type="text/plain")  # fmt: skip
    server.route("/a/1.html", body=page(
        "Saudi Arabia to host Ukraine peace talks, top official says",
        "2023-07-30T21:30:00+00:00", f"{base}/a/1-canonical.html"), content_type=HTML)  # fmt: skip
    server.route("/a/3.html", body=page(
        "The case for diplomacy in Ukraine, and why the west keeps ignoring it",
        "2023-02-24T09:00:00+00:00", f"{base}/a/3.html"), content_type=HTML)  # fmt: skip
    server.route("/private/2.html", body=page("Hidden", "2023-08-06T10:00:00Z", "/x"),
                 content_type=HTML)  # fmt: skip
    listing = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Reading</title></head>
<body><nav><a href="/">Home</a></nav><ul>
<li><a href="{base}/a/1.html">Saudi Arabia to host Ukraine peace talks, top official says</a> - Al Jazeera 31.07.23</li>
<li><a href="{base}/private/2.html">China backs further Ukraine peace talks</a> - Guardian 06.08.23</li>
<li><a href="{base}/a/3.html">The case for diplomacy in Ukraine, and why the west keeps...</a> - AlterNet 24.02.23</li>
<li>Why China's peace plan on Ukraine should be welcomed - Global Times 03.03.23</li>
<li>Scholar on China-Russia relations - Unknown Weekly 23.02.23</li>
</ul></body></html>"""  # fmt: skip
    server.route("/list.html", body=listing.encode(), content_type=HTML)
    text = (
        "Further reading\n"
        "- Why China's peace plan on Ukraine should be welcomed - Global Times 03.03.23\n"
        "- Kremlin welcomes any steps - Anti War 27.04.23344791\n"
        "- ???\n"
    )
    server.route("/list.txt", body=text.encode(), content_type="text/plain; charset=utf-8")


def configure(tmp_path: Path, sources: list[dict[str, Any]], **sections: Any) -> tuple[Config, Any]:
    config_dir = write_config(tmp_path / "config", sources, **sections)
    (config_dir / "outlets.toml").write_text((REPO / "config" / "outlets.toml").read_text())
    return load_config(config_dir), store.open_db(tmp_path / "test.db")


def poll_all(config: Config, db: store.Database) -> RunReport:
    async def go() -> RunReport:
        async with Fetcher(config.settings.http) as fetcher:
            rt = Runtime(config, db, fetcher)
            sync_sources(rt, rt.now())
            report = await run_cycle(rt, [s.id for s in config.sources])
            report.pages = await read_article_pages(rt)
            return report

    return asyncio.run(go())


def test_html_list_source_end_to_end(tmp_path: Path, http_server: FixtureServer) -> None:
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list",
         "outlet": "Peace Reading Lists"},
    ])  # fmt: skip
    report = poll_all(config, db)
    assert [(s.outcome, s.items_new, s.error) for s in report.sources] == [("ok", 5, None)]

    entries = rows(
        db,
        """SELECT e.line, e.title, e.outlet_written, e.outlet_id, e.date, e.url,
                          i.published, i.date_source, i.linkless, i.title AS item_title
                          FROM list_entries e JOIN items i ON i.id = e.item_id ORDER BY e.line""",
    )
    base = http_server.url("")
    assert [(e["outlet_id"], e["date"], e["url"], e["linkless"]) for e in entries] == [
        ("al-jazeera", "2023-07-31", f"{base}/a/1.html", 0),
        ("guardian", "2023-08-06", f"{base}/private/2.html", 0),
        ("alternet", "2023-02-24", f"{base}/a/3.html", 0),
        ("global-times", "2023-03-03", None, 1),
        ("unknown-weekly", "2023-02-23", None, 1),
    ]  # fmt: skip
    assert all(e["line"] > 0 for e in entries)
    # the page's JSON-LD date overrules the list's day (Al Jazeera publishes in Doha, UTC+3)
    assert (entries[0]["published"], entries[0]["date_source"]) == (
        "2023-07-30T21:30:00+00:00", "jsonld",
    )  # fmt: skip
    # robots.txt forbids /private/: the list's date stays, the page is never requested
    assert (entries[1]["published"], entries[1]["date_source"]) == (
        "2023-08-06T00:00:00+00:00", "list",
    )  # fmt: skip
    assert http_server.hits("/private/2.html") == []
    assert len(http_server.hits("/robots.txt")) == 1  # cached per host
    # the headline the list cut short is completed from the page, with a revision kept
    assert entries[2]["item_title"] == (
        "The case for diplomacy in Ukraine, and why the west keeps ignoring it"
    )
    pages = rows(db, "SELECT url, reason, state, error FROM page_fetches ORDER BY item_id")
    assert [(p["reason"], p["state"]) for p in pages] == [
        ("list", "done"),
        ("list", "refused"),
        ("list", "done"),
    ]
    assert "robots.txt" in pages[1]["error"]
    # the page's canonical URL now names the item too (dedup with feeds that link there)
    item_urls = {r["url"] for r in rows(db, "SELECT url FROM item_urls")}
    assert f"{base}/a/1-canonical.html" in item_urls
    unknown = rows(db, "SELECT id, registered, derived_from FROM outlets WHERE registered = 0")
    assert {(u["id"], u["derived_from"]) for u in unknown} == {
        ("unknown-weekly", "Unknown Weekly"),
        ("peace-reading-lists", None),
    }

    # polling again changes nothing: same list body, no pages due
    before = table_dump(db, "items", "item_urls", "list_entries", "page_fetches")
    poll_all(config, db)
    assert table_dump(db, "items", "item_urls", "list_entries", "page_fetches") == before
    assert len(http_server.hits("/a/1.html")) == 1


def test_text_list_and_linkless_dedup_across_lists(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "html-list", "url": http_server.url("/list.html"), "kind": "list",
         "outlet": "Lists"},
        {"id": "text-list", "url": http_server.url("/list.txt"), "kind": "list",
         "outlet": "Lists"},
    ])  # fmt: skip
    poll_all(config, db)
    fetch = rows(db, "SELECT error FROM fetches WHERE source_id = 'text-list'")[0]
    assert fetch["error"] == "2 list lines skipped: line 1: no ' - Outlet DD.MM.YY' ending; " \
        "line 4: no headline"  # fmt: skip
    global_times = rows(db, "SELECT id FROM items WHERE outlet_id = 'global-times'")
    assert len(global_times) == 1  # link-less: same outlet + headline + date = same story
    linked = rows(db, "SELECT DISTINCT list_ref FROM list_entries WHERE item_id = ?",
                  [global_times[0]["id"]])  # fmt: skip
    assert {r["list_ref"] for r in linked} == {"html-list", "text-list"}
    antiwar = rows(db, "SELECT e.reference, i.published FROM list_entries e "
                       "JOIN items i ON i.id = e.item_id WHERE e.outlet_id = 'antiwar'")  # fmt: skip
    assert antiwar == [{"reference": "344791", "published": "2023-04-27T00:00:00+00:00"}]


def test_list_links_to_private_addresses_are_refused(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    """The list itself is configured (trusted); the links inside it are content: with
    allow_private off, links to loopback are refused before any request."""
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list",
         "outlet": "Lists", "allow_private": False},
    ])  # fmt: skip
    poll_all(config, db)
    pages = rows(db, "SELECT state, error FROM page_fetches ORDER BY item_id")
    assert [p["state"] for p in pages] == ["refused", "refused", "refused"]
    assert all("loopback address" in p["error"] for p in pages)
    assert http_server.hits("/a/1.html") == [] and http_server.hits("/robots.txt") == []


def test_feed_item_without_summary_is_completed_from_its_page(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    base = http_server.url("")
    http_server.route("/story.html", body=page(
        "Grain corridor talks resume", "2025-11-20T08:00:00+00:00", f"{base}/story.html",
        lead="Negotiators met in Istanbul on Thursday to revive the Black Sea grain corridor.",
    ), content_type=HTML)  # fmt: skip
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Grain corridor talks resume</title><link>{base}/story.html?utm_source=rss</link>
<guid>g1</guid></item></channel></rss>""".encode()
    http_server.route("/feed.xml", body=feed)
    config, db = configure(tmp_path, [{"id": "f", "url": http_server.url("/feed.xml")}])
    poll_all(config, db)
    item = rows(db, "SELECT published, date_source, summary, page_fetched_at FROM items")[0]
    assert item["published"] == "2025-11-20T08:00:00+00:00"
    assert item["date_source"] == "jsonld"
    assert item["summary"].startswith("Negotiators met in Istanbul")
    assert item["page_fetched_at"] is not None
    assert rows(db, "SELECT reason, state FROM page_fetches") == [
        {"reason": "no_date", "state": "done"}
    ]


def test_outlets_unknown_lists_what_the_registry_lacks(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list",
         "outlet": "Al Jazeera"},
    ])  # fmt: skip
    poll_all(config, db)
    result = CliRunner().invoke(
        cli, ["--config", str(config.config_dir), "--db", str(tmp_path / "test.db"),
              "outlets", "--unknown"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unknown-weekly" in result.output and "Unknown Weekly" in result.output
    assert "al-jazeera" not in result.output  # a registered name given as a source's outlet
    source = rows(db, "SELECT outlet_id FROM sources WHERE id = 'reading'")[0]
    assert source["outlet_id"] == "al-jazeera"


def test_outlets_added_to_the_registry_absorb_their_derived_outlets(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list",
         "outlet": "The Guardian"},
    ])  # fmt: skip
    # the core's own sync names a source's outlet by slug; the first poll folds it in
    store.sync_sources(db, config.sources, "2025-11-21T10:00:00+00:00")
    assert rows(db, "SELECT outlet_id FROM sources") == [{"outlet_id": "the-guardian"}]
    poll_all(config, db)
    assert rows(db, "SELECT outlet_id FROM sources") == [{"outlet_id": "guardian"}]
    assert rows(db, "SELECT id FROM outlets WHERE id = 'the-guardian'") == []
    weekly = rows(db, "SELECT id FROM items WHERE outlet_id = 'unknown-weekly'")
    assert len(weekly) == 1
    # an analyst describes the unknown outlet: its items move to the registered id
    registry = config.config_dir / "outlets.toml"
    registry.write_text(registry.read_text() + (
        '\n[outlets.weekly]\nname = "Unknown Weekly"\ndomains = ["weekly.example.net"]\n'
    ))  # fmt: skip
    config = load_config(config.config_dir)  # configuration is read once, at (re)start
    poll_all(config, db)
    assert rows(db, "SELECT outlet_id FROM items WHERE id = ?", [weekly[0]["id"]]) == [
        {"outlet_id": "weekly"}
    ]
    entries = rows(db, "SELECT outlet_id, entry_key FROM list_entries WHERE item_id = ?",
                   [weekly[0]["id"]])  # fmt: skip
    assert [e["outlet_id"] for e in entries] == ["weekly"]
    assert entries[0]["entry_key"].startswith("weekly|")
    assert rows(db, "SELECT registered FROM outlets WHERE id = 'unknown-weekly'") == []


def test_page_source_stores_the_article_itself(tmp_path: Path, http_server: FixtureServer) -> None:
    base = http_server.url("")
    http_server.route("/statement.html", body=page(
        "Statement on the peace formula", "2023-08-06T12:00:00+03:00", f"{base}/statement.html",
    ), content_type=HTML)  # fmt: skip
    config, db = configure(tmp_path, [
        {"id": "mfa", "url": http_server.url("/statement.html"), "kind": "page",
         "outlet": "Ukrinform", "timezone": "Europe/Kyiv"},
    ])  # fmt: skip
    report = poll_all(config, db)
    assert [(s.outcome, s.items_new) for s in report.sources] == [("ok", 1)]
    assert rows(db, "SELECT title, published, outlet_id, lang FROM items") == [{
        "title": "Statement on the peace formula", "published": "2023-08-06T09:00:00+00:00",
        "outlet_id": "ukrinform", "lang": "en",
    }]  # fmt: skip


def test_robots_redirect_to_a_metadata_address_is_refused(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_list_site(http_server)
    http_server.route("/robots.txt", status=302, location="http://169.254.169.254/latest/")
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list", "outlet": "L"},
    ])  # fmt: skip
    poll_all(config, db)
    pages = rows(db, "SELECT state, error FROM page_fetches ORDER BY item_id")
    assert [p["state"] for p in pages] == ["refused"] * 3
    assert "cloud metadata address" in pages[0]["error"]
    assert http_server.hits("/a/1.html") == []


def test_list_entries_are_tagged_in_the_same_transaction(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    serve_list_site(http_server)
    config, db = configure(tmp_path, [
        {"id": "reading", "url": http_server.url("/list.html"), "kind": "list", "outlet": "L"},
    ])  # fmt: skip
    shutil.copy(REPO / "config" / "initiatives.toml", config.config_dir / "initiatives.toml")
    shutil.copy(REPO / "config" / "tagging-model.npz", config.config_dir / "tagging-model.npz")
    poll_all(load_config(config.config_dir), db)
    tags = rows(db, """SELECT i.title, t.initiative_id FROM items i
                       JOIN item_initiatives t ON t.item_id = i.id ORDER BY i.id""")  # fmt: skip
    assert {
        "title": "Saudi Arabia to host Ukraine peace talks, top official says",
        "initiative_id": "jeddah-meeting-2023",
    } in tags
    # link-less entries are tagged too
    assert any(t["title"].startswith("Why China's peace plan") for t in tags)
