"""A small, self-describing database for the analyst surfaces (Datasette and digests).

The story: on 2025-11-21 (the digest day, DAY) the US 28-point plan leaks and dominates
coverage; Al Jazeera and BBC carry the same headline (a syndicated pair to fold); one item
mentions two initiatives; TASS sends a headline with a <script> tag in it (escaping); one item
has no date; one is general peace coverage with no initiative (relevant = 1); one is off-topic.
Earlier days give the previous-day and previous-week counts. BBC's feed has failed since
2025-11-19 (over a day); Kyiv Independent's only since the evening of DAY (under a day).

Until the tagging branch lands, `migrate_for_tests` adds a stand-in of its 0002_tagging
migration with the tag schema from the brief, so migration 0004 finds the tables it indexes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from peacewatch.migrations import MIGRATIONS, Migration, migrate, run_script

DAY = "2025-11-21"

OUTLETS = [
    ("aljazeera", "Al Jazeera"),
    ("bbc", "BBC News"),
    ("kyivindependent", "Kyiv Independent"),
    ("tass", "TASS"),
]

# id, outlet, failing_since, consecutive_failures, last_error, last_success_at
SOURCES = [
    ("aljazeera-rss", "aljazeera", None, 0, None, "2025-11-21T23:00:00+00:00"),
    ("bbc-world", "bbc", "2025-11-19T06:00:00+00:00", 14, "HTTP 503", "2025-11-19T05:30:00+00:00"),
    (
        "kyivindependent-rss",
        "kyivindependent",
        "2025-11-21T20:00:00+00:00",
        2,
        "timeout",
        "2025-11-21T19:30:00+00:00",
    ),
    ("tass-en", "tass", None, 0, None, "2025-11-21T23:00:00+00:00"),
]

INITIATIVES = [
    ("us-28pt-plan", "US 28-point peace plan"),
    ("coalition-of-willing", "Coalition of the Willing"),
    ("istanbul-talks-2025", "Istanbul talks 2025"),
]

THEMES = [("TERR", "Territory"), ("CEASE", "Ceasefire"), ("POW", "Prisoners")]

SCRIPT_TITLE = "<script>alert('x')</script> Kremlin & Dmitriev on the plan"
SCRIPT_URL = "https://tass.com/politics/1?a=1&b=<2>"


def _ev(rule: str, field: str, text: str, weight: float = 1.0) -> list[dict[str, Any]]:
    return [
        {"rule": rule, "field": field, "text": text, "start": 0, "end": len(text), "weight": weight}
    ]


# id, outlet, title, title_key, url, published, first_seen, lang, summary,
# initiatives {id: evidence}, themes {id: evidence}, relevant
ITEMS: list[dict[str, Any]] = [
    dict(
        id=1,
        outlet="aljazeera",
        title="US 28-point peace plan leaked",
        url="https://www.aljazeera.com/news/2025/11/21/us-plan",
        published="2025-11-21T09:00:00+00:00",
        lang="en",
        summary="A draft 28-point peace plan for Ukraine was leaked.",
        initiatives={"us-28pt-plan": _ev("28-point", "title", "28-point peace plan", 2.0)},
        themes={"TERR": _ev("territory", "summary", "Donbas")},
        relevant=1,
    ),
    dict(
        id=2,
        outlet="bbc",
        title="US 28-point peace plan leaked",
        url="https://www.bbc.com/news/articles/us-plan",
        published="2025-11-21T10:00:00+00:00",
        lang="en",
        summary="The plan would freeze the front line.",
        initiatives={"us-28pt-plan": _ev("28-point", "title", "28-point peace plan", 2.0)},
        themes={},
        relevant=1,
    ),
    dict(
        id=3,
        outlet="kyivindependent",
        title="Zelensky weighs 28-point plan and coalition guarantees",
        url="https://kyivindependent.com/zelensky-weighs",
        published="2025-11-21T11:00:00+00:00",
        lang="en",
        summary="Coalition of the willing offers guarantees.",
        initiatives={
            "us-28pt-plan": _ev("28-point", "title", "28-point plan", 2.0),
            "coalition-of-willing": _ev("coalition", "summary", "Coalition of the willing", 1.5),
        },
        themes={},
        relevant=1,
    ),
    dict(
        id=4,
        outlet="tass",
        title=SCRIPT_TITLE,
        url=SCRIPT_URL,
        published="2025-11-21T12:00:00+00:00",
        lang="en",
        summary="Dmitriev comments on the Witkoff draft.",
        initiatives={"us-28pt-plan": _ev("witkoff", "summary", "Witkoff draft", 1.0)},
        themes={},
        relevant=1,
    ),
    dict(
        id=5,
        outlet="aljazeera",
        title="Coalition of the willing meets in London",
        url="https://www.aljazeera.com/news/2025/11/21/coalition",
        published=None,
        first_seen="2025-11-21T13:00:00+00:00",
        lang="en",
        summary="Leaders discuss a reassurance force.",
        initiatives={
            "coalition-of-willing": _ev("coalition", "title", "Coalition of the willing", 1.5)
        },
        themes={"CEASE": _ev("ceasefire", "summary", "reassurance force")},
        relevant=1,
    ),
    dict(
        id=6,
        outlet="bbc",
        title="Ceasefire talk grows in Europe",
        url="https://www.bbc.com/news/articles/ceasefire-talk",
        published="2025-11-21T14:00:00+00:00",
        lang="en",
        summary="Diplomats see a window for a ceasefire.",
        initiatives={},
        themes={"CEASE": _ev("ceasefire", "title", "Ceasefire")},
        relevant=1,
    ),
    dict(
        id=7,
        outlet="bbc",
        title="Football results",
        url="https://www.bbc.com/sport/results",
        published="2025-11-21T15:00:00+00:00",
        lang="en",
        summary="Scores.",
        initiatives={},
        themes={},
        relevant=0,
    ),
    dict(
        id=8,
        outlet="aljazeera",
        title="Witkoff draft surfaces in Moscow",
        url="https://www.aljazeera.com/news/2025/11/20/witkoff",
        published="2025-11-20T10:00:00+00:00",
        lang="en",
        summary="Draft text.",
        initiatives={"us-28pt-plan": _ev("witkoff", "title", "Witkoff draft", 1.0)},
        themes={},
        relevant=1,
    ),
    dict(
        id=9,
        outlet="tass",
        title="Istanbul talks agree prisoner swap",
        url="https://tass.com/politics/istanbul",
        published="2025-11-18T08:00:00+00:00",
        lang="ru",
        summary="A 1,000-for-1,000 exchange.",
        initiatives={"istanbul-talks-2025": _ev("istanbul", "title", "Istanbul talks", 1.5)},
        themes={"POW": _ev("pow", "summary", "exchange")},
        relevant=1,
    ),
    dict(
        id=10,
        outlet="kyivindependent",
        title="Coalition planning a reassurance force",
        url="https://kyivindependent.com/coalition-force",
        published="2025-11-13T09:00:00+00:00",
        lang="en",
        summary="Force planning.",
        initiatives={"coalition-of-willing": _ev("coalition", "title", "Coalition", 1.0)},
        themes={},
        relevant=1,
    ),
    # late evening of the 20th in UTC, already the 21st in Kyiv (UTC+2)
    dict(
        id=11,
        outlet="kyivindependent",
        title="Night briefing on the peace plan",
        url="https://kyivindependent.com/night-briefing",
        published="2025-11-20T22:30:00+00:00",
        lang="uk",
        summary="Overnight.",
        initiatives={"us-28pt-plan": _ev("28-point", "summary", "peace plan", 1.0)},
        themes={},
        relevant=1,
    ),
]


def _tagging_stand_in(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE initiatives (id TEXT PRIMARY KEY, name TEXT, description TEXT,
            start_date TEXT, end_date TEXT, parties TEXT, links TEXT);
        CREATE TABLE themes (id TEXT PRIMARY KEY, name TEXT, description TEXT);
        CREATE TABLE item_initiatives (item_id INTEGER REFERENCES items(id),
            initiative_id TEXT REFERENCES initiatives(id), score REAL, evidence TEXT,
            rules_version TEXT, PRIMARY KEY (item_id, initiative_id));
        CREATE TABLE item_themes (item_id INTEGER REFERENCES items(id),
            theme_id TEXT REFERENCES themes(id), score REAL, evidence TEXT,
            rules_version TEXT, PRIMARY KEY (item_id, theme_id));
        CREATE TABLE item_classification (item_id INTEGER PRIMARY KEY REFERENCES items(id),
            relevant INTEGER, rules_version TEXT, classified_at TEXT);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        """,
    )


def migrations_for_tests() -> list[Migration]:
    names = [name for name, _ in MIGRATIONS]
    if "0002_tagging" in names:
        return list(MIGRATIONS)
    return [MIGRATIONS[0], ("0002_tagging", _tagging_stand_in), *MIGRATIONS[1:]]


def open_test_db(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    db = sqlite_utils.Database(conn)
    migrate(db, migrations_for_tests())
    return db


def _key(title: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def load_story(db: sqlite_utils.Database) -> None:
    """Insert the story above with raw SQL in one transaction."""
    c = db.conn
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO outlets (id, name) VALUES (?, ?)", OUTLETS)
    for sid, outlet, failing, failures, error, success in SOURCES:
        c.execute(
            "INSERT INTO sources (id, outlet_id, url, config_url, interval, failing_since,"
            " consecutive_failures, last_error, last_success_at, last_fetch_at, added_at)"
            " VALUES (?, ?, ?, ?, 1800, ?, ?, ?, ?, ?, '2025-11-01T00:00:00+00:00')",
            [
                sid,
                outlet,
                f"https://{outlet}.example/feed",
                f"https://{outlet}.example/feed",
                failing,
                failures,
                error,
                success,
                "2025-11-21T23:00:00+00:00",
            ],
        )
    c.executemany("INSERT INTO initiatives (id, name) VALUES (?, ?)", INITIATIVES)
    c.executemany("INSERT INTO themes (id, name) VALUES (?, ?)", THEMES)
    for item in ITEMS:
        first_seen = item.get("first_seen") or item["published"]
        c.execute(
            "INSERT INTO items (id, title, title_key, url, canonical_url, published, summary,"
            " lang, outlet_id, source_id, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item["id"],
                item["title"],
                _key(item["title"]),
                item["url"],
                item["url"],
                item["published"],
                item["summary"],
                item["lang"],
                item["outlet"],
                next(s[0] for s in SOURCES if s[1] == item["outlet"]),
                first_seen,
                first_seen,
            ],
        )
        for initiative, evidence in item["initiatives"].items():
            c.execute(
                "INSERT INTO item_initiatives VALUES (?, ?, ?, ?, 'test-1')",
                [item["id"], initiative, sum(e["weight"] for e in evidence), json.dumps(evidence)],
            )
        for theme, evidence in item["themes"].items():
            c.execute(
                "INSERT INTO item_themes VALUES (?, ?, 1.0, ?, 'test-1')",
                [item["id"], theme, json.dumps(evidence)],
            )
        c.execute(
            "INSERT INTO item_classification VALUES (?, ?, 'test-1', ?)",
            [item["id"], item["relevant"], first_seen],
        )
    c.execute("COMMIT")


def build_story_db(path: Path) -> sqlite_utils.Database:
    db = open_test_db(path)
    load_story(db)
    return db
