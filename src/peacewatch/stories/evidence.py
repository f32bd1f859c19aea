"""What an item shares with a story, measured, and the weighed score that decides a join.

Every kind of evidence is a number (a share of the wording, a count of shared event words, a
name's rarity among the stories of the window, hours apart) and has a weight; an item's score
for a story is the sum of the weighed evidence, and it joins when the score reaches the
threshold. The weights were fitted on the dev half of the labelled events (logistic regression
over item-story pairs met in arrival order, with the stress test's pairs of different events on
one day as negatives: `evaluation.calibrate`) and the threshold was chosen on dev for precision
first. Evidence is read from the story as a whole: a term, name or number counts only when most
of the story's members carry it (`majority.core`), so A~B and B~C never chain into one story
about two events; near-identical text (syndicated copy) is measured against single members, as
a copy of a member is that member's event. What keeps an item out whatever it shares is in
`vetoes`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from peacewatch.stories.majority import need
from peacewatch.stories.vetoes import VETOES, agree, is_count

if TYPE_CHECKING:
    from peacewatch.stories.features import Features
    from peacewatch.stories.story import Member, Story

# The measured evidence, in the order the weights are given (`Settings.weights`)
FEATURES = (
    "copy",  # near-identical text: that Jaccard reaches `Settings.text_jaccard` (0/1)
    "text",  # best word-shingle Jaccard with one member in the item's language (0-1)
    "terms",  # share of the item's term weight (idf) in the story's core terms (0-1)
    "title",  # share of the headline's term weight (idf) in the story's core terms (0-1)
    "local_names",  # capitalised names of the item's language in the core (count, max 3)
    "names",  # alias-table people and organisations in the core, by rarity in the window
    "places",  # alias-table places in the core, by rarity in the window
    "topics",  # event words in the core besides talks and a meeting (count, max 3)
    "common_topics",  # talks or a meeting in the core (0/1)
    "figure",  # a distinctive figure or the terms of an exchange in the core (0/1)
    "number",  # another number in the core, or a count agreeing with the core's (0/1)
    "date",  # a date in the core, or the day most members that date what they report give (0/1)
    "same_tags",  # an initiative tag in common (0/1)
    "other_tags",  # tagged with initiatives none of the story's members has (0/1)
    "unshared",  # share of the item's alias-table entities the story never names (0-1)
    "missing",  # share of the story's core entities the item does not name (0-1)
    "other_day",  # the item dates what it reports two days or more from the story's date
    "other_round",  # the item names another round or stage than the story's
    "other_people",  # the headline's people are not the story's headlines' people
    "other_figure",  # the item's counts are none of the story's, and the story's core its own
    "next_day",  # the item follows a happening of the day before, most of the story's members'
    "again",  # the item's headline repeats a happening of an earlier day, most of the story's
    "other_venue",  # the item names another place or organ of one `within` tree than the story
    "other_place",  # the item's headline puts it in another place than the story's, a day on
    "reaction",  # the item's headline answers another's words, most of the story's do not
    "arrival_apart",  # an arrival and, another day, what followed it (one of them the item)
    "gap",  # days to the nearest member
    "late",  # days after the story's first member, beyond the first day
    "across",  # the story has no member in the item's language (0/1)
)

# Features that can only speak against a join; every other one only for it (fitted weights
# of the wrong sign are set to zero: `calibration.fit`)
AGAINST = frozenset(("other_tags", "unshared", "missing", "other_day", "other_round",
                     "other_people", "other_figure", "next_day", "again", "other_venue",
                     "other_place", "reaction", "arrival_apart", "gap", "late",
                     "across"))  # fmt: skip

# What each feature is reported as in `story_members.evidence` when it adds to the score
KIND_OF = {
    "copy": "text", "text": "terms", "terms": "terms", "title": "terms", "local_names": "names",
    "names": "names", "places": "places", "topics": "topics", "common_topics": "topics",
    "figure": "numbers", "number": "numbers", "date": "dates", "same_tags": "tags",
}  # fmt: skip
KINDS = ("text", "terms", "names", "places", "numbers", "dates", "topics", "tags")

COMMON_TOPICS = frozenset(("e:talks", "e:meeting"))  # nearly every story has these
_NO_TERMS: Mapping[str, int] = {}  # a story's terms in a language none of its members has


def jaccard(a: frozenset[int], b: Collection[int]) -> float:
    """Jaccard of two sets of shingles (`b` may be a tuple of distinct shingles)."""
    if not a or not b:
        return 0.0
    inter = len(a.intersection(b))
    return inter / (len(a) + len(b) - inter)


def distinctive(number: str) -> bool:
    """A figure unlikely to be shared by chance: not a date, not round (1000, 200, 30), or
    the terms of an exchange ('x:300': "300 на 300", "300 each")."""
    if number.startswith("x:"):
        return True
    return number.isdigit() and int(number) > 10 and int(number) % 10 != 0


def named(item: Features | Member) -> frozenset[str]:
    """The alias-table people, organisations and places an item names itself (not Turkey
    only implied by Istanbul)."""
    found = frozenset(k for k in (*item.names, *item.places) if k.startswith("e:"))
    return found.difference(item.implied)


def nearest_hours(times: list[float], time: float) -> float:
    """Hours from `time` to the nearest of `times` (sorted, not empty): the nearest lies
    beside the place `time` would take among them."""
    at = bisect_left(times, time)
    if at == 0:
        return abs(time - times[0]) / 3600.0
    if at == len(times):
        return abs(time - times[-1]) / 3600.0
    return min(abs(time - times[at - 1]), abs(time - times[at])) / 3600.0


def rarity(others: int) -> float:
    """What a shared name is worth when `others` other stories of the window carry it: 1
    alone, 0.5 with one other, 0.25 with seven others."""
    return 1.0 / (1.0 + math.log2(1.0 + others))


def shown(keys: Iterable[str]) -> list[str]:
    """Keys as shown to analysts: 'e:istanbul' as 'istanbul', sorted."""
    return sorted(k.split(":")[-1] for k in keys)


@dataclass(frozen=True)
class Evidence:
    """An item's evidence for a story: each feature's value, the member its text matched,
    and the shared keys to show."""

    values: dict[str, float]
    matched: str  # 'centroid', or 'item:ID' for near-identical text
    shared: dict[str, list[str]]  # the shared keys by kind ('e:istanbul'; `shown` for people)
    gap_hours: float

    @property
    def cast(self) -> list[str]:
        """The alias-table people and organisations the item shares with the story's core."""
        return [k for k in self.shared.get("names", ()) if k.startswith("e:")]


def measure(
    item: Features,
    story: Story,
    *,
    term_weights: Mapping[str, float],
    others: Mapping[str, int],
    entities: frozenset[str],
    text_members: int,
    text_jaccard: float,
    checked: Collection[str] = (),
    weights: Mapping[str, float] | None = None,
    floor: float | None = None,
) -> Evidence | None:
    """The evidence an item has for a story. `term_weights` are the idf weights of the item's
    terms; `others` says for each of the item's alias-table names and places (`entities`:
    `named(item)`) how many stories of the window carry it (this one among them). The vetoes
    named in `checked` are known to be false (the caller tested them). With `weights` and
    `floor`, None when the score cannot reach `floor` whatever the text shares: the text
    (shingles against members, the share of term weight) is the costliest evidence, and most
    candidates fall short without it (`cluster.Clusterer.evaluate`)."""
    n, n_lang = story.size, story.langs.get(item.lang, 0)
    need_all, need_lang = need(n), need(n_lang)
    v = dict.fromkeys(FEATURES, 0.0)
    counts: Mapping[str, int] | None = story.terms.get(item.lang, _NO_TERMS) if n_lang else None
    if counts is not None:
        title_terms = item.title_terms
        if title_terms:
            get = counts.get  # a Counter's missing keys cost a Python call; get does not
            # weighed by idf: 'demilitarized' and 'compromise' in common say more than 'talks'
            # and 'says' (dev precision 0.946 / 0.951 -> 0.948 / 0.953, recall unchanged)
            found = math.fsum(term_weights[t] for t in title_terms if get(t, 0) >= need_lang)
            v["title"] = found / (math.fsum(term_weights[t] for t in title_terms) or 1.0)
    else:
        v["across"] = 1.0

    # The keys in the story's core: names of the item's own language ('n:') by the members
    # in that language, every other key by all members. Written out instead of through a
    # helper, as for every candidate measured: only names can begin with 'n'.
    counted = story.entities.get
    names = [k for k in item.names if counted(k, 0) >= (need_lang if k[0] == "n" else need_all)]
    places = [k for k in item.places if counted(k, 0) >= need_all and k not in item.implied]
    numbers = [k for k in item.numbers if counted(k, 0) >= need_all] if item.numbers else []
    topics = [k for k in item.topics if counted(k, 0) >= need_all] if item.topics else []
    if names:
        local = [k for k in names if k.startswith("n:")]
        v["local_names"] = float(min(3, len(local)))
        v["names"] = math.fsum(rarity(others.get(k, 1) - 1) for k in names if k.startswith("e:"))
    if places:
        v["places"] = math.fsum(rarity(others.get(k, 1) - 1) for k in places)
    if topics:
        v["topics"] = float(min(3, len(set(topics) - COMMON_TOPICS)))
        v["common_topics"] = float(bool(set(topics) & COMMON_TOPICS))
    if numbers:
        v["figure"] = float(any(distinctive(k) for k in numbers))
        v["number"] = float(any(k.isdigit() and not distinctive(k) for k in numbers))
        v["date"] = float(any(k.startswith("d:") for k in numbers))
    if not v["figure"] and not v["number"] and item.numbers and story.figures:
        # a count that agrees with one the story's core gives ('1,003' and '1,000' bodies,
        # '50' and '25 on 25': `agree`, as `other_figure` reads it), as another number: sides
        # and outlets count differently (as a distinctive figure, the stress test's precision
        # fell from 0.827 / 0.765 to 0.808 / 0.747)
        close = [
            f for f, c in story.figures.items() if c >= need_all
            and any(is_count(k) and k not in numbers and agree(k, f) for k in item.numbers)
        ]  # fmt: skip
        if close:
            v["number"] = 1.0
            numbers = [*numbers, *close]
    if not v["date"] and item.days and story.dated:
        # the day most members that give one give: a member silent on the day does not
        # speak against it ('сегодня' beside 'Scholz arrived in Moscow'), as for `other_day`
        days = [d for d in item.days if story.days[d] * 2 > story.dated]
        v["date"] = float(bool(days))
        numbers = [*numbers, *days]
    if item.initiatives and story.initiatives:
        common = item.initiatives & set(story.initiatives)
        v["same_tags"] = float(bool(common))
        v["other_tags"] = float(not common)
    if entities:
        in_story = story.named.get
        v["unshared"] = sum(1 for k in entities if not in_story(k, 0)) / len(entities)
    story_core = story.core_of()[1]
    if story_core:
        mine = item.names | item.places
        v["missing"] = sum(1 for k in story_core if k not in mine) / len(story_core)
    for name, veto in VETOES.items():
        if name not in checked:
            v[name] = float(veto(item, story))
    gap = nearest_hours(story.times, item.time)
    v["gap"] = gap / 24.0
    v["late"] = max(0.0, (item.time - story.earliest) / 3600.0 - 24.0) / 24.0
    if weights is not None and floor is not None:
        # The text's evidence is at most 1 each (shares and a Jaccard); the rest is exact
        known = weights.get("bias", 0.0) + math.fsum(
            [x * weights[f] for f, x in v.items() if x and f in weights]
        )
        terms = max(0.0, weights.get("terms", 0.0)) if counts is not None else 0.0
        text = terms + max(0.0, weights.get("text", 0.0)) + max(0.0, weights.get("copy", 0.0))
        # short even if the text were shared (most candidates): the item's shingles need not
        # be looked up in the story's
        if known + text < floor - 1e-9:
            return None
        shares_text = bool(n_lang) and not item.shingles.isdisjoint(story.shingles)
        if known + (text if shares_text else terms) < floor - 1e-9:
            return None
    else:
        shares_text = bool(n_lang) and not item.shingles.isdisjoint(story.shingles)

    shared: dict[str, list[str]] = {}
    matched = "centroid"
    if shares_text:
        best, best_id = 0.0, 0
        same = story.by_lang[item.lang][-text_members:]
        for member in same:
            j = jaccard(item.shingles, member.shingles)
            if j > best:
                best, best_id = j, member.item_id
        v["text"] = best
        if best >= text_jaccard:
            v["copy"] = 1.0
            matched = f"item:{best_id}"
    if counts is not None:
        core_terms = [t for t in item.terms if counts.get(t, 0) >= need_lang]
        total = math.fsum(term_weights.values()) or 1.0  # exact: the same in any order
        v["terms"] = math.fsum(term_weights[t] for t in core_terms) / total
        if core_terms:
            shared["terms"] = core_terms
    for kind, keys in (("names", names), ("places", places), ("numbers", numbers),
                       ("topics", topics)):  # fmt: skip
        if keys:
            shared[kind] = keys
    return Evidence(v, matched, shared, round(gap, 2))


def contributions(values: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """Each feature's part of the score (the features that are zero or unweighted left out)."""
    return {f: values[f] * weights[f] for f in FEATURES if values.get(f) and weights.get(f)}


# a count and event words are all two reports of a swap or a repatriation in one language may
# share ("106 soldiers returned"); of anything else, two happenings in the same words
_COUNTED = frozenset(("e:prisoner-exchange", "e:bodies"))


def figure_alone(kinds: Iterable[str], evidence: Evidence) -> bool:
    """Whether the evidence, in one language, is only a number and event words, the event
    no exchange nor repatriation and the number no exchange's terms ('x:300'). (A copy of
    the text is a kind of its own.) Dev half A on one day 0.876 / 0.834 -> 0.883 / 0.846,
    the dev halves unchanged."""
    shared = evidence.shared
    if evidence.values["across"] or not set(kinds) <= {"numbers", "topics"}:
        return False
    if not _COUNTED.isdisjoint(shared.get("topics", ())):
        return False
    return not any(n.startswith("x:") for n in shared.get("numbers", ()))


def kinds_of(parts: Mapping[str, float]) -> tuple[str, ...]:
    """The kinds of evidence that added to the score, in the order of `KINDS`."""
    found = {KIND_OF[f] for f, c in parts.items() if c > 0 and f in KIND_OF}
    return tuple(k for k in KINDS if k in found)
