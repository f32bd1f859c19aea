"""The classifier: one item's text + a RuleSet -> Classification. Pure: no clock, no I/O.

Per field (title, summary, text) the normalized tokens are looked up once in the rule set's
token index; only rules whose terms were hit are evaluated. A rule fires when its weighted
term score reaches its threshold, every `require` group holds, no `exclude` group holds and the
item is not dated before the initiative's start (minus slack). Themes are sticking points of
peace talks, so they are only assigned to items that are on the peace topic at all.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate, chain, compress, repeat
from operator import add, attrgetter, itemgetter
from typing import Any, NamedTuple

from peacewatch.normalize import FAST_TOKEN_RE, TOKEN_RE, Normalized, normalize_text
from peacewatch.rules import FIELDS, GAP, MIXED, Entry, Group, Rule, RuleSet, Term

# A pattern occurrence: first token index, token index after the last one.
_Span = tuple[int, int]
# A field's occurrences: pattern id -> its spans, patterns in order of first occurrence.
_Hits = dict[int, list[_Span]]


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


class Evidence(NamedTuple):  # a tuple: created by the hundred thousand, so cheap to build
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


# Evidence and tags are built several times per item: tuple.__new__ skips the Python-level
# NamedTuple.__new__ (the fields are passed in order, as one tuple).
_new_tuple = tuple.__new__


class Tag(NamedTuple):
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
    return _days(value[:10] if len(value) >= 10 else value)


@lru_cache(maxsize=4096)  # items of a day share their date: parse each date once
def _days(value: str) -> tuple[date, date] | None:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
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


# The tokenizers with their match captured: split() returns [separator, token, separator, ...,
# separator], so token i is piece 2i+1 and starts where piece 2i ends.
_FAST_PIECES_RE = re.compile(f"({FAST_TOKEN_RE.pattern})")
_EXACT_PIECES_RE = re.compile(f"({TOKEN_RE.pattern})")
# On ASCII text without apostrophes FAST_TOKEN_RE's tokens are simply the runs of [A-Za-z0-9_]:
# turning every other character into a space and splitting on " " finds them about a quarter
# faster than the regex engine, and element m of that split starts after the m elements and m
# spaces before it.
_SPACE_OUT = str.maketrans({c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "_")})


class _Field:
    """One field's normalized text, tokens and pattern hits."""

    __slots__ = ("hits", "layout", "name", "norm", "spaced", "starts", "weight", "words")

    def __init__(
        self,
        name: str,
        norm: Normalized,
        weight: float,
        tokens: tuple[list[str], list[str], bool],
        hits: _Hits,
    ) -> None:
        self.name = name
        self.norm = norm
        self.weight = weight
        self.words, self.layout, self.spaced = tokens
        self.hits = hits
        self.starts: list[int] | None = None  # token offsets, computed when evidence needs them

    def evidence(self, rule: str, span: _Span, weight: float) -> Evidence:
        starts = self.starts
        if starts is None:
            layout = self.layout
            if self.spaced:  # the text split on " ": tokens are the non-empty elements
                offsets = accumulate(map(add, map(len, layout), repeat(1)), initial=0)
                starts = list(compress(offsets, layout))
            else:  # separator, token, ...: token i starts where piece 2i ends
                starts = list(accumulate(map(len, layout)))[::2]
            self.starts = starts
        start = starts[span[0]]
        last = span[1] - 1
        end = starts[last] + len(self.words[last])
        norm = self.norm
        if norm.starts is not None:
            start, end = norm.span(start, end)
        return _new_tuple(Evidence, (rule, self.name, norm.original[start:end], start, end, weight))


def _tokens(text: str, exact: bool = False) -> tuple[list[str], list[str], bool]:
    """A normalized text's tokens, and what their offsets derive from (see _Field.evidence)."""
    if exact:  # "28pt", "G8": the exact tokenizer splits digits from letters
        pieces = _EXACT_PIECES_RE.split(text)
        return pieces[1::2], pieces, False
    if text.isascii() and "'" not in text:
        parts = text.translate(_SPACE_OUT).split(" ")
        return list(filter(None, parts)), parts, True
    pieces = _FAST_PIECES_RE.split(text)
    return pieces[1::2], pieces, False


def _scan(name: str, text: str, weight: float, ruleset: RuleSet) -> _Field | None:
    """Normalize and find every pattern occurrence, or None when nothing can match.

    Each word is looked up once in the rule set's memo: (atoms it satisfies, patterns that
    start with one of them). Only words with entries are visited, and only multi-word
    patterns look at the following words.
    """
    norm = normalize_text(text)
    tokens = _tokens(norm.text)
    words = tokens[0]
    cache = ruleset._token_cache
    lookup = ruleset.lookup
    memo = list(map(cache.get, words))
    seq: list[Entry] = (
        [entry or lookup(w) for w, entry in zip(words, memo, strict=True)]
        if None in memo  # first sight of some words: fill the memo
        else memo  # type: ignore[assignment]
    )
    if MIXED in seq:  # "28pt", "G8": the exact tokenizer splits digits from letters
        tokens = _tokens(norm.text, exact=True)
        seq = [lookup(w) for w in tokens[0]]
    count = len(seq)
    hits: _Hits = {}
    starts = list(map(itemgetter(1), seq))
    for i, word_starts in compress(enumerate(starts), starts):  # only words that start patterns
        for pid, rest in word_starts:
            if not rest:  # a one-word pattern
                hits.setdefault(pid, []).append((i, i + 1))
                continue
            j = i + 1  # a phrase: the following words must satisfy the rest of its atoms
            for needed in rest:
                if j >= count or (needed != GAP and needed not in seq[j][0]):
                    break
                j += 1
            else:
                hits.setdefault(pid, []).append((i, j))
    return _Field(name, norm, weight, tokens, hits) if hits else None


_Found = tuple[int, _Span, "tuple[int, _Span] | None"]  # pattern, its span, the near partner
# An item's scanned fields: as read, from the highest weight down, all patterns found
_Item = tuple[list[_Field], list[_Field], set[int]]


def _occurrence(
    patterns: frozenset[int], hits: _Hits, near: frozenset[int], within: int
) -> _Found | None:
    """The first occurrence (in text order) of any pattern in a field's hits, with its `near`
    partner if asked: the first partner, in text order, at most `within` tokens away.

    Walks the field's few hits rather than the rule's many patterns."""
    if patterns.isdisjoint(hits):
        return None
    if not near:
        pid = next(filter(patterns.__contains__, hits))
        return pid, hits[pid][0], None
    if near.isdisjoint(hits):
        return None
    partners = [(pid, span) for pid, spans in hits.items() if pid in near for span in spans]
    for pid, spans in hits.items():
        if pid not in patterns:
            continue
        for span in spans:
            start, end = span
            for partner in partners:
                other = partner[1]
                # the gap between the spans (0 when they touch or overlap) is at most `within`
                if other != span and other[0] - end <= within and start - other[1] <= within:
                    return pid, span, partner
    return None


def _group_holds(
    group: Group, fields: list[_Field], seen: set[int]
) -> list[tuple[_Field, _Found]] | None:
    """The occurrences that make a group hold, or None when it does not."""
    found: list[tuple[_Field, _Found]] = []
    for slot in group.slots:
        occurrence = None
        if not slot.isdisjoint(seen):  # else no field has any of its patterns
            for field in fields:
                if field.name in group.fields:
                    occurrence = _occurrence(slot, field.hits, group.near, group.within)
                    if occurrence:
                        found.append((field, occurrence))
                        break
        if occurrence is None:
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


def _evaluate_plain(
    rule: Rule, by_weight: list[_Field], seen: set[int], sources: tuple[str, ...]
) -> tuple[float, list[Evidence]] | None:
    """_evaluate for a plain rule (see Rule.plain), with evidence: same result, less work."""
    score = 0.0
    counted: list[tuple[str, _Field, _Span, float]] = []
    for term in rule.terms:
        patterns = term.patterns
        if patterns.isdisjoint(seen):
            continue
        for field in by_weight:
            hits = field.hits
            if not patterns.isdisjoint(hits):
                pid = next(filter(patterns.__contains__, hits))  # the first in text order
                contribution = term.weight * field.weight
                score += contribution
                counted.append((f"{term.label}: {sources[pid]}", field, hits[pid][0], contribution))
                break
    if score < rule.threshold:
        return None
    evidence = [field.evidence(label, span, weight) for label, field, span, weight in counted]
    return round(score, 4), evidence


def _evaluate(
    rule: Rule,
    fields: list[_Field],
    by_weight: list[_Field],
    seen: set[int],
    when: tuple[date, date] | None,
    sources: tuple[str, ...] | None,
) -> tuple[float, list[Evidence]] | None:
    """Score a rule on an item; None unless it fires. `by_weight` holds the fields from the
    highest weight down, `seen` the patterns found in any field. Evidence (quoting `sources`,
    the pattern texts) is only built for a rule that fires, and not at all without `sources`."""
    score = 0.0
    counted: list[tuple[Term, _Field, _Found]] = []
    for term in rule.terms:
        patterns = term.patterns
        # Most of a rule's terms match nowhere in the item: one set test skips them.
        if patterns.isdisjoint(seen):
            continue
        if term.plain:  # it counts in the first field, by weight, that holds one of its patterns
            for field in by_weight:
                hits = field.hits
                if not patterns.isdisjoint(hits):
                    pid = next(filter(patterns.__contains__, hits))  # the first in text order
                    score += term.weight * field.weight
                    counted.append((term, field, (pid, hits[pid][0], None)))
                    break
            continue
        if not _term_valid(term, when):
            continue
        best: _Field | None = None
        best_found: _Found | None = None
        for field in fields:  # the highest-weighted field where the term holds counts
            hits = field.hits
            if patterns.isdisjoint(hits) or (best is not None and best.weight >= field.weight):
                continue
            if field.name not in term.fields:
                continue
            if term.unless and not term.unless.isdisjoint(hits):
                continue
            found = _occurrence(patterns, hits, term.near, term.within)
            if found:
                best, best_found = field, found
        if best is not None and best_found is not None:
            score += term.weight * best.weight
            counted.append((term, best, best_found))
    if score < rule.threshold:
        return None
    required: list[tuple[str, _Field, _Found]] = []
    for group in rule.require:
        held = _group_holds(group, fields, seen)
        if held is None:
            return None
        required.extend((group.label, field, found) for field, found in held)
    for group in rule.exclude:
        if _group_holds(group, fields, seen) is not None:
            return None
    evidence: list[Evidence] = []
    if sources is not None:
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


def _tag(
    ident: str, rule: Rule, item: _Item, when: tuple[date, date] | None, sources: tuple[str, ...]
) -> Tag | None:
    """The tag of an initiative or theme with this rule, if it fires on the scanned item."""
    fields, by_weight, seen = item
    result = (
        _evaluate_plain(rule, by_weight, seen, sources)
        if rule.plain
        else _evaluate(rule, fields, by_weight, seen, when, sources)
    )
    return None if result is None else _new_tuple(Tag, (ident, result[0], tuple(result[1])))


def classify(item: ItemText, ruleset: RuleSet) -> Classification:
    """Tag one item with initiatives and themes, with evidence; decide if it is on topic."""
    fields: list[_Field] = []
    weights = ruleset.field_weights
    for name in FIELDS:
        value = getattr(item, name)
        if value:
            field = _scan(name, value, weights[name], ruleset)
            if field:
                fields.append(field)
    if not fields:
        return NOTHING
    seen = set(chain.from_iterable(field.hits for field in fields))
    candidates = sorted(set(chain.from_iterable(map(ruleset.rules_by_pattern.__getitem__, seen))))
    if not candidates:
        return NOTHING
    by_weight = sorted(fields, key=attrgetter("weight"), reverse=True)  # stable: ties in order
    scanned: _Item = (fields, by_weight, seen)

    when = published_range(item.published)
    sources = ruleset.table.sources
    # `candidates` indexes ruleset.rules: initiatives, then themes, then relevance (the last)
    count = len(ruleset.initiatives)
    first_theme = bisect_left(candidates, count)
    has_relevance = candidates[-1] == len(ruleset.rules) - 1
    initiatives: list[Tag] = []
    for index in candidates[:first_theme]:
        initiative = ruleset.initiatives[index]
        if when and when[1] < initiative.earliest:
            continue
        tag = _tag(initiative.id, initiative.rule, scanned, when, sources)
        if tag:
            initiatives.append(tag)

    relevant = bool(initiatives) or (
        has_relevance
        and _evaluate(ruleset.relevance, fields, by_weight, seen, when, None) is not None
    )
    themes: list[Tag] = []
    if relevant:
        for index in candidates[first_theme : -1 if has_relevance else None]:
            theme = ruleset.themes[index - count]
            tag = _tag(theme.id, theme.rule, scanned, when, sources)
            if tag:
                themes.append(tag)
    if len(initiatives) > 1:
        initiatives.sort(key=lambda t: -t.score)
    if len(themes) > 1:
        themes.sort(key=lambda t: -t.score)
    return Classification(tuple(initiatives), tuple(themes), relevant)
