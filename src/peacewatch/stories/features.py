"""An item as comparable keys: content terms, word shingles, names, places, numbers and dates.

Everything is computed from the headline and the lead (the first sentences of the summary),
the only text every source gives. Terms are stems (en, ru) or lemmas (uk); names are the alias
table's entities plus, within one language, capitalised words the table does not know
(Medinsky, Umerov). Numbers are those of 10 and more that are not years; a day with a month
name ("15 August", "15 серпня", "15 августа") becomes a date key, the same in every language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.words import fold, key, name_key, script_language, words

LEAD_CHARS = 320  # the lead: the summary's first sentences up to about this length
SHINGLE = 3  # words per shingle

_STOPWORDS = {
    "en": """a an the and or but of in on at to for from by with as is are was were be been
        has have had it its this that these those after before over under into about than
        will would could should may might can not no new also more most says said say told
        amid between during against while who what which when where why how their his her
        they them he she we our you us up out all any one two three first last week day
        year years monday tuesday wednesday thursday friday saturday sunday today yesterday
        ukraine ukrainian russia russian war news report reports according""",
    "uk": """і й та а але або в у на до з із зі від для про по за як що це цей ця ці той
        які який яка яке його її їх він вона вони ми ви не ні так також вже ще після перед
        під над між через щодо під_час бути був була було були є буде заявив заявила
        сказав повідомив україна український росія російський війна рф""",
    "ru": """и а но или в во на до с со от для про по за как что это этот эта эти тот
        которые который которая которое его ее их он она они мы вы не ни так также уже
        еще после перед под над между через о об при быть был была было были есть будет
        заявил заявила сказал сообщил украина украинский россия российский война рф""",
}
STOPWORDS = {
    lang: frozenset(key(w, lang) for w in text.split()) for lang, text in _STOPWORDS.items()
}

# Capitalised titles are not names ("President", "Defence Minister", "Secretary of State")
_TITLES = """president presidents minister ministers prime chancellor secretary vice foreign
    defence defense general special envoy envoys spokesman spokesperson spokeswoman state
    deputy head chief adviser advisor aide national security office council army
    senator senate congress parliament government"""
TITLES = frozenset(key(w, "en") for w in _TITLES.split())

_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "uk": "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
}
MONTHS = {
    word: month for text in _MONTHS.values() for month, word in enumerate(text.split(), start=1)
}
MONTHS.update({w[:3]: m for w, m in list(MONTHS.items()) if w.isascii() and w != "may"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# Headline words that announce what is still to come ("Trump to meet Zelensky tomorrow"): a
# preview is not the event it announces, so the two never share a story.
_PREVIEW_CUES = {
    "en": "to meet|will meet|to hold talks|tomorrow",
    "uk": "відбудеться|відбудуться|зустрінеться|зустрінуться|завтра",
    "ru": "состоится|состоятся|встретится|встретятся|завтра",
}
PREVIEW_RE = {
    lang: re.compile(r"(?<!\w)(?:" + cues + r")(?!\w)", re.IGNORECASE)
    for lang, cues in _PREVIEW_CUES.items()
}


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


_NUMBER_WORDS = {"thousand": "1000", "тисяча": "1000", "тисячу": "1000", "тысяча": "1000",
                 "тысячу": "1000", "hundred": "100"}  # fmt: skip


def _number(word: str) -> str | None:
    if (named := _NUMBER_WORDS.get(fold(word))) is not None:
        return named
    digits = word.replace(",", "").replace(".", "")
    if not digits.isdigit():
        return None
    value = int(digits)
    if value < 10 or 1990 <= value <= 2035:
        return None
    return str(value)


class _Word(NamedTuple):
    key: str
    content: bool  # a term: three letters or more, no digit, no stopword, no month name
    number: str | None
    month: int | None
    name: str  # the key of the word as (part of) a name: one case ending stripped


@lru_cache(maxsize=100_000)
def _word(word: str, lang: str | None) -> _Word:
    """Everything features need from one written word in one language (cached)."""
    k, folded = key(word, lang), fold(word)
    content = (
        len(k) >= 3 and not any(c.isdigit() for c in k)
        and k not in STOPWORDS.get(lang or "", ()) and folded not in MONTHS
    )  # fmt: skip
    return _Word(k, content, _number(word), MONTHS.get(folded.rstrip(".")), name_key(word, lang))


def _dates_and_numbers(written: list[str], analysed: list[_Word]) -> set[str]:
    found: set[str] = set()
    used: set[int] = set()
    for i, word in enumerate(analysed):
        if word.month is None:
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(written) and written[j].isdigit() and 1 <= int(written[j]) <= 31:
                found.add(f"d:{word.month:02d}-{int(written[j]):02d}")
                used.add(j)
                break
    for i, word in enumerate(analysed):
        if i not in used and word.number is not None:
            found.add(word.number)
    return found


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
) -> Features:
    """The comparable keys of one item."""
    lead = lead_of(summary)
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
    implied: set[str] = set()
    for part, text in (("title", title), ("lead", lead)):
        written = words(text)
        analysed = [_word(w, language) for w in written]
        numbers |= _dates_and_numbers(written, analysed)
        keys = [w.key for w in analysed]
        covered: set[int] = set()
        for start, end, ident in aliases.find(keys, language, [w.name for w in analysed]):
            covered.update(range(start, end))
            entity = aliases.entities[ident]
            if entity.common:
                continue
            if entity.kind == "place":
                places.add(f"e:{ident}")
                parent = aliases.entities.get(entity.within or "")
                if parent is not None and not parent.common:
                    implied.add(f"e:{parent.id}")
            elif entity.kind == "topic":
                topics.add(f"e:{ident}")
            else:
                names.add(f"e:{ident}")
                if part == "title" and entity.kind == "person":
                    title_people.add(f"e:{ident}")
        sentence_start = True
        lettered = [w for w in written if w[:1].isalpha() and len(w) > 3]
        # In a Title Case Headline capitals say nothing about names
        title_case = len(lettered) >= 3 and sum(w[0].isupper() for w in lettered) >= 0.6 * len(
            lettered
        )
        for i, (word, (k, content, _, _, name)) in enumerate(zip(written, analysed, strict=True)):
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
    implied -= places  # a place named itself is not only implied
    places |= implied
    shingles = frozenset(
        hash(tuple(sequence[i : i + SHINGLE])) for i in range(max(0, len(sequence) - SHINGLE + 1))
    )
    return Features(
        item_id=item_id, time=time, lang=language, outlet=outlet, title=title,
        initiatives=initiatives, terms=frozenset(terms), title_terms=frozenset(title_terms),
        shingles=shingles, names=frozenset(names), places=frozenset(places),
        topics=frozenset(topics), numbers=frozenset(numbers),
        preview=bool((cue := PREVIEW_RE.get(language or "")) and cue.search(title)),
        title_people=frozenset(title_people), implied=frozenset(implied),
    )  # fmt: skip
