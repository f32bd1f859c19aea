"""How the story features read a written word and the figures a text gives: a word's key and
whether it is a content term (stopwords and month names are not), numbers in figures or in
words ("twenty-six", "двісті", "тысяча", "1K"), counts and the terms of an exchange ("300 for
300"), the ordinal of a round or stage ("третій раунд"), and dates written with a month name
or a day of the week, read against the day of publication (`features.extract` uses them).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from peacewatch.stories.words import WORD_RE, fold, key, name_key

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

_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "uk": "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
}
MONTHS = {
    word: month for text in _MONTHS.values() for month, word in enumerate(text.split(), start=1)
}
MONTHS.update({w[:3]: m for w, m in list(MONTHS.items()) if w.isascii() and w != "may"})

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


class Word(NamedTuple):
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
def read_word(word: str, lang: str | None) -> Word:
    """Everything features need from one written word in one language (cached)."""
    k, folded = key(word, lang), fold(word)
    content = (
        len(k) >= 3 and not any(c.isdigit() for c in k)
        and k not in STOPWORDS.get(lang or "", ()) and folded not in MONTHS
    )  # fmt: skip
    month, number = MONTHS.get(folded.rstrip(".")), _number(word)
    special = month is not None or number is not None or word.isdigit() or folded in _SPECIAL
    return Word(k, content, number, month, name_key(word, lang), folded, special)


def _day_beside(written: list[str], analysed: list[Word], i: int) -> int | None:
    """The day of the month written beside the month word at i ('15 August', 'August 15th',
    'the 16th of June', '16-го червня')."""
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(written) and analysed[j].folded in _DAY_SUFFIXES:
            j += step
        if 0 <= j < len(written) and written[j].isdigit() and 1 <= int(written[j]) <= 31:
            return j
    return None


# "15-16 June", "June 15 and 16", "4 и 5 февраля", "23-25 липня": a range of days, read as every
# day from the first to the last when they are this few apart (else the two ends)
_RANGE_DAYS = 7
_RANGE_JOINS = frozenset(["and", "to", "і", "й", "та", "и", "по", "до"])
_RANGE_DASHES = frozenset("-–—")


def _range_end(
    written: list[str], analysed: list[Word], spans: list[re.Match[str]], j: int, step: int
) -> int | None:
    """The other end of a range of days whose end beside the month is the day at j ('15' of
    '15-16 June' read backwards from the month, '16' of 'June 15 and 16' forwards): a dash
    between the two, or a joining word with only spaces around it."""
    k = j + step
    if not 0 <= k < len(written) or len(spans) != len(written):
        return None
    if analysed[k].folded in _RANGE_JOINS:
        k += step
        if not 0 <= k < len(written) or not written[k].isdigit():
            return None
        low, high = sorted((j, k))
        gaps = (text_between(spans, low, low + 1), text_between(spans, low + 1, high))
        if any(g.strip() for g in gaps):
            return None
    elif written[k].isdigit():
        low, high = sorted((j, k))
        if text_between(spans, low, high).strip() not in _RANGE_DASHES:
            return None
    else:
        return None
    return k if 1 <= int(written[k]) <= 31 else None


def text_between(spans: list[re.Match[str]], a: int, b: int) -> str:
    """The text between the words at a and b (a < b)."""
    return spans[a].string[spans[a].end() : spans[b].start()]


# "300 на 300", "100-to-100", "1,000 for 1,000", "25 prisoners of war each": the terms of an
# exchange, as distinctive as an odd figure (two exchanges in one window rarely have the same
# terms), even when the figure is round
_FORMULA_JOINS = frozenset(["на", "for", "to", "за"])
_EACH = frozenset(["each", "кожна", "кожної", "каждой", "каждая"])


def _formula(written: list[str], analysed: list[Word], i: int) -> str | None:
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
    analysed: list[Word], breaks: frozenset[int], after_figures: Collection[int] = ()
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


def dates_and_numbers(
    text: str,
    written: list[str],
    analysed: list[Word],
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
    spans: list[re.Match[str]] | None = None
    for i in special:
        word = analysed[i]
        if word.month is not None and (j := _day_beside(written, analysed, i)) is not None:
            days = [int(written[j])]
            if spans is None:
                spans = list(WORD_RE.finditer(text))
            k = _range_end(written, analysed, spans, j, -1 if j < i else 1)
            if k is not None:  # "15-16 June", "June 15 and 16": both days, and those between
                used.add(k)
                low, high = sorted((days[0], int(written[k])))
                days = list(range(low, high + 1)) if high - low <= _RANGE_DAYS else [low, high]
            found.update(f"d:{word.month:02d}-{n:02d}" for n in days)
            if written_dates is not None:  # the day the happening begins
                written_dates.add(f"d:{word.month:02d}-{min(days):02d}")
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


# A date written up to this many days after publication is a day still to come ('talks in
# Geneva on 21 January', written on the 18th; a summit announced two months ahead); one
# further on is more likely a date recalled from an earlier year
AHEAD_DAYS = 90


def later_day(numbers: Iterable[str], published: date | None) -> bool:
    """Whether any of the dates ('d:MM-DD') among `numbers` falls from the day after
    `published` to `AHEAD_DAYS` after it, in any year near the publication."""
    if published is None:
        return False
    for number in numbers:
        if not number.startswith("d:"):
            continue
        month, day = (int(x) for x in number[2:].split("-"))
        for year in (published.year, published.year + 1):
            try:
                offset = (date(year, month, day) - published).days
            except ValueError:  # 29 February in another year
                continue
            if 1 <= offset <= AHEAD_DAYS:
                return True
    return False
