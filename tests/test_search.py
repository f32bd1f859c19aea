"""Search that never errors: the plain query builder, the advanced mode's plain messages, the
`search` and `search_advanced` canned queries and the table search box, in a real Datasette
over a real database, and the empty search form in headless Chromium."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peacewatch import store
from peacewatch.surfaces.datasette_app import make_datasette
from peacewatch.surfaces.search import (
    advanced_problem,
    advanced_query,
    plain_problem,
    plain_query,
)

CONFIG = Path(__file__).parent.parent / "config" / "datasette.yml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

HEADLINES = {
    "plan": ("Zelensky's team studies the 28-point plan", "Talks on the draft continue."),
    "nato": ("NATO ministers meet in Brussels", "Alliance leaders discuss Ukraine."),
    "ist-ru": ("Переговоры в Стамбуле возобновятся", "Делегации встретятся в Стамбуле."),
    "ist-ru2": ("Стамбул принимает делегации", "Россия и Украина."),
    "ist-uk": ("Делегація України прибула до Стамбула", "Зеленський про переговори."),
    "mixed": ("Witkoff и Дмитриев обсудили план", "Mixed scripts in one headline."),
    "warsaw": ("Warsaw summit on security", "Poland hosts leaders."),
    "or": ("Ceasefire or escalation", "A choice."),
}
SEARCHES: list[tuple[str, set[str]]] = [
    ("28-point", {"plan"}),
    ("Zelensky's", {"plan"}),
    ("Zelensky’s plan", {"plan"}),  # typographic apostrophe
    ('"28-point plan"', {"plan"}),
    ('"28-point plan', {"plan"}),  # unclosed quote
    ("NATO OR", {"nato"}),
    ("OR NATO", {"nato"}),
    ("NATO OR Warsaw", {"nato", "warsaw"}),
    ("NATO OR Warsaw summit", {"warsaw"}),  # (NATO OR Warsaw) AND summit
    ("nato AND brussels", {"nato"}),
    ("ceasefire or escalation", {"or"}),  # lower-case or is a word
    ("Wars*", {"warsaw"}),
    ("war", set()),  # Latin words match whole
    ("Стамбул", {"ist-ru", "ist-ru2", "ist-uk"}),
    ("Стамбуле", {"ist-ru", "ist-ru2", "ist-uk"}),
    ("стамбула", {"ist-ru", "ist-ru2", "ist-uk"}),
    ("переговоры", {"ist-ru", "ist-uk"}),
    ("Україна", {"ist-uk"}),  # finds України; Russian Украина is spelled differently
    ("України", {"ist-uk"}),
    ("Witkoff Дмитриев", {"mixed"}),
    ("Дмитриева", {"mixed"}),
    ("*", set()),
    ("'", set()),
    ("", set()),
    ('"', set()),
    ("NOT", set()),
    ("(", set()),
    ("title:plan", set()),
    ("a)b(c", set()),
    ("^NATO", {"nato"}),
    ("NEAR(NATO", set()),  # the phrase "near nato"
]


def _memory_fts() -> tuple[sqlite3.Connection, dict[int, str]]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, summary, tokenize='unicode61')")
    keys = {}
    for rowid, (key, (title, summary)) in enumerate(HEADLINES.items(), start=1):
        conn.execute(
            "INSERT INTO t (rowid, title, summary) VALUES (?, ?, ?)", [rowid, title, summary]
        )
        keys[rowid] = key
    return conn, keys


@pytest.mark.parametrize(("typed", "expected"), SEARCHES)
def test_plain_query_reads_anything(typed: str, expected: set[str]) -> None:
    conn, keys = _memory_fts()
    found = conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [plain_query(typed)]).fetchall()
    assert {keys[r] for (r,) in found} == expected


def test_plain_query_shapes() -> None:
    assert plain_query(None) == plain_query("") == '""'
    assert plain_query("28-point") == '"28 point"'
    assert plain_query("NATO OR Warsaw summit") == '("nato" OR "warsaw") AND "summit"'
    assert plain_query("Стамбуле") == '"стамбул"*'
    assert plain_query('"в Стамбуле"') == '"в стамбуле"'  # a quoted phrase is exact


def test_plain_problem_only_for_wordless_text() -> None:
    assert plain_problem("") is None and plain_problem("  ") is None
    assert plain_problem("NATO") is None
    assert (
        plain_problem("* ' --")
        == 'Nothing to search for in "* \' --": type at least one word or number.'
    )


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("NATO OR", "Give OR, AND and NOT a word on each side"),
        ("28-point", 'Put words with punctuation in double quotes ("28-point"'),
        ('"unclosed', "Close the double quote"),
        ("(NATO", "Check brackets, quotes and operators"),
    ],
)
def test_advanced_problems_are_plain(typed: str, hint: str) -> None:
    problem = advanced_problem(typed)
    assert problem is not None and problem.startswith(f"Advanced search cannot read {typed!r}")
    assert hint in problem
    assert advanced_query(typed) == '""'


def test_advanced_query_passes_fts5_syntax() -> None:
    conn, keys = _memory_fts()
    for typed, expected in [
        ("NATO NOT Brussels", set()),
        ("NEAR(ministers Brussels, 3)", {"nato"}),
        ("title:ceasefire OR summary:poland", {"or", "warsaw"}),
        ("Стамбул", {"ist-ru2"}),  # no stemming in advanced mode: only Стамбул itself
    ]:
        assert advanced_problem(typed) is None
        found = conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [advanced_query(typed)])
        assert {keys[r] for (r,) in found} == expected, typed
    assert advanced_problem("") is None and advanced_query("") == '""'


@pytest.fixture(scope="module")
def search_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A real peacewatch database (migrated by the store) with the headlines above."""
    path = tmp_path_factory.mktemp("search") / "news.db"
    db = store.open_db(path)
    ids = {}
    try:
        db.conn.execute("INSERT INTO outlets (id, name) VALUES ('x', 'Example')")
        for key, (title, summary) in HEADLINES.items():
            cursor = db.conn.execute(
                "INSERT INTO items (title, title_key, url, summary, outlet_id, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, 'x', '2025-11-21', '2025-11-21')",
                [title, title.lower(), f"https://example.org/{key}", summary],
            )
            ids[key] = cursor.lastrowid
    finally:
        db.conn.close()
    return path, ids


@pytest.fixture(scope="module")
def ds(search_db: tuple[Path, dict[str, int]]) -> Iterator[Any]:
    datasette = make_datasette(search_db[0], CONFIG)
    yield datasette
    for database in datasette.databases.values():
        database.close()


def _get(ds: Any, path: str, params: dict[str, str]) -> Any:
    async def go() -> Any:
        return await ds.client.get(path, params=params)

    return asyncio.run(go())


@pytest.mark.parametrize(("typed", "expected"), SEARCHES)
def test_canned_and_table_search_never_error(
    ds: Any, search_db: tuple[Path, dict[str, int]], typed: str, expected: set[str]
) -> None:
    ids = search_db[1]
    want = {ids[k] for k in expected}
    canned = _get(ds, "/news/search.json", {"q": typed, "_shape": "array"})
    assert canned.status_code == 200, canned.text[:300]
    rows = canned.json()
    assert {r["id"] for r in rows if r["id"] is not None} == want
    assert all(r["headline"].startswith("Nothing to search for") for r in rows if r["id"] is None)
    table = _get(ds, "/news/items.json", {"_search": typed, "_shape": "array", "_col": "id"})
    assert table.status_code == 200, table.text[:300]
    if typed.strip():  # an empty box is no search at all: every item
        assert {r["id"] for r in table.json()} == want
    html = _get(ds, "/news/search", {"q": typed})
    assert html.status_code == 200 and "message-error" not in html.text


def test_empty_search_form_shows_no_error(ds: Any) -> None:
    for path in ("/news/search", "/news/search_advanced", "/news/items"):
        page = _get(ds, path, {})
        assert page.status_code == 200, path
        assert "syntax error" not in page.text and "message-error" not in page.text
    assert _get(ds, "/news/search.json", {"_shape": "array"}).json() == []


def test_advanced_search_says_what_is_wrong(
    ds: Any, search_db: tuple[Path, dict[str, int]]
) -> None:
    rows = _get(ds, "/news/search_advanced.json", {"q": "NATO OR", "_shape": "array"}).json()
    assert [r["id"] for r in rows] == [None]
    assert "Give OR, AND and NOT a word on each side" in rows[0]["headline"]
    page = _get(ds, "/news/search_advanced", {"q": "28-point"})
    assert page.status_code == 200 and "Put words with punctuation in double quotes" in page.text
    rows = _get(ds, "/news/search_advanced.json", {"q": "NATO OR Warsaw", "_shape": "array"}).json()
    assert {r["id"] for r in rows} == {search_db[1]["nato"], search_db[1]["warsaw"]}
    ids = search_db[1]
    for column, expected in (("title", {"ist-ru", "ist-ru2", "ist-uk"}), ("summary", {"ist-ru"})):
        found = _get(ds, "/news/items.json", {f"_search_{column}": "Стамбул", "_shape": "array"})
        assert {r["id"] for r in found.json()} == {ids[k] for k in expected}, column
    raw = _get(ds, "/news/items.json", {"_search": "Warsaw OR NATO", "_searchmode": "raw"})
    assert raw.status_code == 200 and len(raw.json()["rows"]) == 2


@pytest.mark.slow
def test_empty_search_form_in_a_headless_browser(
    tmp_path: Path, search_db: tuple[Path, dict[str, int]]
) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh installs it)")
    from support import free_port, write_config

    port = free_port()
    config = write_config(tmp_path / "config", [{"id": "x", "url": "http://127.0.0.1:9/"}])
    shutil.copy(CONFIG, config / "datasette.yml")
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--config", str(config), "--db", str(search_db[0]),
         "datasette", "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        from support import wait_until_served

        base = f"http://127.0.0.1:{port}"
        wait_until_served(f"{base}/-/versions.json", process)
        doms = {}
        for query in ("", "?q=28-point", "?q=Стамбул"):
            result = subprocess.run(
                [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                 f"{base}/news/search{query}"],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            doms[query] = result.stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    assert 'name="q"' in doms[""] and "message-error" not in doms[""]
    assert "syntax error" not in doms[""]
    assert "<mark>28-point</mark>" in doms["?q=28-point"]
    assert "<mark>Стамбуле</mark>" in doms["?q=Стамбул"]
