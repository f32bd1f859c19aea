"""The SQLite file: opening it (WAL, migrations applied) and one-transaction writes.

Writes that belong together (one fetch: its items, its record and the source's health) run in
one `transaction()`, with plain SQL, so a kill at any moment leaves no half-stored fetch.
sqlite-utils' insert helpers commit on their own and are kept out of those transactions.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from peacewatch.errors import PeacewatchError, StoreError
from peacewatch.store.migrations import migrate

__all__ = ["Database", "in_background", "open_db", "transaction"]

Database = sqlite_utils.Database


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


def in_background(
    db_path: Path | str,
    name: str,
    job: Callable[[Database], None],
    *,
    busy_timeout: float = 10.0,
    log: logging.Logger,
) -> threading.Thread:
    """Run `job` in a daemon thread on a connection of its own (a connection must not be
    shared with the fetch loop's transactions). A store or SQLite error is logged, not raised:
    the daemon goes on, and the job's next start resumes where this one stopped."""

    def run() -> None:
        worker = open_db(db_path, busy_timeout=busy_timeout)
        try:
            job(worker)
        except (PeacewatchError, sqlite3.Error) as error:
            log.error("%s failed: %s", name, error)
        finally:
            worker.conn.close()

    thread = threading.Thread(target=run, name=f"peacewatch-{name}", daemon=True)
    thread.start()
    return thread
