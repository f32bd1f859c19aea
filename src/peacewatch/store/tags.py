"""Storing classifications: tags with evidence, the initiatives/themes mirror, and retagging.

Analysts' corrections (table `analyst_labels`, written by `store.labels`) are applied
wherever tags are written, so every surface shows corrected tags and a retag or a re-ingest
never undoes one.

`tag_items` runs inside the caller's transaction (the pipeline's per-fetch transaction), with
raw SQL only. Recomputing stored tags after a rules change is `store.retagging`'s.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from peacewatch.store.database import Database
from peacewatch.tagging.classifier import Classification, ItemText, Tag, classify
from peacewatch.tagging.ruleset import RuleSet

__all__ = [
    "TagReport",
    "classify_rows",
    "initiative_counts",
    "item_columns",
    "read_meta",
    "set_meta",
    "sync_definitions",
    "tag_items",
    "write_classifications",
]

# meta keys
RULES_VERSION = "rules_version"  # every stored tag is from this version (set when retag ends)
DEFINITIONS_VERSION = "definitions_version"  # initiatives/themes tables mirror this version

log = logging.getLogger("peacewatch.tagging")

CHUNK = 500  # ids per SELECT ... IN (...), well under SQLite's variable limit

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TagReport:
    items: int  # classified
    tagged: int  # with at least one initiative
    relevant: int


def read_meta(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


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
    set_meta(db, DEFINITIONS_VERSION, ruleset.version)


def _ensure_definitions(db: Database, ruleset: RuleSet) -> None:
    if read_meta(db, DEFINITIONS_VERSION) != ruleset.version:
        sync_definitions(db, ruleset)


def item_columns(db: Database) -> str:
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


def write_classifications(
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


def classify_rows(
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
    columns = item_columns(db)
    items = tagged = relevant = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT {columns} FROM items WHERE id IN ({marks})", chunk).fetchall()
        results = classify_rows(rows, ruleset)
        chunk_tagged, chunk_relevant = write_classifications(db, results, ruleset.version, now)
        items += len(results)
        tagged += chunk_tagged
        relevant += chunk_relevant
    return TagReport(items, tagged, relevant)


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
