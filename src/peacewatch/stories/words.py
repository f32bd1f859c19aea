"""Words to comparable keys: English and Russian stems (Snowball), Ukrainian lemmas (pymorphy3).

Snowball has no Ukrainian stemmer; pymorphy3 ships its Ukrainian dictionary in the
`pymorphy3-dicts-uk` package (loaded once, about 60 ms, nothing downloaded). A word of an
unknown language keeps its folded form. Results are cached: news vocabularies repeat.

Names need a key of their own: Snowball cuts "-ов" off a Russian surname in the nominative
but not in the other cases (Буданов -> будан, Будановым -> буданов), and pymorphy3 reads an
unknown Ukrainian surname as an adjective (Умєрова -> умєрів, Лавровим -> лавровий).
`name_key` instead strips one case ending from the folded word, so every case form of a
name, a place or an organisation shares one key (Буданов, Буданова, Будановым -> буданов).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# A number may group its thousands with a space ("1 000 тел", as Russian and Ukrainian write
# it), a comma or a point
WORD_RE = re.compile(
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d{3})*|[^\W\d_]+(?:['’ʼ][^\W\d_]+)*"
)
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэъё")


@lru_cache(maxsize=100_000)
def fold(word: str) -> str:
    """Lower case, 'ё' as 'е', every apostrophe as "'"."""
    return word.lower().replace("ё", "е").replace("’", "'").replace("ʼ", "'")


def words(text: str) -> list[str]:
    """The words and numbers of a text, in order, as written (not folded)."""
    return WORD_RE.findall(text)


def script_language(text: str) -> str | None:
    """'uk' or 'ru' for Cyrillic text by its letters, 'en' for Latin, None when unclear."""
    lowered = text.lower()
    letters = set(lowered)
    if letters & _UKRAINIAN_LETTERS and not letters & _RUSSIAN_LETTERS:
        return "uk"
    cyrillic = sum(1 for c in lowered if "а" <= c <= "я")
    latin = sum(1 for c in lowered if "a" <= c <= "z")
    if cyrillic > latin:
        return "ru"
    if latin:
        return "en"
    return None


@lru_cache(maxsize=4)
def _stemmer(algorithm: str) -> Any:
    import snowballstemmer  # loaded on first use: a poll that only revalidates never needs it

    return snowballstemmer.stemmer(algorithm)


@lru_cache(maxsize=1)
def _ukrainian() -> Any:
    import pymorphy3  # loaded on first use, like the stemmers

    return pymorphy3.MorphAnalyzer(lang="uk")


# Case endings of Russian and Ukrainian nouns, adjectives and surnames, by length
_CASE_ENDINGS = {
    lang: {n: frozenset(e for e in text.split() if len(e) == n) for n in (3, 2, 1)}
    for lang, text in {
        "ru": "ого его ому ему ыми ими ами ями ый ий ой ое ее ая яя ую юю ые ие ым им ом ем ей "
        "ою ею ых их ах ях ам ям а я у ю е ы и ь й о",
        "uk": "ого ому ими ами ями ий ій ої ою єю им ім ом ем ей єм ів їв их іх ах ях ам ям ая "
        "яя ую юю ії ія ію а я у ю е є и і ї ь й о",
    }.items()
}


@lru_cache(maxsize=100_000)
def name_key(word: str, lang: str | None) -> str:
    """The comparable form of a name (person, place, organisation): Russian and Ukrainian
    words lose one case ending (the longest that fits), keeping at least three letters;
    other words are keyed as `key` does."""
    endings = _CASE_ENDINGS.get(lang or "")
    folded = fold(word)
    if endings is None or not folded.isalpha():
        return key(word, lang)
    for size, found in endings.items():
        if len(folded) - size >= 3 and folded[-size:] in found:
            return folded[:-size]
    return folded


@lru_cache(maxsize=100_000)
def key(word: str, lang: str | None) -> str:
    """The comparable form of one word in a language: stem, lemma or the folded word."""
    folded = fold(word)
    if folded.isdigit() or len(folded) < 3:
        return folded
    if lang == "uk":
        return str(_ukrainian().parse(folded)[0].normal_form).replace("ё", "е")
    if lang == "ru":
        return str(_stemmer("russian").stemWord(folded))
    if lang == "en":
        return str(_stemmer("english").stemWord(folded.replace("'s", "")))
    return folded
