"""Every item has a language: detect it for stored items that declare none.

A language the feed, the article page or the source's configuration gives is kept as is
(`items.lang_source` says which). Items without one get the language detected from their
headline and summary (`tagging/language.py`), stored with lang_source 'detected' and the
detection's confidence; a detected language is detected again when the text changes, and a
later declared one replaces it (`store/items.py`, `store/pages.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from peacewatch.store.database import Database, in_background, open_db, transaction
from peacewatch.tagging.language import detect_language

__all__ = ["detect_in_background", "detect_items", "detect_missing", "language_counts"]

log = logging.getLogger(__name__)

_BATCH = 2000


def _update(db: Database, rows: Iterable[tuple[int, str, str | None]]) -> int:
    updates = []
    for item_id, title, summary in rows:
        found = detect_language(title, summary)
        if found is not None:
            updates.append((found.lang, found.confidence, item_id))
    db.conn.executemany(
        "UPDATE items SET lang = ?, lang_source = 'detected', lang_confidence = ? WHERE id = ?",
        updates,
    )
    return len(updates)


def detect_items(db: Database, item_ids: Iterable[int]) -> int:
    """Detect the language of these items where none was declared (or the last one was
    detected from a text that has since changed); call inside the transaction that stored
    them. Returns how many items got a language."""
    ids = list(item_ids)
    done = 0
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        marks = ", ".join("?" * len(chunk))
        rows = db.conn.execute(
            f"SELECT id, title, summary FROM items WHERE id IN ({marks})"
            " AND (lang IS NULL OR lang_source = 'detected')",
            chunk,
        ).fetchall()
        done += _update(db, rows)
    return done


def detect_missing(
    db: Database,
    *,
    batch: int = _BATCH,
    progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Detect the language of every stored item that has none, one committed batch at a
    time (safe to stop and run again while the daemon writes). Returns the items filled."""
    done = 0
    last_id = 0
    while True:
        rows = db.conn.execute(
            "SELECT id, title, summary FROM items INDEXED BY items_lang_missing"
            " WHERE lang IS NULL AND id > ? ORDER BY id LIMIT ?",
            [last_id, batch],
        ).fetchall()
        if not rows or (stop is not None and stop.is_set()):
            return done
        last_id = rows[-1][0]
        with transaction(db):
            done += _update(db, rows)
        if progress is not None:
            progress(done)


def _missing(db: Database) -> bool:
    row = db.conn.execute(
        "SELECT 1 FROM items INDEXED BY items_lang_missing WHERE lang IS NULL LIMIT 1"
    ).fetchone()
    return row is not None


def detect_in_background(
    db_path: Path | str, *, stop: threading.Event, busy_timeout: float = 10.0
) -> threading.Thread | None:
    """For the daemon's start: fill in the languages of items stored without one (e.g. before
    detection existed) in a thread with its own connection; None when none is missing. Set
    `stop` on shutdown: the current batch commits and the next start resumes."""
    db = open_db(db_path, busy_timeout=busy_timeout)
    try:
        if not _missing(db):
            return None
    finally:
        db.conn.close()

    def job(worker: Database) -> None:
        filled = detect_missing(worker, stop=stop)
        log.info("languages detected for %d items stored without one", filled)

    thread = in_background(db_path, "languages", job, busy_timeout=busy_timeout, log=log)
    return thread


def language_counts(db: Database) -> list[tuple[str | None, str | None, int]]:
    """(language, where it came from, items), most items first."""
    rows = db.conn.execute(
        "SELECT lang, lang_source, count(*) FROM items GROUP BY lang, lang_source"
        " ORDER BY count(*) DESC, lang, lang_source"
    ).fetchall()
    return [(lang, source, int(n)) for lang, source, n in rows]
