"""Scores of story clustering against labelled events (tests/fixtures/stories/labelled.jsonl).

Each labelled row is one report: url, outlet, date, language, title, lead and the event it
reports. Rows are split into a development half and a held-out half by a hash of the event
id (so an event's reports never straddle the halves), clustered incrementally in the order
they would have arrived (by date), and scored by pairwise precision and recall, within one
language and across languages, and by B-cubed F1 over all reports.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cluster import Clusterer, Settings
from peacewatch.stories.features import Features, extract
from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.ruleset import RuleSet


@dataclass(frozen=True)
class Row:
    url: str
    outlet: str
    date: str  # YYYY-MM-DD, or a full ISO-8601 instant
    language: str
    title: str
    lead: str
    event: str
    moved_from: str = ""  # the date before the stress test moved it (`onto_one_day`)


def load_rows(path: Path | str) -> list[Row]:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(Row(**{k: data[k] for k in Row.__dataclass_fields__ if k in data}))
    return rows


def half(event: str) -> str:
    """'dev' or 'held-out', by a hash of the event id."""
    return "dev" if hashlib.sha256(event.encode()).digest()[0] % 2 == 0 else "held-out"


def _time(date: str) -> float:
    moment = datetime.fromisoformat(date if "T" in date else f"{date}T12:00:00+00:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def onto_one_day(rows: Iterable[Row], day: str = "2025-01-01") -> list[Row]:
    """The stress test: every event moved so that its first report falls on `day`, its other
    reports keeping their distance from the first. Every event then lies in every other's
    window, so what still keeps two events apart is their evidence, not their dates; the
    dates the text gives ('15 August', 'on Monday') are still read from the old date. (Tag
    the rows before moving them: dated rules would read the new dates.)"""
    every = list(rows)
    first: dict[str, date] = {}
    for row in every:
        start = date.fromisoformat(row.date[:10])
        first[row.event] = min(first.get(row.event, start), start)
    target = date.fromisoformat(day)
    moved = []
    for row in every:
        shift = target - first[row.event]
        moved_day = (date.fromisoformat(row.date[:10]) + shift).isoformat()
        moved.append(replace(row, date=moved_day + row.date[10:], moved_from=row.date))
    return moved


def initiatives_of(row: Row, ruleset: RuleSet | None) -> frozenset[str]:
    """The initiatives the rules tag a row with, as the pipeline would before clustering."""
    if ruleset is None:
        return frozenset()
    found = classify(
        ItemText(title=row.title, summary=row.lead, published=row.date, lang=row.language),
        ruleset,
    )
    return frozenset(tag.id for tag in found.initiatives)


def arrival_order(rows: Sequence[Row]) -> list[int]:
    """The rows' indexes in the order they would arrive: by date, then file order."""
    return sorted(range(len(rows)), key=lambda i: (_time(rows[i].date), i))


def features_of(i: int, row: Row, aliases: AliasTable, tags: frozenset[str]) -> Features:
    """Row i as the clusterer sees it (with the initiative tags given)."""
    return extract(
        i, title=row.title, summary=row.lead, lang=row.language, outlet=row.outlet,
        time=_time(row.date), initiatives=tags, aliases=aliases,
        written_at=_time(row.moved_from) if row.moved_from else None,
    )  # fmt: skip


def cluster_rows(
    rows: Sequence[Row],
    aliases: AliasTable,
    settings: Settings | None = None,
    ruleset: RuleSet | None = None,
    tags: Sequence[frozenset[str]] | None = None,
) -> list[int]:
    """The story of each row, clustering in arrival order (date, then file order), with the
    rows' initiative tags when a ruleset is given (or the given `tags`, one per row)."""
    clusterer = Clusterer(settings)
    story = [0] * len(rows)
    for i in arrival_order(rows):
        tagged = tags[i] if tags is not None else initiatives_of(rows[i], ruleset)
        story[i] = clusterer.assign(features_of(i, rows[i], aliases, tagged)).story_id
    # merges move members: read the final story of every row
    return [clusterer.story_of.get(i, story[i]) for i in range(len(rows))]


@dataclass(frozen=True)
class PairScores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def pair_scores(
    rows: Sequence[Row], predicted: Sequence[int], *, cross: bool
) -> tuple[PairScores, list[tuple[int, int, str]]]:
    """Pairwise scores over pairs in one language (cross=False) or two (cross=True), and
    the wrong pairs as (i, j, 'false merge' | 'missed')."""
    tp = fp = fn = 0
    wrong = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            if (rows[i].language != rows[j].language) != cross:
                continue
            same, together = rows[i].event == rows[j].event, predicted[i] == predicted[j]
            if same and together:
                tp += 1
            elif together:
                fp += 1
                wrong.append((i, j, "false merge"))
            elif same:
                fn += 1
                wrong.append((i, j, "missed"))
    return PairScores(tp, fp, fn), wrong


def bcubed_f1(rows: Sequence[Row], predicted: Sequence[int]) -> float:
    by_event: dict[str, set[int]] = defaultdict(set)
    by_story: dict[int, set[int]] = defaultdict(set)
    for i, row in enumerate(rows):
        by_event[row.event].add(i)
        by_story[predicted[i]].add(i)
    if not rows:
        return 1.0
    precision = recall = 0.0
    for i, row in enumerate(rows):
        both = len(by_event[row.event] & by_story[predicted[i]])
        precision += both / len(by_story[predicted[i]])
        recall += both / len(by_event[row.event])
    precision, recall = precision / len(rows), recall / len(rows)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def load_rounds(path: Path | str) -> dict[str, list[str]]:
    """The collection rounds of the labelled events (`rounds.json`): round name -> event ids."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {str(name): [str(e) for e in events] for name, events in data.items()}


def score(
    part: Sequence[Row],
    aliases: AliasTable,
    settings: Settings | None = None,
    ruleset: RuleSet | None = None,
    tags: Sequence[frozenset[str]] | None = None,
) -> dict[str, Any]:
    """Rows, events, pairwise within/across languages and B-cubed F1 of one set of rows,
    clustered on their own (with the ruleset's initiative tags, or the given ones)."""
    predicted = cluster_rows(part, aliases, settings, ruleset, tags)
    within, within_wrong = pair_scores(part, predicted, cross=False)
    across, across_wrong = pair_scores(part, predicted, cross=True)
    sizes = Counter(r.event for r in part)
    return {
        "rows": len(part),
        "events": len(sizes),
        "events_3_plus": sum(1 for n in sizes.values() if n >= 3),
        "within": {"precision": within.precision, "recall": within.recall,
                   "pairs": within.true_positives + within.false_negatives},
        "across": {"precision": across.precision, "recall": across.recall,
                   "pairs": across.true_positives + across.false_negatives},
        "bcubed_f1": bcubed_f1(part, predicted),
        "errors": [
            {"kind": kind, "a": part[i].title, "b": part[j].title,
             "a_event": part[i].event, "b_event": part[j].event}
            for i, j, kind in within_wrong + across_wrong
        ],
    }  # fmt: skip


def evaluate(
    rows: Iterable[Row],
    aliases: AliasTable,
    settings: Settings | None = None,
    ruleset: RuleSet | None = None,
    subsets: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Figures for each half: rows, events, pairwise within/across languages, B-cubed F1.
    With a ruleset, rows carry the initiative tags the pipeline would give them. Each of
    `subsets` (a name and the event ids in it, e.g. one collection round's held-out events)
    is scored as well, its rows clustered on their own."""
    figures: dict[str, Any] = {}
    every = list(rows)
    for name in ("dev", "held-out"):
        part = [r for r in every if half(r.event) == name]
        figures[name] = score(part, aliases, settings, ruleset)
    for name, events in (subsets or {}).items():
        wanted = set(events)
        figures[name] = score([r for r in every if r.event in wanted], aliases, settings, ruleset)
    return figures
