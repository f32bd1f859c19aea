"""The SQLite file: opening it (WAL, migrations applied) and one-transaction writes.

Writes that belong together (one fetch: its items, its record and the source's health) run in
one `transaction()`, with plain SQL, so a kill at any moment leaves no half-stored fetch.
sqlite-utils' insert helpers commit on their own and are kept out of those transactions.

Inside `group_commit()` (a poll cycle, the daemon) each `transaction()` is a savepoint in a
transaction shared with the units before it, committed every few milliseconds or units: a
kill then loses the last few whole units (their sources are still due, and a restart polls
them), never part of one, and hundreds of 304s cost a handful of commits instead of hundreds.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peacewatch.errors import PeacewatchError, StoreError
from peacewatch.store.migrations import migrate

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["Database", "GroupCommit", "group_commit", "in_background", "open_db", "transaction"]


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
    writers queue on the busy timeout instead of failing halfway through. Within
    `group_commit(db)` the unit is a savepoint of the group's transaction."""
    group = _group(db.conn)
    if group is not None:
        with group.unit():
            yield db
        return
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # a statement's failure may already have ended it
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class GroupCommit:
    """Write units (each a `transaction()`) sharing one transaction, committed once
    `max_units` units are in it or the oldest is `max_delay` seconds old (a timer on the
    running event loop commits a group that stops growing), and when the group ends.

    Between units the write lock stays held, so other writers (the daemon's background
    threads, another process) wait at most about `max_delay` for it, on their busy timeout.
    A unit never spans an await (as every transaction of the pipeline), so a commit, from a
    unit's end or from the timer, always falls between whole units.
    """

    def __init__(self, db: Database, *, max_delay: float, max_units: int) -> None:
        self.conn = db.conn
        self.max_delay = max_delay
        self.max_units = max_units
        self.commits = 0
        self._units = 0
        self._opened_at = 0.0
        self._depth = 0
        self._timer: asyncio.TimerHandle | None = None

    @contextmanager
    def unit(self) -> Iterator[None]:
        conn = self.conn
        if self._depth == 0 and not self._units:
            conn.execute("BEGIN IMMEDIATE")
            self._opened_at = time.monotonic()
        self._depth += 1
        conn.execute("SAVEPOINT unit")
        try:
            yield
        except BaseException:
            self._depth -= 1
            if conn.in_transaction:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                if self._depth == 0 and not self._units:
                    conn.execute("ROLLBACK")  # nothing else in the transaction
            else:  # SQLite rolled the whole transaction back (say, the disk is full)
                self._units = 0
            raise
        conn.execute("RELEASE unit")
        self._depth -= 1
        if self._depth:
            return
        self._units += 1
        if self._units >= self.max_units or time.monotonic() - self._opened_at >= self.max_delay:
            self.commit()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.commit()  # no loop to come back later: commit now
            else:
                self._timer = loop.call_at(loop.time() + self.max_delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._depth == 0:
            self.commit()

    def commit(self) -> None:
        """Commit the units so far (none in progress may be open: call between units)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._units:
            self.conn.execute("COMMIT")
            self._units = 0
            self.commits += 1


# The group of each connection inside a group_commit() block, by the connection's id (a
# connection cannot be weakly referenced; the block removes its entry when it ends).
_GROUPS: dict[int, GroupCommit] = {}


def _group(conn: sqlite3.Connection) -> GroupCommit | None:
    group = _GROUPS.get(id(conn))
    return group if group is not None and group.conn is conn else None


@contextmanager
def group_commit(
    db: Database, *, max_delay: float = 0.05, max_units: int = 256
) -> Iterator[GroupCommit]:
    """Make the `transaction()`s on `db` within this block share commits (see GroupCommit);
    whatever units are done are committed when the block ends, also on an exception."""
    outer = _group(db.conn)
    if outer is not None:  # already grouped by a caller
        yield outer
        return
    group = GroupCommit(db, max_delay=max_delay, max_units=max_units)
    _GROUPS[id(db.conn)] = group
    try:
        yield group
    finally:
        del _GROUPS[id(db.conn)]
        group.commit()


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
