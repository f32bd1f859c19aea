"""The SQLite store: opening, transactions, sources and their health, fetch records, items.

Writes that belong together (one fetch: its items, its record and the source's health) run in
one `transaction()`, with plain SQL, so a kill at any moment leaves no half-stored fetch.
sqlite-utils' insert helpers commit on their own and are kept out of those transactions.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from peacewatch.errors import StoreError
from peacewatch.migrations import migrate
from peacewatch.models import ParsedItem, SaveReport, Source, Validators
from peacewatch.text import title_key
from peacewatch.timeutil import parse_iso
from peacewatch.urls import canonicalize_url

__all__ = [
    "Database",
    "due_sources",
    "ensure_outlet",
    "open_db",
    "outlet_id_for",
    "record_fetch",
    "save_items",
    "source_row",
    "source_rows",
    "source_validators",
    "sync_sources",
    "transaction",
]

Database = sqlite_utils.Database

# The same headline from the same outlet within this many days is the same story.
SAME_HEADLINE_DAYS = 3


def open_db(
    path: Path | str, *, readonly: bool = False, busy_timeout: float = 10.0
) -> sqlite_utils.Database:
    """Open (creating and migrating when writable) the database at `path`.

    WAL lets Datasette and other readers work while the daemon writes; the busy timeout makes
    a writer wait for another instead of failing at once.
    """
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise StoreError(f"database {path} does not exist")
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=busy_timeout, isolation_level=None
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        if not readonly:
            migrate(db)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open database {path}: {error}") from error
    return db


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One atomic unit of writes. BEGIN IMMEDIATE takes the write lock up front, so two
    writers queue on the busy timeout instead of failing halfway through."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def _one(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> Any:
    row = db.execute(sql, list(params)).fetchone()
    return row[0] if row else None


def _dicts(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> list[dict]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- outlets -------------------------------------------------------------------------------


def outlet_id_for(name: str) -> str:
    """A stable slug for an outlet name: 'Democracy Now!' -> 'democracy-now'."""
    slug = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-")
    return slug or "unknown"


def ensure_outlet(db: sqlite_utils.Database, outlet_id: str, name: str) -> None:
    db.execute("INSERT OR IGNORE INTO outlets (id, name) VALUES (?, ?)", [outlet_id, name])


# -- sources -------------------------------------------------------------------------------


def sync_sources(db: sqlite_utils.Database, sources: Iterable[Source], now: str) -> None:
    """Mirror the configured sources into the table, keeping each one's health and validators.

    A source removed from the configuration is disabled, not deleted: its fetches and items
    keep pointing at it. A changed configured URL replaces any URL learnt from redirects.
    """
    with transaction(db):
        seen = []
        for source in sources:
            seen.append(source.id)
            outlet_id = outlet_id_for(source.outlet)
            ensure_outlet(db, outlet_id, source.outlet)
            existing = db.execute(
                "SELECT config_url FROM sources WHERE id = ?", [source.id]
            ).fetchone()
            if existing is None:
                db.execute(
                    """INSERT INTO sources (id, outlet_id, url, config_url, kind, interval, lang,
                       timezone, enabled, added_at, next_due_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [source.id, outlet_id, source.url, source.url, source.kind, source.interval,
                     source.lang, source.timezone, int(source.enabled), now, now],
                )  # fmt: skip
                continue
            url_changed = existing[0] != source.url
            db.execute(
                """UPDATE sources SET outlet_id = ?, kind = ?, interval = ?, lang = ?,
                   timezone = ?, enabled = ?, config_url = ?,
                   url = CASE WHEN ? THEN ? ELSE url END,
                   etag = CASE WHEN ? THEN NULL ELSE etag END,
                   last_modified = CASE WHEN ? THEN NULL ELSE last_modified END,
                   body_hash = CASE WHEN ? THEN NULL ELSE body_hash END
                   WHERE id = ?""",
                [outlet_id, source.kind, source.interval, source.lang, source.timezone,
                 int(source.enabled), source.url, url_changed, source.url, url_changed,
                 url_changed, url_changed, source.id],
            )  # fmt: skip
        placeholders = ",".join("?" * len(seen)) or "''"
        db.execute(f"UPDATE sources SET enabled = 0 WHERE id NOT IN ({placeholders})", seen)


def source_row(db: sqlite_utils.Database, source_id: str) -> dict | None:
    rows = _dicts(db, "SELECT * FROM sources WHERE id = ?", [source_id])
    return rows[0] if rows else None


def source_rows(db: sqlite_utils.Database) -> list[dict]:
    return _dicts(
        db,
        """SELECT s.*, o.name AS outlet,
              (SELECT count(*) FROM item_sources i WHERE i.source_id = s.id) AS items
           FROM sources s JOIN outlets o ON o.id = s.outlet_id ORDER BY s.id""",
    )


def source_validators(db: sqlite_utils.Database, source_id: str | dict) -> Validators:
    """Validators stored for a source, given its id or its row."""
    row = source_row(db, source_id) if isinstance(source_id, str) else source_id
    if row is None:
        return Validators()
    return Validators(
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        trust_validators=bool(row["trust_validators"]),
    )


def due_sources(db: sqlite_utils.Database, now: str) -> list[str]:
    """Ids of enabled sources whose next poll is due, most overdue first."""
    return [
        row[0]
        for row in db.execute(
            """SELECT id FROM sources WHERE enabled = 1
               AND (next_due_at IS NULL OR next_due_at <= ?)
               ORDER BY next_due_at""",
            [now],
        )
    ]


def record_fetch(
    db: sqlite_utils.Database,
    *,
    source_id: str,
    url: str,
    started_at: str,
    finished_at: str,
    outcome: str,
    status: int | None = None,
    nbytes: int = 0,
    elapsed_ms: int = 0,
    conditional: bool = False,
    error: str | None = None,
    items_total: int = 0,
    report: SaveReport | None = None,
) -> int:
    """Append one attempt to `fetches` (call inside the fetch's transaction)."""
    report = report or SaveReport()
    cursor = db.execute(
        """INSERT INTO fetches (source_id, url, started_at, finished_at, status, bytes,
           elapsed_ms, conditional, outcome, error, items_total, items_new, items_seen,
           items_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [source_id, url, started_at, finished_at, status, nbytes, elapsed_ms, int(conditional),
         outcome, error, items_total, len(report.new), report.seen, len(report.changed)],
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def mark_success(
    db: sqlite_utils.Database,
    source_id: str,
    *,
    now: str,
    next_due: str,
    status: int | None,
    outcome: str,
    validators: Validators | None = None,
    new_url: str | None = None,
    unconditional: bool = False,
) -> None:
    """Reset a source's failure count and store what its response told us."""
    fields: dict[str, Any] = {
        "last_fetch_at": now,
        "last_success_at": now,
        "last_status": status,
        "last_outcome": outcome,
        "last_error": None,
        "failing_since": None,
        "consecutive_failures": 0,
        "next_due_at": next_due,
    }
    if validators is not None:
        fields.update(
            etag=validators.etag,
            last_modified=validators.last_modified,
            body_hash=validators.body_hash,
            trust_validators=int(validators.trust_validators),
        )
    if new_url:
        fields["url"] = new_url
    if unconditional:
        fields["last_unconditional_at"] = now
    _update_source(db, source_id, fields)


def mark_failure(
    db: sqlite_utils.Database,
    source_id: str,
    *,
    now: str,
    next_due: str,
    status: int | None,
    outcome: str,
    error: str,
) -> None:
    db.execute(
        """UPDATE sources SET last_fetch_at = ?, last_status = ?, last_outcome = ?,
           last_error = ?, failing_since = COALESCE(failing_since, ?),
           consecutive_failures = consecutive_failures + 1, next_due_at = ?
           WHERE id = ?""",
        [now, status, outcome, error, now, next_due, source_id],
    )


def _update_source(db: sqlite_utils.Database, source_id: str, fields: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE sources SET {assignments} WHERE id = ?", [*fields.values(), source_id])


# -- items ---------------------------------------------------------------------------------


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _BatchIndex:
    """What the database already knows about one batch's guids, URLs and headlines, read
    with a few IN queries instead of three lookups per item, and kept current as the batch
    inserts. Lookup order: guid within the source, canonical URL, then the same headline
    from the same outlet within SAME_HEADLINE_DAYS."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        rows: list[tuple[ParsedItem, str | None, str]],
        *,
        source_id: str | None,
        outlet_id: str,
    ) -> None:
        self.guids: dict[str, int] = {}
        self.urls: dict[str, int] = {}
        self.titles: dict[str, list[tuple[int, str]]] = {}
        guids = sorted({item.guid for item, _, _ in rows if item.guid})
        urls = sorted({canonical for _, canonical, _ in rows if canonical})
        keys = sorted({key for _, _, key in rows if key})
        if source_id:
            for chunk in _chunks(guids):
                marks = ",".join("?" * len(chunk))
                for guid, item_id in db.execute(
                    f"""SELECT guid, min(item_id) FROM item_sources
                        WHERE source_id = ? AND guid IN ({marks}) GROUP BY guid""",
                    [source_id, *chunk],
                ):
                    self.guids[guid] = item_id
        for chunk in _chunks(urls):
            marks = ",".join("?" * len(chunk))
            for url, item_id in db.execute(
                f"SELECT url, item_id FROM item_urls WHERE url IN ({marks})", chunk
            ):
                self.urls[url] = item_id
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, item_id, when in db.execute(
                f"""SELECT title_key, id, COALESCE(published, first_seen) FROM items
                    WHERE outlet_id = ? AND title_key IN ({marks}) ORDER BY id""",
                [outlet_id, *chunk],
            ):
                self.titles.setdefault(key, []).append((item_id, when))

    def find(self, item: ParsedItem, canonical: str | None, key: str, now: str) -> int | None:
        if item.guid and item.guid in self.guids:
            return self.guids[item.guid]
        if canonical and canonical in self.urls:
            return self.urls[canonical]
        candidates = self.titles.get(key)
        if candidates:
            when = parse_iso(item.published or now)
            window = timedelta(days=SAME_HEADLINE_DAYS)
            for item_id, seen in candidates:
                if abs(parse_iso(seen) - when) <= window:
                    return item_id
        return None

    def add(
        self, item_id: int, item: ParsedItem, canonical: str | None, key: str, now: str
    ) -> None:
        if item.guid:
            self.guids.setdefault(item.guid, item_id)
        if canonical:
            self.urls.setdefault(canonical, item_id)
        if key:
            self.titles.setdefault(key, []).append((item_id, item.published or now))


# Fields a later sighting may fill in when the stored item lacks them.
_FILLABLE = ("url", "canonical_url", "guid", "published", "updated", "author", "lang")


def save_items(
    db: sqlite_utils.Database,
    items: Iterable[ParsedItem],
    *,
    source_id: str | None,
    outlet_id: str,
    now: str,
) -> SaveReport:
    """Store items once each; call inside a transaction.

    A known story gets its missing fields filled in, a changed headline or summary (the old
    text goes to item_revisions), and a link to this source. Storing the same items again
    changes nothing.
    """
    new: list[int] = []
    changed: list[int] = []
    seen = 0
    rows = [
        (item, item.canonical_url or (canonicalize_url(item.url) if item.url else None),
         title_key(item.title))
        for item in items
    ]  # fmt: skip
    index = _BatchIndex(db, rows, source_id=source_id, outlet_id=outlet_id)
    for item, canonical, key in rows:
        item_id = index.find(item, canonical, key, now)
        known = item_id is not None
        known_url = known and canonical is not None and index.urls.get(canonical) == item_id
        linked = known and bool(item.guid) and index.guids.get(item.guid or "") == item_id
        if item_id is None:
            cursor = db.execute(
                """INSERT INTO items (title, title_key, url, canonical_url, guid, published,
                   updated, summary, author, lang, outlet_id, source_id, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [item.title, key, item.url, canonical, item.guid, item.published, item.updated,
                 item.summary, item.author, item.lang, outlet_id, source_id, now, now],
            )  # fmt: skip
            item_id = int(cursor.lastrowid or 0)
            new.append(item_id)
        elif _merge(db, item_id, item, canonical=canonical, key=key, source_id=source_id, now=now):
            if item_id not in changed and item_id not in new:
                changed.append(item_id)
        else:
            seen += 1
        if canonical and not known_url:
            db.execute(
                "INSERT OR IGNORE INTO item_urls (url, item_id) VALUES (?, ?)", [canonical, item_id]
            )
        if source_id and not linked:
            db.execute(
                """INSERT INTO item_sources (item_id, source_id, guid, url, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (item_id, source_id) DO UPDATE SET
                     guid = excluded.guid, url = COALESCE(url, excluded.url)
                   WHERE guid IS NULL AND excluded.guid IS NOT NULL""",
                [item_id, source_id, item.guid, item.url, now, now],
            )
        index.add(item_id, item, canonical, key, now)
    return SaveReport(new=new, changed=changed, seen=seen)


def _superseded(db: sqlite_utils.Database, item_id: int, name: str, value: str) -> bool:
    """A text we already replaced once: a stale copy of the story, not a new edit. Never
    going back to it keeps re-runs of the same input from flip-flopping the headline."""
    return bool(
        _one(
            db,
            "SELECT 1 FROM item_revisions WHERE item_id = ? AND field = ? AND old_value = ?",
            [item_id, name, value],
        )
    )


def _merge(
    db: sqlite_utils.Database,
    item_id: int,
    item: ParsedItem,
    *,
    canonical: str | None,
    key: str,
    source_id: str | None,
    now: str,
) -> bool:
    """Fold a new sighting into a stored item; True when the item's text changed."""
    row = _dicts(db, "SELECT * FROM items WHERE id = ?", [item_id])[0]
    fields: dict[str, Any] = {}
    changed_text = False
    for name, new in (("title", item.title), ("summary", item.summary)):
        old = row[name]
        if new and new != old and not _superseded(db, item_id, name, new):
            db.execute(
                """INSERT INTO item_revisions (item_id, field, old_value, new_value, changed_at,
                   source_id) VALUES (?, ?, ?, ?, ?, ?)""",
                [item_id, name, old, new, now, source_id],
            )
            fields[name] = new
            changed_text = True
    if "title" in fields:
        fields["title_key"] = key
    values = {"url": item.url, "canonical_url": canonical, "guid": item.guid,
              "published": item.published, "updated": item.updated, "author": item.author,
              "lang": item.lang}  # fmt: skip
    for name in _FILLABLE:
        if row[name] is None and values[name] is not None:
            fields[name] = values[name]
    if item.updated and row["updated"] and item.updated > row["updated"]:
        fields["updated"] = item.updated
    if not fields:
        return False
    fields["last_seen"] = now
    if changed_text:
        fields["last_changed"] = now
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*fields.values(), item_id])
    return changed_text


# -- reports -------------------------------------------------------------------------------


def stats(db: sqlite_utils.Database, *, days: int = 14) -> list[dict]:
    """Items per outlet and day (by publication day, or first seen when undated)."""
    return _dicts(
        db,
        """SELECT substr(COALESCE(i.published, i.first_seen), 1, 10) AS day, o.name AS outlet,
                  count(*) AS items
           FROM items i JOIN outlets o ON o.id = i.outlet_id
           WHERE COALESCE(i.published, i.first_seen) >= date('now', ?)
           GROUP BY day, outlet ORDER BY day DESC, items DESC, outlet""",
        [f"-{days} days"],
    )
