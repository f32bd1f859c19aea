"""Named, versioned schema migrations.

Each migration is a function that takes the database and changes its shape. They run in list
order, each inside its own transaction, and each name is recorded in `_migrations`, so opening
an old database upgrades it and opening a current one changes nothing. Never edit a migration
that has shipped: add a new one.

Longer than 500 lines because shipped migrations are append-only: each keeps its SQL whole,
in the order it ran.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peacewatch.store.database import Database

Migration = tuple[str, Callable[["Database"], None]]


def run_script(db: Database, script: str) -> None:
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


def _core(db: Database) -> None:
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


def _tagging(db: Database) -> None:
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


def _outlets_articles(db: Database) -> None:
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


# Keeps initiative_day_outlet equal to a GROUP BY over item_initiatives JOIN items. Tags are
# replaced by DELETE + INSERT (never INSERT OR REPLACE, whose implicit delete fires no
# trigger); an item whose date or outlet changes moves its counts.
COVERAGE_COUNTERS = """
INSERT INTO initiative_day_outlet (initiative_id, day, outlet_id, items)
SELECT item_initiatives.initiative_id,
       substr(coalesce(items.published, items.first_seen), 1, 10), items.outlet_id, count(*)
FROM item_initiatives JOIN items ON items.id = item_initiatives.item_id
GROUP BY 1, 2, 3;

CREATE TRIGGER item_initiatives_count_ai AFTER INSERT ON item_initiatives BEGIN
    INSERT INTO initiative_day_outlet (initiative_id, day, outlet_id, items)
    SELECT new.initiative_id, substr(coalesce(published, first_seen), 1, 10), outlet_id, 1
    FROM items WHERE id = new.item_id
    ON CONFLICT (initiative_id, day, outlet_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER item_initiatives_count_ad AFTER DELETE ON item_initiatives BEGIN
    UPDATE initiative_day_outlet SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND (day, outlet_id) = (SELECT substr(coalesce(published, first_seen), 1, 10), outlet_id
                              FROM items WHERE id = old.item_id);
    DELETE FROM initiative_day_outlet WHERE initiative_id = old.initiative_id AND items <= 0;
END;

CREATE TRIGGER item_initiatives_count_au AFTER UPDATE OF item_id, initiative_id
ON item_initiatives BEGIN
    UPDATE initiative_day_outlet SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND (day, outlet_id) = (SELECT substr(coalesce(published, first_seen), 1, 10), outlet_id
                              FROM items WHERE id = old.item_id);
    DELETE FROM initiative_day_outlet WHERE initiative_id = old.initiative_id AND items <= 0;
    INSERT INTO initiative_day_outlet (initiative_id, day, outlet_id, items)
    SELECT new.initiative_id, substr(coalesce(published, first_seen), 1, 10), outlet_id, 1
    FROM items WHERE id = new.item_id
    ON CONFLICT (initiative_id, day, outlet_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER items_coverage_au AFTER UPDATE OF published, first_seen, outlet_id ON items
WHEN substr(coalesce(old.published, old.first_seen), 1, 10)
         IS NOT substr(coalesce(new.published, new.first_seen), 1, 10)
     OR old.outlet_id IS NOT new.outlet_id
BEGIN
    UPDATE initiative_day_outlet SET items = items - 1
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10)
      AND outlet_id = old.outlet_id
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives WHERE item_id = old.id);
    DELETE FROM initiative_day_outlet
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10)
      AND outlet_id = old.outlet_id AND items <= 0;
    INSERT INTO initiative_day_outlet (initiative_id, day, outlet_id, items)
    SELECT initiative_id, substr(coalesce(new.published, new.first_seen), 1, 10),
           new.outlet_id, 1
    FROM item_initiatives WHERE item_id = new.id AND true
    ON CONFLICT (initiative_id, day, outlet_id) DO UPDATE SET items = items + 1;
END;
"""


def _analyst_views_digests(db: Database) -> None:
    """Views that answer analysts' questions in Datasette, indexes that keep the canned queries
    fast on a million items, and the `digests` ledger that makes each digest mail go out once."""
    run_script(
        db,
        """
        -- 'day' is the publication day (UTC), or the day first seen when the date is unknown
        CREATE VIEW item_details AS
        SELECT
            items.id,
            items.title,
            outlets.name AS outlet,
            items.outlet_id,
            substr(coalesce(items.published, items.first_seen), 1, 10) AS day,
            items.published,
            items.first_seen,
            items.lang AS language,
            coalesce(items.url, items.canonical_url) AS url,
            items.summary,
            (SELECT json_group_array(initiative_id) FROM item_initiatives
              WHERE item_initiatives.item_id = items.id) AS initiatives,
            (SELECT json_group_array(theme_id) FROM item_themes
              WHERE item_themes.item_id = items.id) AS themes
        FROM items LEFT JOIN outlets ON outlets.id = items.outlet_id;

        -- one row per (item, initiative): facet by initiative, outlet, language, day.
        -- LEFT JOINs on unique keys keep the join order (newest tags first by the primary
        -- key) and let SQLite skip joins a count or facet does not need.
        CREATE VIEW tagged_items AS
        SELECT
            item_initiatives.initiative_id,
            initiatives.name AS initiative,
            item_initiatives.item_id,
            items.title,
            outlets.name AS outlet,
            substr(coalesce(items.published, items.first_seen), 1, 10) AS day,
            items.published,
            items.lang AS language,
            item_initiatives.score,
            coalesce(items.url, items.canonical_url) AS url
        FROM item_initiatives
        LEFT JOIN items ON items.id = item_initiatives.item_id
        LEFT JOIN initiatives ON initiatives.id = item_initiatives.initiative_id
        LEFT JOIN outlets ON outlets.id = items.outlet_id;

        -- items per (initiative, day, outlet), kept current by triggers (below), so coverage
        -- questions read a few thousand counters instead of joining every tagged item
        CREATE TABLE initiative_day_outlet (
            initiative_id TEXT NOT NULL,
            day TEXT NOT NULL,                 -- as item_details.day
            outlet_id TEXT NOT NULL,
            items INTEGER NOT NULL,
            PRIMARY KEY (initiative_id, day, outlet_id)
        ) WITHOUT ROWID;

        CREATE VIEW initiative_coverage_daily AS
        SELECT
            initiative_day_outlet.initiative_id,
            coalesce(initiatives.name, initiative_day_outlet.initiative_id) AS initiative,
            day,
            sum(items) AS items,
            count(*) AS outlets
        FROM initiative_day_outlet
        LEFT JOIN initiatives ON initiatives.id = initiative_day_outlet.initiative_id
        GROUP BY initiative_day_outlet.initiative_id, day;

        -- weeks start on Monday; 'week' is that Monday's date
        CREATE VIEW initiative_coverage_weekly AS
        SELECT
            initiative_day_outlet.initiative_id,
            coalesce(initiatives.name, initiative_day_outlet.initiative_id) AS initiative,
            date(day, '-6 days', 'weekday 1') AS week,
            sum(items) AS items,
            count(DISTINCT outlet_id) AS outlets
        FROM initiative_day_outlet
        LEFT JOIN initiatives ON initiatives.id = initiative_day_outlet.initiative_id
        GROUP BY initiative_day_outlet.initiative_id, week;

        CREATE VIEW source_health AS
        SELECT
            sources.id AS source_id,
            outlets.name AS outlet,
            sources.url,
            sources.kind,
            CASE
                WHEN NOT sources.enabled THEN 'disabled'
                WHEN sources.failing_since IS NOT NULL THEN 'failing'
                WHEN sources.last_success_at IS NULL THEN 'never fetched'
                ELSE 'ok'
            END AS health,
            sources.failing_since,
            sources.consecutive_failures,
            sources.last_outcome,
            sources.last_error,
            sources.last_success_at,
            sources.last_fetch_at,
            sources.next_due_at
        FROM sources JOIN outlets ON outlets.id = sources.outlet_id;

        -- one row per piece of evidence behind an item's initiative and theme tags
        CREATE VIEW item_tag_evidence AS
        SELECT
            item_initiatives.item_id,
            'initiative' AS tag_kind,
            item_initiatives.initiative_id AS tag_id,
            initiatives.name AS tag_name,
            item_initiatives.score,
            json_extract(evidence.value, '$.rule') AS rule,
            json_extract(evidence.value, '$.field') AS field,
            json_extract(evidence.value, '$.text') AS matched_text,
            json_extract(evidence.value, '$.weight') AS weight,
            item_initiatives.rules_version
        FROM item_initiatives
        JOIN initiatives ON initiatives.id = item_initiatives.initiative_id,
            json_each(CASE WHEN json_valid(item_initiatives.evidence)
                      THEN item_initiatives.evidence ELSE '[]' END) AS evidence
        UNION ALL
        SELECT
            item_themes.item_id,
            'theme',
            item_themes.theme_id,
            themes.name,
            item_themes.score,
            json_extract(evidence.value, '$.rule'),
            json_extract(evidence.value, '$.field'),
            json_extract(evidence.value, '$.text'),
            json_extract(evidence.value, '$.weight'),
            item_themes.rules_version
        FROM item_themes
        JOIN themes ON themes.id = item_themes.theme_id,
            json_each(CASE WHEN json_valid(item_themes.evidence)
                      THEN item_themes.evidence ELSE '[]' END) AS evidence;

        -- a narrow copy of the date columns, so per-week counts read it instead of whole rows
        CREATE INDEX items_dates ON items(id, published, first_seen, outlet_id);
        CREATE INDEX items_undated ON items(first_seen) WHERE published IS NULL;
        CREATE INDEX sources_failing ON sources(failing_since) WHERE failing_since IS NOT NULL;

        -- the ledger of digest mails: a row is claimed (status 'sending') in a transaction
        -- before any SMTP traffic, so two daemons or a restart never send one twice
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,                 -- local day the digest covers, YYYY-MM-DD
            recipient TEXT NOT NULL,           -- address, lower-cased
            status TEXT NOT NULL
                CHECK (status IN ('sending', 'sent', 'failed', 'skipped')),
            message_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            item_count INTEGER,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            claimed_at TEXT,                   -- when the current attempt took the row
            data_started_at TEXT,              -- the message was being handed to SMTP
            next_attempt_at TEXT,              -- failed and retryable from then; NULL = final
            UNIQUE (day, recipient)
        );
        CREATE INDEX digests_status ON digests(status, next_attempt_at);
        """,
    )
    # Canned queries walk an initiative's or theme's items newest first. The tag tables (and
    # maybe these same indexes) come from 0002_tagging, which runs before this migration; the
    # checks only matter for a database built without it (views over missing tables are
    # allowed, indexes are not).
    tables = set(db.table_names())
    if "item_initiatives" in tables:
        run_script(
            db,
            "CREATE INDEX IF NOT EXISTS item_initiatives_initiative"
            " ON item_initiatives(initiative_id, item_id);",
        )
        run_script(db, COVERAGE_COUNTERS)
    if "item_themes" in tables:
        run_script(
            db, "CREATE INDEX IF NOT EXISTS item_themes_theme ON item_themes(theme_id, item_id);"
        )


def _date_candidates(db: Database) -> None:
    """What an article page said about its date, the verdict, and feed/page disagreements
    (dates branch, issue #12)."""
    run_script(
        db,
        """
        -- the outlet's calendar day: its local time (ISO-8601 with offset), or a bare day
        ALTER TABLE items ADD COLUMN published_local TEXT;
        -- JSON: every date witness on the article page, the one chosen and why
        ALTER TABLE items ADD COLUMN date_candidates TEXT;
        -- JSON: the feed's date when the page's date replaced it, and why
        ALTER TABLE items ADD COLUMN date_disagreement TEXT;
        -- feed items whose page's date replaced the feed's date
        ALTER TABLE sources ADD COLUMN date_disagreements INTEGER NOT NULL DEFAULT 0;
        -- the redated_items canned query, newest first, without a scan
        CREATE INDEX items_redated ON items(id) WHERE date_disagreement IS NOT NULL;
        """,
    )


def _analyst_labels(db: Database) -> None:
    """Analysts' corrections of initiative tags, kept apart from the rules' output so a retag
    never undoes them (store/tags.py applies them whenever it writes an item's tags), with
    what the rules said when the item was last tagged; and the view of the disagreements.
    Self-contained: it needs only the items, initiatives and item_initiatives tables."""
    run_script(
        db,
        """
        CREATE TABLE analyst_labels (
            item_id INTEGER NOT NULL REFERENCES items(id),
            initiative_id TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('add', 'remove')),
            note TEXT,
            labelled_at TEXT NOT NULL,
            rules_said INTEGER,            -- 1/0: the rules tag it; updated on every tag write
            rules_version TEXT,            -- the rules version rules_said is from
            rules_evidence TEXT,           -- the rules' evidence (JSON) when rules_said = 1
            PRIMARY KEY (item_id, initiative_id)
        );
        CREATE INDEX analyst_labels_initiative ON analyst_labels(initiative_id, item_id);

        -- labels that contradict the rules: an analyst added a tag the rules did not give,
        -- or removed one they gave
        CREATE VIEW label_disagreements AS
        SELECT
            analyst_labels.item_id,
            analyst_labels.initiative_id,
            coalesce(initiatives.name, analyst_labels.initiative_id) AS initiative,
            analyst_labels.verdict,
            items.title,
            coalesce(items.url, items.canonical_url) AS url,
            items.published,
            analyst_labels.note,
            CASE analyst_labels.verdict
                WHEN 'remove' THEN analyst_labels.rules_evidence
                ELSE item_initiatives.evidence
            END AS evidence,
            analyst_labels.labelled_at,
            analyst_labels.rules_version
        FROM analyst_labels
        JOIN items ON items.id = analyst_labels.item_id
        LEFT JOIN initiatives ON initiatives.id = analyst_labels.initiative_id
        LEFT JOIN item_initiatives ON item_initiatives.item_id = analyst_labels.item_id
            AND item_initiatives.initiative_id = analyst_labels.initiative_id
        WHERE (analyst_labels.verdict = 'add' AND analyst_labels.rules_said = 0)
           OR (analyst_labels.verdict = 'remove' AND analyst_labels.rules_said = 1);
        """,
    )


def _item_language(db: Database) -> None:
    """Where each item's language came from, and how sure a detection was.

    lang_source: feed (the entry or feed declared it), page (the article page declared it),
    source (configured for the source in sources.toml), detected (from the headline and
    summary, with lang_confidence). Items stored before this migration keep an empty
    lang_source; those without a language are filled by `peacewatch languages --detect`.
    """
    run_script(
        db,
        """
        ALTER TABLE items ADD COLUMN lang_source TEXT;
        ALTER TABLE items ADD COLUMN lang_confidence REAL;
        -- items still waiting for a language: found at once on millions of items
        CREATE INDEX items_lang_missing ON items(id) WHERE lang IS NULL;
        """,
    )


# The dashboard's counters (0009), kept like initiative_day_outlet: initiative_day_lang equals a
# GROUP BY over item_initiatives JOIN items by day and language (an item without one counts
# under ''); initiative_day_theme counts the items tagged with both an initiative and a theme,
# per day, so each half of a pair that arrives or leaves adds or removes the pairs it makes.
DAY = "substr(coalesce(items.published, items.first_seen), 1, 10)"
DASHBOARD_COUNTERS = f"""
CREATE TABLE initiative_day_lang (
    initiative_id TEXT NOT NULL,
    day TEXT NOT NULL,                 -- as item_details.day
    lang TEXT NOT NULL,                -- items.lang, '' when the item has none yet
    items INTEGER NOT NULL,
    PRIMARY KEY (initiative_id, day, lang)
) WITHOUT ROWID;
CREATE TABLE initiative_day_theme (
    initiative_id TEXT NOT NULL,
    day TEXT NOT NULL,
    theme_id TEXT NOT NULL,
    items INTEGER NOT NULL,            -- items tagged with both
    PRIMARY KEY (initiative_id, day, theme_id)
) WITHOUT ROWID;

INSERT INTO initiative_day_lang (initiative_id, day, lang, items)
SELECT item_initiatives.initiative_id, {DAY}, coalesce(items.lang, ''), count(*)
FROM item_initiatives JOIN items ON items.id = item_initiatives.item_id
GROUP BY 1, 2, 3;
INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
SELECT item_initiatives.initiative_id, {DAY}, item_themes.theme_id, count(*)
FROM item_initiatives JOIN items ON items.id = item_initiatives.item_id
JOIN item_themes ON item_themes.item_id = item_initiatives.item_id
GROUP BY 1, 2, 3;

CREATE TRIGGER item_initiatives_dashboard_ai AFTER INSERT ON item_initiatives BEGIN
    INSERT INTO initiative_day_lang (initiative_id, day, lang, items)
    SELECT new.initiative_id, {DAY}, coalesce(items.lang, ''), 1
    FROM items WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, lang) DO UPDATE SET items = items + 1;
    INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
    SELECT new.initiative_id, {DAY}, item_themes.theme_id, 1
    FROM items JOIN item_themes ON item_themes.item_id = items.id WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, theme_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER item_initiatives_dashboard_ad AFTER DELETE ON item_initiatives BEGIN
    UPDATE initiative_day_lang SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND (day, lang) = (SELECT {DAY}, coalesce(items.lang, '') FROM items
                         WHERE items.id = old.item_id);
    UPDATE initiative_day_theme SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND theme_id IN (SELECT theme_id FROM item_themes WHERE item_id = old.item_id);
    DELETE FROM initiative_day_lang
    WHERE initiative_id = old.initiative_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id);
    DELETE FROM initiative_day_theme
    WHERE initiative_id = old.initiative_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id);
END;

CREATE TRIGGER item_initiatives_dashboard_au AFTER UPDATE OF item_id, initiative_id
ON item_initiatives BEGIN
    UPDATE initiative_day_lang SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND (day, lang) = (SELECT {DAY}, coalesce(items.lang, '') FROM items
                         WHERE items.id = old.item_id);
    UPDATE initiative_day_theme SET items = items - 1
    WHERE initiative_id = old.initiative_id
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND theme_id IN (SELECT theme_id FROM item_themes WHERE item_id = old.item_id);
    DELETE FROM initiative_day_lang
    WHERE initiative_id = old.initiative_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id);
    DELETE FROM initiative_day_theme
    WHERE initiative_id = old.initiative_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id);
    INSERT INTO initiative_day_lang (initiative_id, day, lang, items)
    SELECT new.initiative_id, {DAY}, coalesce(items.lang, ''), 1
    FROM items WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, lang) DO UPDATE SET items = items + 1;
    INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
    SELECT new.initiative_id, {DAY}, item_themes.theme_id, 1
    FROM items JOIN item_themes ON item_themes.item_id = items.id WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, theme_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER item_themes_dashboard_ai AFTER INSERT ON item_themes BEGIN
    INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
    SELECT item_initiatives.initiative_id, {DAY}, new.theme_id, 1
    FROM items JOIN item_initiatives ON item_initiatives.item_id = items.id
    WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, theme_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER item_themes_dashboard_ad AFTER DELETE ON item_themes BEGIN
    UPDATE initiative_day_theme SET items = items - 1
    WHERE theme_id = old.theme_id
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives
                            WHERE item_id = old.item_id);
    DELETE FROM initiative_day_theme
    WHERE theme_id = old.theme_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives
                            WHERE item_id = old.item_id);
END;

CREATE TRIGGER item_themes_dashboard_au AFTER UPDATE OF item_id, theme_id ON item_themes BEGIN
    UPDATE initiative_day_theme SET items = items - 1
    WHERE theme_id = old.theme_id
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives
                            WHERE item_id = old.item_id);
    DELETE FROM initiative_day_theme
    WHERE theme_id = old.theme_id AND items <= 0
      AND day = (SELECT {DAY} FROM items WHERE items.id = old.item_id)
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives
                            WHERE item_id = old.item_id);
    INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
    SELECT item_initiatives.initiative_id, {DAY}, new.theme_id, 1
    FROM items JOIN item_initiatives ON item_initiatives.item_id = items.id
    WHERE items.id = new.item_id
    ON CONFLICT (initiative_id, day, theme_id) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER items_dashboard_au AFTER UPDATE OF published, first_seen, lang ON items
WHEN substr(coalesce(old.published, old.first_seen), 1, 10)
         IS NOT substr(coalesce(new.published, new.first_seen), 1, 10)
     OR old.lang IS NOT new.lang
BEGIN
    UPDATE initiative_day_lang SET items = items - 1
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10)
      AND lang = coalesce(old.lang, '')
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives WHERE item_id = old.id);
    DELETE FROM initiative_day_lang
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10)
      AND lang = coalesce(old.lang, '') AND items <= 0
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives WHERE item_id = old.id);
    INSERT INTO initiative_day_lang (initiative_id, day, lang, items)
    SELECT initiative_id, substr(coalesce(new.published, new.first_seen), 1, 10),
           coalesce(new.lang, ''), 1
    FROM item_initiatives WHERE item_id = new.id AND true
    ON CONFLICT (initiative_id, day, lang) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER items_dashboard_day_au AFTER UPDATE OF published, first_seen ON items
WHEN substr(coalesce(old.published, old.first_seen), 1, 10)
         IS NOT substr(coalesce(new.published, new.first_seen), 1, 10)
BEGIN
    UPDATE initiative_day_theme SET items = items - 1
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10)
      AND (initiative_id, theme_id) IN (
          SELECT item_initiatives.initiative_id, item_themes.theme_id
          FROM item_initiatives JOIN item_themes ON item_themes.item_id = item_initiatives.item_id
          WHERE item_initiatives.item_id = old.id);
    DELETE FROM initiative_day_theme
    WHERE day = substr(coalesce(old.published, old.first_seen), 1, 10) AND items <= 0
      AND initiative_id IN (SELECT initiative_id FROM item_initiatives WHERE item_id = old.id);
    INSERT INTO initiative_day_theme (initiative_id, day, theme_id, items)
    SELECT item_initiatives.initiative_id, substr(coalesce(new.published, new.first_seen), 1, 10),
           item_themes.theme_id, 1
    FROM item_initiatives JOIN item_themes ON item_themes.item_id = item_initiatives.item_id
    WHERE item_initiatives.item_id = new.id
    ON CONFLICT (initiative_id, day, theme_id) DO UPDATE SET items = items + 1;
END;
"""


def _dashboard_counters(db: Database) -> None:
    """Counters behind the coverage dashboard's languages and themes charts (issue #13): a
    GROUP BY over the tags of a million items takes seconds, these answer in milliseconds."""
    run_script(db, DASHBOARD_COUNTERS)


def _stories(db: Database) -> None:
    """Story clusters (issue #11): every item's story, the reason it joined, and the merges a
    late item made (with what is needed to undo them). Self-contained: it needs only items,
    outlets and item_initiatives."""
    run_script(
        db,
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an undone merge gets its id back
            first_seen TEXT NOT NULL,          -- earliest first_seen of the members
            window_start TEXT NOT NULL,        -- earliest member time (published, else first_seen)
            window_end TEXT NOT NULL,          -- latest member time
            day TEXT NOT NULL,                 -- substr(window_start, 1, 10)
            item_id INTEGER REFERENCES items(id),  -- the representative member
            headline TEXT NOT NULL,            -- its headline
            size INTEGER NOT NULL,
            outlet_count INTEGER NOT NULL,
            outlets TEXT NOT NULL,             -- JSON list of outlet ids
            languages TEXT NOT NULL,           -- JSON list of language codes
            initiatives TEXT NOT NULL,         -- JSON list of initiative ids
            settings_version TEXT NOT NULL,    -- clustering settings the story was built with
            updated_at TEXT NOT NULL
        );
        CREATE INDEX stories_window ON stories(window_start);
        CREATE INDEX stories_day_size ON stories(day, size);

        CREATE TABLE story_members (
            item_id INTEGER PRIMARY KEY REFERENCES items(id),
            story_id INTEGER NOT NULL REFERENCES stories(id),
            similarity REAL,                   -- NULL for the member that founded the story
            evidence TEXT NOT NULL,            -- JSON list: text, terms, names, places, numbers
            matched TEXT,                      -- 'centroid' or 'item:ID' (near-identical text)
            shared TEXT NOT NULL,              -- JSON {terms, names, places, numbers}
            gap_hours REAL,                    -- hours to the nearest member when it joined
            settings_version TEXT NOT NULL,
            joined_at TEXT NOT NULL
        );
        CREATE INDEX story_members_story ON story_members(story_id);

        CREATE TABLE story_merges (
            id INTEGER PRIMARY KEY,
            kept_story INTEGER NOT NULL,
            absorbed_story INTEGER NOT NULL,
            item_id INTEGER REFERENCES items(id),  -- the late item that joined both
            members TEXT NOT NULL,             -- JSON list of the absorbed story's item ids
            merged_at TEXT NOT NULL,
            undone_at TEXT
        );

        -- one row per member, with its reason: facet by story, outlet, language, evidence
        CREATE VIEW story_member_reasons AS
        SELECT
            story_members.story_id,
            stories.headline AS story,
            story_members.item_id,
            items.title,
            outlets.name AS outlet,
            items.lang AS language,
            coalesce(items.published, items.first_seen) AS time,
            story_members.evidence,
            story_members.matched,
            story_members.shared,
            story_members.similarity,
            story_members.gap_hours,
            story_members.settings_version,
            coalesce(items.url, items.canonical_url) AS url
        FROM story_members
        JOIN stories ON stories.id = story_members.story_id
        JOIN items ON items.id = story_members.item_id
        LEFT JOIN outlets ON outlets.id = items.outlet_id;
        """,
    )


def _adaptive_intervals(db: Database) -> None:
    """Adaptive poll intervals: the wait the last poll chose (`poll_interval`, seconds), why
    the next poll is when it is (`next_due_reason`), and the shortest wait the feed itself
    asks for (`feed_floor`, from ttl or sy:updatePeriod, with `feed_floor_reason`), kept for
    the polls that answer 304 and are not parsed."""
    run_script(
        db,
        """
        ALTER TABLE sources ADD COLUMN poll_interval REAL;
        ALTER TABLE sources ADD COLUMN next_due_reason TEXT;
        ALTER TABLE sources ADD COLUMN feed_floor REAL;
        ALTER TABLE sources ADD COLUMN feed_floor_reason TEXT;
        """,
    )


def _failed_bodies(db: Database) -> None:
    """The hash of the last body a source's parser failed on, when, and the failure's outcome
    and message: the same bytes again are the same failure, recorded without parsing them (as
    an unchanged good body is not parsed again)."""
    run_script(
        db,
        """
        ALTER TABLE sources ADD COLUMN failed_body_hash TEXT;
        ALTER TABLE sources ADD COLUMN failed_body_outcome TEXT;
        ALTER TABLE sources ADD COLUMN failed_body_error TEXT;
        ALTER TABLE sources ADD COLUMN failed_body_at TEXT;
        """,
    )


MIGRATIONS: list[Migration] = [
    ("0001_core", _core),
    ("0002_tagging", _tagging),
    ("0003_outlets_articles", _outlets_articles),
    ("0004_analyst_views_digests", _analyst_views_digests),
    ("0005_date_candidates", _date_candidates),
    ("0006_item_language", _item_language),
    ("0007_analyst_labels", _analyst_labels),
    ("0008_adaptive_intervals", _adaptive_intervals),
    ("0009_dashboard_counters", _dashboard_counters),
    ("0010_stories", _stories),
    ("0011_failed_bodies", _failed_bodies),
]


def applied(db: Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
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
            # A stop (SIGTERM's SystemExit) can land just after COMMIT, inside this block:
            # there is then nothing to roll back, and a failing ROLLBACK would hide the stop.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        ran.append(name)
    return ran
