"""Datasette on the peacewatch database: metadata, views, canned queries, the Atom feed, the
`peacewatch datasette` command while the pipeline writes, and the search page in a browser.

The database is the surfaces story (tests/surfaces_data.py) built through the pipeline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.config import load_config
from peacewatch.surfaces.datasette_app import load_metadata
from support import free_port, poll, wait_until_served
from surfaces_data import ITEMS, SCRIPT_TITLE, datasette_over, rss, stored_story

ROOT = Path(__file__).parent.parent
CONFIG = ROOT / "config" / "datasette.yml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return stored_story(tmp_path_factory.mktemp("datasette"))


@pytest.fixture(scope="module")
def ds(story: tuple[Path, dict[str, int]]) -> Iterator[Any]:
    yield from datasette_over(story[0], CONFIG)


def get(ds: Any, path: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def rows(ds: Any, path: str) -> list[dict[str, Any]]:
    name, _, query = path.partition("?")
    query = f"{query}&" if query else ""
    return list(get(ds, f"/peacewatch/{name}.json?{query}_shape=array&_size=max").json())


def test_every_table_view_and_column_is_described(story: tuple[Path, dict[str, int]]) -> None:
    tables = load_metadata(CONFIG, "peacewatch")["databases"]["peacewatch"]["tables"]
    with sqlite3.connect(story[0]) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'items_fts%'"
            )
        ]
        missing = []
        for name in names:
            described = tables.get(name, {})
            if not described.get("description"):
                missing.append(name)
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info([{name}])")]
            missing += [f"{name}.{c}" for c in columns if c not in described.get("columns", {})]
    assert missing == []


def test_views(ds: Any, story: tuple[Path, dict[str, int]]) -> None:
    _, ids = story
    details = {r["id"]: r for r in rows(ds, "item_details")}
    assert len(details) == len(ITEMS)
    both = details[ids["both"]]
    assert (both["outlet"], both["day"], both["language"]) == (
        "Kyiv Independent",
        "2025-11-21",
        "en",
    )
    assert json.loads(both["initiatives"]) == ["coalition-of-willing", "us-28pt-plan"]
    assert details[ids["undated"]]["day"] == "2025-11-21"  # first seen, no date
    assert details[ids["undated"]]["published"] is None

    daily = rows(ds, "initiative_coverage_daily?initiative_id=us-28pt-plan")
    assert [(r["day"], r["items"], r["outlets"]) for r in daily] == [
        ("2025-11-20", 2, 2),
        ("2025-11-21", 4, 4),
    ]
    weekly = rows(ds, "initiative_coverage_weekly?initiative_id=coalition-of-willing")
    assert [(r["week"], r["items"]) for r in weekly] == [("2025-11-10", 1), ("2025-11-17", 2)]
    health = {r["source_id"]: r for r in rows(ds, "source_health")}
    assert health["bbc-world"]["health"] == "failing"
    assert health["bbc-world"]["failing_since"] == "2025-11-19T06:00:00+00:00"
    assert health["kyivindependent-uk"]["health"] == "failing"
    assert health["aljazeera"]["health"] == "ok"
    evidence = rows(ds, f"item_tag_evidence?item_id={ids['both']}")
    assert {(r["tag_id"], r["field"], r["matched_text"]) for r in evidence} == {
        ("us-28pt-plan", "title", "28-point plan"),
        ("coalition-of-willing", "summary", "Coalition of the willing"),
    }


def test_default_facets_labels_and_search(ds: Any, story: tuple[Path, dict[str, int]]) -> None:
    _, ids = story
    tagged = get(ds, "/peacewatch/tagged_items.json").json()
    assert set(tagged["facet_results"]) >= {"initiative", "outlet", "language", "day"}
    initiative = {f["value"]: f["count"] for f in tagged["facet_results"]["initiative"]["results"]}
    assert initiative == {
        "US 28-point peace plan": 6,
        "Coalition of the Willing": 3,
        "Istanbul talks 2025": 1,
    }
    (labelled,) = rows(ds, f"items?id={ids['plan-bbc']}&_labels=on")
    assert labelled["outlet_id"] == {"value": "bbc-news", "label": "BBC News"}
    found = rows(ds, "items?_search=coalition")
    assert {r["id"] for r in found} == {ids["both"], ids["undated"], ids["prev-week"]}


def test_canned_queries(ds: Any, story: tuple[Path, dict[str, int]]) -> None:
    _, ids = story
    latest = rows(ds, "initiative_latest?initiative=us-28pt-plan")
    assert [r["id"] for r in latest] == sorted(
        [ids[k] for k in ("plan-aj", "plan-bbc", "both", "script", "prev-day", "night")],
        reverse=True,
    )
    assert latest[0]["outlet"] == "TASS" and latest[0]["title"] == SCRIPT_TITLE

    weekly = rows(ds, "initiative_weekly?initiative=us-28pt-plan")
    assert [(r["week"], r["items"], r["outlets"]) for r in weekly] == [("2025-11-17", 6, 4)]

    outlets = rows(ds, "initiative_outlets?initiative=us-28pt-plan")
    assert [
        (r["outlet"], r["items"], r["percent"], r["first_day"], r["last_day"]) for r in outlets
    ] == [
        ("Al Jazeera", 2, 33.3, "2025-11-20", "2025-11-21"),
        ("Kyiv Independent", 2, 33.3, "2025-11-20", "2025-11-21"),
        ("BBC News", 1, 16.7, "2025-11-21", "2025-11-21"),
        ("TASS", 1, 16.7, "2025-11-21", "2025-11-21"),
    ]

    together = rows(ds, "initiatives_together?a=us-28pt-plan&b=coalition-of-willing")
    assert [r["id"] for r in together] == [ids["both"]]

    themes = rows(ds, "items_per_theme")
    assert [(r["theme_id"], r["items"]) for r in themes][:1] == [("CEASE", 2)]
    assert {r["theme_id"]: r["items"] for r in themes} == {"CEASE": 2, "TERR": 1, "POW": 1}
    assert [r["id"] for r in rows(ds, "theme_latest?theme=CEASE")] == [
        ids["general"],
        ids["undated"],
    ]

    found = rows(ds, "search?q=coalition")
    assert [r["id"] for r in found] == sorted(
        [ids["both"], ids["undated"], ids["prev-week"]], reverse=True
    )
    assert found[-1]["headline"] == "⟦Coalition⟧ planning a reassurance force"
    by_id = {r["id"]: r for r in found}
    assert by_id[ids["both"]]["snippet"] == "⟦Coalition⟧ of the willing offers guarantees."

    failing = rows(ds, "failing_sources")
    assert [(r["source"], r["consecutive_failures"] > 0) for r in failing] == [
        ("bbc-world", True),
        ("kyivindependent-uk", True),
    ]
    assert failing[0]["last_error"] == "HTTP 503"

    assert [r["id"] for r in rows(ds, "undated_items")] == [ids["undated"]]
    assert rows(ds, "redated_items") == []  # the fixture's feed dates agree with their pages

    evidence = rows(ds, f"item_evidence?item_id={ids['plan-aj']}")
    assert [(r["tag_kind"], r["tag_id"], r["matched_text"]) for r in evidence] == [
        ("initiative", "us-28pt-plan", "28-point peace plan"),
        ("theme", "TERR", "Donbas"),
    ]


def test_search_page_highlights_and_escapes(ds: Any) -> None:
    html = get(ds, "/peacewatch/search?q=plan").text
    assert "Night briefing on the peace <mark>plan</mark>" in html
    assert (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Kremlin &amp; Dmitriev on the <mark>plan</mark>"
        in html
    )
    assert "<script>alert(" not in html


def test_initiative_atom_feed(ds: Any, story: tuple[Path, dict[str, int]]) -> None:
    _, ids = story
    response = get(ds, "/peacewatch/initiative_feed.atom?initiative=coalition-of-willing")
    assert response.headers["content-type"].startswith("application/xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(response.content)
    assert feed.findtext("a:title", namespaces=ns) == "Initiative feed"
    entries = feed.findall("a:entry", ns)
    got = [
        (e.findtext("a:id", namespaces=ns), e.findtext("a:title", namespaces=ns),
         e.find("a:link", ns).get("href"))  # type: ignore[union-attr]
        for e in entries
    ]  # fmt: skip
    expected = {
        (f"peacewatch:item:{ids[k]}", i["title"], i["url"])
        for k in ("both", "undated", "prev-week")
        for i in ITEMS
        if i["key"] == k
    }
    assert set(got) == expected
    authors = {e.findtext("a:author/a:name", namespaces=ns) for e in entries}
    assert authors == {"Kyiv Independent", "Al Jazeera"}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, story: tuple[Path, dict[str, int]]
) -> Iterator[dict[str, Any]]:
    """`peacewatch datasette --port N` on a copy of the story, with its feeds still served."""
    tmp = tmp_path_factory.mktemp("served")
    db_path = tmp / "peacewatch.db"
    with sqlite3.connect(story[0]) as src, sqlite3.connect(db_path) as dst:
        src.backup(dst)
    server = FixtureServer().start()
    from surfaces_data import story_config

    config = story_config(tmp / "config", server)
    shutil.copy(CONFIG, tmp / "config" / "datasette.yml")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--config", str(tmp / "config"), "--db",
         str(db_path), "datasette", "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(f"{base}/-/versions.json", process)
        yield {"base": base, "db_path": db_path, "server": server, "config": config, "tmp": tmp}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
        server.stop()


@pytest.mark.slow
def test_command_stopped_by_sigterm_leaves_no_temporary_files(
    tmp_path: Path, story: tuple[Path, dict[str, int]]
) -> None:
    """A service manager stops the server with SIGTERM at every restart: the metadata's
    temporary directory must go with it, or /tmp fills over months."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--db", str(story[0]), "datasette",
         "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(temp)},
    )  # fmt: skip
    try:
        wait_until_served(f"http://127.0.0.1:{port}/-/versions.json", process)
        assert [p.name[:21] for p in temp.iterdir()] == ["peacewatch-datasette-"]
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)
    assert returncode == 128 + signal.SIGTERM
    assert list(temp.iterdir()) == []


def _json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.mark.slow
def test_command_serves_read_only_while_the_pipeline_writes(served: dict[str, Any]) -> None:
    base = served["base"]
    (database,) = _json(f"{base}/-/databases.json")
    assert database["name"] == "peacewatch" and database["is_mutable"]
    assert _json(f"{base}/peacewatch/search.json?q=armistice&_shape=array") == []
    queries = {q["name"] for q in _json(f"{base}/peacewatch.json")["queries"]}
    assert {"initiative_latest", "initiative_feed", "search", "failing_sources"} <= queries
    # a write through Datasette is refused: its connections are read-only
    with pytest.raises(urllib.error.HTTPError) as refused:
        _json(f"{base}/peacewatch.json?sql=" + urllib.parse.quote("delete from items"))
    assert refused.value.code == 400
    refused.value.close()
    with sqlite3.connect(served["db_path"]) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == len(ITEMS)
    # the pipeline stores a new story while Datasette is up; the next query sees it
    new = dict(ITEMS[0], key="new", title="Armistice talks resume", seen="2025-11-22T09:00:00+00:00",
               url="https://www.aljazeera.com/news/2025/11/22/armistice",
               published="2025-11-22T08:00:00+00:00")  # fmt: skip
    server: FixtureServer = served["server"]
    server.route("/aljazeera.xml", body=rss("Al Jazeera", "en", [new]))
    db = store.open_db(served["db_path"])
    try:
        poll(served["config"], db, only=["aljazeera"],
             clock=lambda: datetime.fromisoformat("2025-11-22T09:00:00+00:00"))  # fmt: skip
    finally:
        db.conn.close()
    found = _json(f"{base}/peacewatch/search.json?q=armistice&_shape=array")
    assert [r["headline"] for r in found] == ["⟦Armistice⟧ talks resume"]


@pytest.mark.slow
def test_search_page_in_a_headless_browser(served: dict[str, Any]) -> None:
    if CHROMIUM is None:
        pytest.skip(
            "Chromium is not installed and scripts/install-system-deps.sh could not install it "
            "(needs root and apt-get)"
        )
    profile = served["tmp"] / "chromium-profile"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
         f"{served['base']}/peacewatch/search?q=coalition"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    dom = result.stdout
    assert "Search headlines and summaries" in dom, result.stderr[-2000:]
    assert "<mark>Coalition</mark> of the willing meets in London" in dom
    assert "<mark>Coalition</mark> planning a reassurance force" in dom
    assert "3 rows" in dom or "3 results" in dom or dom.count("<mark>") >= 3
    with sqlite3.connect(served["db_path"]) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] >= len(ITEMS)
    assert load_config(served["tmp"] / "config").sources


def test_coverage_counters_follow_tag_and_item_changes(
    tmp_path: Path, story: tuple[Path, dict[str, int]]
) -> None:
    db_path, ids = story
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    recount = """SELECT item_initiatives.initiative_id,
                        substr(coalesce(items.published, items.first_seen), 1, 10),
                        items.outlet_id, count(*)
                 FROM item_initiatives JOIN items ON items.id = item_initiatives.item_id
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    counters = "SELECT * FROM initiative_day_outlet ORDER BY 1, 2, 3"
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        assert conn.execute(counters).fetchall() == conn.execute(recount).fetchall()
        assert conn.execute(counters).fetchall()
        # a retag replaces an item's tags; a late date moves an undated item to another day
        conn.execute("DELETE FROM item_initiatives WHERE item_id = ?", [ids["both"]])
        conn.execute(
            "INSERT INTO item_initiatives VALUES (?, 'istanbul-talks-2025', 1, '[]', 'v2')",
            [ids["both"]],
        )
        conn.execute(
            "UPDATE items SET published = '2025-11-15T12:00:00+00:00' WHERE id = ?",
            [ids["undated"]],
        )
        conn.execute(
            "UPDATE item_initiatives SET initiative_id = 'us-28pt-plan'"
            " WHERE item_id = ? AND initiative_id = 'istanbul-talks-2025'",
            [ids["istanbul"]],
        )
        assert conn.execute(counters).fetchall() == conn.execute(recount).fetchall()
        assert conn.execute(
            "SELECT count(*) FROM initiative_day_outlet WHERE items <= 0"
        ).fetchone() == (0,)
    finally:
        conn.close()
