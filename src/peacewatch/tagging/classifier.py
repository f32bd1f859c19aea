"""The classifier: one item's text + a RuleSet -> Classification. Pure: no clock, no I/O.

Per field (title, summary, text) the normalized tokens are looked up once in the rule set's
token index; only rules whose terms were hit are evaluated. A rule fires when its weighted
term score reaches its threshold, every `require` group holds, no `exclude` group holds and the
item is not dated before the initiative's start (minus slack). Themes are sticking points of
peace talks, so they are only assigned to items that are on the peace topic at all.

What it reads and answers lives in results.py, the model's part (second opinion and referee)
in referee.py. Longer than 500 lines because the matcher's hot paths (scan, terms, groups,
events) stay in one module, where they share the per-field hit tables without a call across
modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from itertools import compress
from operator import attrgetter

from peacewatch.tagging.normalize import (
    CJK_RE,
    FAST_TOKEN_RE,
    TOKEN_RE,
    Normalized,
    normalize_text,
)
from peacewatch.tagging.referee import arbitrate, model_tag
from peacewatch.tagging.results import (
    NOTHING,
    Classification,
    Evidence,
    ItemText,
    Tag,
    new_tuple,
    published_range,
)
from peacewatch.tagging.ruleset import GAP, Event, Group, Initiative, Rule, RuleSet, Term, Theme

__all__ = ["Classification", "Evidence", "ItemText", "Tag", "classify", "published_range"]

# A pattern occurrence: first token index, token index after the last one.
_Span = tuple[int, int]
# A field's occurrences: pattern id -> its spans, patterns in order of first occurrence.
_Hits = dict[int, list[_Span]]


# The tokenizers with their match captured: split() returns [separator, token, separator, ...,
# separator], so token i is piece 2i+1 and starts where piece 2i ends.
_FAST_PIECES_RE = re.compile(f"({FAST_TOKEN_RE.pattern})")
_EXACT_PIECES_RE = re.compile(f"({TOKEN_RE.pattern})")
# FAST_TOKEN_RE's tokens are the runs of word characters, joined across single apostrophes.
# Turning every other ASCII character into a space (bytes.translate on the UTF-8 text: a plain
# table, far faster than str.translate's dict) and splitting on spaces finds them two to three
# times faster than the regex engine, whenever the pieces turn out to be words (see _tokens).
# The spaced copy keeps every character's offset (see _Field.locate).
_SPACE_OUT = bytes(c if chr(c).isalnum() or chr(c) in "_'" else ord(" ") for c in range(128))
_SPACE_OUT += bytes(range(128, 256))  # the bytes of other characters stay as they are


class _Field:
    """One field's normalized text, tokens and pattern hits. `layout` is what token offsets
    derive from: the spaced copy of the text, or the regex engine's pieces (see _tokens)."""

    __slots__ = ("hits", "layout", "name", "norm", "offsets", "weight", "words")

    def __init__(
        self,
        name: str,
        norm: Normalized,
        weight: float,
        tokens: tuple[list[str], str | list[str]],
        hits: _Hits,
    ) -> None:
        self.name = name
        self.norm = norm
        self.weight = weight
        self.words, self.layout = tokens
        self.hits = hits
        self.offsets: dict[int, int] = {}  # token index -> offset, for evidence (see locate)

    def locate(self, index: int) -> int:
        """Where token `index` starts in the normalized text (remembered in `offsets`).

        Only the few tokens that evidence quotes are located, each by C-level string work:
        summing offsets for every token of every field that fires cost more than all the rest
        of building evidence."""
        layout = self.layout
        if isinstance(layout, str):  # the spaced copy
            word = self.words[index]
            if layout.count(word) == 1:  # usually: then it is where the token is
                found = layout.find(word)
            else:  # the rest after `index` tokens
                found = len(layout) - len(layout.split(None, index)[-1])
        else:  # separator, token, ...: token i starts where piece 2i ends
            found = sum(map(len, layout[: 2 * index + 1]))
        self.offsets[index] = found
        return found

    def evidence(self, rule: str, span: _Span, weight: float) -> Evidence:
        first, last = span[0], span[1] - 1
        offsets = self.offsets
        start = offsets.get(first)
        if start is None:
            start = self.locate(first)
        if last == first:
            end = start + len(self.words[first])
        else:
            found = offsets.get(last)
            end = (self.locate(last) if found is None else found) + len(self.words[last])
        norm = self.norm
        if norm.starts is not None:
            start, end = norm.span(start, end)
        return new_tuple(Evidence, (rule, self.name, norm.original[start:end], start, end, weight))


def _tokens(text: str, exact: bool = False) -> tuple[list[str], str | list[str]]:
    """A normalized text's tokens, and what their offsets derive from (see _Field.locate)."""
    if exact:  # "28pt", "G8": the exact tokenizer splits digits from letters
        pieces = _EXACT_PIECES_RE.split(text)
        return pieces[1::2], pieces
    spaced = text.encode(_UTF8, _RAW).translate(_SPACE_OUT).decode(_UTF8, _RAW)
    words = spaced.split()  # on any whitespace: no whitespace is part of a word
    # Characters beyond ASCII were left alone: the split holds if the pieces are words, with
    # apostrophes only between two word characters, and no Chinese, Japanese or Korean character
    # (each a token of its own) stands among them.
    if spaced.isascii() or CJK_RE.search(spaced) is None:
        if "'" not in spaced:
            if spaced.isascii() or "".join(words).isalnum():  # ASCII: only [A-Za-z0-9_ ] left
                return words, spaced
        else:
            joined = " ".join(words)
            edge = "''" in joined or " '" in joined or "' " in joined
            edge = edge or joined[0] == "'" or joined[-1] == "'"
            if not edge and joined.replace("'", "").replace(" ", "").isalnum():
                return words, spaced
    pieces = _FAST_PIECES_RE.split(text)
    return pieces[1::2], pieces


_UTF8, _RAW = "utf-8", "surrogatepass"  # lone surrogates in bad input survive the round trip


def _scan(name: str, text: str, weight: float, ruleset: RuleSet) -> _Field | None:
    """Normalize and find every pattern occurrence, or None when nothing can match.

    Each word is looked up once in the rule set's memo (see rules.WordMemo): the patterns that
    start with it. Only words that start patterns are visited, and only multi-word patterns
    look at the atoms of the following words.
    """
    norm = normalize_text(text)
    tokens = _tokens(norm.text)
    words = tokens[0]
    memo = ruleset.memo  # held for the whole text, even if another thread renews it
    if len(memo) > memo.LIMIT:
        memo = ruleset.fresh_memo()
    starts = list(map(memo.__getitem__, words))  # C speed; new words are worked out on the way
    if not memo.mixed.isdisjoint(words):  # "28pt", "G8": the exact tokenizer splits them
        tokens = _tokens(norm.text, exact=True)
        words = tokens[0]
        starts = list(map(memo.__getitem__, words))
    atoms = memo.atoms
    count = len(words)
    hits: _Hits = {}
    for i, (singles, phrases) in compress(enumerate(starts), starts):  # words that start some
        found: list[tuple[int, int, _Span]] | None = None
        if phrases and i + 1 < count:  # only the phrases whose second atom the next word has
            for second in (*atoms[words[i + 1]], GAP):
                for k, pid, rest in phrases.get(second, ()):
                    j = i + 2  # the words after it must satisfy the rest of the atoms
                    for needed in rest:
                        if j >= count or (needed != GAP and needed not in atoms[words[j]]):
                            break
                        j += 1
                    else:
                        if found is None:
                            found = []
                        found.append((k, pid, (i, j)))
        if found is None:
            for _, pid in singles:
                hits.setdefault(pid, []).append((i, i + 1))
        else:  # in the word's own order of patterns, as hits were always filed
            found.extend((k, pid, (i, i + 1)) for k, pid in singles)
            for _, pid, span in sorted(found):
                hits.setdefault(pid, []).append(span)
    return _Field(name, norm, weight, tokens, hits) if hits else None


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


def _first(patterns: frozenset[int], fields: list[_Field]) -> tuple[_Field, int, _Span] | None:
    """The first occurrence of any of `patterns` in the best-weighted field holding one."""
    for field in fields:
        hits = field.hits
        if not patterns.isdisjoint(hits):
            pid = next(filter(patterns.__contains__, hits))
            return field, pid, hits[pid][0]
    return None


def _in_title(patterns: frozenset[int], fields: list[_Field]) -> bool:
    for field in fields:
        if field.name == "title":
            return not patterns.isdisjoint(field.hits)
    return False


def _event(
    event: Event,
    by_weight: list[_Field],
    seen: set[int],
    when: tuple[date, date] | None,
    approximate: bool = False,
    peace_headline: bool = False,
) -> list[tuple[_Field, int, _Span]] | None:
    """The occurrences that make `event` count for an item, or None (see Event). A date that
    is `approximate` (the day first seen) opens the window but, outside it, the item is
    matched as an undated one."""
    if event.cues.isdisjoint(seen) or event.actions.isdisjoint(seen):
        return None
    if not (
        peace_headline or _in_title(event.cues, by_weight) or _in_title(event.actions, by_weight)
    ):
        return None  # the headline names neither the event nor its action
    action = _first(event.actions, by_weight)
    assert action is not None
    if when is not None:  # dated: inside the window, one cue is enough
        if not (when[1] < event.opens or when[0] > event.closes):
            cue = _first(event.named | event.sides, by_weight)
            if cue is not None:
                return [cue, action]
            return _two(event.leaders, by_weight, seen, action)  # leaders only in pairs
        if not approximate:
            return None
    venue = _first(event.venues, by_weight)
    if venue is not None:
        return [venue, action]
    actors = event.actors.intersection(seen)
    place = _first(event.places, by_weight)
    if place is not None and actors:
        actor = _first(frozenset(actors), by_weight)
        return None if actor is None else [place, actor, action]
    # two of its actors named together, or in a city where they met two of its leaders or
    # the two sides
    met = _first(event.met_at, by_weight) if event.met_at else None
    return _two(event.actors, by_weight, seen, action) or (
        None
        if met is None
        else (
            _two(event.leaders, by_weight, seen, action, met)
            or _sides(event, by_weight, action, met)
        )
    )


def _sides(
    event: Event,
    by_weight: list[_Field],
    action: tuple[_Field, int, _Span],
    met: tuple[_Field, int, _Span],
) -> list[tuple[_Field, int, _Span]] | None:
    """The two sides named together in a city where they met, with the action, or None."""
    sides = _first(event.sides, by_weight) if event.sides else None
    return None if sides is None else [met, sides, action]


def _two(
    people: frozenset[int],
    by_weight: list[_Field],
    seen: set[int],
    action: tuple[_Field, int, _Span],
    place: tuple[_Field, int, _Span] | None = None,
) -> list[tuple[_Field, int, _Span]] | None:
    """Two different `people` and the action (after the `place`, if given), or None."""
    named = people.intersection(seen)
    if len(named) < 2:
        return None
    first: tuple[_Field, int, _Span] | None = None
    for pid in sorted(named):
        found = _first(frozenset((pid,)), by_weight)
        if found is None:
            continue
        if first is None:
            first = found
        elif found[0] is not first[0] or not (
            found[2][0] < first[2][1] and first[2][0] < found[2][1]
        ):  # two mentions, not one matched by two patterns
            return [first, found, action] if place is None else [place, first, found, action]
    return None


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


_by_score = attrgetter("score")
_by_weight = attrgetter("weight")


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


def _tags(
    entries: tuple[Initiative, ...] | tuple[Theme, ...],
    fields: list[_Field],
    by_weight: list[_Field],
    seen: set[int],
    when: tuple[date, date] | None,
    approximate: bool = False,
) -> tuple[Tag, ...]:
    """The tags of the initiatives or themes whose rules fire, highest score first. No tag
    for an item published before an initiative began (less its slack)."""
    tags: list[Tag] = []
    latest = when[1] if when else date.max
    for entry in entries:
        if latest < entry.earliest:
            continue
        rule = entry.rule
        tag = (
            _evaluate_plain(entry.id, rule, by_weight, seen)
            if rule.plain
            else _evaluate(entry.id, rule, fields, by_weight, seen, when, True, approximate)
        )
        if tag:
            tags.append(tag)
    if len(tags) > 1:
        tags.sort(key=_by_score, reverse=True)  # stable, also when reversed
    return tuple(tags)


def _with_date_note(tag: Tag, day: str) -> Tag:
    """`tag` with evidence saying which date dated its cues: the day first seen."""
    note = new_tuple(
        Evidence, ("date: first seen (no published date)", "first_seen", day, 0, len(day), 0.0)
    )
    return new_tuple(Tag, (tag.id, tag.score, (*tag.evidence, note)))


def classify(item: ItemText, ruleset: RuleSet) -> Classification:
    """Tag one item with initiatives and themes, with evidence; decide if it is on topic."""
    fields: list[_Field] = []
    title_weight, summary_weight, text_weight = ruleset.weights  # in FIELDS order
    if item.title and (field := _scan("title", item.title, title_weight, ruleset)):
        fields.append(field)
    if item.summary and (field := _scan("summary", item.summary, summary_weight, ruleset)):
        fields.append(field)
    if item.text and (field := _scan("text", item.text, text_weight, ruleset)):
        fields.append(field)
    if not fields:
        return NOTHING
    seen = set(fields[0].hits)
    for field in fields[1:]:
        seen.update(field.hits)
    masks = ruleset.rule_masks
    mask = 0
    for pid in seen:  # (an inline loop: reduce(or_, ...) calls or_ through the slow path)
        mask |= masks[pid]
    model = ruleset.model
    # the model is asked about items that name the war's sides, and about those whose headline
    # names a tracked event's place, actor or venue instead ("Abu Dhabi peace talks see
    # progress"), at a stricter threshold (see referee.model_tag); asking it about every item
    # that names neither side cost 42% of the mixed stream's speed (docs/tagging.md)
    named_sides = model is not None and not seen.isdisjoint(model.context)
    ask_model = model is not None and (
        named_sides
        or (
            model.threshold_without_context < 1
            and fields[0].name == "title"
            and not ruleset.event_names.isdisjoint(fields[0].hits)
            and not model.headline_cues.isdisjoint(fields[0].hits)
        )
    )
    if not mask and not ask_model:
        return NOTHING
    if len(fields) == 2:  # the usual title and summary: one comparison
        first, second = fields
        by_weight = fields if first.weight >= second.weight else [second, first]
    else:  # stable, also when reversed: ties keep their order
        by_weight = sorted(fields, key=_by_weight, reverse=True)
    when = published_range(item.published)
    stand_in = None
    if when is None and item.first_seen:  # the day first seen stands in for a missing date
        when = published_range(item.first_seen)
        stand_in = item.first_seen[:10] if when else None
    candidates, candidate_themes, has_relevance = ruleset.candidates(mask)
    initiatives = _tags(candidates, fields, by_weight, seen, when, stand_in is not None)
    if len(initiatives) > 1 and model is not None and (model.veto_ratio or model.undated_exclusive):
        initiatives = arbitrate(item, initiatives, model, ruleset.initiative_index, when)
    if not initiatives and ask_model:
        approximate = stand_in is not None
        initiatives = model_tag(
            item,
            ruleset,
            when,
            lambda initiative: _excluded(initiative.rule, fields, seen, when, approximate),
            named_sides,
        )
    if stand_in and initiatives:
        initiatives = tuple(_with_date_note(tag, stand_in) for tag in initiatives)
    relevant = bool(initiatives) or (
        has_relevance
        and _evaluate("", ruleset.relevance, fields, by_weight, seen, when, quote=False) is not None
    )
    themes = _tags(candidate_themes, fields, by_weight, seen, when) if relevant else ()
    return new_tuple(Classification, (initiatives, themes, relevant))
