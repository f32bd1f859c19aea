"""The model's part in tagging: a second opinion where no rule fired, a referee where several did.

Both read the rules' verdict and the item, never the matcher's tables: the classifier calls
`arbitrate` when the rules give several initiatives and `model_tag` when they give none to an
item that names the war's sides (see docs/tagging.md, "The model").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from peacewatch.tagging.results import Evidence, ItemText, Tag, new_tuple
from peacewatch.tagging.ruleset import Initiative, ModelSettings, RuleSet

AFTER_END = timedelta(days=90)
_FEATURE_KINDS = {
    "w": "word", "p": "stem", "b": "pair", "t": "headline stem", "c": "letters", "q": "quarter"
}  # fmt: skip


def model_tag(
    item: ItemText,
    ruleset: RuleSet,
    when: tuple[date, date] | None,
    vetoed: Callable[[Initiative], bool],
    named_sides: bool = True,
) -> tuple[Tag, ...]:
    """The model's guess as a tag, when it is sure enough and the rules allow the initiative.

    Only for items no rule tagged: the rules stay the first word, the model catches the
    paraphrases they miss. It may not name an initiative for an item dated before the
    initiative began (as the rules), or over AFTER_END after it ended unless it is
    `retrospective` (what is written later about an ended initiative names it, which the rules
    see; the model's looser likeness then mostly finds what came after it: Ukraine's own grain
    corridor, Minsk the city), nor one whose `exclude` groups hold (`vetoed`: an analyst's
    veto binds the model too). An item
    that names neither side of the war (`named_sides` false: "Abu Dhabi peace talks see
    progress", "Ramaphosa's mission stranded in Poland") needs the stricter
    `threshold_without_context`: a headline alone often names only the event, but other wars'
    talks share its cities and words. Its evidence names the probability and the words that
    weighed most."""
    settings = ruleset.model
    assert settings is not None
    latest = when[1] if when else date.max
    earliest = when[0] if when else date.min
    by_id = ruleset.initiative_index

    def allowed(initiative_id: str) -> bool:
        initiative = by_id.get(initiative_id)
        return (
            initiative is not None
            and latest >= initiative.earliest
            and (
                initiative.end_date is None
                or initiative.retrospective
                or earliest <= initiative.end_date + AFTER_END
            )
            and not vetoed(initiative)
        )

    day = item.published or item.first_seen  # (the day first seen stands in, as for the rules)
    if named_sides:
        threshold, words_threshold = settings.threshold, settings.words_threshold
    else:  # (the date may not lift it: a place's name and a quarter are no story)
        threshold = words_threshold = settings.threshold_without_context
    guess = settings.model.guess(item.title, item.summary, allowed, threshold, day, words_threshold)
    if guess is None:
        return ()
    texts = {"title": item.title, "summary": item.summary or "", "published": day or ""}
    evidence = []
    for key, where, contribution in guess.words:
        kind, _, value = key.partition(":")
        evidence.append(
            new_tuple(
                Evidence,
                (
                    f"model {guess.probability:.2f}: {_FEATURE_KINDS.get(kind, kind)} {value}",
                    where.field,
                    texts[where.field][where.start : where.end],
                    where.start,
                    where.end,
                    round(contribution, 4),
                ),
            )
        )
    if not evidence:  # (a guess above the threshold from the bias alone: not a reason to tag)
        return ()
    return (new_tuple(Tag, (guess.initiative, round(guess.probability, 4), tuple(evidence))),)


def arbitrate(
    item: ItemText,
    tags: tuple[Tag, ...],
    settings: ModelSettings,
    initiatives: Mapping[str, Initiative],
    when: tuple[date, date] | None,
) -> tuple[Tag, ...]:
    """Several initiatives from the rules: the model drops those it finds far less likely
    than the likeliest (under `veto_ratio` times its probability).

    Neighbours share their words and the rules cannot always tell them apart, above all
    without a date: Istanbul 2022 and 2025, the US plan and its revision, the Saudi talks and
    the truces agreed there. The tags kept say which they were preferred to; one tag always
    stays, and an item the model knows no word of keeps them all. An item dated between an
    initiative's start and its `end_date` keeps that initiative's tag: while it was live by
    its own dates, its words are no reason to doubt it (the Geneva round of 23 November 2025
    is the plan's last day and its revision's first). An undated item keeps only the likeliest
    of each `undated_exclusive` group the rules gave it: "delegations arrive in Istanbul"
    without a date is 2022 or 2025, seldom both."""
    chances = settings.model.known_probabilities(
        item.title, item.summary, item.published or item.first_seen
    )
    if chances is None or any(tag.id not in chances for tag in tags):
        return tags
    floor = max(chances[tag.id] for tag in tags) * settings.veto_ratio

    def live(initiative_id: str) -> bool:
        initiative = initiatives.get(initiative_id)
        return (
            when is not None
            and initiative is not None
            and initiative.end_date is not None
            and initiative.start_date <= when[0]
            and when[1] <= initiative.end_date
        )

    def rival(tag: Tag) -> bool:
        # undated, of a group seldom together: a likelier member of its group was tagged too
        return not item.published and any(
            tag.id in group
            and any(other.id in group and chances[other.id] > chances[tag.id] for other in tags)
            for group in settings.undated_exclusive
        )

    # (the model reads the headline and summary: a tag the article's text gave stays)
    dropped = [
        tag
        for tag in tags
        if all(e.field != "text" for e in tag.evidence)
        and ((chances[tag.id] < floor and not live(tag.id)) or rival(tag))
    ]
    if not dropped:
        return tags
    others = ", ".join(f"{tag.id} ({chances[tag.id]:.2f})" for tag in dropped)
    kept = []
    for tag in tags:
        if tag not in dropped:
            rule = f"the model preferred it ({chances[tag.id]:.2f}) to {others}"
            note = new_tuple(Evidence, (rule, "model", "", 0, 0, 0.0))
            kept.append(new_tuple(Tag, (tag.id, tag.score, (*tag.evidence, note))))
    return tuple(kept)
