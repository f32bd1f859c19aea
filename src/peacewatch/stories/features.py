"""An item as comparable keys: content terms, word shingles, names, places, numbers and dates.

Everything is computed from the headline and the lead (the first sentences of the summary),
the only text every source gives. Terms are stems (en, ru) or lemmas (uk); names are the alias
table's entities plus, within one language, capitalised words the table does not know
(Medinsky, Umerov). Numbers are those of 10 and more that are not years, in figures or in
words ("twenty-six", "двісті", "тысяча"); a day with a month name ("15 August", "15 серпня",
"15 августа") or a day of the week ("on Thursday", "у четвер", "в четверг": the last such day
by publication) becomes a date key, and the ordinal of a round or stage ("3rd round",
"третій раунд") a round key, the same in every language (`reading.py` reads the words and
figures).
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime

from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cues import (
    answering,
    aside_from,
    follows_another,
    hopes_for,
    is_arrival,
    is_preview,
    names_a_later_day,
    placed,
    repeats_another,
)
from peacewatch.stories.reading import (
    STOPWORDS,
    WEEKDAYS,
    dates_and_numbers,
    later_day,
    read_word,
    recent_days,
)
from peacewatch.stories.words import key, script_language, words

LEAD_CHARS = 320  # the lead: the summary's first sentences up to about this length
SHINGLE = 3  # words per shingle

# Capitalised titles are not names ("President", "Defence Minister", "Secretary of State")
_TITLES = """president presidents minister ministers prime chancellor secretary vice foreign
    defence defense general special envoy envoys spokesman spokesperson spokeswoman state
    deputy head chief adviser advisor aide national security office council army
    senator senate congress parliament government"""
TITLES = frozenset(key(w, "en") for w in _TITLES.split())

# The event word of a headline that says it repeats an earlier happening ('second call in two
# days', 'вдруге', 'во второй раз'), in every language
REPEAT_TOPIC = "e:again"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(slots=True)
class Features:
    """One item, ready to compare. `time` is seconds since the epoch (published, else first
    seen); `names` and `places` hold entity ids ('e:zelensky') and, for names, unknown
    capitalised words of the item's language ('n:ru:мединск')."""

    item_id: int
    time: float
    lang: str | None
    outlet: str
    title: str
    initiatives: frozenset[str]
    terms: frozenset[str]
    title_terms: frozenset[str]
    shingles: frozenset[int]
    names: frozenset[str]
    places: frozenset[str]
    topics: frozenset[str]
    numbers: frozenset[str]
    preview: bool = False  # the headline announces what is still to come
    title_people: frozenset[str] = frozenset()  # alias-table people named in the headline
    implied: frozenset[str] = frozenset()  # places only implied (Turkey by Istanbul)
    days: frozenset[str] = frozenset()  # dates written ('d:06-10') just before publication
    follows: bool = False  # the text puts what it reports a day after another happening
    venues: frozenset[str] = frozenset()  # places and organisations of a `within` tree, as paths
    where: frozenset[str] = frozenset()  # places the headline puts its happening in ('e:russia')
    # the headline says it repeats an earlier happening ('again') or hopes for what one brings
    repeats: bool = False
    # the secondary people among `title_people` (a spokesman, an aide: `Entity.secondary`)
    title_aides: frozenset[str] = frozenset()
    # the people whose words or deeds the headline says it answers ('responds to Trump')
    answered: frozenset[str] = frozenset()
    arrival: bool = False  # the headline reports an arrival and names no meeting ('arrives in')
    # the text names a day after the one it was written on ('on 21 January', 'tomorrow', or
    # in an announcement a day of the week other than that day): what it announces is not
    # the same day's happening (`vetoes.another_announcement`)
    ahead: bool = False
    # the first person the headline names, its speaker or actor ('e:trump' in 'Trump accuses
    # Putin'), or '' (`vetoes.reaction`)
    subject: str = ""


def shingle_hash(words: list[str]) -> int:
    """A stable 64-bit hash of a shingle, the same in every process: Python's hash() of
    strings changes with the hash seed, so features computed in another process (a parse
    worker) could not be compared with this one's (blake2b: about 0.4 us more per shingle
    than hash(), some 10 us per item)."""
    digest = hashlib.blake2b("\x1f".join(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def lead_of(summary: str | None) -> str:
    """The first sentences of a summary, up to about LEAD_CHARS characters."""
    if not summary:
        return ""
    lead = ""
    for sentence in _SENTENCE_END.split(summary.strip()):
        if lead and len(lead) + len(sentence) > LEAD_CHARS:
            break
        lead = f"{lead} {sentence}".strip()
    return lead[: LEAD_CHARS * 2]


def extract(
    item_id: int,
    *,
    title: str,
    summary: str | None,
    lang: str | None,
    outlet: str,
    time: float,
    initiatives: frozenset[str] = frozenset(),
    aliases: AliasTable,
    written_at: float | None = None,
) -> Features:
    """The comparable keys of one item. The days of the week its text names are read from
    the time it was `written_at` (its `time` when None)."""
    lead = lead_of(summary)
    try:
        published: date | None = datetime.fromtimestamp(
            time if written_at is None else written_at, UTC
        ).date()
    except (OverflowError, OSError, ValueError):
        published = None
    language = (lang or "").split("-")[0].lower() or None
    if language not in STOPWORDS:
        language = script_language(f"{title} {lead}") if language is None else language
    terms: set[str] = set()
    title_terms: set[str] = set()
    names: set[str] = set()
    places: set[str] = set()
    topics: set[str] = set()
    sequence: list[str] = []
    numbers: set[str] = set()
    title_people: set[str] = set()
    title_aides: set[str] = set()
    answered: set[str] = set()
    subject = ""
    implied: set[str] = set()
    venues: set[str] = set()
    where: set[str] = set()
    written_dates: set[str] = set()
    weekdays: set[int] = set()  # the days of the week the text names
    for part, text in (("title", title), ("lead", lead)):
        written = words(text)
        analysed = [read_word(w, language) for w in written]
        weekdays.update(WEEKDAYS[w.folded] for w in analysed if w.special and w.folded in WEEKDAYS)
        numbers |= dates_and_numbers(text, written, analysed, published, written_dates)
        keys = [w.key for w in analysed]
        covered: set[int] = set()
        # people named after 'ahead of' or 'перед' are another happening's, not the cast
        aside = aside_from(text, language) if part == "title" else None
        cast_ends = len(words(text[:aside])) if aside is not None else len(written)
        # people named after 'responds to', 'ответил на' are whom the headline answers
        answer = answering(text, language) if part == "title" else None
        answer_starts = len(words(text[:answer])) if answer is not None else len(written)
        for start, end, ident in aliases.find(keys, language, [w.name for w in analysed]):
            covered.update(range(start, end))
            entity = aliases.entities[ident]
            if part == "title" and entity.kind == "place" and placed(written, start, language, end):
                where.add(f"e:{ident}")  # common ones too: Kyiv is not Moscow
                if entity.within:
                    where.add(f"e:{entity.within}")
            if entity.common:
                continue
            if ident in aliases.paths:
                venues.add(aliases.paths[ident])
            if entity.kind == "place":
                places.add(f"e:{ident}")
                parent = aliases.entities.get(entity.within or "")
                if parent is not None and not parent.common:
                    implied.add(f"e:{parent.id}")
            elif entity.kind == "topic":
                topics.add(f"e:{ident}")
            else:
                names.add(f"e:{ident}")
                parent = aliases.entities.get(entity.within or "")
                if parent is not None and not parent.common:  # the UN by its Security Council
                    implied.add(f"e:{parent.id}")
                if part == "title" and entity.kind == "person" and start >= answer_starts:
                    answered.add(f"e:{ident}")
                if part == "title" and entity.kind == "person" and not subject:
                    subject = f"e:{ident}"
                if part == "title" and entity.kind == "person" and start < cast_ends:
                    title_people.add(f"e:{ident}")
                    if entity.secondary:
                        title_aides.add(f"e:{ident}")
        sentence_start = True
        lettered = [w for w in written if w[:1].isalpha() and len(w) > 3]
        # In a Title Case Headline capitals say nothing about names
        title_case = len(lettered) >= 3 and sum(w[0].isupper() for w in lettered) >= 0.6 * len(
            lettered
        )
        for i, (word, analysis) in enumerate(zip(written, analysed, strict=True)):
            k, content, name = analysis.key, analysis.content, analysis.name
            if content:
                terms.add(k)
                sequence.append(k)
                if part == "title":
                    title_terms.add(k)
                capital = (
                    word[:1].isupper() and (not word.isupper() or len(word) > 4) and not title_case
                )
                if capital and i not in covered and not sentence_start and k not in TITLES:
                    names.add(f"n:{language}:{name}")  # not 'US', 'EU', 'President'

            sentence_start = False
    implied -= places | names  # a place or an organisation named itself is not only implied
    repeats = repeats_another(title, language)
    if repeats:  # the repeat is the happening's word, as an exchange is: shared by its reports
        topics.add(REPEAT_TOPIC)
    places |= implied
    shingles = frozenset(
        shingle_hash(sequence[i : i + SHINGLE]) for i in range(max(0, len(sequence) - SHINGLE + 1))
    )
    preview = is_preview(title, language)
    ahead = (
        later_day(written_dates, published)
        or names_a_later_day(f"{title} {lead}", language)
        # an announcement's day of the week is one still to come, unless it is today's
        or (preview and published is not None and any(d != published.weekday() for d in weekdays))
    )
    return Features(
        item_id=item_id, time=time, lang=language, outlet=outlet, title=title,
        initiatives=initiatives, terms=frozenset(terms), title_terms=frozenset(title_terms),
        shingles=shingles, names=frozenset(names), places=frozenset(places),
        topics=frozenset(topics), numbers=frozenset(numbers),
        preview=preview, follows=follows_another(f"{title} {lead}", language),
        title_people=frozenset(title_people), title_aides=frozenset(title_aides),
        implied=frozenset(implied),
        days=recent_days(written_dates, published),
        repeats=repeats or hopes_for(title, language),
        venues=frozenset(map(sys.intern, venues)), where=frozenset(map(sys.intern, where)),
        answered=frozenset(answered), arrival=is_arrival(title, language), ahead=ahead,
        subject=subject,
    )  # fmt: skip
