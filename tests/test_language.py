"""Every item has a language: declared ones keep where they came from (feed, page, source),
the others are detected from headline and summary, stored with their confidence, and then
reach the digest's language filter and the per-language Atom feed."""

from __future__ import annotations

import asyncio
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.cli import cli
from peacewatch.config import load_config
from peacewatch.ingest.feeds import parse_feed
from peacewatch.store import languages as language_store
from peacewatch.surfaces.datasette_app import make_datasette
from peacewatch.surfaces.digest import build_digest
from peacewatch.surfaces.digest_config import Recipient
from peacewatch.tagging.language import detect_language
from support import poll, write_config

CONFIG = Path(__file__).parent.parent / "config" / "datasette.yml"
SEEN = "2025-11-21T09:00:00+00:00"

# Headlines in the register of the outlets peacewatch reads; the summaries are what the
# feeds carry under them.
HEADLINES = [
    ("uk", "Зеленський обговорив з Вріттом мирний план США",
     "Президент України провів розмову щодо гарантій безпеки."),
    ("uk", "Делегація України прибула до Стамбула на переговори", None),
    ("ru", "Песков: Кремль получил американский мирный план", "В Кремле изучают документ."),
    ("ru", "Переговоры в Стамбуле продолжатся на следующей неделе", None),
    ("en", "Witkoff and Dmitriev discuss the 28-point peace plan",
     "The envoys met in Miami for talks."),
    ("en", "European leaders back a ceasefire along the front line", None),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "title", "summary"), HEADLINES)
def test_detects_headlines(lang: str, title: str, summary: str | None) -> None:
    found = detect_language(title, summary)
    assert found is not None and found.lang == lang
    assert 0.5 < found.confidence <= 1


def test_the_restricted_model_answers_as_py3langids_own_restriction() -> None:
    # Built from the candidate languages' columns alone (the other columns are never kept
    # in memory): the same language and confidence as set_languages over the whole model.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from peacewatch.tagging.language import CANDIDATES, detection_text, restricted_identifier

    whole = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    whole.set_languages(list(CANDIDATES))
    ours = restricted_identifier()
    texts = [detection_text(title, summary) for _lang, title, summary in HEADLINES]
    texts += ["Rozmowy pokojowe w Stambule", "Friedensgespräche in Genf", "和平谈判", "x"]
    assert [ours.classify(t) for t in texts] == [whole.classify(t) for t in texts]
    with pytest.raises(ValueError, match="xx"):
        restricted_identifier(("en", "xx"))


def test_nothing_to_detect_without_letters() -> None:
    assert detect_language("2025 — 28/20", "") is None
    assert detect_language(None) is None


def _rss(items: list[tuple[str, str, str | None]], lang: str | None, site: str = "a") -> bytes:
    language = f"<language>{lang}</language>" if lang else ""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://{site}.example.org/{i}</link>"
        f"<guid>https://{site}.example.org/{i}</guid>"
        + (f"<description>{escape(summary)}</description>" if summary else "")
        + "</item>"
        for i, (_, title, summary) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.org/</link>{language}{entries}</channel></rss>"
    ).encode()


def test_feeds_say_where_the_language_came_from() -> None:
    one = HEADLINES[:1]
    declared = parse_feed(_rss(one, "uk-UA"), url="https://example.org/f", lang="en").items[0]
    assert (declared.lang, declared.lang_source) == ("uk-ua", "feed")
    configured = parse_feed(_rss(one, None), url="https://example.org/f", lang="uk").items[0]
    assert (configured.lang, configured.lang_source) == ("uk", "source")
    unknown = parse_feed(_rss(one, None), url="https://example.org/f").items[0]
    assert (unknown.lang, unknown.lang_source) == (None, None)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three feeds through the real pipeline: one declares its language, one's source
    configures it, one says nothing (its items are detected)."""
    tmp = tmp_path_factory.mktemp("language")
    server = FixtureServer().start()
    try:
        server.route(
            "/declared.xml", body=_rss([("en", "Ceasefire talks resume", None)], "en-GB", "b")
        )
        server.route("/configured.xml", body=_rss([("ru", "Кремль о плане", None)], None, "c"))
        server.route("/silent.xml", body=_rss(HEADLINES, None))
        write_config(tmp / "config", [
            {"id": "declared", "url": server.url("/declared.xml")},
            {"id": "configured", "url": server.url("/configured.xml"), "lang": "ru"},
            {"id": "silent", "outlet": "Silent News", "url": server.url("/silent.xml")},
        ])  # fmt: skip
        config = load_config(tmp / "config")
        db_path = tmp / "news.db"
        db = store.open_db(db_path)
        try:
            poll(config, db, clock=lambda: datetime.fromisoformat(SEEN))
        finally:
            db.conn.close()
        yield {"db_path": db_path, "config": config, "server": server, "tmp": tmp}
    finally:
        server.stop()


def _items(db_path: Path) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT title, lang, lang_source, lang_confidence, id FROM items")
        return {r[0]: r[1:] for r in rows}


def test_every_stored_item_has_a_language(ingested: dict[str, Any]) -> None:
    items = _items(ingested["db_path"])
    assert items["Ceasefire talks resume"][:3] == ("en-gb", "feed", None)
    assert items["Кремль о плане"][:3] == ("ru", "source", None)
    for lang, title, _ in HEADLINES:
        got, source, confidence, _ = items[title]
        assert (got, source) == (lang, "detected"), title
        assert 0.5 < confidence <= 1
    assert all(row[0] for row in items.values())


def test_a_declared_language_replaces_a_detected_one(ingested: dict[str, Any]) -> None:
    copy = ingested["tmp"] / "declared-later.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    server: FixtureServer = ingested["server"]
    server.route("/silent.xml", body=_rss(HEADLINES, "uk"))
    db = store.open_db(copy)
    try:
        poll(ingested["config"], db, only=["silent"],
             clock=lambda: datetime.fromisoformat("2025-11-21T10:00:00+00:00"))  # fmt: skip
    finally:
        db.conn.close()
        server.route("/silent.xml", body=_rss(HEADLINES, None))
    title = HEADLINES[2][1]  # detected as Russian; the feed now says uk: the feed is believed
    assert _items(copy)[title][:3] == ("uk", "feed", None)


def test_detect_missing_fills_older_items(ingested: dict[str, Any]) -> None:
    copy = ingested["tmp"] / "older.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute(
            "UPDATE items SET lang = NULL, lang_source = NULL, lang_confidence = NULL"
            " WHERE lang_source = 'detected'"
        )
    db = store.open_db(copy)
    try:
        assert language_store.detect_missing(db, batch=4) == len(HEADLINES)
        assert language_store.detect_missing(db) == 0  # nothing left: a second run is free
        counts = language_store.language_counts(db)
    finally:
        db.conn.close()
    assert ("uk", "detected", 2) in counts and ("ru", "detected", 2) in counts
    assert {title: row[0] for title, row in _items(copy).items()} == {
        **{title: lang for lang, title, _ in HEADLINES},
        "Ceasefire talks resume": "en-gb",
        "Кремль о плане": "ru",
    }


def test_languages_command(ingested: dict[str, Any]) -> None:
    copy = ingested["tmp"] / "command.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute("UPDATE items SET lang = NULL, lang_source = NULL WHERE lang = 'en'")
    args = ["--config", str(ingested["tmp"] / "config"), "--db", str(copy), "languages"]
    result = CliRunner().invoke(cli, [*args, "--detect"])
    assert result.exit_code == 0, result.output
    assert "detected the language of 2 items" in result.output
    lines = result.output.splitlines()
    assert "LANGUAGE   FROM           ITEMS" in lines
    assert "en         detected           2" in lines
    assert "en-gb      feed               1" in lines


def _tag_all(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT OR IGNORE INTO initiatives (id, name) VALUES ('plan', 'The plan')")
        conn.execute(
            "INSERT INTO item_initiatives (item_id, initiative_id, score, evidence, rules_version)"
            " SELECT id, 'plan', 1.0, '[]', 'test' FROM items"
        )


def test_detected_items_reach_the_digest_and_the_atom_feed(ingested: dict[str, Any]) -> None:
    copy = ingested["tmp"] / "tagged.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    _tag_all(copy)
    db = store.open_db(copy)
    try:
        digest = build_digest(db, date(2025, 11, 21), Recipient("a@example.org", languages=("uk",)),
                              "UTC")  # fmt: skip
    finally:
        db.conn.close()
    (section,) = digest.sections
    assert sorted(e.title for e in section.entries) == sorted(
        title for lang, title, _ in HEADLINES if lang == "uk"
    )

    ds = make_datasette(copy, CONFIG)
    try:

        async def get(path: str) -> Any:
            return await ds.client.get(path)

        ns = {"a": "http://www.w3.org/2005/Atom"}

        def titles(language: str) -> set[str]:
            url = f"/tagged/initiative_feed.atom?initiative=plan&language={language}"
            response = asyncio.run(get(url))
            assert response.status_code == 200, response.text[:300]
            feed = ET.fromstring(response.content)
            return {e.findtext("a:title", namespaces=ns) or "" for e in feed.findall("a:entry", ns)}

        assert titles("uk") == {title for lang, title, _ in HEADLINES if lang == "uk"}
        assert titles("ru") == {t for lang, t, _ in HEADLINES if lang == "ru"} | {"Кремль о плане"}
        assert "Ceasefire talks resume" in titles("en")  # en matches en-gb
        assert len(titles("")) == len(HEADLINES) + 2  # no language: all of them
    finally:
        for database in ds.databases.values():
            database.close()


def test_a_pages_declared_language_replaces_a_detected_one(ingested: dict[str, Any]) -> None:
    from peacewatch.ingest.articles import Article
    from peacewatch.store import pages as article_store

    copy = ingested["tmp"] / "page.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    items = _items(copy)
    detected_id = items[HEADLINES[4][1]][3]
    configured_id = items["Кремль о плане"][3]
    declared_id = items["Ceasefire talks resume"][3]
    db = store.open_db(copy)
    try:
        with store.transaction(db):
            for item_id in (detected_id, configured_id, declared_id):
                article = Article(url="https://a.example.org/x", lang="de", author="A. Writer")
                article_store.apply_article(db, item_id, article, now=SEEN)
    finally:
        db.conn.close()
    after = {row[3]: row[:3] for row in _items(copy).values()}
    assert after[detected_id] == ("de", "page", None)
    assert after[configured_id] == ("de", "page", None)  # more specific than the source's
    assert after[declared_id] == ("en-gb", "feed", None)  # the feed's own stays


def test_the_daemons_background_detection(ingested: dict[str, Any]) -> None:
    import threading

    copy = ingested["tmp"] / "daemon.db"
    with sqlite3.connect(ingested["db_path"]) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    stop = threading.Event()
    assert language_store.detect_in_background(copy, stop=stop) is None  # nothing missing
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE items SET lang = NULL, lang_source = NULL WHERE lang = 'uk'")
    thread = language_store.detect_in_background(copy, stop=stop)
    assert thread is not None
    thread.join(30)
    assert not thread.is_alive()
    items = _items(copy)
    assert {items[t][:2] for lang, t, _ in HEADLINES if lang == "uk"} == {("uk", "detected")}
