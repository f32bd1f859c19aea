"""Incremental story clustering over a window on the publication time.

An item is compared only with the stories an inverted index offers (stories sharing its rarer
terms, names, places or numbers) whose members all lie within `window_hours` of it, never
with all pairs. What it shares with each is measured (`evidence.measure`: near-identical text,
the story's core terms and headline terms, names and places by their rarity among the window's
stories, event words, figures, dates, initiative tags, and what speaks against it: another
day, round or cast, names the story never mentions, hours apart) and weighed; it joins the
story with the highest score when that score reaches `Settings.threshold` and at least two
kinds of evidence add to it (or the text is near-identical to a member's, or it names three
of the story's people and organisations: `Settings.cast`). The evidence is
the story's as a whole, so A~B and B~C never chain into one story about two events. A
headline announcing what is still to come never joins the event it announces, nor the event
an announcement, unless both came out the same day and neither names a later day than the
other (a preview of that day's happening is its coverage).

A late item that joins two stories merges them only when at least half of the smaller
story's members would also join the larger one; the merge is reported so the store can log it
and undo it. A report left on its own is judged again, as a new item would be, when a story
offered beside it grows (it may match the story as a whole once a report in its language or
nearer in time has joined); if it joins, that too is a logged merge, and it keeps its reasons.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property
from itertools import chain, count

from peacewatch.stories import cues
from peacewatch.stories.evidence import (
    Evidence,
    contributions,
    figure_alone,
    kinds_of,
    measure,
    named,
    nearest_hours,
    shown,
)
from peacewatch.stories.features import Features
from peacewatch.stories.index import StoryIndex
from peacewatch.stories.story import Member, Story, item_keys
from peacewatch.stories.vetoes import MEMBER_VETOES, VETOES, another_announcement

# The weight of each kind of evidence (`evidence.FEATURES`), fitted on the dev half of the
# labelled events, false merges counting four times a miss, with an L2 penalty of 0.3
# (`.venv/bin/python scripts/evaluate_stories.py --calibrate`); zero where the fit gave the
# evidence the wrong sign (shared terms, collinear with the headline's) or where it is a veto
WEIGHTS: tuple[tuple[str, float], ...] = (
    ("bias", -6.34),
    ("copy", 0.42), ("text", 1.01), ("terms", 0.0), ("title", 1.46), ("local_names", 0.0),
    ("names", 3.40), ("places", 3.52), ("topics", 1.55), ("common_topics", 0.05),
    ("figure", 4.90), ("number", 3.74), ("date", 1.79), ("same_tags", 0.96),
    ("other_tags", -1.26), ("unshared", -1.64), ("missing", -0.14), ("other_day", 0.0),
    ("other_round", 0.0), ("other_people", 0.0), ("other_figure", 0.0), ("next_day", 0.0),
    ("again", 0.0), ("other_venue", 0.0), ("other_place", 0.0), ("reaction", 0.0),
    ("arrival_apart", 0.0),
    ("gap", -1.80), ("late", -1.64), ("across", 0.0),
)  # fmt: skip
THRESHOLD = -2.5  # chosen on dev, precision first (README, "Stories")


@dataclass(frozen=True)
class Settings:
    """What decides whether an item joins a story; its version is stored with every member."""

    window_hours: float = 72.0  # every member within this of every other
    weights: tuple[tuple[str, float], ...] = WEIGHTS
    threshold: float = THRESHOLD  # the score an item needs to join a story
    min_kinds: int = 2  # kinds of evidence adding to the score, unless the text is a copy's
    cast: int = 3  # or the story's core names this many of the item's people and organisations
    # evidence that keeps an item out whatever else it shares: another day's or another
    # round's happening, or another cast (a call with Zelensky the day after one with Putin)
    vetoes: tuple[str, ...] = (
        "other_day", "other_round", "other_people", "other_figure", "next_day", "again",
        "other_venue", "other_place", "reaction", "arrival_apart",
    )  # fmt: skip
    # a report joining a story with no member in its language, sharing no place, number or
    # date with it (names and event words alone: one man's two statements), needs this much
    # more than the threshold
    across_margin: float = 0.5
    # in one language a number and event words alone join no story (`evidence.figure_alone`)
    figure_words: bool = True
    # a member this close in time, unless the text is near-identical: the next day's report
    # of an evening's happening is often more than 36 hours from a report dated by its day
    # only (36 before: dev half A's recall within a language 0.850 -> 0.856, no precision lost)
    gap_hours: float = 48.0
    late_hours: float = 40.0  # an item this long after the story's first member needs
    late_kinds: int = 5  # this many kinds of evidence (of eight), unless the text is a copy
    text_jaccard: float = 0.5  # shingle Jaccard of near-identical text (syndicated copy)
    candidates: int = 8  # stories compared in full per item
    neutral_candidates: int = 4  # and this many more sharing the most keys of every language
    min_shared_keys: int = 2  # a candidate shares at least this many indexed keys
    common_key_stories: int = 200  # a key in more stories than this is not looked up
    text_members: int = 12  # latest same-language members compared for near-identical text
    # a report left on its own is judged again when a story offered beside it grows (`_regroup`)
    regroup: bool = True
    # an announcement and a report of the happening the same day are kept apart only when one
    # of them names a later day (`vetoes.another_announcement`)
    previews_by_day: bool = True
    # what the evidence measures, as the code has it: raised when a feature changes its
    # meaning (1: the headline's share by idf; 2: a headline's speaker, `vetoes.reaction`)
    evidence_revision: int = 2  # so stored stories are due a recluster

    @property
    def window(self) -> float:
        return self.window_hours * 3600.0

    @cached_property
    def weight(self) -> dict[str, float]:
        # kept with the settings (frozen, so it never changes): read for every candidate,
        # and a cache keyed by `weights` would hash its 23 pairs each time
        return dict(self.weights)

    def version(self, aliases_digest: str = "") -> str:
        text = repr(sorted(asdict(self).items())) + aliases_digest + cues.DIGEST
        return "s" + hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Match:
    """Why an item may join a story."""

    story_id: int
    kinds: tuple[str, ...]  # the kinds of evidence that added to the score
    similarity: float  # the score
    matched: str  # 'centroid', or 'item:ID' for near-identical text
    shared: dict[str, list[str]]  # the shared keys, and 'weights': each feature's part
    gap_hours: float


@dataclass(frozen=True)
class Decision:
    """Where an item went: a story it joined (with the match) or a new singleton."""

    item_id: int
    story_id: int
    match: Match | None  # None: founded a new story
    merged: tuple[int, ...] = ()  # stories folded into story_id because of this item
    # reports left on their own that joined story_id once it had grown (`Clusterer._regroup`),
    # with why: each is one of `merged`
    rejoined: tuple[tuple[int, Match], ...] = ()


_NONE: dict[int, set[int]] = {}
_ANCHORS = frozenset(("places", "numbers", "dates"))  # what ties a report to one happening


def _unanchored(kinds: tuple[str, ...]) -> bool:
    """Whether the evidence holds no place, number or date (`Settings.across_margin`)."""
    return _ANCHORS.isdisjoint(kinds)  # a key only retired stories carry has no buckets


class Clusterer:
    """The stories of a window in memory, with an inverted index from keys to stories.

    Stories are held (`stories`: members, counts, offered as candidates) or retired (`retired`:
    only their keys, still counted by the idf weights and the common-key cut). An item is only
    ever compared with stories within the window of it, so stories whose latest member lies a
    window behind the items still to come can be retired (`retire`) without changing any
    decision: what is counted stays what it was with every story held, until `evict` forgets
    stories, held or retired, for good. A retired story placed again (loaded from the
    database: `place`) is held again and counted once."""

    def __init__(
        self, settings: Settings | None = None, *, new_id: Callable[[], int] | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.stories: dict[int, Story] = {}
        # retired stories: their latest member's time and every key they are counted under
        self.retired: dict[int, tuple[float, tuple[str, ...]]] = {}
        self.story_of: dict[int, int] = {}
        # stories by key, in buckets a third of the window wide by their earliest member
        # (keys in more stories than the common-key cut are counted, not filed: index.py)
        self.index = StoryIndex(self.settings.window / 3.0, self.settings.common_key_stories)
        self._new_id = new_id or count(1).__next__
        self.latest = -math.inf
        self._weighed: tuple[Features, dict[str, float]] | None = None
        self._counted: tuple[Features, tuple[frozenset[str], dict[str, int]]] | None = None
        # the time of the item being assigned: a member of a story judged again meanwhile (a
        # merge, a regroup) counts names among the stories that item's window holds (`_others`)
        self._arriving = -math.inf

    @property
    def counted(self) -> int:
        """The stories in memory, held or retired (what the idf weights count)."""
        return len(self.stories) + len(self.retired)

    # -- building ---------------------------------------------------------------------------
    def place(self, item: Features, story_id: int) -> None:
        """Put an item into a story without judging it (loading decisions already stored)."""
        self._put(Member.of(item), story_id)

    def _put(self, item: Member, story_id: int) -> None:
        story = self.stories.get(story_id)
        if story is None:
            retired = self.retired.pop(story_id, None)
            if retired is not None:  # held again: counted by its members from now on
                self.index.uncount(retired[1])
            story = self.stories[story_id] = Story(story_id)
        story.add(item)
        self.story_of[item.item_id] = story_id
        self.latest = max(self.latest, item.time)
        held = (k for m in story.members[:-1] for k in item_keys(m))
        # the keys the story carries from now on, read from its counts (`item_keys`)
        terms, entities, lang = story.terms[item.lang], story.entities, item.lang
        new = [f"t:{lang}:{t}" for t in item.terms if terms[t] == 1]
        new += [k for k in {*item.names, *item.places, *item.topics, *item.numbers}
                if entities[k] == 1]  # fmt: skip
        self.index.add(story_id, story.earliest, new, held)

    def _refile(self) -> None:
        """File again the keys whose stories were too many to file and are now few enough
        to be looked up (stories were forgotten): every held story carrying them."""
        carriers: dict[str, list[int]] = {k: [] for k in self.index.stale}
        terms: dict[str, list[tuple[str, str]]] = {}  # 't:en:talk' as {'en': [('talk', key)]}
        others = []
        for k in carriers:
            if k.startswith("t:"):
                language, term = k[2:].split(":", 1)
                terms.setdefault(language, []).append((term, k))
            else:
                others.append(k)
        for story in self.stories.values():  # read from each story's counts (`item_keys`)
            for lang, counts in story.terms.items():
                for term, k in terms.get(str(lang), ()):
                    if term in counts:
                        carriers[k].append(story.id)
            for k in others:
                if k in story.entities:
                    carriers[k].append(story.id)
        for k, ids in carriers.items():
            self.index.file(k, ids)

    def evict(self, before: float) -> int:
        """Forget stories, held or retired, whose latest member is older than `before`;
        returns how many."""
        old = [s for s in self.stories.values() if s.latest < before]
        for story in old:
            self._drop(story)
        gone = [i for i, (latest, _keys) in self.retired.items() if latest < before]
        for story_id in gone:
            self.index.uncount(self.retired.pop(story_id)[1])
        return len(old) + len(gone)

    def retire(self, before: float) -> int:
        """Stop holding stories whose latest member is older than `before`: no item at
        `before` + the window or later can be compared with them, and they stay counted
        (their keys take some 400 bytes, a held singleton about 9 KB). Returns how many."""
        old = [s for s in self.stories.values() if s.latest < before]
        for story in old:
            # its keys (`item_keys` of every member), read from its counts: each once
            terms = [sys.intern(f"t:{lang}:{t}") for lang, c in story.terms.items() for t in c]
            keys = (*terms, *story.entities)  # names, places, event words, numbers: shared
            for member in story.members:
                self.story_of.pop(member.item_id, None)
            self.index.remove(story.id, keys, counted=True)
            del self.stories[story.id]
            self.retired[story.id] = (story.latest, keys)
        return len(old)

    def _drop(self, story: Story) -> None:
        for member in story.members:
            self.story_of.pop(member.item_id, None)
        self.index.remove(story.id, {k for m in story.members for k in item_keys(m)})
        del self.stories[story.id]

    # -- judging ----------------------------------------------------------------------------
    def candidates(self, item: Features) -> list[Story]:
        """The stories sharing the most keys with the item, and those sharing the most keys
        of every language (alias-table entities, numbers, dates): stories in the item's own
        language share its words too and would crowd a story in another language out."""
        s = self.settings
        lo, hi, least = item.time - s.window, item.time + s.window, s.min_shared_keys
        if self.index.stale:
            self._refile()
        # only the buckets whose stories can begin within the window (index.py)
        index = self.index
        first, last = index.bucket(lo), index.bucket(hi)
        buckets, sizes, common = index.buckets, index.sizes, s.common_key_stories
        found = []  # the id sets of the item's keys in the window
        every_language = []  # those of keys of every language, counted only if needed
        for k in item_keys(item):
            n = sizes.get(k)
            if n and n <= common:  # how many stories carry it in all, in the window or not
                everywhere = not k.startswith(("t:", "n:"))
                for at, ids in buckets.get(k, _NONE).items():  # none: only retired ones
                    if first <= at <= last:
                        found.append(ids)
                        if everywhere:
                            every_language.append(ids)
        # counted at once: Counter.update per set costs a Python call and a type check each
        # (some twenty sets per item), chained they are one count in C
        hits = Counter(chain.from_iterable(found))
        # stories sharing enough keys and within the window, most keys in common first, then
        # the latest: an order that does not depend on how sets of strings happen to iterate
        # (it changes with the hash seed)
        stories = self.stories
        pool = []
        for story_id, shared in hits.items():
            if shared >= least:
                story = stories[story_id]
                if story.latest <= hi and story.earliest >= lo:
                    pool.append((-shared, -story.latest, story_id, story))
        pool.sort()  # story ids are unique: the stories themselves are never compared
        chosen = [p[3] for p in pool[: s.candidates]]
        if len(pool) > s.candidates and s.neutral_candidates:
            neutral = Counter(chain.from_iterable(every_language))
            rest = [(-neutral[p[2]], p[1], p[2], p[3]) for p in pool[s.candidates :]]
            rest.sort()
            chosen += [p[3] for p in rest[: s.neutral_candidates] if p[0] < 0]
        return chosen

    def _weights(self, item: Features) -> dict[str, float]:
        """The idf weight of each of an item's terms (computed once per item): log(1 + (N +
        1) / (1 + df)), N the stories in memory, df those carrying the term."""
        if self._weighed is None or self._weighed[0] is not item:
            stories, df, lang = self.counted + 1, self.index.count, item.lang
            weights = {t: math.log(1.0 + stories / (1.0 + df(f"t:{lang}:{t}"))) for t in item.terms}
            self._weighed = (item, weights)
        return self._weighed[1]

    def _others(self, item: Features) -> tuple[frozenset[str], dict[str, int]]:
        """The item's alias-table names and places, and how many stories of its window carry
        each (a key in more stories than `common_key_stories` counts them all)."""
        if self._counted is None or self._counted[0] is not item:
            if self.index.stale:
                self._refile()
            s, stories = self.settings, self.stories
            # an earlier member judged again counts only stories the arriving item's window
            # holds too: those a window behind it may be retired (`retire`), and retiring
            # must change no decision
            lo, hi = max(item.time, self._arriving) - s.window, item.time + s.window
            found = {}
            entities = named(item)
            index = self.index
            first, last = index.bucket(lo), index.bucket(hi)
            for k in entities:
                size = index.count(k)
                if size > s.common_key_stories or not size:
                    found[k] = size
                    continue
                n = 0
                for ids in index.within(k, first, last):
                    for i in ids:  # a plain loop: a third faster than a list and a generator
                        st = stories[i]
                        if st.latest <= hi and st.earliest >= lo:
                            n += 1
                found[k] = n
            self._counted = (item, (entities, found))
        return self._counted[1]

    def measure(
        self, item: Features, story: Story, *, floor: float | None = None
    ) -> Evidence | None:
        """The evidence an item has for a story, or None when it may not join it at all (out
        of the window; an announcement and the event it announces; a veto), or when its score
        cannot reach `floor`."""
        s = self.settings
        if not story.latest - s.window <= item.time <= story.earliest + s.window:
            return None
        if self._kept_out(item, story):
            return None
        entities, others = self._others(item)
        return measure(
            item, story, term_weights=self._weights(item), others=others, entities=entities,
            text_members=s.text_members, text_jaccard=s.text_jaccard, checked=s.vetoes,
            weights=s.weight, floor=floor,
        )  # fmt: skip

    def _kept_out(self, item: Features, story: Story) -> bool:
        """An announcement and the event it announces, or a veto: another day's, round's,
        cast's or count's happening, or the next day's."""
        if another_announcement(item, story, by_day=self.settings.previews_by_day):
            return True
        return any(VETOES[veto](item, story) for veto in self.settings.vetoes)

    def evaluate(self, item: Features, story: Story) -> Match | None:
        """Why an item may join a story (its weighed evidence), or None when it may not."""
        s = self.settings
        nearest = nearest_hours(story.times, item.time)
        if nearest > s.gap_hours and item.shingles.isdisjoint(story.shingles):
            return None  # too far from every member, and no text to be a copy of
        evidence = self.measure(item, story, floor=s.threshold)
        if evidence is None:
            return None
        weight = s.weight
        values = evidence.values
        score = weight.get("bias", 0.0) + math.fsum(
            v * weight[f] for f, v in values.items() if v and f in weight
        )
        if score < s.threshold:
            return None
        parts = contributions(values, weight)
        kinds = kinds_of(parts)
        copy = values["copy"] > 0
        if len(kinds) < s.min_kinds and not copy and len(evidence.cast) < s.cast:
            return None  # one shared thing (two people meet often), unless a whole cast
        if s.figure_words and figure_alone(kinds, evidence):
            return None  # in one language, a number and event words alone: two happenings
        if values["across"] and score < s.threshold + s.across_margin and _unanchored(kinds):
            return None  # across languages, names and event words alone need a higher score
        if not copy and (
            evidence.gap_hours > s.gap_hours
            or ((item.time - story.earliest) / 3600.0 > s.late_hours and len(kinds) < s.late_kinds)
        ):
            return None  # a follow-up days later, or a reaction: another event
        shared = {kind: shown(keys) for kind, keys in evidence.shared.items()}
        shared["weights"] = [f"{f} {c:+.2f}" for f, c in parts.items()]
        matched = evidence.matched if copy else "centroid"
        return Match(story.id, kinds, round(score, 3), matched, shared, evidence.gap_hours)

    def assign(self, item: Features) -> Decision:
        """Judge a new item: join the best story it matches, or found a new one."""
        if item.item_id in self.story_of:
            story_id = self.story_of[item.item_id]
            return Decision(item.item_id, story_id, None)
        self._arriving = item.time
        offered = self.candidates(item)
        matches = [m for st in offered if (m := self.evaluate(item, st))]
        # a copy of a member's text is that member's event; else the highest score
        matches.sort(key=lambda m: (m.matched != "centroid", m.similarity), reverse=True)
        if not matches:
            story_id = self._new_id()
            self.place(item, story_id)
            return Decision(item.item_id, story_id, None)
        best = matches[0]
        merged = []
        for other in matches[1:]:
            if self._same_event(best.story_id, other.story_id):
                merged.append(self._merge(best.story_id, other.story_id))
        self.place(item, best.story_id)
        rejoined = []
        for absorbed, member_id, match in self._regroup(best.story_id, offered):
            merged.append(absorbed)
            rejoined.append((member_id, match))
        return Decision(item.item_id, best.story_id, best, tuple(merged), tuple(rejoined))

    def _regroup(self, story_id: int, offered: list[Story]) -> list[tuple[int, int, Match]]:
        """The reports left on their own among the stories offered beside the one an item
        has just joined that would join it now, merged in: a report judged against a story's
        first members alone may match the story as a whole once it has grown, and the order
        in which reports arrive should not decide. Each is judged as a new item would be
        (`evaluate`: two kinds of evidence, the story's core, every veto)."""
        s, story = self.settings, self.stories[story_id]
        found: list[tuple[int, int, Match]] = []
        if not s.regroup:
            return found
        for other in offered:
            if other.size != 1 or self.stories.get(other.id) is not other:
                continue  # a story of several, or merged into another meanwhile
            member = other.members[0]
            if (
                another_announcement(member, story, by_day=s.previews_by_day)
                or not story.latest - s.window <= member.time <= story.earliest + s.window
                or (
                    nearest_hours(story.times, member.time) > s.gap_hours
                    and not any(h in story.shingles for h in member.shingles)
                )
                or any(v(member, story) for n, v in MEMBER_VETOES.items() if n in s.vetoes)
            ):
                continue  # kept out whatever it shares (`evaluate`): not rebuilt as an item
            match = self.evaluate(member.features(), story)
            if match is not None:
                found.append((self._merge(story_id, other.id), member.item_id, match))
        return found

    def _same_event(self, kept: int, other: int) -> bool:
        """Two stories are one when at least half of the smaller one's members would join
        the larger one (a story is judged as a whole, not by its first member alone) and
        none of them is kept out of it whatever its score."""
        a, b = self.stories[kept], self.stories[other]
        small, large = (a, b) if a.size < b.size else (b, a)
        members = [member.features() for member in small.members]  # rebuilt once, used twice
        # a member the larger story keeps out whatever its score stays out of it: a merge
        # must not bring in what a join could not (Zelensky's address on the call the day
        # before, beside a report the two share)
        if any(self._kept_out(features, large) for features in members):
            return False
        joins = 0
        for n, features in enumerate(members, start=1):
            joins += self.evaluate(features, large) is not None
            if joins * 2 >= small.size:
                return True
            if (joins + small.size - n) * 2 < small.size:
                return False  # even the rest joining would not make half
        return False

    def _merge(self, kept: int, absorbed: int) -> int:
        story = self.stories[absorbed]
        self._drop(story)
        for member in story.members:
            self._put(member, kept)
        return absorbed
