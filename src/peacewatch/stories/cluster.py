"""Incremental story clustering over a window on the publication time.

An item is compared only with the stories an inverted index offers (stories sharing its rarer
terms, names, places or numbers) whose members all lie within `window_hours` of it, never
with all pairs. It joins a story only on at least two independent kinds of evidence, and the
evidence must be the story's as a whole: a shared term, name or number counts only when most
of the story's members (in the item's language, for terms) carry it, so A~B and B~C never
chain into one story about two events. Near-identical text (syndicated copy: word-shingle
Jaccard) is measured against single members, as a copy of a member is that member's event.
Items tagged with initiatives none of the story's members has join it only on three kinds of
evidence or more: the tagging stage can miss or mistake one member's initiative.

Across languages the rule is stricter: a shared entity from the curated alias table (people,
organisations, places) and three kinds of evidence in all (names, places, numbers and dates,
event words such as 'prisoner exchange'); three distinct entities in common (Putin, Witkoff
and Peskov; not Istanbul and the Turkey it lies in), or two event words besides talks and a
meeting (a signing and the grain deal), count as one kind more. A wrong merge is worse than
a missed one.

A late item that joins two stories merges them only when at least half of the smaller
story's members would also join the larger one; the merge is reported so the store can log it
and undo it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import count

from peacewatch.stories.features import Features

KINDS = ("text", "terms", "names", "places", "numbers")


@dataclass(frozen=True)
class Settings:
    """What decides whether an item joins a story; its version is stored with every member."""

    window_hours: float = 72.0  # every member within this of every other
    text_jaccard: float = 0.5  # shingle Jaccard for near-identical text
    terms_score: float = 0.3  # share of the item's term weight (idf) in the story's core
    terms_shared: int = 3  # at least this many shared core terms
    title_share: float = 0.4  # or this share of the headline's terms in the story's core
    min_kinds: int = 2  # kinds of evidence within a language
    cross_entities: int = 1  # alias-table names and places shared across languages
    cross_kinds: int = 3  # kinds of evidence across languages
    cross_many_entities: int = 3  # this many shared entities count as one more kind
    cross_many_topics: int = 2  # and this many shared event words, besides the commonest:
    common_topics: tuple[str, ...] = ("e:talks", "e:meeting")  # nearly every story has these
    tags_overridden_by: int = 3  # kinds of evidence that outweigh different initiative tags
    min_language_members: int = 3  # fewer members in the item's language: rule across too
    entity_rule_within: bool = True  # the rule across languages also within one language
    gap_hours: float = 36.0  # a member this close in time, unless the text is near-identical
    late_hours: float = 40.0  # an item this long after the story's first member needs
    late_kinds: int = 4  # this many kinds of evidence, unless the text is near-identical
    date_veto: bool = True  # another recent date or round than the story's keeps an item out
    candidates: int = 8  # stories compared in full per item
    neutral_candidates: int = 4  # and this many more sharing the most keys of every language
    min_shared_keys: int = 2  # a candidate shares at least this many indexed keys
    common_key_stories: int = 200  # a key in more stories than this is not looked up
    text_members: int = 12  # latest same-language members compared for near-identical text

    @property
    def window(self) -> float:
        return self.window_hours * 3600.0

    def version(self, aliases_digest: str = "") -> str:
        text = repr(sorted(asdict(self).items())) + aliases_digest
        return "s" + hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass
class Story:
    """A story's members and the counts its core (majority) evidence is read from."""

    id: int
    members: list[Features] = field(default_factory=list)
    earliest: float = math.inf
    latest: float = -math.inf
    langs: Counter[str | None] = field(default_factory=Counter)
    terms: dict[str | None, Counter[str]] = field(default_factory=dict)
    entities: Counter[str] = field(default_factory=Counter)  # names, places, topics, numbers
    initiatives: Counter[str] = field(default_factory=Counter)
    outlets: Counter[str] = field(default_factory=Counter)
    shingles: set[int] = field(default_factory=set)  # every member's, to skip text checks
    previews: int = 0  # members whose headline announces what is still to come
    title_people: Counter[str] = field(default_factory=Counter)  # people named in headlines
    days: Counter[str] = field(default_factory=Counter)  # members' recent dates ('d:06-10')
    dated: int = 0  # members giving a recent date
    rounds: Counter[str] = field(default_factory=Counter)  # ordinals of rounds, stages ('r:2')
    counted: int = 0  # members giving one

    @property
    def size(self) -> int:
        return len(self.members)

    def add(self, item: Features) -> None:
        self.members.append(item)
        self.earliest = min(self.earliest, item.time)
        self.latest = max(self.latest, item.time)
        self.langs[item.lang] += 1
        self.terms.setdefault(item.lang, Counter()).update(item.terms)
        self.entities.update(item.names | item.places | item.topics | item.numbers)
        self.initiatives.update(item.initiatives)
        self.outlets[item.outlet] += 1
        self.shingles.update(item.shingles)
        self.previews += item.preview
        self.title_people.update(item.title_people)
        self.days.update(item.days)
        self.dated += bool(item.days)
        rounds = [k for k in item.numbers if k.startswith("r:")]
        self.rounds.update(rounds)
        self.counted += bool(rounds)


@dataclass(frozen=True)
class Match:
    """Why an item may join a story."""

    story_id: int
    kinds: tuple[str, ...]
    similarity: float
    matched: str  # 'centroid', or 'item:ID' for near-identical text
    shared: dict[str, list[str]]
    gap_hours: float


@dataclass(frozen=True)
class Decision:
    """Where an item went: a story it joined (with the match) or a new singleton."""

    item_id: int
    story_id: int
    match: Match | None  # None: founded a new story
    merged: tuple[int, ...] = ()  # stories folded into story_id because of this item


def item_keys(item: Features) -> Iterator[str]:
    """The keys an item is indexed and looked up under."""
    for term in item.terms:
        yield f"t:{item.lang}:{term}"
    yield from item.names
    yield from item.places
    yield from item.topics
    yield from item.numbers


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _core(count: int, size: int) -> bool:
    """Whether a key carried by `count` of a story's `size` members is the story's: a strict
    majority of up to three members, else at least two members and a third of them. One
    member alone never speaks for a story of several, so A~B~C cannot chain."""
    if size <= 3:
        return count * 2 > size
    return count >= max(2, -(-size // 3))


def _other_people(item: Features, story: Story) -> bool:
    """The item's headline names someone most of the story's headlines do not, most of them
    name someone the item's headline does not, and they have at most one person in common:
    the same people are not involved (Trump and Putin, then Trump and Zelensky). Two in
    common (Putin and Witkoff, with Peskov or Trump beside them) are the same meeting."""
    if not item.title_people:
        return False
    core = {p for p, c in story.title_people.items() if c * 2 > story.size}
    shared = item.title_people & core
    return len(shared) <= 1 and bool(item.title_people - core) and bool(core - item.title_people)


def _other_day(item: Features, story: Story) -> bool:
    """The item gives the day of what it reports, most of the story's members that give one
    agree on theirs, and the two differ: the second stage of an exchange the day after the
    first, a call on the 29th after one on the 28th. A date recalled from weeks before is not
    read (`features.RECENT_DAYS`)."""
    if not item.days or not story.dated:
        return False
    core = {d for d, c in story.days.items() if c * 2 > story.dated}
    if not core or not item.days.isdisjoint(story.days):
        return False
    apart = min(abs(_day_number(a) - _day_number(b)) for a in item.days for b in story.days)
    return apart >= MIN_DAYS_APART


MIN_DAYS_APART = 2  # a day later is often the same happening's second day or its aftermath


def _day_number(key: str) -> int:
    """'d:MM-DD' as a day of a leap year, with the turn of the year folded (December 31 and
    January 1 are a day apart)."""
    month, day = (int(x) for x in key[2:].split("-"))
    return (date(2024, month, day) - date(2024, 1, 1)).days


def _other_round(item: Features, story: Story) -> bool:
    """The item names the ordinal of a round or stage ('the second stage'), most of the
    story's members that name one agree on theirs, and the two differ."""
    mine = {k for k in item.numbers if k.startswith("r:")}
    if not mine or not story.counted:
        return False
    core = {r for r, c in story.rounds.items() if c * 2 > story.counted}
    return bool(core) and core.isdisjoint(mine)


def _distinctive(number: str) -> bool:
    """A figure unlikely to be shared by chance: not a date, not round (1000, 200, 30), or
    the terms of an exchange ('x:300': "300 на 300", "300 each")."""
    if number.startswith("x:"):
        return True
    return number.isdigit() and int(number) > 10 and int(number) % 10 != 0


def _shown(keys: Iterable[str]) -> list[str]:
    return sorted(k.split(":")[-1] for k in keys)


class Clusterer:
    """The stories of a window in memory, with an inverted index from keys to stories."""

    def __init__(
        self, settings: Settings | None = None, *, new_id: Callable[[], int] | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.stories: dict[int, Story] = {}
        self.story_of: dict[int, int] = {}
        self.index: dict[str, set[int]] = {}
        self._new_id = new_id or count(1).__next__
        self.latest = -math.inf
        self._weighed: tuple[Features, dict[str, float]] | None = None

    # -- building ---------------------------------------------------------------------------
    def place(self, item: Features, story_id: int) -> None:
        """Put an item into a story without judging it (loading decisions already stored)."""
        story = self.stories.get(story_id)
        if story is None:
            story = self.stories[story_id] = Story(story_id)
        story.add(item)
        self.story_of[item.item_id] = story_id
        self.latest = max(self.latest, item.time)
        for k in item_keys(item):
            self.index.setdefault(k, set()).add(story_id)

    def evict(self, before: float) -> int:
        """Forget stories whose latest member is older than `before`; returns how many."""
        old = [s for s in self.stories.values() if s.latest < before]
        for story in old:
            self._drop(story)
        return len(old)

    def _drop(self, story: Story) -> None:
        for member in story.members:
            self.story_of.pop(member.item_id, None)
            for k in item_keys(member):
                ids = self.index.get(k)
                if ids is not None:
                    ids.discard(story.id)
                    if not ids:
                        del self.index[k]
        del self.stories[story.id]

    # -- judging ----------------------------------------------------------------------------
    def candidates(self, item: Features) -> list[Story]:
        """The stories sharing the most keys with the item, and those sharing the most keys
        of every language (alias-table entities, numbers, dates): stories in the item's own
        language share its words too and would crowd a story in another language out."""
        s = self.settings
        hits: Counter[int] = Counter()
        neutral: Counter[int] = Counter()
        for k in item_keys(item):
            ids = self.index.get(k)
            if ids and len(ids) <= s.common_key_stories:
                hits.update(ids)
                if not k.startswith(("t:", "n:")):
                    neutral.update(ids)
        # stories sharing enough keys and within the window, most keys in common first, then
        # the latest: an order that does not depend on how sets of strings happen to iterate
        # (it changes with the hash seed)
        pool = []
        for story_id, shared in hits.items():
            if shared >= s.min_shared_keys:
                story = self.stories[story_id]
                if story.latest - s.window <= item.time <= story.earliest + s.window:
                    pool.append((-shared, -story.latest, story_id, story))
        pool.sort(key=lambda p: p[:3])
        chosen = [p[3] for p in pool[: s.candidates]]
        if len(pool) > s.candidates and s.neutral_candidates:
            rest = [(-neutral[p[2]], p[1], p[2], p[3]) for p in pool[s.candidates :]]
            rest.sort(key=lambda p: p[:3])
            chosen += [p[3] for p in rest[: s.neutral_candidates] if p[0] < 0]
        return chosen

    def _idf(self, lang: str | None, term: str) -> float:
        df = len(self.index.get(f"t:{lang}:{term}", ()))
        return math.log(1.0 + (len(self.stories) + 1) / (1.0 + df))

    def _weights(self, item: Features) -> dict[str, float]:
        """The idf weight of each of an item's terms (computed once per item)."""
        if self._weighed is None or self._weighed[0] is not item:
            self._weighed = (item, {t: self._idf(item.lang, t) for t in item.terms})
        return self._weighed[1]

    def evaluate(self, item: Features, story: Story) -> Match | None:
        """The evidence an item has for joining a story, or None when it may not join."""
        s = self.settings
        if not story.latest - s.window <= item.time <= story.earliest + s.window:
            return None
        # tagged with different initiatives: not the same event, unless the evidence is strong
        # (the tagging stage can miss or mistake one member's initiative)
        other_tags = bool(
            item.initiatives and story.initiatives and not item.initiatives & set(story.initiatives)
        )
        if other_tags and s.tags_overridden_by > len(KINDS):
            return None
        if item.preview != (story.previews * 2 > story.size):
            return None  # an announcement and the event it announces are two stories
        if _other_people(item, story):
            return None  # a call with Zelensky the day after a call with Putin is another event
        if s.date_veto and (_other_day(item, story) or _other_round(item, story)):
            return None  # another day's or another round's happening, whatever else is shared
        n, n_lang = story.size, story.langs.get(item.lang, 0)
        kinds: list[str] = []
        shared: dict[str, list[str]] = {}
        matched = "centroid"
        similarity = 0.0
        if n_lang and not item.shingles.isdisjoint(story.shingles):
            best, best_id = 0.0, 0
            same = [m for m in story.members if m.lang == item.lang][-s.text_members :]
            for member in same:
                j = _jaccard(item.shingles, member.shingles)
                if j > best:
                    best, best_id = j, member.item_id
            if best >= s.text_jaccard:
                kinds.append("text")
                matched = f"item:{best_id}"
                similarity = max(similarity, best)
        if n_lang:
            counts = story.terms.get(item.lang, Counter())
            core_terms = [t for t in item.terms if _core(counts[t], n_lang)]
            weights = self._weights(item)
            total = math.fsum(weights.values()) or 1.0  # exact: the same in any order
            score = math.fsum(weights[t] for t in core_terms) / total
            headline = [t for t in item.title_terms if _core(counts[t], n_lang)]
            title_share = len(headline) / len(item.title_terms) if item.title_terms else 0.0
            if len(core_terms) >= s.terms_shared and (
                score >= s.terms_score or title_share >= s.title_share
            ):
                kinds.append("terms")
                shared["terms"] = sorted(core_terms)
            similarity = max(similarity, score, title_share)

        def core(keys: frozenset[str]) -> list[str]:
            return [
                k for k in keys if _core(story.entities[k], n_lang if k.startswith("n:") else n)
            ]

        names, places = core(item.names), core(item.places)
        numbers, topics = core(item.numbers), core(item.topics)
        for kind, keys in (("names", names), ("places", places), ("numbers", numbers)):
            if keys:
                kinds.append(kind)
                shared[kind] = _shown(keys)
        same_language = len(kinds) >= s.min_kinds and bool({"text", "terms"} & set(kinds))
        if not same_language:
            # the rule across languages: alias-table entities, and event words for terms;
            # also for an item whose language the story has too few members in to judge
            if n_lang >= s.min_language_members and not s.entity_rule_within:
                return None
            kinds = [k for k in kinds if k not in ("text", "terms")]
            shared.pop("terms", None)
            entities = [k for k in names + places if k.startswith("e:")]
            if topics:
                kinds.append("terms")
                shared["terms"] = _shown(topics)
            # a distinctive figure ('185 prisoners', not '1000' or '30') and the event word
            # in common are two kinds of evidence on their own, in any language
            figure = any(_distinctive(k) for k in numbers)
            # many named entities in common (three people and places, not a place and the
            # country it lies in), or two event words besides talks and a meeting (a signing
            # and the grain deal; troops and a ceasefire), stand for a kind of evidence
            many = len(set(entities) - item.implied) >= s.cross_many_entities or (
                len(set(topics) - set(s.common_topics)) >= s.cross_many_topics
            )
            if not (figure and topics) and (
                len(entities) < s.cross_entities or len(kinds) + many < s.cross_kinds
            ):
                return None
            matched = "centroid"
            similarity = len(kinds) / len(KINDS)
        if other_tags and len(kinds) < s.tags_overridden_by:
            return None
        gap = min(abs(item.time - m.time) for m in story.members) / 3600.0
        if gap > s.gap_hours and "text" not in kinds:
            return None  # a preview or a follow-up days later is another event
        late = (item.time - story.earliest) / 3600.0
        if late > s.late_hours and "text" not in kinds and len(kinds) < s.late_kinds:
            return None  # days after a story began: a reaction or a follow-up, not its event
        order = [k for k in KINDS if k in kinds]
        return Match(story.id, tuple(order), round(similarity, 3), matched, shared, round(gap, 2))

    def assign(self, item: Features) -> Decision:
        """Judge a new item: join the best story it matches, or found a new one."""
        if item.item_id in self.story_of:
            story_id = self.story_of[item.item_id]
            return Decision(item.item_id, story_id, None)
        matches = [m for st in self.candidates(item) if (m := self.evaluate(item, st))]
        matches.sort(key=lambda m: (len(m.kinds), m.similarity), reverse=True)
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
        return Decision(item.item_id, best.story_id, best, tuple(merged))

    def _same_event(self, kept: int, other: int) -> bool:
        """Two stories are one when at least half of the smaller one's members would join
        the larger one (a story is judged as a whole, not by its first member alone)."""
        a, b = self.stories[kept], self.stories[other]
        small, large = (a, b) if a.size < b.size else (b, a)
        joins = 0
        for n, member in enumerate(small.members, start=1):
            joins += self.evaluate(member, large) is not None
            if joins * 2 >= small.size:
                return True
            if (joins + small.size - n) * 2 < small.size:
                return False  # even the rest joining would not make half
        return False

    def _merge(self, kept: int, absorbed: int) -> int:
        story = self.stories[absorbed]
        self._drop(story)
        for member in story.members:
            self.place(member, kept)
        return absorbed
