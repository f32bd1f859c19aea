"""The coverage dashboard (datasette-dashboards, /-/dashboards/coverage): its queries on the
surfaces story, the counters behind them, and the page in headless Chromium against a real
`peacewatch datasette` on 127.0.0.1 with every other host blocked and each request logged.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peacewatch.surfaces.datasette_app import html_link, html_text, load_metadata
from support import free_port, wait_until_served
from surfaces_data import datasette_over, stored_story

ROOT = Path(__file__).parent.parent
CONFIG = ROOT / "config" / "datasette.yml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE = "/-/dashboards/coverage"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return stored_story(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def ds(story: tuple[Path, dict[str, int]]) -> Iterator[Any]:
    yield from datasette_over(story[0], CONFIG)


def get(ds: Any, path: str, **params: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path, params=params)

    return asyncio.run(go())


def chart_rows(ds: Any, chart: str, **params: str) -> list[dict[str, Any]]:
    """The rows a chart fetches, through the same JSON API the page calls."""
    query = ds.plugin_config("datasette-dashboards")["coverage"]["charts"][chart]["query"]
    response = get(ds, "/peacewatch.json", sql=query, _shape="objects", **params)
    assert response.status_code == 200, response.text[:500]
    return list(response.json()["rows"])


def test_page_redirects_to_its_default_filters_and_lists_every_initiative(ds: Any) -> None:
    response = get(ds, PAGE)
    assert response.status_code == 302
    assert response.headers["location"] == f"{PAGE}?initiative=us-28pt-plan&period=26+weeks"
    page = get(ds, PAGE, initiative="us-28pt-plan", period="26 weeks")
    assert page.status_code == 200
    assert "Coverage of the peace initiatives" in page.text
    options = re.findall(r'<option value="([^"]+)"', page.text)
    assert {"us-28pt-plan", "coalition-of-willing", "istanbul-talks-2025"} <= set(options)
    assert {"1 week", "26 weeks", "all"} <= set(options)
    # every script and stylesheet of the page is served by this Datasette
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        assert get(ds, asset).status_code == 200, asset


def test_chart_queries_follow_initiative_and_period(ds: Any) -> None:
    every = chart_rows(ds, "weekly_all", period="all")
    assert [(r["initiative"], r["total"], r["weeks"]) for r in every] == [
        ("US 28-point peace plan", 6, "2025-11-17=6"),
        ("Coalition of the Willing", 3, "2025-11-10=1;2025-11-17=2"),
        ("Istanbul talks 2025", 1, "2025-11-17=1"),
    ]
    # one week back from the newest item's week leaves out the week of 10 November
    recent = chart_rows(ds, "weekly_all", period="1 week")
    assert ("Coalition of the Willing", 2, "2025-11-17=2") in [
        (r["initiative"], r["total"], r["weeks"]) for r in recent
    ]
    plan = {"initiative": "us-28pt-plan", "period": "26 weeks"}
    assert chart_rows(ds, "initiative_weekly", **plan) == [
        {"week": "2025-11-17", "next_week": "2025-11-24", "items": 6, "outlets": 4}
    ]
    assert chart_rows(ds, "top_outlets", **plan) == [
        {"outlet": "Al Jazeera", "items": 2},
        {"outlet": "Kyiv Independent", "items": 2},
        {"outlet": "BBC News", "items": 1},
        {"outlet": "TASS", "items": 1},
    ]
    assert chart_rows(ds, "themes", **plan) == [{"theme": "Territory", "items": 1}]
    assert chart_rows(ds, "languages", **plan) == [
        {"language": "en", "items": 5},
        {"language": "uk", "items": 1},
    ]
    coalition = {"initiative": "coalition-of-willing"}
    assert chart_rows(ds, "initiative_weekly", period="all", **coalition) == [
        {"week": "2025-11-10", "next_week": "2025-11-17", "items": 1, "outlets": 1},
        {"week": "2025-11-17", "next_week": "2025-11-24", "items": 2, "outlets": 2},
    ]
    assert [
        r["week"] for r in chart_rows(ds, "initiative_weekly", period="1 week", **coalition)
    ] == ["2025-11-17"]
    latest = chart_rows(ds, "latest", **plan)
    assert len(latest) == 6
    # the table chart inserts cells as HTML: the headline with markup arrives escaped
    assert latest[0]["headline"] == (
        '<a href="https://tass.com/politics/1?a=1&amp;b=2">&lt;script&gt;alert(&#x27;x&#x27;)'
        "&lt;/script&gt; Kremlin &amp; Dmitriev on the plan</a>"
    )


def test_charts_query_the_served_database_whatever_its_name() -> None:
    dashboard = load_metadata(CONFIG, "news-2025")["plugins"]["datasette-dashboards"]["coverage"]
    parts = [*dashboard["charts"].values(), *dashboard["filters"].values()]
    assert {p["db"] for p in parts if "query" in p} == {"news-2025"}
    assert all("db" not in p for p in parts if "query" not in p)


def test_html_helpers_escape_and_link_only_http() -> None:
    assert html_text(None) == "" and html_text("a<b>&") == "a&lt;b&gt;&amp;"
    assert html_link("https://x.org/?a=1&b=2", "<i>") == (
        '<a href="https://x.org/?a=1&amp;b=2">&lt;i&gt;</a>'
    )
    assert html_link("javascript:alert(1)", "t") == "t"
    assert html_link("http://[::1", "t") == "t"  # not a URL urlsplit can read
    assert html_link(None, "t") == "t"


def test_counters_follow_tag_and_item_changes(
    tmp_path: Path, story: tuple[Path, dict[str, int]]
) -> None:
    db_path, ids = story
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    day = "substr(coalesce(items.published, items.first_seen), 1, 10)"
    recount_lang = f"""SELECT ii.initiative_id, {day}, coalesce(items.lang, ''), count(*)
        FROM item_initiatives ii JOIN items ON items.id = ii.item_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    recount_theme = f"""SELECT ii.initiative_id, {day}, it.theme_id, count(*)
        FROM item_initiatives ii JOIN items ON items.id = ii.item_id
        JOIN item_themes it ON it.item_id = ii.item_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    langs = "SELECT * FROM initiative_day_lang ORDER BY 1, 2, 3"
    themes = "SELECT * FROM initiative_day_theme ORDER BY 1, 2, 3"
    conn = sqlite3.connect(copy, isolation_level=None)

    def agree() -> None:
        assert conn.execute(langs).fetchall() == conn.execute(recount_lang).fetchall()
        assert conn.execute(themes).fetchall() == conn.execute(recount_theme).fetchall()
        for table in ("initiative_day_lang", "initiative_day_theme"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE items <= 0").fetchone() == (0,)

    try:
        agree()
        assert conn.execute(themes).fetchall()
        both, plan_aj = ids["both"], ids["plan-aj"]
        # a retag replaces tags (DELETE + INSERT), themes first or initiatives first
        conn.execute("DELETE FROM item_themes WHERE item_id = ?", [plan_aj])
        agree()
        conn.execute("INSERT INTO item_themes VALUES (?, 'CEASE', 1, '[]', 'v2')", [plan_aj])
        conn.execute("INSERT INTO item_themes VALUES (?, 'TERR', 1, '[]', 'v2')", [both])
        agree()
        conn.execute("DELETE FROM item_initiatives WHERE item_id = ?", [both])
        conn.execute(
            "INSERT INTO item_initiatives VALUES (?, 'istanbul-talks-2025', 1, '[]', 'v2')",
            [both],
        )
        agree()
        conn.execute(
            "UPDATE item_initiatives SET initiative_id = 'us-28pt-plan'"
            " WHERE item_id = ? AND initiative_id = 'istanbul-talks-2025'",
            [both],
        )
        conn.execute("UPDATE item_themes SET theme_id = 'POW' WHERE item_id = ?", [plan_aj])
        agree()
        # a late date, a detected language, a page's date: counts move with the item
        conn.execute(
            "UPDATE items SET published = '2025-11-15T12:00:00+00:00' WHERE id = ?",
            [ids["undated"]],
        )
        conn.execute("UPDATE items SET lang = NULL WHERE id = ?", [plan_aj])
        agree()
        conn.execute(
            "UPDATE items SET lang = 'ar', published = '2025-11-01T08:00:00+00:00' WHERE id = ?",
            [plan_aj],
        )
        agree()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, story: tuple[Path, dict[str, int]]
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dashboard-served")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--db", str(story[0]), "datasette",
         "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(f"{base}/-/versions.json", process)
        yield {"base": base, "tmp": tmp}
    finally:
        process.terminate()
        process.wait(timeout=10)


def open_in_chromium(url: str, workdir: Path) -> tuple[str, list[dict[str, str]]]:
    """The DOM after the page's scripts ran, and every request the page made (Chromium's
    net log). Hosts other than 127.0.0.1 do not resolve, so a request to a CDN would fail
    the chart and show in the log."""
    profile, netlog = workdir / "profile", workdir / "netlog.json"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", f"--log-net-log={netlog}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    log = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requests = [
        event["params"]
        for event in log["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in event.get("params", {})
    ]
    return result.stdout, requests


def marks(dom: str, chart: str) -> list[str]:
    """The aria-labels of a chart's SVG marks: Vega writes each datum's fields into one."""
    card = dom.split(f'id="chart-{chart}"', 1)[1].split('class="dashboard-card"', 1)[0]
    found = re.findall(r'<path aria-label="([^"]*)" role="graphics-symbol"', card)
    return [html.unescape(label) for label in found]


@pytest.mark.slow
def test_dashboard_in_a_headless_browser_offline(served: dict[str, Any]) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh installs it)")
    base, tmp = served["base"], served["tmp"]
    query = urllib.parse.urlencode({"initiative": "coalition-of-willing", "period": "all"})
    dom, requests = open_in_chromium(f"{base}{PAGE}?{query}", tmp / "all")

    # the page's own requests (the browser's background ones have no page origin)
    page = [r for r in requests if r.get("initiator", "").startswith(base) or
            r["url"].startswith(f"{base}{PAGE}")]  # fmt: skip
    outside = [r["url"] for r in page if urllib.parse.urlsplit(r["url"]).hostname != "127.0.0.1"]
    assert outside == []
    fetched = {urllib.parse.urlsplit(r["url"]).path for r in page}
    for script in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "dashboards.js"):
        assert f"/-/static-plugins/datasette_dashboards/{script}" in fetched
    data = [r["url"] for r in page if urllib.parse.urlsplit(r["url"]).path == "/peacewatch.json"]
    assert len(data) == 6 and all("period=all" in url for url in data)

    # every chart drew SVG marks that carry its rows
    weekly_all = marks(dom, "weekly_all")
    assert any("Nov 10, 2025" in m and "initiative: Coalition of the Willing" in m
               and "items: 1" in m for m in weekly_all), weekly_all  # fmt: skip
    assert any("Nov 17, 2025" in m and "initiative: US 28-point peace plan" in m
               and "items: 6" in m for m in weekly_all), weekly_all  # fmt: skip
    assert 'name="show"' in dom and "stacked areas" in dom  # lines / stacked areas switch
    assert marks(dom, "initiative_weekly") == [
        "week (from Monday): Nov 10, 2025; items: 1; next_week: Nov 17, 2025;"
        " week: Nov 10, 2025; outlets: 1",
        "week (from Monday): Nov 17, 2025; items: 2; next_week: Nov 24, 2025;"
        " week: Nov 17, 2025; outlets: 2",
    ]
    assert marks(dom, "top_outlets") == [
        "items: 2; outlet: Kyiv Independent",
        "items: 1; outlet: Al Jazeera",
    ]
    assert marks(dom, "themes") == ["items: 1; theme: Ceasefire"]
    assert marks(dom, "languages") == ["items: 3; language: en"]
    latest = dom.split('id="chart-latest"', 1)[1]
    assert "<th>headline</th>" in latest and "Coalition planning a reassurance force" in latest

    # the period selector changes the query and what is drawn
    query = urllib.parse.urlencode({"initiative": "coalition-of-willing", "period": "1 week"})
    dom, requests = open_in_chromium(f"{base}{PAGE}?{query}", tmp / "week")
    data = [
        r["url"] for r in requests if urllib.parse.urlsplit(r["url"]).path == "/peacewatch.json"
    ]
    assert len(data) == 6 and all("period=1+week" in url for url in data)
    assert not any("Nov 10, 2025" in m for m in marks(dom, "weekly_all"))
    assert [m for m in marks(dom, "initiative_weekly") if "Nov 10, 2025" in m] == []
    assert '<option value="1 week" selected' in dom
