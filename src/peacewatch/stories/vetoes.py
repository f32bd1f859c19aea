"""What keeps an item out of a story whatever else it shares: another day's, round's, cast's,
count's, place's or venue's happening, the next day's or a repeat, an answer to what the story
reports, an arrival and what followed it, an announcement and the happening it announces.
Each reads the story as a whole (most of its members: `majority`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable
from datetime import date
from typing import TYPE_CHECKING

from peacewatch.stories.majority import need

if TYPE_CHECKING:
    from peacewatch.stories.features import Features
    from peacewatch.stories.story import Member, Story

MIN_DAYS_APART = 2  # a day later is often the same happening's second day or its aftermath


def other_people(item: Features | Member, story: Story) -> bool:
    """The item's headline names someone most of the story's headlines do not, most of them
    name someone the item's headline does not, and they have at most one person in common:
    the same people are not involved (Trump and Putin, then Trump and Zelensky). Two in
    common (Putin and Witkoff, with Peskov or Trump beside them) are the same meeting. A
    secondary person (a spokesman, an aide, an envoy: `Entity.secondary`) named beside a
    principal is no one else: Dmitriev at Witkoff's talks with Putin; named alone, he is.
    (A story's member is read as it is kept, without being rebuilt: `MEMBER_VETOES`.)"""
    mine: Collection[str] = item.title_people
    if not mine:
        return False
    people = story.core_of()[0]
    if len(people.intersection(mine)) > 1:
        return False
    if item.title_aides:
        mine = frozenset(mine).difference(item.title_aides) or mine
    theirs = (people - story.aides) or people if story.aides else people
    return not people.issuperset(mine) and bool(theirs.difference(item.title_people))


def other_day(item: Features, story: Story) -> bool:
    """The item gives the day of what it reports, most of the story's members that give one
    agree on theirs, and the two are two days or more apart: the second stage of an exchange
    two days after the first. A date recalled from weeks before is not read
    (`reading.RECENT_DAYS`). The distance is to the days most of them agree on, not to a
    day one member gives: the letter's reports dated 11 July and one of them 12 July (the
    day it was made known) keep out the sender's hopes for it on the 13th (dev half A 0.996 /
    0.857, 0.993 / 0.841 -> 0.998 / 0.856, 0.997 / 0.841, half B unchanged)."""
    if not item.days or not story.dated:
        return False
    days = {d for d, c in story.days.items() if c * 2 > story.dated}
    if not days or not item.days.isdisjoint(story.days):
        return False
    apart = min(abs(day_number(a) - day_number(b)) for a in item.days for b in days)
    return apart >= MIN_DAYS_APART


def day_number(key: str) -> int:
    """'d:MM-DD' as a day of a leap year, with the turn of the year folded (December 31 and
    January 1 are a day apart)."""
    month, day = (int(x) for x in key[2:].split("-"))
    return (date(2024, month, day) - date(2024, 1, 1)).days


def other_round(item: Features, story: Story) -> bool:
    """The item names the ordinal of a round or stage ('the second stage'), most of the
    story's members that name one agree on theirs, enough of them to be its core (`need`),
    and the two differ."""
    if not story.counted:  # checked first: most stories name no round
        return False
    mine = {k for k in item.numbers if k.startswith("r:")}
    if not mine:
        return False
    # one member's ordinal is not a story's of several: the others may not say ('talks to
    # continue in coming days' beside 'the second round will be held'), as for counts
    least = need(story.size)
    rounds = {r for r, c in story.rounds.items() if c * 2 > story.counted and c >= least}
    return bool(rounds) and rounds.isdisjoint(mine)


def is_count(number: str) -> bool:
    """A number key that counts something ('185', 'x:300'), not a date, a round or a plan's
    points."""
    return number[:1].isdigit() or number.startswith("x:")


def _value(number: str) -> int:
    return int(number[2:] if number.startswith("x:") else number)


def agree(a: str, b: str) -> bool:
    """Two counts that may be one event's: from a hundred on, equal within 3 or 1% ('1,003'
    and '1,000' bodies, '302' and '300 each' freed), below it within 1 ('in 24 years' and
    '26 countries' are two things: on one day 0.854 / 0.791 -> 0.855 / 0.796, dev
    unchanged); or a total twice the terms of an exchange ('50' and '25 on 25')."""
    x, y = _value(a), _value(b)
    least = min(x, y)
    if abs(x - y) <= (max(3, least // 100) if least >= 100 else 1):
        return True
    return (a.startswith("x:") and y == 2 * x) or (b.startswith("x:") and x == 2 * y)


def other_figure(item: Features | Member, story: Story) -> bool:
    """The item gives counts ('1,212 bodies', '50 prisoners') none of the story's members
    gives, and the story's core gives one the item does not: two exchanges or repatriations
    in the same words, told apart by their figures. A count any member gives, or one that
    agrees with it (`agree`), keeps the item in: sides and outlets count differently."""
    figures = story.figures
    if not figures or not item.numbers:
        return False
    mine = [k for k in item.numbers if is_count(k)]
    if not mine or any(k in figures for k in mine):
        return False
    least = need(story.size)
    if not any(c >= least for c in figures.values()):
        return False
    return not any(agree(k, f) for k in mine for f in figures)


DAY = 86400.0


def next_day(item: Features, story: Story) -> bool:
    """The item puts what it reports a day after another happening ('a day after talks in
    the Kremlin', 'накануне', `cues.follows_another`), and most of the story's members were
    published on an earlier day than the item: the story is the happening it recalls
    (Macron in Kyiv the day after Moscow, Zelensky's address on the call the day before)."""
    if not item.follows:
        return False
    return _earlier_day(item, story)


def _earlier_day(item: Features, story: Story) -> bool:
    """Whether most of the story's members were published on an earlier (UTC) day than the
    item."""
    return bisect_left(story.times, item.time - item.time % DAY) * 2 > story.size


def another_announcement(item: Features | Member, story: Story, *, by_day: bool = True) -> bool:
    """The item announces what is still to come ('Trump to meet Zelensky', `cues.is_preview`)
    and most of the story's members report the happening, or the other way round: a preview
    is not the event it announces. With `by_day`, on the day most of the story's members came
    out, only when one side names a later day and the other does not (`Features.ahead`): a
    preview of that day ('to meet Putin tonight', or no day at all) is the day's coverage of
    the happening, and two reports that announce one later day are one announcement, whatever
    their cue words (dev 0.944 / 0.814, 0.947 / 0.797 -> 0.946 / 0.840, 0.951 / 0.827; on one
    day 0.788 / 0.554, 0.755 / 0.502 -> 0.792 / 0.576, 0.761 / 0.515; without the later day,
    dev 0.946 / 0.846, 0.951 / 0.831 but on one day 0.765 / 0.578, 0.722 / 0.514)."""
    if item.preview == (story.previews * 2 > story.size):
        return False
    if not by_day:
        return True
    start = item.time - item.time % DAY
    that_day = bisect_left(story.times, start + DAY) - bisect_left(story.times, start)
    return that_day * 2 <= story.size or item.ahead != (story.aheads * 2 > story.size)


def arrival_apart(item: Features, story: Story) -> bool:
    """An arrival and what followed it on another day: the item's headline reports an
    arrival ('Guterres arrives in Kazan', `cues.is_arrival`) and most of the story's members
    report something else on a later day (his talks with Putin the next day), or the other
    way round. On the same day the arrival and the talks are one happening."""
    if item.arrival:
        start = item.time - item.time % DAY + DAY  # the next UTC day
        later = len(story.times) - bisect_left(story.times, start)
        return story.arrivals * 2 < story.size and later * 2 > story.size
    return story.arrivals * 2 > story.size and _earlier_day(item, story)


def again(item: Features, story: Story) -> bool:
    """The item's headline says it repeats an earlier happening ('second call in two days',
    'вдруге', 'во второй раз', 'again': `cues.repeats_another`) or hopes for what one brings
    ('Guterres hopes proposals sent to Putin will salvage grain deal': `cues.hopes_for`), and
    most of the story's members were published on an earlier day than the item: the story is
    the happening it repeats (Zelensky's call with Trump the day before) or hopes for (his
    letter; dev half A 0.994 / 0.841, 0.994 / 0.829 -> 0.996 / 0.842, 0.998 / 0.829, half B
    unchanged)."""
    return item.repeats and _earlier_day(item, story)


def reaction(item: Features, story: Story) -> bool:
    """The item's headline says it answers someone's words or deeds ('Zelensky reacted to
    the statements of Trump', 'ответил на слова', `cues.answering`), most of the story's
    headlines name whom it answers, and most of its members answer no one: the story is
    what the item answers. A story of answers keeps out a headline naming whom they answer
    only when it names that person first (`Features.subject`, its speaker): "Trump accuses
    Putin of talking bullshit" beside "Trump criticised ... Putin" is the answer told
    without a cue, "Trump calls Zelensky a dictator" beside "Zelensky reacted to Trump" what
    it answers (chosen on dev half B: 0.970 / 0.812 -> 0.970 / 0.814 within a language;
    half A 0.996 / 0.842, 0.998 / 0.829 -> 0.996 / 0.847, 0.998 / 0.831)."""
    if not story.answers * 2 > story.size:
        return bool(item.answered) and not item.answered.isdisjoint(story.core_of()[0])
    if item.answered:
        return False
    answered = {p for p, c in story.answered.items() if c * 2 > story.size}
    if item.subject and item.subject not in answered:
        return False  # told by someone else than whom the story answers: the answerer's
    return not answered.isdisjoint(item.title_people)


def other_place(item: Features, story: Story) -> bool:
    """The item's headline puts its happening in a place ('Macron arrives in Ukraine'), most
    of the story's headlines that put theirs in one agree on another ('talks in the
    Kremlin'), enough of them to be its core, and the item came out on a later day than
    most of the story's members: the same people the next day somewhere else. On the same
    day only when neither names the other's place anywhere in its headline or lead: Orban in
    Kyiv and Orban in Moscow; an arrival 'in Turkey' whose lead names Istanbul, the story's
    place, stays in (dev 0.997 / 0.809, 0.997 / 0.796 -> 0.997 / 0.807, 0.997 / 0.798; on
    one day 0.836 / 0.567, 0.775 / 0.528 -> 0.854 / 0.569, 0.791 / 0.525; without that
    condition dev's recall fell to 0.784 / 0.762)."""
    if not item.where or not story.placed:
        return False
    least = need(story.size)
    places = {p for p, c in story.where.items() if c * 2 > story.placed and c >= least}
    if not places or not places.isdisjoint(item.where):
        return False
    if _earlier_day(item, story):
        return True
    # the same day: only when neither names the other's place anywhere
    mine = item.places | item.names
    return places.isdisjoint(mine) and not any(story.entities[p] for p in item.where)


def _leaves(paths: Iterable[str]) -> list[str]:
    """The most specific of some venues' paths: 'united-nations' beside
    'united-nations/un-security-council' says nothing more."""
    every = list(paths)
    return [p for p in every if not any(q.startswith(p + "/") for q in every)]


def other_venue(item: Features, story: Story) -> bool:
    """The item names a place or organisation of one `within` tree of the alias table as the
    story's core venue, neither lying within the other, and none that does: Zelensky at the
    Security Council the day after the General Assembly (both of the United Nations), talks
    in Antalya beside talks in Istanbul (both in Turkey). Naming only the whole ('at the UN',
    'in Turkey') or a part of the core's venue keeps the item in."""
    if not item.venues or not story.venues:
        return False
    least = need(story.size)
    core = _leaves(p for p, c in story.venues.items() if c >= least)
    if not core:
        return False
    mine = _leaves(item.venues)
    if any(x == y or x.startswith(y + "/") or y.startswith(x + "/") for x in mine for y in core):
        return False
    roots = {y.split("/", 1)[0] for y in core}
    return any(x.split("/", 1)[0] in roots for x in mine)


# The evidence that can keep an item out whatever else it shares (`Settings.vetoes`)
VETOES: dict[str, Callable[[Features, Story], bool]] = {
    "other_day": other_day, "other_round": other_round, "other_people": other_people,
    "other_figure": other_figure, "next_day": next_day, "again": again,
    "other_venue": other_venue, "other_place": other_place, "reaction": reaction,
    "arrival_apart": arrival_apart,
}  # fmt: skip
# The vetoes that read a story's member as it is kept (`story.Member`) as well: checked first
# when a member is judged again (`cluster.Clusterer._regroup`), before it is rebuilt as an item
MEMBER_VETOES: dict[str, Callable[[Features | Member, Story], bool]] = {
    "other_people": other_people, "other_figure": other_figure,
}  # fmt: skip
