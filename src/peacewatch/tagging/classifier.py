"""The classifier: one item's text + a RuleSet -> Classification. Pure: no clock, no I/O.

Per field (title, summary, text) the normalized tokens are looked up once in the rule set's
token index; only rules whose terms were hit are evaluated. A rule fires when its weighted
term score reaches its threshold, every `require` group holds, no `exclude` group holds and the
item is not dated before the initiative's start (minus slack). Themes are sticking points of
peace talks, so they are only assigned to items that are on the peace topic at all.

What it reads and answers lives in results.py, the model's part (second opinion and referee)
in referee.py. A field's tokens and pattern hits are found in scan.py, a rule is scored on
them in scoring.py, and an initiative's dated events in event_cues.py: this module puts them
in order for one item.
"""

from __future__ import annotations

from datetime import date
from operator import attrgetter

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
from peacewatch.tagging.ruleset import Initiative, RuleSet, Theme
from peacewatch.tagging.scan import _Field, _scan
from peacewatch.tagging.scoring import _evaluate, _evaluate_plain, _excluded

__all__ = ["Classification", "Evidence", "ItemText", "Tag", "classify", "published_range"]


_by_score = attrgetter("score")
_by_weight = attrgetter("weight")


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
