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
from typing import TYPE_CHECKING, Any

from peacewatch.errors import PeacewatchError, StoreError
from peacewatch.store.migrations import migrate

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["Database", "in_background", "open_db", "transaction"]


class Database:
    """The store's handle on one SQLite connection: `execute` and `conn` as sqlite-utils'
    Database has them, which is all the store itself uses; the rest of sqlite-utils' API
    (`table_names()`, `db["items"]`, ...) goes to a sqlite_utils.Database on the same
    connection (`utils`), made the first time it is asked for. Importing sqlite-utils
    (which also loads numpy when installed) takes about 60 ms: a poll never needs it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._utils: sqlite_utils.Database | None = None

    def execute(self, sql: str, parameters: Iterable[Any] | dict | None = None) -> sqlite3.Cursor:
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)  # type: ignore[arg-type]

    @property
    def utils(self) -> sqlite_utils.Database:
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils

    def table_names(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [row[0] for row in rows]

    def __getitem__(self, name: str) -> Any:
        return self.utils[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.utils, name)


def open_db(path: Path | str, *, readonly: bool = False, busy_timeout: float = 10.0) -> Database:
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
        db = Database(conn)
        if not readonly:
            migrate(db)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open database {path}: {error}") from error
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
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


def _one(db: Database, sql: str, params: Iterable[Any] = ()) -> Any:
    row = db.execute(sql, list(params)).fetchone()
    return row[0] if row else None


def _dicts(db: Database, sql: str, params: Iterable[Any] = ()) -> list[dict]:
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
