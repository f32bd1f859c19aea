"""Analysts' corrections of initiative tags, and the items worth reviewing for one initiative.

An analyst's judgement on one item and one initiative is a row of `analyst_labels`: verdict
'add' (the item is about it) or 'remove' (it is not), an optional note, when it was given,
and what the rules said about the item when it was last tagged (`rules_said`,
`rules_version`, `rules_evidence`). A later label for the same item and initiative replaces
the earlier one; clearing deletes it. `store.tags` applies the labels whenever it writes an
item's tags, so the correction shows on every surface at once and survives any retag.

`candidates` lists items that are about peace (`relevant`) but not tagged with an
initiative, within its dates, for an analyst to review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from peacewatch.errors import InputError
from peacewatch.store.database import Database, transaction
from peacewatch.store.tags import tag_items
from peacewatch.tagging.ruleset import Initiative, RuleSet

__all__ = [
    "Candidate",
    "Label",
    "LabelResult",
    "candidates",
    "item_labels",
    "label_item",
]

VERDICTS = ("add", "remove")


@dataclass(frozen=True)
class Label:
    item_id: int
    initiative_id: str
    verdict: str  # 'add' | 'remove'
    note: str | None
    labelled_at: str
    rules_said: bool | None  # None until the item is tagged
    rules_version: str | None

    @property
    def disagrees(self) -> bool:
        """The analyst contradicts the rules: added what they did not give, or removed
        what they gave."""
        if self.rules_said is None:
            return False
        return self.rules_said != (self.verdict == "add")


@dataclass(frozen=True)
class LabelResult:
    item_id: int
    title: str
    labels: tuple[Label, ...]  # every label of the item after the change
    changed: tuple[str, ...]  # initiative ids labelled now
    cleared: tuple[str, ...]  # initiative ids whose label was removed
    not_labelled: tuple[str, ...]  # asked to clear, but there was no label
    tags: tuple[str, ...]  # the item's initiative tags now, corrections applied


@dataclass(frozen=True)
class Candidate:
    item_id: int
    title: str
    outlet: str
    day: str  # publication day (UTC), or the day first seen when undated
    published: str | None
    first_seen: str
    url: str | None
    initiatives: tuple[str, ...]  # the tags it has (others than the one asked about)
    summary: str | None = None
    # The tagging model's probability that the item is about the initiative (None: no model)
    likelihood: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "title": self.title,
            "outlet": self.outlet,
            "day": self.day,
            "published": self.published,
            "first_seen": self.first_seen,
            "url": self.url,
            "initiatives": list(self.initiatives),
            "likelihood": self.likelihood,
        }


def item_labels(db: Database, item_id: int) -> list[Label]:
    rows = db.execute(
        "SELECT item_id, initiative_id, verdict, note, labelled_at, rules_said, rules_version"
        " FROM analyst_labels WHERE item_id = ? ORDER BY initiative_id",
        [item_id],
    ).fetchall()
    return [
        Label(row[0], row[1], row[2], row[3], row[4],
              None if row[5] is None else bool(row[5]), row[6])
        for row in rows
    ]  # fmt: skip


def _check(
    db: Database,
    item_id: int,
    ruleset: RuleSet,
    add: Sequence[str],
    remove: Sequence[str],
    clear: Sequence[str],
) -> str:
    """Every mistake in the request at once; returns the item's headline."""
    problems: list[str] = []
    row = db.execute("SELECT title FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        problems.append(f"item {item_id}: no such item")
    known = {initiative.id for initiative in ruleset.initiatives}
    labelled = {label.initiative_id for label in item_labels(db, item_id)}
    for option, ids in (("--add", add), ("--remove", remove), ("--clear", clear)):
        for initiative_id in dict.fromkeys(ids):
            if initiative_id not in known and not (
                option == "--clear" and initiative_id in labelled
            ):
                problems.append(
                    f"{option} {initiative_id}: unknown initiative"
                    " (`peacewatch initiatives` lists them)"
                )
    for initiative_id in sorted(set(add) & set(remove)):
        problems.append(f"{initiative_id}: both --add and --remove")
    for initiative_id in sorted(set(clear) & (set(add) | set(remove))):
        problems.append(f"{initiative_id}: --clear together with --add or --remove")
    if problems:
        raise InputError(problems)
    return str(row[0]) if row else ""


def label_item(
    db: Database,
    item_id: int,
    ruleset: RuleSet,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    clear: Sequence[str] = (),
    note: str | None = None,
    now: str,
) -> LabelResult:
    """Record an analyst's verdicts on one item and apply them to its stored tags at once,
    in one transaction. Unknown item or initiative ids raise InputError and write nothing.

    The item is tagged again with `ruleset` (the current rules), which brings each label's
    `rules_said` up to date and applies the corrections.
    """
    with transaction(db):
        title = _check(db, item_id, ruleset, add, remove, clear)
        verdicts = {initiative_id: "add" for initiative_id in add}
        verdicts.update({initiative_id: "remove" for initiative_id in remove})
        db.conn.executemany(
            """INSERT INTO analyst_labels (item_id, initiative_id, verdict, note, labelled_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (item_id, initiative_id) DO UPDATE SET verdict = excluded.verdict,
                 note = excluded.note, labelled_at = excluded.labelled_at""",
            [(item_id, initiative_id, verdict, note or None, now)
             for initiative_id, verdict in verdicts.items()],
        )  # fmt: skip
        cleared: list[str] = []
        not_labelled: list[str] = []
        for initiative_id in dict.fromkeys(clear):
            cursor = db.execute(
                "DELETE FROM analyst_labels WHERE item_id = ? AND initiative_id = ?",
                [item_id, initiative_id],
            )
            (cleared if cursor.rowcount else not_labelled).append(initiative_id)
        tag_items(db, [item_id], ruleset, now)
        tags = tuple(
            row[0]
            for row in db.execute(
                "SELECT initiative_id FROM item_initiatives WHERE item_id = ?"
                " ORDER BY initiative_id",
                [item_id],
            ).fetchall()
        )
        labels = tuple(item_labels(db, item_id))
    return LabelResult(
        item_id, title, labels, tuple(verdicts), tuple(cleared), tuple(not_labelled), tags
    )


def candidate_window(initiative: Initiative, days: int, today: date) -> tuple[date, date | None]:
    """Days to review for an initiative: from start_date - slack to end_date + `days`, or the
    last `days` days (never before start_date - slack) when it has no end."""
    if initiative.end_date is not None:
        return initiative.earliest, initiative.end_date + timedelta(days=days)
    return max(initiative.earliest, today - timedelta(days=days)), None


def candidates(
    db: Database,
    initiative: Initiative,
    *,
    days: int,
    today: date,
    limit: int = 200,
) -> list[Candidate]:
    """Items about peace (`relevant`) but not tagged with `initiative`, nor labelled for it by
    an analyst already, whose day (publication, or first seen when undated) falls in
    `candidate_window`; newest first."""
    lower, upper = candidate_window(initiative, days, today)
    # stored times are ISO-8601 strings: a day's bounds compare as text, and the two halves
    # (dated by publication, undated by first sight) each walk their own index
    after = (upper + timedelta(days=1)).isoformat() if upper else "9999"
    rows = db.execute(
        """SELECT items.id, items.title, coalesce(outlets.name, items.outlet_id),
                  substr(coalesce(items.published, items.first_seen), 1, 10),
                  items.published, items.first_seen,
                  coalesce(items.url, items.canonical_url),
                  (SELECT group_concat(initiative_id, ' ') FROM item_initiatives
                    WHERE item_initiatives.item_id = items.id),
                  items.summary
           FROM items
           JOIN item_classification ON item_classification.item_id = items.id
           LEFT JOIN outlets ON outlets.id = items.outlet_id
           WHERE items.id IN (
                   SELECT id FROM items WHERE published >= :lower AND published < :after
                   UNION ALL
                   SELECT id FROM items WHERE published IS NULL
                     AND first_seen >= :lower AND first_seen < :after)
             AND item_classification.relevant = 1
             AND NOT EXISTS (SELECT 1 FROM item_initiatives
                             WHERE item_initiatives.item_id = items.id
                               AND item_initiatives.initiative_id = :initiative)
             AND NOT EXISTS (SELECT 1 FROM analyst_labels
                             WHERE analyst_labels.item_id = items.id
                               AND analyst_labels.initiative_id = :initiative)
           ORDER BY coalesce(items.published, items.first_seen) DESC, items.id DESC
           LIMIT :limit""",
        {
            "lower": lower.isoformat(),
            "after": after,
            "initiative": initiative.id,
            "limit": limit,
        },
    ).fetchall()
    return [
        Candidate(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                  tuple(sorted((row[7] or "").split())), row[8])
        for row in rows
    ]  # fmt: skip
