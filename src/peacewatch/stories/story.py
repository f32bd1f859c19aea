"""A story as the clusterer holds it: its members as tuples, and the counts its core
(majority) evidence is read from; and the keys an item is indexed and looked up under."""

from __future__ import annotations

import math
import sys
from bisect import insort
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from peacewatch.stories.evidence import named
from peacewatch.stories.features import Features
from peacewatch.stories.majority import need
from peacewatch.stories.vetoes import is_count


class Member(NamedTuple):
    """A story's member as the story keeps it: its features as tuples. A tuple of strings
    takes a quarter of a small frozenset's memory (an empty one none) and, holding only
    strings and numbers, is left alone by the garbage collector; the headline's text is not
    kept. A member judged as an item again (whether two stories are one) is rebuilt as
    `Features` with the same keys."""

    item_id: int
    time: float
    lang: str | None
    outlet: str
    initiatives: tuple[str, ...]
    terms: tuple[str, ...]
    title_terms: tuple[str, ...]
    shingles: tuple[int, ...]
    names: tuple[str, ...]
    places: tuple[str, ...]
    topics: tuple[str, ...]
    numbers: tuple[str, ...]
    preview: bool
    title_people: tuple[str, ...]
    implied: tuple[str, ...]
    days: tuple[str, ...]
    follows: bool
    repeats: bool
    venues: tuple[str, ...]
    where: tuple[str, ...]
    title_aides: tuple[str, ...]
    answered: tuple[str, ...]
    arrival: bool = False
    ahead: bool = False
    subject: str = ""

    @classmethod
    def of(cls, item: Features) -> Member:
        # names, places and numbers are new strings per item ('e:zelensky'): shared instead
        def shared(keys: frozenset[str]) -> tuple[str, ...]:
            return tuple(map(sys.intern, keys))

        return cls(
            item.item_id, item.time, item.lang, item.outlet, tuple(item.initiatives),
            tuple(item.terms), tuple(item.title_terms), tuple(item.shingles),
            shared(item.names), shared(item.places), shared(item.topics), shared(item.numbers),
            item.preview, shared(item.title_people), shared(item.implied), shared(item.days),
            item.follows, item.repeats, tuple(item.venues), tuple(item.where),
            shared(item.title_aides), shared(item.answered), item.arrival, item.ahead,
            sys.intern(item.subject),
        )  # fmt: skip

    def features(self) -> Features:
        return Features(
            item_id=self.item_id, time=self.time, lang=self.lang, outlet=self.outlet, title="",
            initiatives=frozenset(self.initiatives), terms=frozenset(self.terms),
            title_terms=frozenset(self.title_terms), shingles=frozenset(self.shingles),
            names=frozenset(self.names), places=frozenset(self.places),
            topics=frozenset(self.topics), numbers=frozenset(self.numbers), preview=self.preview,
            title_people=frozenset(self.title_people), implied=frozenset(self.implied),
            days=frozenset(self.days), follows=self.follows,
            repeats=self.repeats, venues=frozenset(self.venues), where=frozenset(self.where),
            title_aides=frozenset(self.title_aides), answered=frozenset(self.answered),
            arrival=self.arrival, ahead=self.ahead, subject=self.subject,
        )  # fmt: skip


@dataclass(slots=True)
class Story:
    """A story's members and the counts its core (majority) evidence is read from."""

    id: int
    members: list[Member] = field(default_factory=list)
    earliest: float = math.inf
    latest: float = -math.inf
    langs: Counter[str | None] = field(default_factory=Counter)
    terms: dict[str | None, Counter[str]] = field(default_factory=dict)
    entities: Counter[str] = field(default_factory=Counter)  # names, places, topics, numbers
    named: Counter[str] = field(default_factory=Counter)  # alias-table names and places
    initiatives: Counter[str] = field(default_factory=Counter)
    outlets: Counter[str] = field(default_factory=Counter)
    # every member's, to skip text checks: one member's own tuple until a second joins (a
    # set of a headline's and lead's 40-odd shingles takes 2 KB; most stories stay single)
    shingles: set[int] | tuple[int, ...] = ()
    previews: int = 0  # members whose headline announces what is still to come
    arrivals: int = 0  # members whose headline reports an arrival and no meeting
    aheads: int = 0  # members whose text names a day after the one it was written on
    answers: int = 0  # members whose headline answers someone's words ('responds to')
    answered: Counter[str] = field(default_factory=Counter)  # whom they answer ('e:trump')
    title_people: Counter[str] = field(default_factory=Counter)  # people named in headlines
    subjects: Counter[str] = field(default_factory=Counter)  # the first of them ('e:trump')
    aides: frozenset[str] = frozenset()  # the secondary ones among them (most have none)
    days: Counter[str] = field(default_factory=Counter)  # members' recent dates ('d:06-10')
    dated: int = 0  # members giving a recent date
    rounds: Counter[str] = field(default_factory=Counter)  # ordinals of rounds, stages ('r:2')
    counted: int = 0  # members giving one
    figures: Counter[str] = field(default_factory=Counter)  # counts members give ('185')
    venues: Counter[str] = field(default_factory=Counter)  # venues members name ('turkey/istanbul')
    where: Counter[str] = field(default_factory=Counter)  # places headlines put it in
    placed: int = 0  # members whose headline puts it in a place
    times: list[float] = field(default_factory=list)  # the members' times, in order
    by_lang: dict[str | None, list[Member]] = field(default_factory=dict)  # members
    _core: tuple[int, frozenset[str], tuple[str, ...]] | None = None  # size, people, named

    def core_of(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The people most of the story's headlines name, and its core alias-table names
        and places (recomputed only when a member has joined)."""
        if self._core is None or self._core[0] != self.size:
            size = self.size
            people = frozenset(p for p, c in self.title_people.items() if c * 2 > size)
            least = need(size)
            self._core = (size, people, tuple(k for k, c in self.named.items() if c >= least))
        return self._core[1], self._core[2]

    @property
    def size(self) -> int:
        return len(self.members)

    def add(self, item: Member) -> None:
        self.members.append(item)
        self.by_lang.setdefault(item.lang, []).append(item)
        insort(self.times, item.time)
        self.earliest = min(self.earliest, item.time)
        self.latest = max(self.latest, item.time)
        self.langs[item.lang] += 1
        self.terms.setdefault(item.lang, Counter()).update(item.terms)
        self.entities.update({*item.names, *item.places, *item.topics, *item.numbers})
        self.named.update(named(item))
        self.initiatives.update(item.initiatives)
        self.outlets[item.outlet] += 1
        shingles = self.shingles
        if isinstance(shingles, set):
            shingles.update(item.shingles)
        elif shingles:
            self.shingles = {*shingles, *item.shingles}
        else:
            self.shingles = item.shingles
        self.previews += item.preview
        self.arrivals += item.arrival
        self.aheads += item.ahead
        if item.answered:
            self.answers += 1
            self.answered.update(item.answered)
        self.title_people.update(item.title_people)
        if item.subject:
            self.subjects[item.subject] += 1
        if item.title_aides:
            self.aides = self.aides.union(item.title_aides)
        self.days.update(item.days)
        self.dated += bool(item.days)
        rounds = [k for k in item.numbers if k.startswith("r:")]
        self.rounds.update(rounds)
        self.counted += bool(rounds)
        self.figures.update(k for k in item.numbers if is_count(k))
        if item.venues:
            self.venues.update(item.venues)
        if item.where:
            self.where.update(item.where)
            self.placed += 1


def item_keys(item: Features | Member) -> Iterator[str]:
    """The keys an item is indexed and looked up under."""
    for term in item.terms:
        yield f"t:{item.lang}:{term}"
    yield from item.names
    yield from item.places
    yield from item.topics
    yield from item.numbers
