"""Scoring the rules against labelled items: precision, recall and F1 per initiative.

A labelled item is a headline (and optionally its lead and date) with the initiative ids a
person judged it to be about, possibly none; a negative may name the `trap` it belongs to
(another peace process in the same city, a battlefield report naming the same regions...).
`evaluate` classifies each item with the given rules and counts, per initiative, the items
both agree on (true positives), the rules' extra tags (false hits) and their misses, and, per
trap class, how many of its negatives the rules tagged at all. Pure: no database, no clock.

The labelled corpus shipped in tests/fixtures/tagging/corpus.jsonl is split once by a hash of
each URL (`split_of`): the dev half may be read while writing rules, the held-out half is only
scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.ruleset import RuleSet

__all__ = [
    "Labelled",
    "Report",
    "Scores",
    "evaluate",
    "load_labelled",
    "split_of",
]

SPLITS = ("dev", "heldout")


def split_of(url: str) -> str:
    """The corpus half a URL belongs to, fixed by its SHA-256: even first byte -> dev."""
    return SPLITS[hashlib.sha256(url.encode("utf-8")).digest()[0] & 1]


@dataclass(frozen=True)
class Labelled:
    """One labelled item: its text, date and the initiatives a person judged it about."""

    title: str
    labels: frozenset[str]
    lead: str | None = None
    published: str | None = None
    url: str | None = None
    language: str | None = None
    trap: str | None = None
    source: str = "corpus"  # corpus | analyst
    split: str | None = None
    collection_round: int | None = None  # the corpus round the page was collected in
    # Only these initiatives were judged (an analyst's label speaks of one initiative, not of
    # every other): None means all of them
    judged: frozenset[str] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Labelled:
        return cls(
            title=str(data.get("title") or ""),
            labels=frozenset(data.get("labels") or ()),
            lead=data.get("lead") or None,
            published=data.get("published") or None,
            url=data.get("url"),
            language=data.get("language"),
            trap=data.get("trap"),
            source=str(data.get("source") or "corpus"),
            split=data.get("split"),
            collection_round=data.get("round") if isinstance(data.get("round"), int) else None,
        )


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None if p is None or r is None else 0.0
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass
class Miss:
    item: Labelled
    initiative: str
    kind: str  # "missed" (labelled, not tagged) | "false hit" (tagged, not labelled)
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    items: int = 0
    overall: Scores = field(default_factory=Scores)
    per_initiative: dict[str, Scores] = field(default_factory=dict)
    traps: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (negatives, fired)
    per_language: dict[str, Scores] = field(default_factory=dict)
    errors: list[Miss] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "overall": self.overall.as_dict(),
            "initiatives": {k: v.as_dict() for k, v in sorted(self.per_initiative.items())},
            "traps": {k: {"negatives": n, "fired": f} for k, (n, f) in sorted(self.traps.items())},
            "languages": {k: v.as_dict() for k, v in sorted(self.per_language.items())},
            "errors": [
                {
                    "kind": e.kind,
                    "initiative": e.initiative,
                    "title": e.item.title,
                    "url": e.item.url,
                    "published": e.item.published,
                    "evidence": e.evidence,
                }
                for e in self.errors
            ],
        }


def evaluate(
    items: Iterable[Labelled], ruleset: RuleSet, *, with_lead: bool = True, dated: bool = True
) -> Report:
    """Classify every item with `ruleset` and score the initiative tags against its labels.

    `with_lead=False` scores the headline alone; `dated=False` drops every date (as for pages
    that carry none)."""
    known = {i.id for i in ruleset.initiatives}
    report = Report(per_initiative={i: Scores() for i in known})
    traps: dict[str, list[int]] = {}
    for item in items:
        unknown = item.labels - known
        if unknown:
            raise ConfigError(
                f"labelled item {item.url or item.title!r}: unknown initiative "
                f"{', '.join(sorted(unknown))}"
            )
        report.items += 1
        result = classify(
            ItemText(
                title=item.title,
                summary=item.lead if with_lead else None,
                published=item.published if dated else None,
            ),
            ruleset,
        )
        tags = {tag.id: tag for tag in result.initiatives}
        scored = item.labels | tags.keys()
        if item.judged is not None:
            scored &= item.judged
        language = report.per_language.setdefault(item.language or "?", Scores())
        for initiative in scored:
            scores = report.per_initiative[initiative]
            if initiative in item.labels and initiative in tags:
                scores.tp += 1
                language.tp += 1
                report.overall.tp += 1
            elif initiative in tags:
                scores.fp += 1
                language.fp += 1
                report.overall.fp += 1
                evidence = [e.as_dict() for e in tags[initiative].evidence]
                report.errors.append(Miss(item, initiative, "false hit", evidence))
            else:
                scores.fn += 1
                language.fn += 1
                report.overall.fn += 1
                report.errors.append(Miss(item, initiative, "missed"))
        if not item.labels and item.judged is None:
            counts = traps.setdefault(item.trap or "unclassed", [0, 0])
            counts[0] += 1
            counts[1] += bool(tags)
    report.traps = {name: (n, fired) for name, (n, fired) in traps.items()}
    return report


def load_labelled(
    path: Path, *, split: str | None = None, collection_round: int | None = None
) -> list[Labelled]:
    """Read a JSON Lines corpus (see tests/fixtures/tagging/README.md); `split` keeps one half,
    `collection_round` the pages of one collection round."""
    items: list[Labelled] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as error:
            raise ConfigError(f"{path}:{number}: not JSON: {error}") from error
        if not isinstance(data, dict) or not data.get("title"):
            raise ConfigError(f"{path}:{number}: expected an object with a 'title'")
        item = Labelled.from_mapping(data)
        if split and (item.split or (item.url and split_of(item.url))) != split:
            continue
        if collection_round is not None and item.collection_round != collection_round:
            continue
        items.append(item)
    return items
