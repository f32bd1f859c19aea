"""Scoring one rule on an item's scanned fields: its terms (with `near`, `unless`, dates and
fields), the lifts, the events that make up a shortfall, the `require` groups that must hold
and the `exclude` groups that veto it; the tag and its evidence when it fires.

Separate from the classifier, which decides which rules to score for an item and in what
order; the rule-level work it calls for every candidate rule is here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from peacewatch.tagging.event_cues import _event
from peacewatch.tagging.results import Evidence, Tag, new_tuple
from peacewatch.tagging.ruleset import Event, Group, Rule, Term
from peacewatch.tagging.scan import _Field, _Hits, _Span

_Found = tuple[int, _Span, "tuple[int, _Span] | None"]  # pattern, its span, the near partner


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
    partners = list(filter(near.__contains__, hits))
    if not partners:
        return None
    for pid in filter(patterns.__contains__, hits):
        for span in hits[pid]:
            start, end = span
            for partner in partners:
                for other in hits[partner]:
                    # the gap between the spans (0 when they touch or overlap) is at most `within`
                    if other != span and other[0] - end <= within and start - other[1] <= within:
                        return pid, span, (partner, other)
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


def _term_valid(term: Term, when: tuple[date, date] | None, approximate: bool = False) -> bool:
    """Whether a dated term (see Term.dated) counts for an item of this date. An undated item
    (or one dated only by the day first seen, outside the term's window) counts the terms
    marked `undated`."""
    if when is None:  # date-bound cues need a date, unless marked
        return term.undated
    inside = not (term.valid_from and when[1] < term.valid_from) and not (
        term.valid_until and when[0] > term.valid_until
    )
    return inside or (approximate and term.undated)


# Scores are rounded for every tag, and round(x, 4) formats the float as text; the few sums
# of weights that occur repeat endlessly, so their rounding is remembered.
_ROUNDED: dict[float, float] = {}


def _round(score: float) -> float:
    rounded = _ROUNDED.get(score)
    if rounded is None:
        if len(_ROUNDED) > 10_000:
            _ROUNDED.clear()
        rounded = _ROUNDED[score] = round(score, 4)
    return rounded


def _evaluate_plain(ident: str, rule: Rule, by_weight: list[_Field], seen: set[int]) -> Tag | None:
    """_evaluate for a plain rule (see Rule.plain): same result, less work.

    (Plain loops: in Python 3.11 a comprehension costs a function call.)"""
    terms = rule.terms
    if len(terms) == 1:  # most themes: the term's best-weighted field decides
        term = terms[0]
        patterns = term.patterns
        for field in by_weight:
            hits = field.hits
            if not patterns.isdisjoint(hits):
                score = term.weight * field.weight
                if score < rule.threshold:
                    return None
                pid = next(filter(patterns.__contains__, hits))  # the first in text order
                quote = field.evidence(term.labels[pid], hits[pid][0], score)
                return new_tuple(Tag, (ident, _round(score), (quote,)))
        return None
    score = 0.0
    counted: list[tuple[str, _Field, _Span, float]] = []
    for term in terms:
        patterns = term.patterns
        if patterns.isdisjoint(seen):
            continue
        for field in by_weight:
            hits = field.hits
            if not patterns.isdisjoint(hits):
                pid = next(filter(patterns.__contains__, hits))  # the first in text order
                contribution = term.weight * field.weight
                score += contribution
                counted.append((term.labels[pid], field, hits[pid][0], contribution))
                break
    if score < rule.threshold:
        return None
    evidence: list[Evidence] = []
    for label, field, span, weight in counted:
        evidence.append(field.evidence(label, span, weight))
    return new_tuple(Tag, (ident, _round(score), tuple(evidence)))


def _evaluate(
    ident: str,
    rule: Rule,
    fields: list[_Field],
    by_weight: list[_Field],
    seen: set[int],
    when: tuple[date, date] | None,
    quote: bool = True,
    approximate: bool = False,
) -> Tag | None:
    """Score a rule on an item: the tag `ident` if it fires, else None. `by_weight` holds the
    fields from the highest weight down, `seen` the patterns found in any field. Evidence is
    only built for a rule that fires, and only if `quote`."""
    score = 0.0
    counted: list[tuple[Term, _Field, _Found]] = []
    terms = rule.terms
    positions = rule.term_positions
    found_in = rule.term_patterns.intersection(seen)
    if len(found_in) == 1:
        live: Iterable[int] = positions[next(iter(found_in))]
    else:  # most terms of a rule match nowhere in the item: visit only those that do, in order
        live = sorted({i for pid in found_in for i in positions[pid]})
    for index in live:
        term = terms[index]
        patterns = term.patterns
        if term.plain:  # it counts in the first field, by weight, that holds one of its patterns
            for field in by_weight:
                hits = field.hits
                if not patterns.isdisjoint(hits):
                    pid = next(filter(patterns.__contains__, hits))  # the first in text order
                    score += term.weight * field.weight
                    counted.append((term, field, (pid, hits[pid][0], None)))
                    break
            continue
        if term.dated and not _term_valid(term, when, approximate):
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
    if 0 < score < rule.threshold and rule.lifts:
        for term in rule.lifts:  # e.g. a peace headline over a cue found in the lead
            if score + term.weight < rule.threshold or term.patterns.isdisjoint(seen):
                continue
            found = None
            for field in fields:
                if field.name in term.fields and not term.patterns.isdisjoint(field.hits):
                    found = _occurrence(term.patterns, field.hits, term.near, term.within)
                    if found:
                        score += term.weight
                        counted.append((term, field, found))
                        break
            if found:
                break
    events: list[tuple[Event, list[tuple[_Field, int, _Span]]]] = []
    if score < rule.threshold:
        peace_headline = rule.events and any(
            field.name == "title" and not lift.patterns.isdisjoint(field.hits)
            for lift in rule.lifts
            for field in fields
        )
        for event in rule.events:
            occurrences = _event(event, by_weight, seen, when, approximate, bool(peace_headline))
            if occurrences is not None:
                score += event.weight
                events.append((event, occurrences))
                if score >= rule.threshold:
                    break
        if score < rule.threshold:
            return None
    required: list[tuple[Group, _Field, _Found]] = []
    for group in rule.require:
        held = _group_holds(group, fields, seen)
        if held is None:
            return None
        for field, found in held:
            required.append((group, field, found))
    if rule.exclude and _excluded(rule, fields, seen, when, approximate):
        return None
    evidence: list[Evidence] = []
    if quote:
        for term, field, (pid, span, partner) in counted:
            evidence.append(field.evidence(term.labels[pid], span, term.weight * field.weight))
            if partner:
                evidence.append(field.evidence(term.near_labels[partner[0]], partner[1], 0.0))
        for event, occurrences in events:
            for position, (field, pid, span) in enumerate(occurrences):
                weight = event.weight if position == 0 else 0.0
                evidence.append(field.evidence(event.labels[pid], span, weight))
        for group, field, (pid, span, _) in required:
            evidence.append(field.evidence(group.labels[pid], span, 0.0))
    return new_tuple(Tag, (ident, _round(score), tuple(evidence)))


def _excluded(
    rule: Rule,
    fields: list[_Field],
    seen: set[int],
    when: tuple[date, date] | None,
    approximate: bool,
) -> bool:
    """Whether one of the rule's `exclude` groups vetoes it for this item."""
    for group in rule.exclude:
        if group.undated and when is not None and not approximate:
            continue  # it only tells apart same-place events of different years when undated
        if group.valid_from is not None and (when is None or when[1] < group.valid_from):
            continue  # (a first-seen day counts: a feed item met today is today's news)
        if _group_holds(group, fields, seen) is not None and group.unless.isdisjoint(seen):
            return True
    return False
