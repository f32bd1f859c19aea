"""The classifier: one item's text + a RuleSet -> Classification. Pure: no clock, no I/O.

Per field (title, summary, text) the normalized tokens are looked up once in the rule set's
token index; only rules whose terms were hit are evaluated. A rule fires when its weighted
term score reaches its threshold, every `require` group holds, no `exclude` group holds and the
item is not dated before the initiative's start (minus slack). Themes are sticking points of
peace talks, so they are only assigned to items that are on the peace topic at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain, compress
from typing import Any

from peacewatch.normalize import FAST_TOKEN_RE, TOKEN_RE, Normalized, normalize_text
from peacewatch.rules import FIELDS, GAP, MIXED, NO_MATCH, Entry, Group, Rule, RuleSet, Term

# A pattern occurrence: first token index, token index after the last one.
_Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ItemText:
    """The fields of an item the classifier reads. `published` is an ISO-8601 date or datetime
    (a month-only 'YYYY-MM' also works); None means unknown."""

    title: str
    summary: str | None = None
    text: str | None = None
    published: str | None = None
    lang: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ItemText:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            title=text("title") or "",
            summary=text("summary"),
            text=text("text"),
            published=text("published"),
            lang=text("lang"),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    rule: str  # e.g. 'terms[0]: 28-point plan'
    field: str  # title | summary | text
    text: str  # the matched text, as in the original field
    start: int  # offsets into the original field
    end: int
    weight: float  # what this match added to the score (0 for context matches)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "field": self.field,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "weight": round(self.weight, 4),
        }


@dataclass(frozen=True, slots=True)
class Tag:
    id: str
    score: float
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Classification:
    initiatives: tuple[Tag, ...]
    themes: tuple[Tag, ...]
    relevant: bool  # on the topic of Russia-Ukraine peace (always true when tagged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "initiatives": [t.as_dict() for t in self.initiatives],
            "themes": [t.as_dict() for t in self.themes],
            "relevant": self.relevant,
        }


NOTHING = Classification((), (), False)


def published_range(published: str | None) -> tuple[date, date] | None:
    """The first and last day an item's date can mean ('2023-01' is the whole month)."""
    if not published:
        return None
    value = published.strip()
    try:
        if len(value) >= 10:
            day = date.fromisoformat(value[:10])
            return day, day
        if len(value) == 7:
            first = date.fromisoformat(value + "-01")
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            return first, following - timedelta(days=1)
        if len(value) == 4 and value.isdigit():
            return date(int(value), 1, 1), date(int(value), 12, 31)
    except ValueError:
        return None
    return None


class _Field:
    """One field's normalized text, tokens and pattern hits."""

    __slots__ = ("hits", "name", "norm", "spans", "tokenizer", "weight")

    def __init__(
        self,
        name: str,
        norm: Normalized,
        weight: float,
        tokenizer: re.Pattern[str],
        hits: dict[int, list[_Span]],
    ) -> None:
        self.name = name
        self.norm = norm
        self.weight = weight
        self.tokenizer = tokenizer
        self.hits = hits
        self.spans: list[tuple[int, int]] | None = None

    def evidence(self, rule: str, span: _Span, weight: float) -> Evidence:
        if self.spans is None:  # token offsets, in C, with the tokenizer that found the hits
            self.spans = list(map(re.Match.span, self.tokenizer.finditer(self.norm.text)))
        start, end = self.norm.span(self.spans[span[0]][0], self.spans[span[1] - 1][1])
        return Evidence(rule, self.name, self.norm.original[start:end], start, end, weight)


def _scan(
    text: str, ruleset: RuleSet
) -> tuple[Normalized, re.Pattern[str], dict[int, list[_Span]]] | None:
    """Normalize and find every pattern occurrence, or None when nothing can match.

    Each word is looked up once in the rule set's memo: (atoms it satisfies, patterns that
    start with one of them). Only words with entries are visited, and only multi-word
    patterns look at the following words.
    """
    norm = normalize_text(text)
    cache = ruleset._token_cache
    lookup = ruleset.lookup
    tokenizer = FAST_TOKEN_RE
    words = tokenizer.findall(norm.text)
    memo = list(map(cache.get, words))
    seq: list[Entry] = (
        [entry or lookup(w) for w, entry in zip(words, memo, strict=True)]
        if None in memo  # first sight of some words: fill the memo
        else memo  # type: ignore[assignment]
    )
    if MIXED in seq:  # "28pt", "G8": the exact tokenizer splits digits from letters
        tokenizer = TOKEN_RE
        seq = [lookup(w) for w in tokenizer.findall(norm.text)]
    count = len(seq)
    if seq.count(NO_MATCH) == count:
        return None
    hits: dict[int, list[_Span]] = {}
    for i in compress(range(count), map(NO_MATCH.__ne__, seq)):
        for pid, rest in seq[i][1]:
            j = i + 1
            for needed in rest:
                if j >= count or (needed != GAP and needed not in seq[j][0]):
                    break
                j += 1
            else:
                if pid in hits:
                    hits[pid].append((i, j))
                else:
                    hits[pid] = [(i, j)]
    return (norm, tokenizer, hits) if hits else None


def _gap(a: _Span, b: _Span) -> int:
    """Tokens strictly between two spans (0 when adjacent or overlapping)."""
    return max(b[0] - a[1], a[0] - b[1], 0)


_Found = tuple[int, _Span, "tuple[int, _Span] | None"]  # pattern, its span, the near partner


def _occurrence(
    patterns: frozenset[int], field: _Field, near: frozenset[int], within: int
) -> _Found | None:
    """The first occurrence of any pattern in the field (with its `near` partner, if asked).

    Walks the field's few hits rather than the rule's many patterns."""
    hits = field.hits
    if patterns.isdisjoint(hits) or (near and near.isdisjoint(hits)):
        return None
    for pid, spans in hits.items():
        if pid not in patterns:
            continue
        if not near:
            return pid, spans[0], None
        for span in spans:
            for near_pid, near_spans in hits.items():
                if near_pid not in near:
                    continue
                for near_span in near_spans:
                    if near_span != span and _gap(span, near_span) <= within:
                        return pid, span, (near_pid, near_span)
    return None


def _group_holds(group: Group, fields: list[_Field]) -> list[tuple[_Field, _Found]] | None:
    """The occurrences that make a group hold, or None when it does not."""
    found: list[tuple[_Field, _Found]] = []
    for slot in group.slots:
        for field in fields:
            if field.name not in group.fields:
                continue
            occurrence = _occurrence(slot, field, group.near, group.within)
            if occurrence:
                found.append((field, occurrence))
                break
        else:
            if group.mode == "all":
                return None
            continue
        if group.mode == "any":
            return found
    return found if group.mode == "all" else None


def _term_valid(term: Term, when: tuple[date, date] | None) -> bool:
    if term.valid_from is None and term.valid_until is None:
        return True
    if when is None:  # date-bound cues need a date
        return False
    if term.valid_from and when[1] < term.valid_from:
        return False
    return not (term.valid_until and when[0] > term.valid_until)


def _evaluate(
    rule: Rule,
    fields: list[_Field],
    when: tuple[date, date] | None,
    ruleset: RuleSet,
    *,
    explain: bool = True,
) -> tuple[float, list[Evidence]] | None:
    """Score a rule on an item; None unless it fires. Evidence is only built for a rule that
    fires, and not at all with `explain=False`."""
    score = 0.0
    counted: list[tuple[Term, _Field, _Found]] = []
    for term in rule.terms:
        if not _term_valid(term, when):
            continue
        best: tuple[_Field, _Found] | None = None
        for field in fields:
            if field.name not in term.fields or (best and best[0].weight >= field.weight):
                continue
            if term.unless and not term.unless.isdisjoint(field.hits):
                continue
            found = _occurrence(term.patterns, field, term.near, term.within)
            if found:
                best = (field, found)
        if best is not None:
            score += term.weight * best[0].weight
            counted.append((term, *best))
    if score < rule.threshold:
        return None
    required: list[tuple[str, _Field, _Found]] = []
    for group in rule.require:
        held = _group_holds(group, fields)
        if held is None:
            return None
        required.extend((group.label, field, found) for field, found in held)
    for group in rule.exclude:
        if _group_holds(group, fields) is not None:
            return None
    evidence: list[Evidence] = []
    if explain:
        sources = ruleset.table.sources
        for term, field, (pid, span, partner) in counted:
            contribution = term.weight * field.weight
            evidence.append(field.evidence(f"{term.label}: {sources[pid]}", span, contribution))
            if partner:
                near_pid, near_span = partner
                label = f"{term.label}.near: {sources[near_pid]}"
                evidence.append(field.evidence(label, near_span, 0.0))
        for label, field, (pid, span, _) in required:
            evidence.append(field.evidence(f"{label}: {sources[pid]}", span, 0.0))
    return round(score, 4), evidence


def classify(item: ItemText, ruleset: RuleSet) -> Classification:
    """Tag one item with initiatives and themes, with evidence; decide if it is on topic."""
    fields: list[_Field] = []
    weights = ruleset.field_weights
    for name in FIELDS:
        value = getattr(item, name)
        if not value:
            continue
        scanned = _scan(value, ruleset)
        if scanned:
            fields.append(_Field(name, scanned[0], weights[name], scanned[1], scanned[2]))
    if not fields:
        return NOTHING
    by_pattern = ruleset.rules_by_pattern.__getitem__
    found_patterns = chain.from_iterable(field.hits for field in fields)
    candidates = set(chain.from_iterable(map(by_pattern, found_patterns)))
    if not candidates:
        return NOTHING

    when = published_range(item.published)
    count = len(ruleset.initiatives)
    relevance_index = len(ruleset.rules) - 1
    initiatives: list[Tag] = []
    theme_indexes: list[int] = []
    for index in sorted(candidates):
        if index >= count:
            if index < relevance_index:
                theme_indexes.append(index - count)
            continue
        initiative = ruleset.initiatives[index]
        if when and when[1] < initiative.earliest:
            continue
        result = _evaluate(initiative.rule, fields, when, ruleset)
        if result:
            initiatives.append(Tag(initiative.id, result[0], tuple(result[1])))

    relevant = bool(initiatives) or (
        relevance_index in candidates
        and _evaluate(ruleset.relevance, fields, when, ruleset, explain=False) is not None
    )
    themes: list[Tag] = []
    if relevant:
        for index in theme_indexes:
            theme = ruleset.themes[index]
            result = _evaluate(theme.rule, fields, when, ruleset)
            if result:
                themes.append(Tag(theme.id, result[0], tuple(result[1])))
    if len(initiatives) > 1:
        initiatives.sort(key=lambda t: -t.score)
    if len(themes) > 1:
        themes.sort(key=lambda t: -t.score)
    return Classification(tuple(initiatives), tuple(themes), relevant)
