"""Whether an initiative's dated events count for an item: an event's place, actor or venue
and its action named in the item, inside the event's window or, undated, in the pairs that
are distinctive enough (two actors, two leaders or the two sides where they met).

Separate from `scoring` because event cues are their own rule language (see
`rule_events`): `scoring` asks `_event` only for a rule whose terms fell short.
"""

from __future__ import annotations

from datetime import date

from peacewatch.tagging.ruleset import Event
from peacewatch.tagging.scan import _Field, _Span


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
