"""Writing the clusterer's decisions: each member's story and reason (`story_members`), the
merges and their undo (`story_merges`), and each story's stored summary (`stories`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from peacewatch.store.database import Database, transaction
from peacewatch.store.story_rows import ITEM_TIME, chunks
from peacewatch.stories.cluster import Decision, Match

log = logging.getLogger("peacewatch.stories")

GENERATION = "stories_generation"  # meta key: bumped by recluster and undo_merge


def bump_generation(db: Database) -> None:
    """Tell running indexes that stored stories changed under them: they reload."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [GENERATION],
    )


def save_decision(db: Database, decision: Decision, version: str, now: str) -> None:
    """Store where an item went and why, with the merges it brought (each logged, so it can
    be undone) and the reasons of the reports left on their own that it brought in."""
    for absorbed in decision.merged:
        members = [
            r[0]
            for r in db.execute(
                "SELECT item_id FROM story_members WHERE story_id = ? ORDER BY rowid", [absorbed]
            )
        ]
        db.execute(
            "INSERT INTO story_merges (kept_story, absorbed_story, item_id, members, merged_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [decision.story_id, absorbed, decision.item_id, json.dumps(members), now],
        )
        db.execute(
            "UPDATE story_members SET story_id = ? WHERE story_id = ?",
            [decision.story_id, absorbed],
        )
        db.execute("DELETE FROM stories WHERE id = ?", [absorbed])
        log.info("stories %s and %s merged by item %s", decision.story_id, absorbed,
                 decision.item_id)  # fmt: skip
    for member_id, rejoined in decision.rejoined:  # a founder until now: it has its why
        db.execute(
            "UPDATE story_members SET similarity = ?, evidence = ?, matched = ?, shared = ?,"
            " gap_hours = ?, settings_version = ? WHERE item_id = ?",
            [*_reason(rejoined), version, member_id],
        )
    db.execute(
        "INSERT INTO story_members (item_id, story_id, similarity, evidence, matched, shared,"
        " gap_hours, settings_version, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [decision.item_id, decision.story_id, *_reason(decision.match), version, now],
    )


def _reason(match: Match | None) -> list[Any]:
    """A member's reason as stored: score, kinds of evidence, what it matched, the shared
    keys and each feature's part, hours to the nearest member (all empty for a founder)."""
    return [
        match.similarity if match else None,
        json.dumps(list(match.kinds) if match else []),
        match.matched if match else None,
        json.dumps(match.shared if match else {}, ensure_ascii=False),
        match.gap_hours if match else None,
    ]


def refresh_stories(db: Database, story_ids: Iterable[int], version: str, now: str) -> None:
    """Recompute the stored summary of stories from their members; drop empty ones."""
    for story_id in story_ids:
        rows = db.execute(
            f"SELECT items.id, items.title, items.outlet_id, items.lang, items.first_seen,"
            f" {ITEM_TIME} AS time FROM story_members"
            " JOIN items ON items.id = story_members.item_id"
            " WHERE story_members.story_id = ? ORDER BY time, items.id",
            [story_id],
        ).fetchall()
        if not rows:
            db.execute("DELETE FROM stories WHERE id = ?", [story_id])
            continue
        english = [r for r in rows if (r[3] or "").startswith("en")]
        representative = (english or rows)[0]
        outlets = sorted({r[2] for r in rows})
        languages = sorted({r[3] for r in rows if r[3]})
        marks = ",".join("?" * len(rows))
        initiatives = (
            sorted(
                {
                    r[0]
                    for r in db.execute(
                        "SELECT DISTINCT initiative_id FROM item_initiatives"
                        f" WHERE item_id IN ({marks})",
                        [r[0] for r in rows],
                    )
                }
            )
            if "item_initiatives" in db.table_names()
            else []
        )
        db.execute(
            "UPDATE stories SET first_seen = ?, window_start = ?, window_end = ?, day = ?,"
            " item_id = ?, headline = ?, size = ?, outlet_count = ?, outlets = ?, languages = ?,"
            " initiatives = ?, settings_version = ?, updated_at = ? WHERE id = ?",
            [
                min(r[4] for r in rows), rows[0][5], rows[-1][5], rows[0][5][:10],
                representative[0], representative[1], len(rows), len(outlets),
                json.dumps(outlets), json.dumps(languages), json.dumps(initiatives),
                version, now, story_id,
            ],
        )  # fmt: skip


def undo_merge(db: Database, merge_id: int, now: str) -> tuple[int, int]:
    """Split a merge again: the absorbed story gets its id and members back. Returns
    (kept, absorbed). Running indexes reload (the generation changes)."""
    with transaction(db):
        row = db.execute(
            "SELECT kept_story, absorbed_story, members, undone_at FROM story_merges WHERE id = ?",
            [merge_id],
        ).fetchone()
        if row is None:
            raise LookupError(f"no merge {merge_id}")
        kept, absorbed, members, undone = row
        if undone is not None:
            raise LookupError(f"merge {merge_id} was undone at {undone}")
        db.execute(
            "INSERT INTO stories (id, first_seen, window_start, window_end, day, headline, size,"
            " outlet_count, outlets, languages, initiatives, settings_version, updated_at)"
            " VALUES (?, ?, ?, ?, ?, '', 0, 0, '[]', '[]', '[]', '', ?)",
            [absorbed, now, now, now, now[:10], now],
        )
        ids = json.loads(members)
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            db.execute(
                "UPDATE story_members SET story_id = ? WHERE story_id = ?"
                f" AND item_id IN ({marks})",
                [absorbed, kept, *chunk],
            )
        db.execute("UPDATE story_merges SET undone_at = ? WHERE id = ?", [now, merge_id])
        row = db.execute("SELECT settings_version FROM stories WHERE id = ?", [kept]).fetchone()
        refresh_stories(db, [kept, absorbed], row[0] if row else "", now)
        bump_generation(db)
    return kept, absorbed
