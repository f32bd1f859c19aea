"""Recomputing stored tags after a rules change: `retag` classifies every item whose stored
rules version differs from the rule set's, in batches that are each their own short
transaction, so it can run beside the daemon's fetches, be stopped at any point and resume
where it left off. When it completes, meta 'rules_version' records that every stored tag is
from that version (`needs_retag`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peacewatch.store.database import Database, in_background, open_db, transaction
from peacewatch.store.tags import (
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
from peacewatch.tagging.ruleset import RuleSet
from peacewatch.timeutil import now_iso

__all__ = ["RetagReport", "needs_retag", "retag", "retag_in_background", "stored_rules_version"]


@dataclass(frozen=True)
class RetagReport:
    items: int  # classified in this run
    tagged: int
    relevant: int
    complete: bool  # False when stopped before the end
    rules_version: str


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
) -> RetagReport:
    """Recompute the tags of every item not classified with `ruleset.version`.

    Each batch of `batch_size` items (in id order) is read, classified and written in its own
    transaction, so the write lock is held briefly and a stop or crash loses at most one batch;
    a later call resumes with the items still pending. `progress(done, total)` is called after
    each batch; setting `stop` ends the run after the current batch. On completion meta
    'rules_version' is set, which is what `needs_retag` checks.
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
    last_id = 0
    done = tagged = relevant = 0
    while True:
        if stop is not None and stop.is_set():
            return RetagReport(done, tagged, relevant, False, version)
        with transaction(db):
            rows = db.execute(query, [last_id, version, batch_size]).fetchall()
            if not rows:
                set_meta(db, RULES_VERSION, version)
                break
            results = classify_rows(rows, ruleset)
            batch_tagged, batch_relevant = write_classifications(db, results, version, clock())
        last_id = rows[-1][0]
        done += len(rows)
        tagged += batch_tagged
        relevant += batch_relevant
        if progress:
            progress(min(done, max(total, done)), max(total, done))
    return RetagReport(done, tagged, relevant, True, version)


def retag_in_background(
    db_path: Path | str,
    ruleset: RuleSet,
    *,
    stop: threading.Event,
    batch_size: int = 1000,
    busy_timeout: float = 10.0,
) -> threading.Thread | None:
    """For the daemon's start: when the stored rules version differs, retag in a daemon thread
    with its own connection (a connection must not be shared with the fetch loop's
    transactions) and return the thread; None when nothing needs doing. Set `stop` on
    shutdown: the current batch finishes and the next start resumes."""
    db = open_db(db_path, busy_timeout=busy_timeout)
    try:
        if not needs_retag(db, ruleset):
            return None
    finally:
        db.conn.close()

    def job(worker: Database) -> None:
        log.info("retag started: rules %s", ruleset.version)
        report = retag(worker, ruleset, batch_size=batch_size, stop=stop)
        log.info(
            "retag %s: %d items, %d tagged, %d relevant",
            "finished" if report.complete else "stopped",
            report.items,
            report.tagged,
            report.relevant,
        )

    thread = in_background(db_path, "retag", job, busy_timeout=busy_timeout, log=log)
    return thread
