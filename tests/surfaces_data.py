"""A small, self-describing database for the analyst surfaces (Datasette and digests),
built by the real pipeline from RSS feeds served on loopback.

The story: on 2025-11-21 (the digest day, DAY) the US 28-point plan leaks and dominates
coverage; Al Jazeera and BBC carry the same headline (a syndicated pair to fold); one item
mentions two initiatives; TASS sends a double-escaped headline that is stored with a literal
<script> tag in it (escaping); one item has no date; one is general peace coverage with no
initiative (relevant = 1); one is off-topic. Earlier days give the previous-day and
previous-week counts. BBC's world feed answers 503 from 2025-11-19 06:00 (failing for over a
day by the end of DAY); the Kyiv Independent's Ukrainian feed only from 20:00 on DAY.

Each story is first seen when its feed is polled at the time in `seen` (the pipeline's clock),
so first_seen is exactly that time. The pipeline's tagger tags what it stores; the story then
replaces those tags with its own (as a retag would), so the expected groups and evidence are
exact whatever the shipped rules say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import sqlite_utils

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.config import Config, load_config
from support import poll, write_config

DAY = "2025-11-21"

# source id -> (outlet name, language, times at which the feed answers 503)
SOURCES: dict[str, tuple[str, str, str | None]] = {
    "aljazeera": ("Al Jazeera", "en", None),
    "bbc-top": ("BBC News", "en", None),
    "bbc-world": ("BBC News", "en", "2025-11-19T06:00:00+00:00"),
    "kyivindependent-en": ("Kyiv Independent", "en", None),
    "kyivindependent-uk": ("Kyiv Independent", "uk", "2025-11-21T20:00:00+00:00"),
    "tass-en": ("TASS", "en", None),
    "tass-ru": ("TASS", "ru", None),
}
OUTLET_IDS = {
    "Al Jazeera": "al-jazeera",
    "BBC News": "bbc-news",
    "Kyiv Independent": "kyiv-independent",
    "TASS": "tass",
}

INITIATIVES = [
    ("us-28pt-plan", "US 28-point peace plan"),
    ("coalition-of-willing", "Coalition of the Willing"),
    ("istanbul-talks-2025", "Istanbul talks 2025"),
]
THEMES = [("TERR", "Territory"), ("CEASE", "Ceasefire"), ("POW", "Prisoners")]

SCRIPT_TITLE = "<script>alert('x')</script> Kremlin & Dmitriev on the plan"
SCRIPT_URL = "https://tass.com/politics/1?a=1&b=2"


def _ev(rule: str, field: str, text: str, weight: float = 1.0) -> list[dict[str, Any]]:
    return [
        {"rule": rule, "field": field, "text": text, "start": 0, "end": len(text), "weight": weight}
    ]


# key: a name for the story; seen: when the pipeline first polls it; published: pubDate
ITEMS: list[dict[str, Any]] = [
    dict(key="plan-aj", source="aljazeera", title="US 28-point peace plan leaked",
         url="https://www.aljazeera.com/news/2025/11/21/us-plan",
         seen="2025-11-21T09:00:00+00:00", published="2025-11-21T08:55:00+00:00",
         summary="A draft 28-point peace plan for Ukraine was leaked.",
         initiatives={"us-28pt-plan": _ev("28-point", "title", "28-point peace plan", 2.0)},
         themes={"TERR": _ev("territory", "summary", "Donbas")}, relevant=1),
    dict(key="plan-bbc", source="bbc-top", title="US 28-point peace plan leaked",
         url="https://www.bbc.com/news/articles/us-plan",
         seen="2025-11-21T10:00:00+00:00", published="2025-11-21T09:58:00+00:00",
         summary="The plan would freeze the front line.",
         initiatives={"us-28pt-plan": _ev("28-point", "title", "28-point peace plan", 2.0)},
         themes={}, relevant=1),
    dict(key="both", source="kyivindependent-en",
         title="Zelensky weighs 28-point plan and coalition guarantees",
         url="https://kyivindependent.com/zelensky-weighs",
         seen="2025-11-21T11:00:00+00:00", published="2025-11-21T10:45:00+00:00",
         summary="Coalition of the willing offers guarantees.",
         initiatives={"us-28pt-plan": _ev("28-point", "title", "28-point plan", 2.0),
                      "coalition-of-willing": _ev("coalition", "summary",
                                                  "Coalition of the willing", 1.5)},
         themes={}, relevant=1),
    dict(key="script", source="tass-en", title=SCRIPT_TITLE, url=SCRIPT_URL,
         seen="2025-11-21T12:00:00+00:00", published="2025-11-21T11:30:00+00:00",
         summary="Dmitriev comments on the Witkoff draft.",
         initiatives={"us-28pt-plan": _ev("witkoff", "summary", "Witkoff draft", 1.0)},
         themes={}, relevant=1),
    dict(key="undated", source="aljazeera", title="Coalition of the willing meets in London",
         url="https://www.aljazeera.com/news/2025/11/21/coalition",
         seen="2025-11-21T13:00:00+00:00", published=None,
         summary="Leaders discuss a reassurance force.",
         initiatives={"coalition-of-willing": _ev("coalition", "title",
                                                  "Coalition of the willing", 1.5)},
         themes={"CEASE": _ev("ceasefire", "summary", "reassurance force")}, relevant=1),
    dict(key="general", source="bbc-top", title="Ceasefire talk grows in Europe",
         url="https://www.bbc.com/news/articles/ceasefire-talk",
         seen="2025-11-21T14:00:00+00:00", published="2025-11-21T13:40:00+00:00",
         summary="Diplomats see a window for a ceasefire.",
         initiatives={}, themes={"CEASE": _ev("ceasefire", "title", "Ceasefire")}, relevant=1),
    dict(key="offtopic", source="bbc-top", title="Football results",
         url="https://www.bbc.com/sport/results",
         seen="2025-11-21T15:00:00+00:00", published="2025-11-21T14:50:00+00:00",
         summary="Scores.", initiatives={}, themes={}, relevant=0),
    dict(key="prev-day", source="aljazeera", title="Witkoff draft surfaces in Moscow",
         url="https://www.aljazeera.com/news/2025/11/20/witkoff",
         seen="2025-11-20T10:00:00+00:00", published="2025-11-20T09:30:00+00:00",
         summary="Draft text.",
         initiatives={"us-28pt-plan": _ev("witkoff", "title", "Witkoff draft", 1.0)},
         themes={}, relevant=1),
    dict(key="istanbul", source="tass-ru", title="Istanbul talks agree prisoner swap",
         url="https://tass.com/politics/istanbul",
         seen="2025-11-18T08:00:00+00:00", published="2025-11-18T07:30:00+00:00",
         summary="A 1,000-for-1,000 exchange.",
         initiatives={"istanbul-talks-2025": _ev("istanbul", "title", "Istanbul talks", 1.5)},
         themes={"POW": _ev("pow", "summary", "exchange")}, relevant=1),
    dict(key="prev-week", source="kyivindependent-en",
         title="Coalition planning a reassurance force",
         url="https://kyivindependent.com/coalition-force",
         seen="2025-11-13T09:00:00+00:00", published="2025-11-13T08:00:00+00:00",
         summary="Force planning.",
         initiatives={"coalition-of-willing": _ev("coalition", "title", "Coalition", 1.0)},
         themes={}, relevant=1),
    # late evening of the 20th in UTC, already the 21st in Kyiv (UTC+2)
    dict(key="night", source="kyivindependent-uk", title="Night briefing on the peace plan",
         url="https://kyivindependent.com/uk/night-briefing",
         seen="2025-11-20T22:30:00+00:00", published="2025-11-20T22:10:00+00:00",
         summary="Overnight.",
         initiatives={"us-28pt-plan": _ev("28-point", "summary", "peace plan", 1.0)},
         themes={}, relevant=1),
]  # fmt: skip


def open_test_db(path: Path) -> sqlite_utils.Database:  # one place to change how tests open it
    return store.open_db(path)


def rss(channel: str, lang: str, items: list[dict[str, Any]]) -> bytes:
    """An RSS 2.0 feed; headlines are escaped twice, as many real feeds do."""
    entries = []
    for item in items:
        date = ""
        if item["published"]:
            date = (
                f"<pubDate>{format_datetime(datetime.fromisoformat(item['published']))}</pubDate>"
            )
        entries.append(
            f"<item><title>{escape(escape(item['title']))}</title>"
            f"<link>{escape(item['url'])}</link><guid>{escape(item['url'])}</guid>{date}"
            f"<description>{escape(item['summary'])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(channel)}</title><link>https://example.org/</link>"
        f"<language>{lang}</language>{''.join(entries)}</channel></rss>"
    ).encode()


def story_config(directory: Path, server: FixtureServer, digest_toml: str = "") -> Config:
    sources = [
        {"id": sid, "outlet": outlet, "url": server.url(f"/{sid}.xml"), "lang": lang}
        for sid, (outlet, lang, _) in SOURCES.items()
    ]
    write_config(directory, sources)
    if digest_toml:
        with (directory / "peacewatch.toml").open("a") as handle:
            handle.write("\n" + digest_toml)
    return load_config(directory)


def _serve_until(server: FixtureServer, moment: str) -> None:
    for sid, (outlet, lang, failing_from) in SOURCES.items():
        if failing_from and moment >= failing_from:
            server.route(f"/{sid}.xml", status=503, body=b"unavailable")
            continue
        carried = [i for i in ITEMS if i["source"] == sid and i["seen"] <= moment]
        server.route(f"/{sid}.xml", body=rss(f"{outlet} ({sid})", lang, carried))


def ingest_story(
    config: Config, db: sqlite_utils.Database, server: FixtureServer
) -> dict[str, int]:
    """Poll every feed at each moment of the story; returns item ids by story key."""
    moments = sorted(
        {i["seen"] for i in ITEMS}
        | {f for _, _, f in SOURCES.values() if f}
        | {"2025-11-19T07:00:00+00:00", "2025-11-21T23:00:00+00:00"}
    )
    for moment in moments:
        _serve_until(server, moment)
        report = poll(config, db, clock=lambda m=moment: datetime.fromisoformat(m))
        assert report.sources, "the pipeline polled nothing"
    ids = {}
    for item in ITEMS:
        row = db.execute(
            "SELECT items.id FROM items JOIN item_sources ON item_sources.item_id = items.id"
            " WHERE item_sources.source_id = ? AND items.title = ?",
            [item["source"], item["title"]],
        ).fetchone()
        assert row, f"the pipeline did not store {item['key']}"
        ids[item["key"]] = row[0]
    return ids


def tag_story(db: sqlite_utils.Database, ids: dict[str, int]) -> None:
    """Write the story's tags as the tagger does (replace an item's tags: DELETE + INSERT),
    over whatever a tagger in the pipeline may have written, so the story stays exact."""
    c = db.conn
    c.execute("BEGIN IMMEDIATE")
    for table, rows in (("initiatives", INITIATIVES), ("themes", THEMES)):
        c.executemany(
            f"INSERT INTO {table} (id, name) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            rows,
        )
    for item in ITEMS:
        item_id = ids[item["key"]]
        for table in ("item_initiatives", "item_themes", "item_classification"):
            c.execute(f"DELETE FROM {table} WHERE item_id = ?", [item_id])
        for initiative, evidence in item["initiatives"].items():
            score = sum(e["weight"] for e in evidence)
            c.execute(
                "INSERT INTO item_initiatives"
                " (item_id, initiative_id, score, evidence, rules_version)"
                " VALUES (?, ?, ?, ?, 'test-1')",
                [item_id, initiative, score, json.dumps(evidence)],
            )
        for theme, evidence in item["themes"].items():
            c.execute(
                "INSERT INTO item_themes (item_id, theme_id, score, evidence, rules_version)"
                " VALUES (?, ?, 1.0, ?, 'test-1')",
                [item_id, theme, json.dumps(evidence)],
            )
        c.execute(
            "INSERT INTO item_classification (item_id, relevant, rules_version, classified_at)"
            " VALUES (?, ?, 'test-1', ?)",
            [item_id, item["relevant"], item["seen"]],
        )
    c.execute("COMMIT")


def build_story(
    tmp_path: Path, server: FixtureServer, digest_toml: str = ""
) -> tuple[Config, Path, dict[str, int]]:
    """Config dir, database file and item ids of the story, built through the pipeline."""
    config = story_config(tmp_path / "config", server, digest_toml)
    db_path = tmp_path / "peacewatch.db"
    db = open_test_db(db_path)
    try:
        ids = ingest_story(config, db, server)
        tag_story(db, ids)
    finally:
        db.conn.close()
    return config, db_path, ids


def stored_story(folder: Path) -> tuple[Path, dict[str, int]]:
    """build_story through a loopback feed server started and stopped here: the database's
    path and the ids of its items by name (for module-scoped fixtures)."""
    server = FixtureServer().start()
    try:
        _, db_path, ids = build_story(folder, server)
    finally:
        server.stop()
    return db_path, ids


def datasette_over(db_path: Path, config: Path) -> Iterator[Any]:
    """A Datasette over `db_path` with `config`, its databases closed afterwards."""
    from peacewatch.surfaces.datasette_app import make_datasette

    datasette = make_datasette(db_path, config)
    yield datasette
    for database in datasette.databases.values():
        database.close()
