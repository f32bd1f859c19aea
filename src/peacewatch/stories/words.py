"""Words to comparable keys: English and Russian stems (Snowball), Ukrainian lemmas (pymorphy3).

Snowball has no Ukrainian stemmer; pymorphy3 ships its Ukrainian dictionary in the
`pymorphy3-dicts-uk` package (loaded once, about 60 ms, nothing downloaded). A word of an
unknown language keeps its folded form. Results are cached: news vocabularies repeat.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

WORD_RE = re.compile(r"\d+(?:[.,]\d{3})*|[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
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
