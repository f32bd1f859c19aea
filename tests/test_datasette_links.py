"""Links follow the database's name: a database file not called peacewatch.db is served under
its own name, and every link in the descriptions and in the digest points there."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from datasette.utils import tilde_encode

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.surfaces.datasette_app import _base_url, load_metadata, make_datasette
from peacewatch.surfaces.digest import build_digest
from peacewatch.surfaces.digest_config import DigestConfig
from peacewatch.surfaces.digest_render import render_parts
from peacewatch.surfaces.links import database_name, database_path, file_database_name
from surfaces_data import build_story

CONFIG = Path(__file__).parent.parent / "config" / "datasette.yml"
NAME = "ukraine news.2025"  # a space and a dot: Datasette tilde-encodes both


@pytest.fixture(scope="module")
def story_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    server = FixtureServer().start()
    try:
        _, db_path, _ = build_story(tmp_path_factory.mktemp("links"), server)
    finally:
        server.stop()
    renamed = db_path.with_name(f"{NAME}.db")
    with sqlite3.connect(db_path) as src, sqlite3.connect(renamed) as dst:
        src.backup(dst)
    return renamed


@pytest.fixture(scope="module")
def ds(story_db: Path) -> Iterator[Any]:
    datasette = make_datasette(story_db, CONFIG)
    yield datasette
    for database in datasette.databases.values():
        database.close()


def _get(ds: Any, path: str) -> Any:
    async def go() -> Any:
        return await ds.client.get(path)

    return asyncio.run(go())


def test_names_and_paths_match_datasette() -> None:
    assert file_database_name("db/peacewatch.db") == "peacewatch"
    for name in ("peacewatch", "news-2025", NAME, "новини", "a~b/c"):
        assert database_path(name) == "/" + tilde_encode(name)
    assert database_path("news", "/data/") == "/data/news"
    assert _base_url(["--port", "8002", "--setting", "base_url", "/data/"]) == "/data/"
    assert _base_url(["--port", "8002"]) == "/"
    metadata = load_metadata(CONFIG, "news", base_url="/data/")
    assert '<a href="/data/news/tagged_items">' in metadata["description_html"]
    query = metadata["databases"]["news"]["queries"]["initiative_feed"]
    assert "/data/news/initiative_feed.atom?initiative=" in query["description"]
    assert "{database_url}" not in str(metadata)


def test_every_link_in_the_descriptions_works(ds: Any, story_db: Path) -> None:
    served = "/" + tilde_encode(NAME)
    (database,) = _get(ds, "/-/databases.json").json()
    assert database["name"] == NAME
    queries = load_metadata(CONFIG, NAME)["databases"][NAME]["queries"]
    pages = ["/", served] + [f"{served}/{name}" for name in queries]
    checked = set()
    for page in pages:
        text = _get(ds, page).text
        assert "/peacewatch/" not in text and 'href="/peacewatch"' not in text, page
        for href in re.findall(r'href="(/[^"]*)"', text):
            href = href.replace("&amp;", "&")
            if href.startswith("/-/") or href in checked:
                continue
            checked.add(href)
            assert _get(ds, href).status_code == 200, (page, href)
    assert f"{served}/tagged_items" in checked
    feed = _get(ds, f"{served}/initiative_feed")
    assert f"{served}/initiative_feed.atom?initiative=us-28pt-plan" in feed.text
    atom = _get(ds, f"{served}/initiative_feed.atom?initiative=us-28pt-plan")
    assert atom.status_code == 200 and b"<feed" in atom.content


def test_digest_links_follow_the_database_name(story_db: Path) -> None:
    db = store.open_db(story_db)
    try:
        assert database_name(db.conn) == NAME
        digest = build_digest(db, date(2025, 11, 21), None, "UTC", max_items_per_initiative=1)
    finally:
        db.conn.close()
    assert digest.database == NAME and digest.sections[0].more > 0
    config = DigestConfig(datasette_url="https://data.example.org")
    text, html = render_parts(digest, config, "a@example.org")
    link = (
        f"https://data.example.org/{tilde_encode(NAME)}/initiative_latest?initiative=us-28pt-plan"
    )
    assert link in text and link in html
    assert "/peacewatch/" not in text + html
