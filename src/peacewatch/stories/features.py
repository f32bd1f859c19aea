"""An item as comparable keys: content terms, word shingles, names, places, numbers and dates.

Everything is computed from the headline and the lead (the first sentences of the summary),
the only text every source gives. Terms are stems (en, ru) or lemmas (uk); names are the alias
table's entities plus, within one language, capitalised words the table does not know
(Medinsky, Umerov). Numbers are those of 10 and more that are not years, in figures or in
words ("twenty-six", "двісті", "тысяча"); a day with a month name ("15 August", "15 серпня",
"15 августа") or a day of the week ("on Thursday", "у четвер", "в четверг": the last such day
by publication) becomes a date key, and the ordinal of a round or stage ("3rd round",
"третій раунд") a round key, the same in every language.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cues import (
    answering,
    aside_from,
    follows_another,
    is_arrival,
    is_preview,
    placed,
    repeats_another,
)
from peacewatch.stories.words import WORD_RE, fold, key, name_key, script_language, words

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
    repeats: bool = False  # the headline says it repeats an earlier happening ('again')
    # the secondary people among `title_people` (a spokesman, an aide: `Entity.secondary`)
    title_aides: frozenset[str] = frozenset()
    # the people whose words or deeds the headline says it answers ('responds to Trump')
    answered: frozenset[str] = frozenset()
    arrival: bool = False  # the headline reports an arrival and names no meeting ('arrives in')


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


# Numbers written as words, so "two hundred", "двісті" and "двести" are 200 as "200" is:
# each word's value, and the words that multiply what comes before them
_COUNT_WORDS = {
    1: "one один одна одного одну одне одно", 2: "two два дві две двох двух",
    3: "three три трьох трех", 4: "four чотири чотирьох четыре четырех",
    5: "five п'ять п'яти пять пяти", 6: "six шість шести шесть", 7: "seven сім семи семь",
    8: "eight вісім восьми восемь", 9: "nine дев'ять дев'яти девять девяти",
    10: "ten десять десяти", 11: "eleven одинадцять одиннадцать",
    12: "twelve дванадцять двенадцать", 13: "thirteen тринадцять тринадцать",
    14: "fourteen чотирнадцять четырнадцать", 15: "fifteen п'ятнадцять пятнадцать",
    16: "sixteen шістнадцять шестнадцать", 17: "seventeen сімнадцять семнадцать",
    18: "eighteen вісімнадцять восемнадцать", 19: "nineteen дев'ятнадцять девятнадцать",
    20: "twenty двадцять двадцяти двадцать двадцати", 30: "thirty тридцять тридцяти тридцать",
    40: "forty сорок сорока", 50: "fifty п'ятдесят п'ятдесяти пятьдесят пятидесяти",
    60: "sixty шістдесят шестьдесят", 70: "seventy сімдесят семьдесят",
    80: "eighty вісімдесят восемьдесят", 90: "ninety дев'яносто девяносто",
    100: "сто ста", 200: "двісті двохсот двести двухсот", 300: "триста трьохсот трехсот",
    400: "чотириста чотирьохсот четыреста четырехсот", 500: "п'ятсот п'ятисот пятьсот пятисот",
    600: "шістсот шестьсот", 700: "сімсот семьсот", 800: "вісімсот восемьсот",
    900: "дев'ятсот девятьсот",
}  # fmt: skip
COUNTS = {w: n for n, text in _COUNT_WORDS.items() for w in text.split()}
_MULTIPLIER_WORDS = {
    100: "hundred hundreds",
    1000: "thousand thousands тисяча тисячі тисяч тисячу тысяча тысячи тысяч тысячу",
}
MULTIPLIERS = {w: n for n, text in _MULTIPLIER_WORDS.items() for w in text.split()}
# After figures: "1K", "1 тыс.", "2 тисячі" (a figure never runs on into a number word)
THOUSANDS = {w: 1000 for w in [*_MULTIPLIER_WORDS[1000].split(), "k", "тыс", "тис"]}
# "The third round", "третій раунд", "3rd round": the ordinal of a round or a stage
_ORDINAL_WORDS = {
    1: "first перший першого першому першим першій перша першої "
    "первый первого первом первым первая первой",
    2: "second другий другого другому другим друга другої второй второго втором вторым вторая",
    3: "third третій третього третьому третім третя третьої "
    "третий третьего третьем третьим третья",
    4: "fourth четвертий четвертого четвертому четвертый четвертом",
    5: "fifth п'ятий п'ятого пятый пятого пятом",
    6: "sixth шостий шостого шестой шестого", 7: "seventh сьомий сьомого седьмой седьмого",
    8: "eighth восьмий восьмого восьмой", 9: "ninth дев'ятий девятый", 10: "tenth десятий десятый",
}  # fmt: skip
ORDINALS = {w: n for n, text in _ORDINAL_WORDS.items() for w in text.split()}
_ORDINAL_SUFFIXES = frozenset(["st", "nd", "rd", "th", "й", "го", "ий", "ій"])
ROUND_KEYS = frozenset({key("round", "en"), key("stage", "en"), key("раунд", "uk"),
                        key("етап", "uk"), key("раунд", "ru"), key("этап", "ru")})  # fmt: skip
# "28-point", "20 пунктів", "28 пунктов": the points of a plan (its name, not a count)
POINT_KEYS = frozenset({key("point", "en"), key("points", "en"), key("пунктів", "uk"),
                        key("пункт", "uk"), key("пунктов", "ru"), key("пункт", "ru")})  # fmt: skip
# "On Monday", "у понеділок", "в понедельник": a day of the week before the publication
_WEEKDAY_WORDS = {
    0: "monday понеділок понедельник", 1: "tuesday вівторок вторник",
    2: "wednesday середу среду", 3: "thursday четвер четверг", 4: "friday п'ятницю пятницу",
    5: "saturday суботу субботу", 6: "sunday неділю воскресенье",
}  # fmt: skip
WEEKDAYS = {w: n for n, text in _WEEKDAY_WORDS.items() for w in text.split()}
# "Today", "сьогодні", "вчера": the day of publication or the day before, as a date
RELATIVE_DAYS = {"today": 0, "сьогодні": 0, "сегодня": 0,
                 "yesterday": 1, "вчора": 1, "вчера": 1}  # fmt: skip
_DAY_SUFFIXES = frozenset(["st", "nd", "rd", "th", "of", "the", "го", "е"])


def _number(word: str) -> str | None:
    digits = "".join(c for c in word if c.isdigit())  # "1,000", "1 000"
    if not digits.isdigit():
        return None
    return _figure(int(digits))


def _figure(value: int) -> str | None:
    """A number as a key: 10 and more, and not a year."""
    if value < 10 or 1990 <= value <= 2035:
        return None
    return str(value)


class _Word(NamedTuple):
    key: str
    content: bool  # a term: three letters or more, no digit, no stopword, no month name
    number: str | None
    month: int | None
    name: str  # the key of the word as (part of) a name: one case ending stripped
    folded: str
    special: bool  # a figure, a month, a number word, an ordinal or a day of the week


_SPECIAL = frozenset(COUNTS) | frozenset(MULTIPLIERS) | frozenset(ORDINALS) | frozenset(WEEKDAYS)
_SPECIAL |= frozenset(RELATIVE_DAYS)


@lru_cache(maxsize=100_000)
def _word(word: str, lang: str | None) -> _Word:
    """Everything features need from one written word in one language (cached)."""
    k, folded = key(word, lang), fold(word)
    content = (
        len(k) >= 3 and not any(c.isdigit() for c in k)
        and k not in STOPWORDS.get(lang or "", ()) and folded not in MONTHS
    )  # fmt: skip
    month, number = MONTHS.get(folded.rstrip(".")), _number(word)
    special = month is not None or number is not None or word.isdigit() or folded in _SPECIAL
    return _Word(k, content, number, month, name_key(word, lang), folded, special)


def _day_beside(written: list[str], analysed: list[_Word], i: int) -> int | None:
    """The day of the month written beside the month word at i ('15 August', 'August 15th',
    'the 16th of June', '16-го червня')."""
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(written) and analysed[j].folded in _DAY_SUFFIXES:
            j += step
        if 0 <= j < len(written) and written[j].isdigit() and 1 <= int(written[j]) <= 31:
            return j
    return None


# "300 на 300", "100-to-100", "1,000 for 1,000", "25 prisoners of war each": the terms of an
# exchange, as distinctive as an odd figure (two exchanges in one window rarely have the same
# terms), even when the figure is round
_FORMULA_JOINS = frozenset(["на", "for", "to", "за"])
_EACH = frozenset(["each", "кожна", "кожної", "каждой", "каждая"])


def _formula(written: list[str], analysed: list[_Word], i: int) -> str | None:
    """'x:N' when the figure at i is the first of "N на N" or is followed within four words
    by "each" ("300 POWs each", "по 300 с каждой стороны")."""
    number = analysed[i].number
    after = analysed[i + 1 : i + 5]
    if len(after) >= 2 and after[0].folded in _FORMULA_JOINS and after[1].number == number:
        return f"x:{number}"
    for word in after:
        if word.number is not None or word.special:
            return None  # the nearest figure before 'each' is the one each side freed
        if word.folded in _EACH:
            return f"x:{number}"
    return None


def _counted(
    analysed: list[_Word], breaks: frozenset[int], after_figures: Collection[int] = ()
) -> set[str]:
    """The numbers written as words ('two hundred and five', 'двісті', 'тысяча'); a number
    does not run on past punctuation (the words after `breaks`), and a multiplier after a
    figure ('12 тысяч': `after_figures`) was read with it."""
    found: set[str] = set()
    total = current = 0
    counting = False
    for i, word in enumerate([*analysed, None]):
        folded = word.folded if word is not None and i not in after_figures else ""
        if i in breaks and counting:
            if (figure := _figure(total + current)) is not None:
                found.add(figure)
            total = current = 0
            counting = False
        if folded in MULTIPLIERS:
            if MULTIPLIERS[folded] == 100:  # "two hundred"
                current = (current or 1) * 100
            else:  # "two thousand", "тисяча"
                total, current = total + (current or 1) * MULTIPLIERS[folded], 0
        elif folded in COUNTS:
            current += COUNTS[folded]
        elif counting and folded == "and":
            continue
        else:
            if counting and (figure := _figure(total + current)) is not None:
                found.add(figure)
            total = current = 0
            counting = False
            continue
        counting = True
    return found


def _dates_and_numbers(
    text: str,
    written: list[str],
    analysed: list[_Word],
    published: date | None = None,
    written_dates: set[str] | None = None,
) -> set[str]:
    """Numbers (figures and words), dates with a month name, days of the week read as the
    date each last fell on by `published`, and the ordinals of rounds and stages ('r:3').
    The dates written with a month name, and the days of the week that are the day of
    publication or the day before, are also added to `written_dates` when given (a day of the
    week further back may be one still to come: 'talks resume on Sunday')."""
    found: set[str] = set()
    used: set[int] = set()
    multiplied: set[int] = set()  # multipliers read with the figure before them
    special = [i for i, word in enumerate(analysed) if word.special]
    if not special:
        return found
    for i in special:
        word = analysed[i]
        if word.month is not None and (j := _day_beside(written, analysed, i)) is not None:
            found.add(f"d:{word.month:02d}-{int(written[j]):02d}")
            if written_dates is not None:
                written_dates.add(f"d:{word.month:02d}-{int(written[j]):02d}")
            used.add(j)
    counting = False
    for i in special:
        word = analysed[i]
        counting = counting or word.folded in COUNTS or word.folded in MULTIPLIERS
        if written[i].isdigit() and i + 1 < len(analysed):
            # "1K bodies", "1 тисячу тіл", "1,2 тыс.": figures times a thousand, as "1,000"
            times = THOUSANDS.get(analysed[i + 1].folded)
            if times is not None:
                multiplied.add(i + 1)
                if (figure := _figure(int(written[i]) * times)) is not None:
                    found.add(figure)
                continue
        if i not in used and word.number is not None:
            # "the 28-point plan", "план з 20 пунктів": a plan's name, not a count
            named = i + 1 < len(analysed) and analysed[i + 1].key in POINT_KEYS
            found.add(f"p:{word.number}" if named else word.number)
        after = analysed[i + 1 : i + 3]
        ordinal = ORDINALS.get(word.folded)
        if ordinal is None and written[i].isdigit() and after[:1]:  # "3rd", "3-й"
            ordinal = int(written[i]) if after[0].folded in _ORDINAL_SUFFIXES else None
            after = after[1:]
        if ordinal is not None and after and after[0].key in ROUND_KEYS:
            found.add(f"r:{ordinal}")
        if word.number is not None and (formula := _formula(written, analysed, i)):
            found.add(formula)
        back = None
        if published is not None and (weekday := WEEKDAYS.get(word.folded)) is not None:
            back = (published.weekday() - weekday) % 7
        elif published is not None:
            back = RELATIVE_DAYS.get(word.folded)
        if published is not None and back is not None:
            day = published - timedelta(days=back)
            found.add(f"d:{day.month:02d}-{day.day:02d}")
            if written_dates is not None and back <= 1:  # today or yesterday, not 'on Sunday'
                written_dates.add(f"d:{day.month:02d}-{day.day:02d}")
    if counting:
        spans = list(WORD_RE.finditer(text))
        breaks = frozenset(  # words after punctuation
            i
            for i in range(1, len(spans))
            if text[spans[i - 1].end() : spans[i].start()].strip(" -")
        )
        found |= _counted(analysed, breaks, multiplied)
    return found


# The dates an item's text gives that fall from three days before its publication to the day
# after it: the day of what it reports, not a date it recalls ('agreed in Istanbul on 2 June').
RECENT_DAYS = (-3, 1)


def recent_days(numbers: Iterable[str], published: date | None) -> frozenset[str]:
    """The dates ('d:MM-DD') among `numbers` within `RECENT_DAYS` of `published`, each read in
    the year that puts it nearest to the publication."""
    if published is None:
        return frozenset()
    found = set()
    for number in numbers:
        if not number.startswith("d:"):
            continue
        month, day = (int(x) for x in number[2:].split("-"))
        for year in (published.year - 1, published.year, published.year + 1):
            try:
                offset = (date(year, month, day) - published).days
            except ValueError:  # 29 February in another year
                continue
            if RECENT_DAYS[0] <= offset <= RECENT_DAYS[1]:
                found.add(number)
    return frozenset(found)


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
    implied: set[str] = set()
    venues: set[str] = set()
    where: set[str] = set()
    written_dates: set[str] = set()
    for part, text in (("title", title), ("lead", lead)):
        written = words(text)
        analysed = [_word(w, language) for w in written]
        numbers |= _dates_and_numbers(text, written, analysed, published, written_dates)
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
    return Features(
        item_id=item_id, time=time, lang=language, outlet=outlet, title=title,
        initiatives=initiatives, terms=frozenset(terms), title_terms=frozenset(title_terms),
        shingles=shingles, names=frozenset(names), places=frozenset(places),
        topics=frozenset(topics), numbers=frozenset(numbers),
        preview=is_preview(title, language), follows=follows_another(f"{title} {lead}", language),
        title_people=frozenset(title_people), title_aides=frozenset(title_aides),
        implied=frozenset(implied),
        days=recent_days(written_dates, published), repeats=repeats,
        venues=frozenset(map(sys.intern, venues)), where=frozenset(map(sys.intern, where)),
        answered=frozenset(answered), arrival=is_arrival(title, language),
    )  # fmt: skip
