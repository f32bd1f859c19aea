"""Text normalization for rule matching.

Headlines arrive with every kind of typographic variation: curly quotes, six different dashes,
non-breaking spaces, compatibility characters, "28 point" vs "28-point" vs "28-pt", plurals and
Slavic case endings. Matching works on *tokens* of a normalized copy of the text, and every token
keeps offsets into the ORIGINAL text so evidence can quote exactly what the analyst will see.

The same functions normalize rule patterns (at load) and item text (at match time), so both
sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# Every dash and minus to "-", every apostrophe-like mark to "'", every double quote to '"'.
# Strictly one character to one character, so offsets survive the translation.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u00ad"
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u02bc\u02b9\u2032\u00b4\u0060\uff07"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\uff02"


def _latin_base_letters() -> dict[str, str]:
    """Accented Latin and Greek letters to their base letter ("é" -> "e", "ç" -> "c", "ή" ->
    "η"), one-to-one.

    Cyrillic letters are left alone: "й" is a letter of its own, not an accented "и".
    """
    # (Azerbaijani "ə" as its addresses and neighbours write it: "atəşkəs" is Turkish "ateşkes")
    table = {"ı": "i", "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ŧ": "t", "ə": "e"}
    # Latin-1 to Latin Extended-B, and Latin Extended Additional: Vietnamese stacks two marks
    # on a letter ("kế hoạch", "điểm"), which the press's addresses and rules write bare.
    # Greek and Greek Extended: headlines in capitals drop the tonos ("ΕΙΡΗΝΗΣ"), so
    # "ειρήνης" and "ειρηνης" must be one word.
    latin = (*range(0xC0, 0x250), *range(0x1E00, 0x1F00))
    greek = (*range(0x370, 0x400), *range(0x1F00, 0x2000))
    for code in (*latin, *greek):
        char = chr(code)
        decomposed = unicodedata.normalize("NFD", char)
        base = decomposed[0]
        if (
            len(decomposed) > 1
            and base.isalpha()
            and (base.isascii() or "\u0370" <= base <= "\u03ff")
        ):
            table[char] = base.lower()
    return table


_LATIN_BASE = _latin_base_letters()
_TRANSLATION = str.maketrans(
    {
        **_LATIN_BASE,
        **{c: "-" for c in _DASHES},
        **{c: "'" for c in _APOSTROPHES},
        **{c: '"' for c in _DOUBLE_QUOTES},
        "ё": "е",  # Russian ё is usually printed as е
        # Arabic letters in the one spelling the rules write: the hamza forms of alif as a bare
        # alif (headlines write "أوكرانيا" and "اوكرانيا" alike), alif maqsura as ya, and the
        # Persian ya and kaf as the Arabic ones ("کییف" is "كييف")
        **dict.fromkeys("\u0622\u0623\u0625\u0671", "\u0627"),
        **dict.fromkeys("\u0649\u06cc", "\u064a"),
        "\u06a9": "\u0643",
        # Arabic-Indic and Persian digits as the rules write numbers ("۲۸ بند" is "28 بند")
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)

# str.translate looks every character up in the dict; on mostly-ASCII news text it is several
# times faster to find the few characters to replace with a regex.
_TRANSLATED_RE = re.compile("[" + re.escape("".join(chr(c) for c in _TRANSLATION)) + "]")
_REPLACEMENTS = {chr(code): value for code, value in _TRANSLATION.items()}


def _translate(text: str) -> str:
    return _TRANSLATED_RE.sub(lambda match: _REPLACEMENTS[match.group()], text)


# Cyrillic letters (Russian, Ukrainian, Belarusian, Serbian, Macedonian, Bulgarian) in plain Latin
# letters, close to how the press in Latin letters spells the same names and words
_CYRILLIC_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye", "ё": "e",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya", "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz",
    "ў": "u", "ѓ": "g", "ќ": "k", "ѕ": "dz",
}  # fmt: skip
_ROMAN = str.maketrans({**_LATIN_BASE, "ß": "ss", **_CYRILLIC_LATIN})


def romanized(word: str) -> str:
    """A lowercased word in plain Latin letters: accents dropped ("negociações" ->
    "negociacoes"), Cyrillic transliterated ("мединский" -> "medinskii", Serbian "преговори" ->
    "pregovori"). Other scripts stay as they are."""
    return word.translate(_ROMAN)


def _char_class(codepoints: list[int]) -> str:
    """A regex character class matching exactly these code points (as ranges)."""
    ranges: list[list[int]] = []
    for code in codepoints:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


# Chinese characters, Japanese kana and Korean syllables: each one is a token, as Chinese and
# Japanese put no spaces between words ("乌克兰总统泽连斯基" is one run of letters) and Korean
# joins particles and compounds to them ("러시아와", "정상회담"); a pattern written in them is
# then a phrase of characters ("乌克兰" and "회담" match wherever they stand together). Thai,
# Lao, Khmer and Burmese put no spaces between words either ("ยูเครน-รัสเซีย"): their letters
# are tokens too, each with the vowel and tone marks written on it ("ยู", "เค", "ร", "น").
CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff66-\uff9f"
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
)
CJK_RE = re.compile(f"[{CJK}]")
# Combining marks (Unicode categories Mn, Mc, Me) inside a word: the vowel signs and viramas of
# Devanagari, Bengali or Thai are no word characters to Python's regex, so "शांति" fell apart
# into its consonants; a run of marks after a letter belongs to the letter's word.
MARKS = _char_class(
    [
        code
        for code in range(0x300, 0x10000)
        if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me")
    ]
)
_MARKS_RE = re.compile(f"[{MARKS}]+")
# one token of the scripts written without spaces: a character with the marks written on it
CHARACTER = rf"[{CJK}][{MARKS}]*"
# Digits and letters form separate tokens ("28pt" -> "28", "pt"; "G8" -> "g", "8"); an apostrophe
# inside a word belongs to it (Ukrainian "перемир'я", English "Ukraine's").
_LETTERS = rf"[^\W\d_{CJK}]+(?:[{MARKS}]+[^\W\d_{CJK}]*)*"
TOKEN_RE = re.compile(rf"{CHARACTER}|\d+|{_LETTERS}(?:'{_LETTERS})*")
# About twice as fast and identical to TOKEN_RE whenever every token it finds is all letters or
# all digits; the matcher falls back to TOKEN_RE for a text where that is not so (see is_pure).
WORD = rf"[^\W{CJK}]+(?:[{MARKS}]+[^\W{CJK}]*)*"  # a run of word characters and their marks
FAST_TOKEN_RE = re.compile(rf"{CHARACTER}|{WORD}(?:'{WORD})*")


def _special_characters() -> re.Pattern[str]:
    """Where piecewise normalization is needed: a character that NFKC or case folding changes
    in length or form (NBSP, ellipsis, ligatures, ß, full-width forms, anything outside the
    BMP), or any character followed by combining marks (which NFKC may compose with it).
    Everything else folds one-to-one and in bulk."""
    unstable: list[int] = []
    combining: list[int] = []
    for code in range(0x80, 0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if unicodedata.combining(char):
            combining.append(code)
        elif unicodedata.normalize("NFKC", char) != char or len(char.casefold()) != 1:
            unstable.append(code)
    marks = _char_class(combining)
    other = _char_class(unstable) + "\U00010000-\U0010ffff"
    return re.compile(f"(?:[{other}]|.)[{marks}]+|[{other}]", re.DOTALL)


_SPECIAL_RE = _special_characters()

# Abbreviations that mean the same token in headlines.
_ABBREVIATIONS = {"pt": "point", "pts": "point", "pct": "percent"}

# Russian and Ukrainian case/number endings, longest first.
_CYRILLIC_ENDING_TEXT = """
    иями ями ами иях иям ого его ому ему ыми ими ией ий ый ия ие ии ию ью ых их ым им ой ей ая яя
    ое ее ую юю ам ям ах ях ом ем ов ев ів ові еві ою ею ої ій ім а я о е ы и у ю ь і ї й
"""
_CYRILLIC_ENDINGS = sorted(_CYRILLIC_ENDING_TEXT.split(), key=len, reverse=True)
_MIN_STEM = 3


class Normalized(NamedTuple):  # a tuple: made for every field of every item, so cheap to build
    """A normalized copy of a text plus the way back to the original offsets.

    `starts[i]`/`ends[i]` give the original span of normalized character i; both are None when
    normalization kept every character in place (the common case), so spans are identical.
    """

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalized text to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            return self.starts[start], self.starts[start]
        return self.starts[start], self.ends[end - 1]


# tuple.__new__ skips NamedTuple's Python-level __new__ (all fields passed, in order)
_new = tuple.__new__


def undotted_i(lowered: str) -> str:
    """A lowercased or case-folded text with Turkish "İ" as a plain "i": it lowers to "i" and a
    combining dot, which is no word character and would end the word at the "i" ("İstanbul'da"
    must stay one word, as "Istanbul'da" is)."""
    return lowered.replace("i\u0307", "i")


def _fold(piece: str) -> str:
    return _translate(undotted_i(unicodedata.normalize("NFKC", piece).casefold()))


def normalize_text(text: str) -> Normalized:
    """NFKC, case folding and unified quotes/dashes, with offsets back to `text`."""
    if text.isascii():
        return _new(Normalized, (text, text.lower(), None, None))
    folded = text.casefold()
    if len(folded) == len(text) and unicodedata.is_normalized("NFKC", text):
        # casefold never shrinks a character, so equal length means one-to-one
        return _new(Normalized, (text, _translate(folded), None, None))
    # Fold the ordinary stretches in bulk and only the special characters one by one.
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _SPECIAL_RE.finditer(text):
        start, end = match.span()
        if start > position:
            parts.append(text[position:start].casefold())
            starts.extend(range(position, start))
            ends.extend(range(position + 1, start + 1))
        piece = _fold(match.group())
        parts.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
        position = end
    if position < len(text):
        parts.append(text[position:].casefold())
        starts.extend(range(position, len(text)))
        ends.extend(range(position + 1, len(text) + 1))
    return Normalized(text, _translate("".join(parts)), tuple(starts), tuple(ends))


# French and Italian elisions: "l'accordo", "d'Istanbul", "dell'Ucraina" are the word after
# the apostrophe (English possessives and contractions start with no such word).
_ELISION_RE = re.compile(
    r"(?:l|d|j|m|n|s|t|c|qu|un|all|dall|dell|nell|sull|quell|lorsqu|jusqu|puisqu)'(?=[^\W\d_])"
)


# Turkish case endings after an apostrophe: "İstanbul'da", "Rusya'nın", "Putin'in" (folded).
_TURKISH_CASE_RE = re.compile(
    r"(?<=[^\W\d_])'(?:da|de|ta|te|dan|den|tan|ten|in|un|nin|nun|ya|ye|yi|yu|a|e|i|u|la|le)$"
)


# The Arabic article with the prepositions and conjunctions joined to it ("السلام", "والسلام",
# "بالسلام", "للسلام" are one word), and "و" (and) before a word of three letters or more
# ("واوكرانيا"); one word's two spellings then share a key, so a pattern may name either. A
# lone "ب", "ل" or "ف" is kept: too many words begin with one ("بوتين").
_ARABIC_ARTICLE_RE = re.compile(
    "(?:[\u0648\u0641]?[\u0628\u0643]?\u0627\u0644|[\u0648\u0641]?\u0644\u0644|\u0648)"
    "(?=[\u0621-\u064a]{3})"
)


def without_elision(word: str) -> str:
    """A normalized word without a French or Italian elided article or preposition, or the
    Arabic article, in front: what its prefix patterns are matched against ("l'ukraine" ->
    "ukraine", for "ukrain*"; "والروسية" -> "روسية", for "الروسي*")."""
    if "'" in word and (elided := _ELISION_RE.match(word)):
        return word[elided.end() :]
    if "\u0621" <= word[0] <= "\u064a" and (article := _ARABIC_ARTICLE_RE.match(word)):
        return word[article.end() :]
    return word


def _stem_latin(token: str) -> str:
    if "'" in token:
        if elided := _ELISION_RE.match(token):
            token = token[elided.end() :]
        if case := _TURKISH_CASE_RE.search(token):
            token = token[: case.start()]
    if token.endswith("'s"):
        token = token[:-2]
    elif token.endswith("s'"):
        token = token[:-1]
    if len(token) <= 3 or not token.endswith("s"):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "xes", "zes", "ches", "shes")):
        return token[:-2]
    if token.endswith(("ss", "us", "is")):
        return token
    return token[:-1]


def _stem_cyrillic(token: str) -> str:
    for ending in _CYRILLIC_ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= _MIN_STEM:
            return token[: -len(ending)]
    return token


def token_key(token: str) -> str:
    """The comparison key of one normalized token: abbreviations expanded, light stemming.

    The stemming is deliberately simple (plural and case endings only) and applied identically
    to patterns and text, so a mistake can merge two forms but never split one.
    """
    token = _ABBREVIATIONS.get(token, token)
    if token.isdigit():
        return token
    first = token[0]
    if "\u0400" <= first <= "\u04ff":
        return _stem_cyrillic(token)
    if "\u0621" <= first <= "\u064a":
        return without_elision(token)
    return _stem_latin(token)


def is_pure(token: str) -> bool:
    """True when FAST_TOKEN_RE and TOKEN_RE agree on this token (letters only, or digits only)."""
    letters = token.replace("'", "")
    return token.isdecimal() or letters.isalpha() or _MARKS_RE.sub("", letters).isalpha()


def tokens(text: str) -> list[str]:
    """The normalized tokens of `text` (no offsets): used to compile patterns."""
    return TOKEN_RE.findall(normalize_text(text).text)
