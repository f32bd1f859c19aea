"""Storing classifications: tags with evidence, the initiatives/themes mirror, and retagging.

Analysts' corrections (table `analyst_labels`, written by `store.labels`) are applied
wherever tags are written, so every surface shows corrected tags and a retag or a re-ingest
never undoes one.

`tag_items` runs inside the caller's transaction (the pipeline's per-fetch transaction), with
raw SQL only. `retag` recomputes every item whose stored rules version differs from the rule
set's, in batches that are each their own short transaction, so it can run beside the daemon's
fetches, be stopped at any point and resume where it left off. When it completes, meta
'rules_version' records that every stored tag is from that version.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peacewatch.store.database import Database, in_background, open_db, transaction
from peacewatch.tagging.classifier import Classification, ItemText, Tag, classify
from peacewatch.tagging.ruleset import RuleSet
from peacewatch.timeutil import now_iso

__all__ = [
    "RetagReport",
    "TagReport",
    "initiative_counts",
    "needs_retag",
    "retag",
    "retag_in_background",
    "stored_rules_version",
    "sync_definitions",
    "tag_items",
]

# meta keys
RULES_VERSION = "rules_version"  # every stored tag is from this version (set when retag ends)
DEFINITIONS_VERSION = "definitions_version"  # initiatives/themes tables mirror this version

log = logging.getLogger("peacewatch.tagging")

_CHUNK = 500  # ids per SELECT ... IN (...), well under SQLite's variable limit

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TagReport:
    items: int  # classified
    tagged: int  # with at least one initiative
    relevant: int


@dataclass(frozen=True)
class RetagReport:
    items: int  # classified in this run
    tagged: int
    relevant: int
    complete: bool  # False when stopped before the end
    rules_version: str


def _meta(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def stored_rules_version(db: Database) -> str | None:
    """The rules version every stored tag was computed with, or None (never fully tagged)."""
    return _meta(db, RULES_VERSION)


def needs_retag(db: Database, ruleset: RuleSet) -> bool:
    return stored_rules_version(db) != ruleset.version


def sync_definitions(db: Database, ruleset: RuleSet) -> None:
    """Mirror initiatives and themes into their tables; call inside a transaction."""
    db.execute("DELETE FROM initiatives")
    db.conn.executemany(
        """INSERT INTO initiatives (id, name, description, start_date, end_date, parties, links)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [
            (
                i.id,
                i.name,
                i.description,
                i.start_date.isoformat(),
                i.end_date.isoformat() if i.end_date else None,
                json.dumps(list(i.parties), ensure_ascii=False),
                json.dumps(list(i.links), ensure_ascii=False),
            )
            for i in ruleset.initiatives
        ],
    )
    db.execute("DELETE FROM themes")
    db.conn.executemany(
        "INSERT INTO themes (id, name, description) VALUES (?, ?, ?)",
        [(t.id, t.name, t.description) for t in ruleset.themes],
    )
    _set_meta(db, DEFINITIONS_VERSION, ruleset.version)


def _ensure_definitions(db: Database, ruleset: RuleSet) -> None:
    if _meta(db, DEFINITIONS_VERSION) != ruleset.version:
        sync_definitions(db, ruleset)


def _item_columns(db: Database) -> str:
    """The SELECT list for an item's classifiable fields; body text when the schema has it."""
    names = {row[1] for row in db.execute("PRAGMA table_info(items)").fetchall()}
    text = next((c for c in ("text", "body") if c in names), None)
    return f"id, title, summary, {text or 'NULL'}, published, lang, first_seen"


def _evidence_json(tag: Tag) -> str:
    return json.dumps([e.as_dict() for e in tag.evidence], ensure_ascii=False)


ANALYST_FIELD = "analyst"  # the evidence "field" of an analyst's correction
ANALYST_SCORE = 1.0  # score of a tag only an analyst gave


def analyst_evidence(note: str | None, weight: float) -> dict[str, Any]:
    """The evidence entry of an analyst's 'add' verdict: it names the analyst and the note."""
    text = note or ""
    return {
        "rule": f"analyst: {text}" if text else "analyst",
        "field": ANALYST_FIELD,
        "text": text,
        "start": 0,
        "end": len(text),
        "weight": weight,
    }


@dataclass(frozen=True)
class _Label:
    verdict: str  # 'add' | 'remove'
    note: str | None


def _labels(db: Database, ids: Sequence[int]) -> dict[int, dict[str, _Label]]:
    """Analysts' labels of these items, by item and initiative. One range read on the
    primary key: labels are few, and most batches have none."""
    if not ids:
        return {}
    wanted = set(ids)
    found: dict[int, dict[str, _Label]] = {}
    for item_id, initiative_id, verdict, note in db.execute(
        "SELECT item_id, initiative_id, verdict, note FROM analyst_labels"
        " WHERE item_id BETWEEN ? AND ?",
        [min(wanted), max(wanted)],
    ).fetchall():
        if item_id in wanted:
            found.setdefault(item_id, {})[initiative_id] = _Label(verdict, note)
    return found


def _write(
    db: Database,
    results: Sequence[tuple[int, Classification]],
    version: str,
    now: str,
) -> tuple[int, int]:
    """Replace the stored classification of these items; returns (tagged, relevant).

    Analysts' labels win over the rules: a 'remove' verdict keeps the rules' tag out, an
    'add' verdict stores the tag (evidence naming the analyst and the note) whatever the
    rules say. Each label's `rules_said` is brought up to date with this classification.
    """
    conn: sqlite3.Connection = db.conn
    ids = [(item_id,) for item_id, _ in results]
    conn.executemany("DELETE FROM item_initiatives WHERE item_id = ?", ids)
    conn.executemany("DELETE FROM item_themes WHERE item_id = ?", ids)
    labels = _labels(db, [item_id for item_id, _ in results])
    known: set[str] | None = None  # initiative ids an 'add' may name; read when needed
    initiative_rows: list[tuple[Any, ...]] = []
    theme_rows: list[tuple[Any, ...]] = []
    classification_rows: list[tuple[Any, ...]] = []
    label_rows: list[tuple[Any, ...]] = []
    tagged = relevant = 0
    for item_id, result in results:
        item_labels = labels.get(item_id)
        is_tagged = bool(result.initiatives)
        is_relevant = result.relevant
        if item_labels is None:
            for tag in result.initiatives:
                initiative_rows.append((item_id, tag.id, tag.score, _evidence_json(tag), version))
        else:
            if known is None:
                known = {row[0] for row in db.execute("SELECT id FROM initiatives").fetchall()}
            is_tagged = False
            rules_tags = {tag.id: tag for tag in result.initiatives}
            for tag in result.initiatives:
                label = item_labels.get(tag.id)
                if label is not None and label.verdict == "remove":
                    continue
                evidence = [e.as_dict() for e in tag.evidence]
                if label is not None:  # the analyst agrees: say so, the rules' score stands
                    evidence.append(analyst_evidence(label.note, 0.0))
                initiative_rows.append(
                    (item_id, tag.id, tag.score, json.dumps(evidence, ensure_ascii=False),
                     version)
                )  # fmt: skip
                is_tagged = True
            for initiative_id, label in item_labels.items():
                said = rules_tags.get(initiative_id)
                label_rows.append(
                    (int(said is not None), version,
                     _evidence_json(said) if said is not None else None,
                     item_id, initiative_id)
                )  # fmt: skip
                if label.verdict == "add" and said is None and initiative_id in known:
                    evidence_json = json.dumps(
                        [analyst_evidence(label.note, ANALYST_SCORE)], ensure_ascii=False
                    )
                    initiative_rows.append(
                        (item_id, initiative_id, ANALYST_SCORE, evidence_json, version)
                    )
                    is_tagged = is_relevant = True  # an item with an initiative is relevant
        for tag in result.themes:
            theme_rows.append((item_id, tag.id, tag.score, _evidence_json(tag), version))
        classification_rows.append((item_id, int(is_relevant), version, now))
        tagged += is_tagged
        relevant += is_relevant
    if initiative_rows:
        conn.executemany(
            """INSERT INTO item_initiatives (item_id, initiative_id, score, evidence, rules_version)
               VALUES (?, ?, ?, ?, ?)""",
            initiative_rows,
        )
    if theme_rows:
        conn.executemany(
            """INSERT INTO item_themes (item_id, theme_id, score, evidence, rules_version)
               VALUES (?, ?, ?, ?, ?)""",
            theme_rows,
        )
    conn.executemany(
        """INSERT INTO item_classification (item_id, relevant, rules_version, classified_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT (item_id) DO UPDATE SET relevant = excluded.relevant,
             rules_version = excluded.rules_version, classified_at = excluded.classified_at""",
        classification_rows,
    )
    if label_rows:
        conn.executemany(
            """UPDATE analyst_labels SET rules_said = ?, rules_version = ?, rules_evidence = ?
               WHERE item_id = ? AND initiative_id = ?""",
            label_rows,
        )
    return tagged, relevant


def _classify_rows(
    rows: Iterable[Sequence[Any]], ruleset: RuleSet
) -> list[tuple[int, Classification]]:
    return [
        (
            row[0],
            classify(
                ItemText(
                    title=row[1] or "",
                    summary=row[2],
                    text=row[3],
                    published=row[4],
                    lang=row[5],
                    first_seen=row[6],  # stands in for a missing `published` (the evidence says)
                ),
                ruleset,
            ),
        )
        for row in rows
    ]


def tag_items(db: Database, item_ids: Iterable[int], ruleset: RuleSet, now: str) -> TagReport:
    """Classify these stored items and save their tags. Call inside the caller's transaction
    (e.g. the pipeline's per-fetch one) with the new and changed item ids."""
    ids = list(dict.fromkeys(item_ids))
    _ensure_definitions(db, ruleset)
    if not ids:
        return TagReport(0, 0, 0)
    columns = _item_columns(db)
    items = tagged = relevant = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT {columns} FROM items WHERE id IN ({marks})", chunk).fetchall()
        results = _classify_rows(rows, ruleset)
        chunk_tagged, chunk_relevant = _write(db, results, ruleset.version, now)
        items += len(results)
        tagged += chunk_tagged
        relevant += chunk_relevant
    return TagReport(items, tagged, relevant)


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
    columns = ", ".join(f"i.{c}" if c != "NULL" else c for c in _item_columns(db).split(", "))
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
                _set_meta(db, RULES_VERSION, version)
                break
            results = _classify_rows(rows, ruleset)
            batch_tagged, batch_relevant = _write(db, results, version, clock())
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


def initiative_counts(db: Database) -> dict[str, int]:
    """Tagged items per initiative id (initiatives with none are absent)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'item_initiatives'"
    ).fetchone()
    if not exists:  # a read-only database from before the tagging migration
        return {}
    rows = db.execute(
        "SELECT initiative_id, COUNT(*) FROM item_initiatives GROUP BY initiative_id"
    ).fetchall()
    return {row[0]: int(row[1]) for row in rows}
