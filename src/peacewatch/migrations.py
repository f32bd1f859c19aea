"""Named, versioned schema migrations.

Each migration is a function that takes the database and changes its shape. They run in list
order, each inside its own transaction, and each name is recorded in `_migrations`, so opening
an old database upgrades it and opening a current one changes nothing. Never edit a migration
that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run several statements inside the caller's transaction.

    sqlite3's executescript() commits first, which would break a migration's atomicity.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:80]}")


def _core(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE outlets (
            id TEXT PRIMARY KEY,           -- slug, e.g. 'al-jazeera'
            name TEXT NOT NULL             -- canonical display name
        );
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            outlet_id TEXT NOT NULL REFERENCES outlets(id),
            url TEXT NOT NULL,             -- current URL; a permanent redirect updates it
            config_url TEXT NOT NULL,      -- URL as written in sources.toml
            kind TEXT NOT NULL DEFAULT 'feed',
            interval INTEGER NOT NULL,
            lang TEXT,
            timezone TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            trust_validators INTEGER NOT NULL DEFAULT 1,
            last_unconditional_at TEXT,
            last_fetch_at TEXT,
            last_success_at TEXT,
            last_status INTEGER,
            last_outcome TEXT,
            last_error TEXT,
            failing_since TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            next_due_at TEXT,
            added_at TEXT NOT NULL
        );
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id),
            url TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            status INTEGER,
            bytes INTEGER NOT NULL DEFAULT 0,
            elapsed_ms INTEGER NOT NULL DEFAULT 0,
            conditional INTEGER NOT NULL DEFAULT 0,
            outcome TEXT NOT NULL,
            error TEXT,
            items_total INTEGER NOT NULL DEFAULT 0,
            items_new INTEGER NOT NULL DEFAULT 0,
            items_seen INTEGER NOT NULL DEFAULT 0,
            items_changed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX fetches_source_started ON fetches(source_id, started_at);
        CREATE INDEX fetches_started ON fetches(started_at);

        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            title_key TEXT NOT NULL,       -- normalized headline, for same-outlet dedup
            url TEXT,                      -- link as first seen (raw)
            canonical_url TEXT,            -- normalized link
            guid TEXT,
            published TEXT,                -- UTC ISO-8601, NULL when unknown
            updated TEXT,
            summary TEXT,
            author TEXT,
            lang TEXT,
            outlet_id TEXT NOT NULL REFERENCES outlets(id),
            source_id TEXT REFERENCES sources(id),  -- first source that carried it
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_changed TEXT
        );
        CREATE INDEX items_published ON items(published);
        CREATE INDEX items_first_seen ON items(first_seen);
        CREATE INDEX items_outlet_title ON items(outlet_id, title_key);
        CREATE INDEX items_canonical_url ON items(canonical_url);

        -- every normalized URL known to name an item (feed link, guid link, page canonical)
        CREATE TABLE item_urls (
            url TEXT PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id)
        );
        CREATE INDEX item_urls_item ON item_urls(item_id);

        -- which sources carried an item, under which guid and raw link
        CREATE TABLE item_sources (
            item_id INTEGER NOT NULL REFERENCES items(id),
            source_id TEXT NOT NULL REFERENCES sources(id),
            guid TEXT,
            url TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (item_id, source_id)
        );
        CREATE INDEX item_sources_source_guid ON item_sources(source_id, guid);

        CREATE TABLE item_revisions (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            field TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            changed_at TEXT NOT NULL,
            source_id TEXT REFERENCES sources(id)
        );
        CREATE INDEX item_revisions_item ON item_revisions(item_id);

        -- full-text index over headline and summary, in the shape Datasette detects
        CREATE VIRTUAL TABLE items_fts USING fts5(
            title, summary, content=[items], content_rowid=id, tokenize='unicode61'
        );
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (rowid, title, summary)
            VALUES (new.id, new.title, new.summary);
        END;
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.id, old.title, old.summary);
        END;
        CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.id, old.title, old.summary);
            INSERT INTO items_fts (rowid, title, summary)
            VALUES (new.id, new.title, new.summary);
        END;
        """,
    )


def _tagging(db: sqlite_utils.Database) -> None:
    """Tags (item x initiative, item x theme) with score, evidence and the rules version that
    produced them; the initiatives and themes mirrored from config/initiatives.toml so
    Datasette can join names; `meta` holds the rules version the stored tags are complete for."""
    run_script(
        db,
        """
        CREATE TABLE initiatives (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            start_date TEXT,               -- YYYY-MM-DD
            end_date TEXT,                 -- NULL while still open
            parties TEXT,                  -- JSON list
            links TEXT                     -- JSON list
        );
        CREATE TABLE themes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT
        );
        CREATE TABLE item_initiatives (
            item_id INTEGER NOT NULL REFERENCES items(id),
            initiative_id TEXT NOT NULL,
            score REAL NOT NULL,
            evidence TEXT NOT NULL,        -- JSON list of {rule, field, text, start, end, weight}
            rules_version TEXT NOT NULL,
            PRIMARY KEY (item_id, initiative_id)
        );
        CREATE INDEX item_initiatives_initiative ON item_initiatives(initiative_id, item_id);
        CREATE TABLE item_themes (
            item_id INTEGER NOT NULL REFERENCES items(id),
            theme_id TEXT NOT NULL,
            score REAL NOT NULL,
            evidence TEXT NOT NULL,
            rules_version TEXT NOT NULL,
            PRIMARY KEY (item_id, theme_id)
        );
        CREATE INDEX item_themes_theme ON item_themes(theme_id, item_id);
        -- one row per classified item, tagged or not: what `retag` resumes from
        CREATE TABLE item_classification (
            item_id INTEGER PRIMARY KEY REFERENCES items(id),
            relevant INTEGER NOT NULL,     -- 1 = on the topic of Russia-Ukraine peace
            rules_version TEXT NOT NULL,
            classified_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """,
    )


def _outlets_articles(db: sqlite_utils.Database) -> None:
    """Outlet registry columns, what article pages told us about items, reading-list entries
    and the queue of article pages to fetch (articles branch)."""
    run_script(
        db,
        """
        ALTER TABLE outlets ADD COLUMN domains TEXT;        -- JSON list of home domains
        ALTER TABLE outlets ADD COLUMN country TEXT;
        ALTER TABLE outlets ADD COLUMN langs TEXT;          -- JSON list of language codes
        ALTER TABLE outlets ADD COLUMN timezone TEXT;       -- IANA zone for naive dates
        ALTER TABLE outlets ADD COLUMN aliases TEXT;        -- JSON list, as lists write them
        -- 1 = described in config/outlets.toml; 0 = derived from an unknown name or domain
        ALTER TABLE outlets ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE outlets ADD COLUMN derived_from TEXT;   -- the name/domain it was made from

        ALTER TABLE items ADD COLUMN linkless INTEGER NOT NULL DEFAULT 0;  -- list entry, no URL
        ALTER TABLE items ADD COLUMN date_source TEXT;      -- feed|list|jsonld|opengraph|...
        ALTER TABLE items ADD COLUMN modified TEXT;         -- page's last modification, UTC
        ALTER TABLE items ADD COLUMN page_fetched_at TEXT;  -- article page read at
        CREATE INDEX items_linkless ON items(outlet_id, title_key) WHERE linkless = 1;

        -- every entry of every reading list, as written, pointing at the item it became
        CREATE TABLE list_entries (
            id INTEGER PRIMARY KEY,
            list_ref TEXT NOT NULL,          -- source id, or 'file:<name>' for import-list
            source_id TEXT REFERENCES sources(id),
            entry_key TEXT NOT NULL,         -- outlet + headline + date: stable across edits
            line INTEGER NOT NULL,
            title TEXT NOT NULL,
            outlet_written TEXT,
            outlet_id TEXT REFERENCES outlets(id),
            author TEXT,
            date TEXT,                       -- YYYY-MM-DD, or YYYY-MM for month-only lists
            url TEXT,
            kind TEXT,                       -- video|tweet|podcast|audio|pdf
            note TEXT,
            reference TEXT,
            truncated INTEGER NOT NULL DEFAULT 0,
            item_id INTEGER REFERENCES items(id),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            UNIQUE (list_ref, entry_key)
        );
        CREATE INDEX list_entries_item ON list_entries(item_id);

        -- article pages to read for items (list entries; feed entries lacking date, summary
        -- or a trustworthy link), and what happened when we tried
        CREATE TABLE page_fetches (
            item_id INTEGER PRIMARY KEY REFERENCES items(id),
            url TEXT NOT NULL,
            source_id TEXT REFERENCES sources(id),
            reason TEXT NOT NULL,            -- list|no_date|no_summary|untrusted_link
            state TEXT NOT NULL DEFAULT 'pending',  -- pending|done|refused|failed
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL,
            last_attempt_at TEXT,
            next_attempt_at TEXT,
            http_status INTEGER,
            error TEXT
        );
        CREATE INDEX page_fetches_due ON page_fetches(state, next_attempt_at);
        CREATE INDEX page_fetches_source ON page_fetches(source_id, state);
        """,
    )


MIGRATIONS: list[Migration] = [
    ("0001_core", _core),
    ("0002_tagging", _tagging),
    ("0003_outlets_articles", _outlets_articles),
]


def applied(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(db: sqlite_utils.Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    The connection must be in autocommit mode (isolation_level=None) so that the explicit
    BEGIN IMMEDIATE here is the only transaction: a crash mid-migration leaves no trace.
    """
    conn: sqlite3.Connection = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = set(applied(db))
    ran: list[str] = []
    for name, step in migrations if migrations is not None else MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated between our read and our lock
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone():
                conn.execute("COMMIT")
                continue
            step(db)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        ran.append(name)
    return ran
