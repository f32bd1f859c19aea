"""Recomputing stored tags after a rules change: `retag` classifies every item whose stored
rules version differs from the rule set's, in batches that are each their own short
transaction, so it can run beside the daemon's fetches, be stopped at any point and resume
where it left off; given worker processes (`submit`), they classify the next batches while
this process writes. When it completes, meta 'rules_version' records that every stored tag is
from that version (`needs_retag`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peacewatch.store.database import Database, in_background, open_db, transaction
from peacewatch.store.tags import (
    CHUNK,
    RULES_VERSION,
    Progress,
    classify_rows,
    item_columns,
    log,
    read_meta,
    set_meta,
    sync_definitions,
    write_classifications,
)
from peacewatch.tagging.classifier import Classification
from peacewatch.tagging.rules import load_rules_file
from peacewatch.tagging.ruleset import RuleSet
from peacewatch.timeutil import now_iso

__all__ = [
    "RetagReport",
    "classify_batch",
    "needs_retag",
    "retag",
    "retag_in_background",
    "stored_rules_version",
]

# Hands `func(*args)` to a worker process: ParsePool.submit (the conductor owns the pool)
Submit = Callable[..., "Future[Any]"]


@dataclass(frozen=True)
class RetagReport:
    items: int  # classified in this run
    tagged: int
    relevant: int
    complete: bool  # False when stopped before the end
    rules_version: str


@dataclass
class _Tally:
    """A run's counts so far, reported after each batch and at the end."""

    version: str
    total: int  # pending when the run began
    progress: Progress | None
    done: int = 0
    tagged: int = 0
    relevant: int = 0

    def add(self, items: int, tagged: int, relevant: int) -> None:
        self.done += items
        self.tagged += tagged
        self.relevant += relevant
        if self.progress:  # (items stored meanwhile may take the count past the first total)
            self.progress(min(self.done, max(self.total, self.done)), max(self.total, self.done))

    def report(self, complete: bool) -> RetagReport:
        return RetagReport(self.done, self.tagged, self.relevant, complete, self.version)


def stored_rules_version(db: Database) -> str | None:
    """The rules version every stored tag was computed with, or None (never fully tagged)."""
    return read_meta(db, RULES_VERSION)


def needs_retag(db: Database, ruleset: RuleSet) -> bool:
    return stored_rules_version(db) != ruleset.version


def _pending_count(db: Database, version: str) -> int:
    row = db.execute(
        """SELECT COUNT(*) FROM items i LEFT JOIN item_classification c ON c.item_id = i.id
           WHERE c.rules_version IS NULL OR c.rules_version != ?""",
        [version],
    ).fetchone()
    return int(row[0])


def retag(
    db: Database,
    ruleset: RuleSet,
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
    clock: Callable[[], str] = now_iso,
    stop: threading.Event | None = None,
    submit: Submit | None = None,
    ahead: int = 4,
) -> RetagReport:
    """Recompute the tags of every item not classified with `ruleset.version`.

    Each batch of `batch_size` items (in id order) is read, classified and written in its own
    transaction, so the write lock is held briefly and a stop or crash loses at most one batch;
    a later call resumes with the items still pending. `progress(done, total)` is called after
    each batch; setting `stop` ends the run after the current batch. On completion meta
    'rules_version' is set, which is what `needs_retag` checks.

    With `submit` (a process pool's), worker processes classify up to `ahead` batches while
    this one writes (see _retag_in_workers); the rule set must have been read from a file,
    which each worker reads once.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    version = ruleset.version
    with transaction(db):
        sync_definitions(db, ruleset)
    total = _pending_count(db, version)
    if progress:
        progress(0, total)
    columns = ", ".join(f"i.{c}" if c != "NULL" else c for c in item_columns(db).split(", "))
    query = f"""SELECT {columns} FROM items i
                LEFT JOIN item_classification c ON c.item_id = i.id
                WHERE i.id > ? AND (c.rules_version IS NULL OR c.rules_version != ?)
                ORDER BY i.id LIMIT ?"""
    tally = _Tally(version, total, progress)
    if submit is not None and Path(ruleset.path).is_file():
        return _retag_in_workers(
            db, ruleset, submit, query, tally, batch_size=batch_size, ahead=max(1, ahead),
            clock=clock, stop=stop,
        )  # fmt: skip
    last_id = 0
    while True:
        if stop is not None and stop.is_set():
            return tally.report(complete=False)
        with transaction(db):
            rows = db.execute(query, [last_id, version, batch_size]).fetchall()
            if not rows:
                set_meta(db, RULES_VERSION, version)
                break
            results = classify_rows(rows, ruleset)
            batch_tagged, batch_relevant = write_classifications(db, results, version, clock())
        last_id = rows[-1][0]
        tally.add(len(rows), batch_tagged, batch_relevant)
    return tally.report(complete=True)


_WORKER_RULES: dict[str, RuleSet] = {}  # in a worker process: the rule set it last loaded


def classify_batch(
    rules_file: str, version: str, rows: Sequence[Sequence[Any]]
) -> list[tuple[int, Classification]]:
    """For a worker process: classify stored rows with the rules of `rules_file`, loaded once
    per worker. Raises when the file no longer holds `version` (edited since the retag began):
    the caller then classifies those rows itself, with the rule set it was given."""
    ruleset = _WORKER_RULES.get(rules_file)
    if ruleset is None or ruleset.version != version:
        _WORKER_RULES.clear()
        ruleset = _WORKER_RULES[rules_file] = load_rules_file(Path(rules_file))
    if ruleset.version != version:
        raise ValueError(f"{rules_file} holds rules {ruleset.version}, not {version}")
    return classify_rows(rows, ruleset)


def _retag_in_workers(
    db: Database,
    ruleset: RuleSet,
    submit: Submit,
    query: str,
    tally: _Tally,
    *,
    batch_size: int,
    ahead: int,
    clock: Callable[[], str],
    stop: threading.Event | None,
) -> RetagReport:
    """`retag` with worker processes: up to `ahead` batches are read and handed over while
    this process writes the finished ones, oldest first, each in its own transaction.

    A batch is classified outside the transaction that writes it, so an item the pipeline
    tagged meanwhile (new text, tagged with these same rules) is left as the pipeline wrote
    it. A worker that fails or dies costs nothing: this process classifies that batch itself."""
    version = ruleset.version
    queue: deque[tuple[list[Any], Future[Any] | None]] = deque()
    last_id = 0
    exhausted = False
    warned = False
    while True:
        if stop is not None and stop.is_set():
            for _, future in queue:
                if future is not None:
                    future.cancel()  # (their items stay pending for the next run)
            return tally.report(complete=False)
        while not exhausted and len(queue) < ahead and not (stop is not None and stop.is_set()):
            rows = db.execute(query, [last_id, version, batch_size]).fetchall()
            if not rows:
                exhausted = True
                break
            last_id = rows[-1][0]
            handed: Future[Any] | None
            try:
                handed = submit(classify_batch, ruleset.path, version, rows)
            except Exception as error:  # no worker to be had: this process classifies it
                log.warning("retag: no worker process (%s); classifying here", error)
                handed = None
            queue.append((rows, handed))
        if not queue:
            with transaction(db):  # anything stored untagged meanwhile is picked up first
                if db.execute(query, [0, version, 1]).fetchone() is None:
                    set_meta(db, RULES_VERSION, version)
                    break
            last_id, exhausted = 0, False
            continue
        rows, future = queue.popleft()
        results = None
        if future is not None:
            try:
                results = future.result()
            except Exception as error:
                if not warned:
                    log.warning("retag: a worker failed (%s); classifying its batch here", error)
                    warned = True
        if results is None:
            results = classify_rows(rows, ruleset)
        with transaction(db):
            results = _not_yet_tagged(db, results, version)
            batch_tagged, batch_relevant = write_classifications(db, results, version, clock())
        tally.add(len(rows), batch_tagged, batch_relevant)
    return tally.report(complete=True)


def _not_yet_tagged(
    db: Database, results: list[tuple[int, Classification]], version: str
) -> list[tuple[int, Classification]]:
    """The results whose items are not already classified with `version` (by the pipeline,
    since their batch was read)."""
    ids = [item_id for item_id, _ in results]
    current: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        current.update(
            row[0]
            for row in db.execute(
                f"SELECT item_id FROM item_classification WHERE rules_version = ? "
                f"AND item_id IN ({marks})",
                [version, *chunk],
            )
        )
    return [result for result in results if result[0] not in current] if current else results


def retag_in_background(
    db_path: Path | str,
    ruleset: RuleSet,
    *,
    stop: threading.Event,
    batch_size: int = 1000,
    busy_timeout: float = 10.0,
    submit: Submit | None = None,
    ahead: int = 2,
) -> threading.Thread | None:
    """For the daemon's start: when the stored rules version differs, retag in a daemon thread
    with its own connection (a connection must not be shared with the fetch loop's
    transactions) and return the thread; None when nothing needs doing. Set `stop` on
    shutdown: the current batch finishes and the next start resumes. `submit` lends it the
    daemon's worker processes (a few batches at a time, so feeds' parses wait little)."""
    db = open_db(db_path, busy_timeout=busy_timeout)
    try:
        if not needs_retag(db, ruleset):
            return None
    finally:
        db.conn.close()

    def job(worker: Database) -> None:
        log.info("retag started: rules %s", ruleset.version)
        report = retag(
            worker, ruleset, batch_size=batch_size, stop=stop, submit=submit, ahead=ahead
        )
        log.info(
            "retag %s: %d items, %d tagged, %d relevant",
            "finished" if report.complete else "stopped",
            report.items,
            report.tagged,
            report.relevant,
        )

    thread = in_background(db_path, "retag", job, busy_timeout=busy_timeout, log=log)
    return thread
