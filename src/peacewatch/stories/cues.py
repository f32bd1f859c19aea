"""Words that place what an item reports in time against another happening: a headline that
announces what is still to come (a preview is not the event it announces), and a text that
puts its happening a day after another one ("a day after talks in the Kremlin", "накануне
Макрон посетил Москву") or says it is a repeat of one ("second call in two days", "вдруге",
"снова"): the next day's happening, not the one it recalls.
"""

from __future__ import annotations

import hashlib
import re


def _words(cues: dict[str, str]) -> dict[str, re.Pattern[str]]:
    """Each language's alternatives ('a|b c') as one pattern of whole words, any case."""
    return {
        lang: re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)
        for lang, alternatives in cues.items()
    }


def _search(
    table: dict[str, re.Pattern[str]], text: str, language: str | None
) -> re.Match[str] | None:
    """The first cue of the text's language in it, or None (no cues for that language)."""
    cue = table.get(language or "")
    return cue.search(text) if cue is not None else None


# Headline words that announce what is still to come ("Trump to meet Zelensky tomorrow", "Li
# Hui to visit Russia"): a preview is not the event it announces, so the two never share a
# story. ('to visit' kept the stress test's false merges of a visit announced with the visit
# out: dev on one day 0.797 / 0.605, 0.740 / 0.562 -> 0.801 / 0.605, 0.742 / 0.563. 'Will
# hold talks' and a wish to meet, "хоче зустрітися", "хочет встретиться": dev 0.988 / 0.810
# -> 0.988 / 0.812, on one day 0.826 / 0.565, 0.770 / 0.528 -> 0.831 / 0.567, 0.775 / 0.528;
# 'expected to': dev 0.996 -> 0.997 within, on one day 0.831 -> 0.836; 'will visit', 'will
# travel', 'next week', "відвідає", "посетит", "прибудет", "проведуть", "проведут",
# "анонсировал", "планирует", "поедет" each cost dev recall: announcement events mix
# headlines with and without them. "анонсував зустріч", an announced meeting: dev 0.983 /
# 0.982 -> 0.986 / 0.985, recall and the stress test unchanged. Since an announcement and a
# report of that day are told apart only when one names a later day (`previews_by_day`), the
# future of a visit, 'will visit', "відвідає", "посетит", costs little: dev half A 0.993 /
# 0.858, 0.991 / 0.841 -> 0.993 / 0.857, 0.991 / 0.840, half B 0.982 / 0.842, 0.980 / 0.826 ->
# 0.982 / 0.843, 0.980 / 0.828; A on one day 0.863 / 0.573, 0.808 / 0.488 -> 0.879 / 0.575,
# 0.826 / 0.491. "Проведут" alone cost A 0.004 of recall.)
_PREVIEW_CUES = {
    "en": "to meet|will meet|to hold talks|will hold talks|to visit|expected to|tomorrow"
    "|in the coming days|will visit",
    "uk": "відбудеться|відбудуться|зустрінеться|зустрінуться|хоче зустрітися|хочуть зустрітися"
    "|завтра|найближчими днями|у найближчі дні|в найближчі дні"
    "|анонсував зустріч|анонсувала зустріч|відвідає",
    "ru": "состоится|состоятся|встретится|встретятся|хочет встретиться|хотят встретиться"
    "|завтра|в ближайшие дни|посетит",
}
PREVIEW_RE = _words(_PREVIEW_CUES)
# ...unless it is for the day it is published ("Witkoff to meet Putin tonight", "Сегодня в
# Женеве состоится встреча") and names no later day: that is the day's coverage of the
# happening itself (the labelled events count it so).
_SAME_DAY_CUES = {
    "en": "today|tonight|this evening",
    "uk": "сьогодні|цього вечора",
    "ru": "сегодня|этим вечером",
}
_LATER = {"en": "tomorrow", "uk": "завтра", "ru": "завтра"}
SAME_DAY_RE = _words(_SAME_DAY_CUES)
LATER_RE = _words(_LATER)


def names_a_later_day(text: str, language: str | None) -> bool:
    """Whether a text names the day after the one it is written on ('tomorrow', 'завтра').
    ('The coming days' and 'next week' as well cost dev recall, 0.840 -> 0.836, for no
    precision: a report of the happening may say what follows in the coming days.)"""
    return _search(LATER_RE, text, language) is not None


# "Orban Arrives in Moscow to Meet With Putin", "as Guterres visited the capital to meet
# with Zelenskyy": a journey's purpose, reported on the day it is made, not a meeting still to
# come. A journey still to make ("Zelenskyy will travel to Portugal on Tuesday to meet his
# Portuguese counterpart") is no purpose: it announces the meeting (dev half A 0.993 / 0.857,
# 0.991 / 0.840 -> 0.996 / 0.857, 0.993 / 0.841, half B unchanged). The cue after an
# arrival in one clause (no comma:
# "Trump arrives in The Hague, expected to meet Zelensky" announces the meeting) is not read.
_PURPOSE = {
    "en": r"(?<!\w)(?<!will )(?<!to )"
    r"(?:arrives?|arrived|arriving|lands?|landed|travels?|travell?ed|flies|flew"
    r"|heads?|headed|comes|came|goes|went|visits|visited|visiting)(?!\w)[^,;:!?\u2013\u2014]{0,40}?(?<!\w)to"
    r" (?:meet|hold talks)",
}
PURPOSE_RE = {lang: re.compile(cues, re.IGNORECASE) for lang, cues in _PURPOSE.items()}


# "Kishida to meet Zelensky in surprise Kyiv visit": nobody announces a surprise visit ahead,
# so a headline for one is of the visit under way (dev 0.997 / 0.810, 0.997 / 0.805 -> 0.997
# / 0.811, 0.997 / 0.809; on one day 0.858 / 0.582, 0.799 / 0.535 -> 0.858 / 0.583, 0.800 /
# 0.538)
_SURPRISE = {
    "en": r"(?:surprise|unannounced|secret) (?:\w+ ){0,2}(?:visit|trip)",
    "uk": r"(?:несподіван|неанонсован|таємн)\w* (?:\w+ ){0,2}(?:візит|поїздк)\w*",
    "ru": r"(?:неожиданн|необъявленн|тайн)\w* (?:\w+ ){0,2}(?:визит|поездк)\w*",
}
SURPRISE_RE = _words(_SURPRISE)


# "Guterres arrives in Kazan for BRICS summit", "Си Цзиньпин прибыл в Москву": a headline of an
# arrival, naming no meeting, talks or signing ("Orban arrives in Moscow to meet Putin" names
# one): the journey's first day, which the next day's talks are not (`vetoes.arrival_apart`)
_ARRIVAL = {
    "en": r"arrives?|arrived|arriving|lands|landed",
    "uk": r"прибу(?:в|ла|ли)|прилеті(?:в|ла|ли)|приїха(?:в|ла|ли)",
    "ru": r"прибыл[аи]?|прилетел[аи]?|приехал[аи]?",
}
_MEETING = {
    "en": r"meet\w*|met|talks?|holds?|held|hosts?|hosted|discuss\w*|signs?|signed|call\w*"
    r"|says|said",
    "uk": r"зустр\w*|переговор\w*|перемовин\w*|обговор\w*|підпис\w*|розмов\w*|заяв\w*|сказав",
    "ru": r"встре\w*|встрет\w*|переговор\w*|обсуд\w*|подпис\w*|разговор\w*|заяв\w*|сказал",
}
ARRIVAL_RE = _words(_ARRIVAL)
MEETING_RE = _words(_MEETING)


def is_arrival(title: str, language: str | None) -> bool:
    """Whether a headline reports an arrival and names no meeting, talks or statement."""
    return (
        _search(ARRIVAL_RE, title, language) is not None
        and _search(MEETING_RE, title, language) is None
    )


def is_preview(title: str, language: str | None) -> bool:
    """Whether a headline announces what is still to come, on another day than today."""
    cue = PREVIEW_RE.get(language or "")
    if cue is None or not cue.search(title):
        return False
    purpose = PURPOSE_RE.get(language or "")
    if purpose is not None and not cue.search(purpose.sub(" ", title)):
        return False  # the only cue is a journey's purpose
    if _search(SURPRISE_RE, title, language) is not None:
        return False  # a surprise visit is not announced: it is under way
    today, later = SAME_DAY_RE.get(language or ""), LATER_RE.get(language or "")
    if today is None or later is None or later.search(title):
        return True
    return not today.search(title)


# "Macron held talks in Kyiv a day after a five-hour meeting at the Kremlin", "Накануне Макрон
# посетил Москву", "після переговорів ... напередодні": what the text reports followed another
# happening of the day before. 'Yesterday' is not among them: it dates the reported happening
# itself ('completed the second phase yesterday').
_FOLLOW_CUES = {
    "en": r"(?:a|one) day after|the day before|the previous day|a day earlier",
    "uk": r"напередодні|наступного дня після|днем раніше|за день до",
    "ru": r"накануне|на следующий день после|дн[её]м ранее|за день до",
}
FOLLOW_RE = _words(_FOLLOW_CUES)


def follows_another(text: str, language: str | None) -> bool:
    """Whether a text puts what it reports a day after another happening."""
    return _search(FOLLOW_RE, text, language) is not None


# "Zelensky, Trump hold second phone call in 2 days", "Зеленский во второй раз за два дня
# поговорил с Трампом", "вдруге", "знову", "снова": what the text reports repeats an earlier
# happening, so it is a new one, not the earlier one that it repeats. Read in the headline
# only: a lead's "again" is as often background ("Russia again struck Kyiv overnight").
_REPEAT_CUES = {
    "en": r"again|once more|(?:for )?the second time|second (?:day|time) in a row"
    r"|second (?:\w+ ){0,3}in (?:two|2|three|3) days",
    "uk": r"вдруге|удруге|знову|повторно|ще раз|другий раз"
    r"|(?:другий|другу|друга|другої) (?:\w+ ){0,3}за (?:два|2|три|3) (?:дні|доби)",
    "ru": r"снова|вновь|повторно|ещ[её] раз|во второй раз|второй раз"
    r"|(?:второй|вторую|вторая) (?:\w+ ){0,3}за (?:два|2|три|3) (?:дня|суток)",
}
REPEAT_RE = _words(_REPEAT_CUES)


def repeats_another(title: str, language: str | None) -> bool:
    """Whether a headline says what it reports repeats an earlier happening ('again',
    'second call in two days', 'вдруге', 'во второй раз')."""
    return _search(REPEAT_RE, title, language) is not None


# "Guterres hopes proposals sent to Putin will salvage grain deal": a hope or an expectation
# is a statement of its own about what an earlier happening will bring, so a day after that
# happening it is not it (`vetoes.again`). Headline only, as for a repeat.
_HOPE_CUES = {
    "en": r"hopes|expects",
    "uk": r"сподіва(?:ється|ються)|розраховує",
    "ru": r"наде(?:ется|ются)|рассчитывает",
}
HOPE_RE = _words(_HOPE_CUES)


def hopes_for(title: str, language: str | None) -> bool:
    """Whether a headline states a hope or an expectation ('hopes', 'сподівається',
    'надеется')."""
    return _search(HOPE_RE, title, language) is not None


# "Zelensky reacted nervously to the statements of Trump", "MFA Ukraine responds to Putin's
# statement", "Нарышкин ответил на слова главы ЦРУ", "Biden asserts after combative Putin
# speech": what the headline reports answers someone's words or deeds, so it is another
# happening than the one it answers; the people named after the cue are whom it answers
# (`vetoes.reaction`: dev 0.991 / 0.811, 0.993 / 0.794 -> 0.996 / 0.809, 0.997 / 0.796).
_REACTION_CUES = {
    "en": r"(?:reacts?|reacted|reacting|responds?|responded|responding|replies|replied"
    r"|retorts?|retorted|hits back|hit back|fires back|fired back) (?:\w+ ){0,2}(?:to|at)"
    r"|after(?= (?:\S+ ){0,3}(?:speech|remarks|statements?|comments|words|claims|threats))"
    r"|slams?|slammed|rejects?|rejected|dismiss(?:es|ed)?|criticis\w+|criticiz\w+|mocks?"
    r"|mocked|welcomes?|welcomed|commented on",
    "uk": r"(?:відреагува\w*|реагує|реагують|відповів|відповіла|відповіли|відповідає"
    r"|відповідають) (?:\w+ ){0,2}на"
    r"|розкритикува\w*|критикує|відкину\w*|відкидає|висмія\w*|прокоментува\w*",
    "ru": r"(?:отреагирова\w*|реагирует|реагируют|ответил|ответила|ответили|отвечает"
    r"|отвечают) (?:\w+ ){0,2}на"
    r"|раскритикова\w*|критикует|отверг\w*|отвергает|высмея\w*|прокомментирова\w*",
}
REACTION_RE = _words(_REACTION_CUES)


def answering(title: str, language: str | None) -> int | None:
    """The character after which a headline names whom what it reports answers ('responds
    to', 'відреагував на', 'ответил на'), or None."""
    found = _search(REACTION_RE, title, language)
    return found.end() if found is not None else None


# "Macron arrives in Ukraine", "talks in the Kremlin", "прибув до Києва", "встреча в Москве":
# the words before a place that put a headline's happening there (an article may follow:
# "in the Kremlin"). Common places count here (Kyiv, Moscow): where it happened, not who.
_LOCATIVES = {
    "en": "in at to",
    "uk": "у в до на",
    "ru": "в во на",
}
LOCATIVES = {lang: frozenset(words.split()) for lang, words in _LOCATIVES.items()}
# "Biden makes surprise Ukraine visit", "a Kyiv trip": a place before a journey's noun puts the
# headline's happening there as well (Biden in Warsaw the day after a headline of his Kyiv
# visit: dev 0.988 / 0.812, 0.993 / 0.796 -> 0.991 / 0.811, 0.993 / 0.794; 'visits' and
# 'visited' before a place changed nothing)
_JOURNEYS = {"en": frozenset(["visit", "trip"])}
_ARTICLES = frozenset(["the"])


def placed(written: list[str], start: int, language: str | None, end: int | None = None) -> bool:
    """Whether the place named from word `start` (to `end`) of a headline follows a locative
    word ('in the Kremlin', 'до Києва') or comes before a journey's noun ('a Ukraine
    visit'): the headline puts its happening there."""
    before = LOCATIVES.get(language or "")
    if before is None:
        return False
    at = start - 1
    if at >= 0 and written[at].lower() in _ARTICLES:
        at -= 1
    if at >= 0 and written[at].lower() in before:
        return True
    journeys = _JOURNEYS.get(language or "", ())
    return end is not None and end < len(written) and written[end].lower() in journeys


# "Olaf Scholz meets Ukrainian president ahead of meeting with Putin", "Зеленський зустрівся з
# Венсом перед переговорами з Путіним": the people named after these words belong to another
# happening, the one the headline looks ahead to, not to its cast.
_ASIDE_CUES = {
    "en": r"ahead of|before",
    "uk": r"перед|напередодні",
    "ru": r"перед|накануне",
}
ASIDE_RE = _words(_ASIDE_CUES)


def aside_from(title: str, language: str | None) -> int | None:
    """The character where a headline turns to another happening ('ahead of', 'перед'), or
    None."""
    found = _search(ASIDE_RE, title, language)
    return found.start() if found is not None else None


# What the cue tables say, for the clustering settings' version (`cluster.Settings.version`):
# a changed cue changes decisions as a changed weight does, so stored stories are due a
# recluster.
DIGEST = hashlib.sha256(
    repr(
        [_PREVIEW_CUES, _SAME_DAY_CUES, _LATER, _PURPOSE, _SURPRISE, _FOLLOW_CUES, _REPEAT_CUES,
         _REACTION_CUES, _LOCATIVES, sorted(_JOURNEYS["en"]), sorted(_ARTICLES), _ASIDE_CUES,
         _ARRIVAL, _MEETING, _HOPE_CUES]
    ).encode()
).hexdigest()[:10]  # fmt: skip
