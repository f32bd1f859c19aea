"""Matching normalization: folding, tokens, keys, and offsets back into the original text."""

from __future__ import annotations

import tomllib

import pytest

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.normalize import (
    FAST_TOKEN_RE,
    TOKEN_RE,
    is_pure,
    normalize_text,
    token_key,
    tokens,
    without_elision,
)
from peacewatch.tagging.rules import compile_rules


def keys(text: str) -> list[str]:
    return [token_key(t) for t in tokens(text)]


@pytest.mark.parametrize(
    ("variant"),
    [
        "28-point plan",
        "28 point plan",
        "28-pt plan",
        "28pt plan",
        "28‑point plan",
        "28 points plan",
    ],
)
def test_28_point_spellings_have_the_same_keys(variant: str) -> None:
    assert keys(variant) == ["28", "point", "plan"]


def test_case_quotes_and_dashes_are_unified() -> None:
    assert normalize_text("UKRAINE’S “PEACE” — DEAL").text == 'ukraine\'s "peace" - deal'
    assert normalize_text("Ukraine`s «мир»").text == 'ukraine\'s "мир"'


def test_nfkc_and_accents_fold_to_plain_letters() -> None:
    assert normalize_text("Bürgenstock Communiqué").text == "burgenstock communique"
    assert normalize_text("Çırağan").text == "ciragan"
    assert normalize_text("ﬁnal").text == "final"  # compatibility ligature
    assert normalize_text("Ёлка").text == "елка"
    # Vietnamese stacks two marks on a letter; its addresses and the rules write it bare
    text = "Kế hoạch hòa bình 20 điểm"
    folded = normalize_text(text)
    assert folded.text == "ke hoach hoa binh 20 diem"
    assert len(folded.text) == len(text)  # one letter for one: evidence offsets hold


def test_cyrillic_short_i_is_not_an_accented_letter() -> None:
    assert normalize_text("Мирний").text == "мирний"


def test_english_plurals_and_possessives() -> None:
    assert keys("talks negotiations countries Ukraine's accords") == keys(
        "talk negotiation country Ukraine accord"
    )
    # words that only look plural keep their s
    assert token_key("crisis") == "crisis"
    assert token_key("process") == "process"
    assert token_key("us") == "us"


@pytest.mark.parametrize(
    ("forms"),
    [
        ["переговоры", "переговоров", "переговорах"],  # RU talks
        ["переговори", "переговорів", "переговорах"],  # UK talks
        ["мирный", "мирного", "мирным"],
        ["соглашения", "соглашений", "соглашениям"],
        ["минские", "минских", "минским"],
        ["план", "плана", "планом"],
    ],
)
def test_slavic_inflections_share_a_key(forms: list[str]) -> None:
    assert len({token_key(f) for f in forms}) == 1


def test_apostrophe_inside_ukrainian_words_is_part_of_the_word() -> None:
    assert tokens("перемир’я") == ["перемир'я"]


def test_word_boundaries_latin_and_cyrillic() -> None:
    assert tokens("Minsk-2, Мінськ—Київ") == ["minsk", "2", "мінськ", "київ"]
    assert "minsk" not in tokens("Minskoye")


def test_offsets_map_back_to_the_original() -> None:
    original = "ﬁnal Straße: Bürgenstock, 28\u00a0point"
    norm = normalize_text(original)
    start = norm.text.index("burgenstock")
    a, b = norm.span(start, start + len("burgenstock"))
    assert original[a:b] == "Bürgenstock"
    start = norm.text.index("strasse")
    a, b = norm.span(start, start + len("strasse"))
    assert original[a:b] == "Straße"
    start = norm.text.index("final")
    a, b = norm.span(start, start + len("final"))
    assert original[a:b] == "ﬁnal"


def test_combining_marks_stay_with_their_letter() -> None:
    decomposed = "и\u0306 Bu\u0308rgenstock"  # й and ü written as base letter + mark
    norm = normalize_text(decomposed)
    assert norm.text == "й burgenstock"
    start = norm.text.index("burgenstock")
    a, b = norm.span(start, start + len("burgenstock"))
    assert decomposed[a:b] == "Bu\u0308rgenstock"


def test_identity_offsets_in_the_common_case() -> None:
    assert normalize_text("Ukraine’s plan").starts is None
    assert normalize_text("План миру").starts is None


@pytest.mark.parametrize("text", ["Trump 28pt plan", "G8 talks_2", "Ukraine’s plan", "мир 2025"])
def test_fast_tokenizer_agrees_when_tokens_are_pure(text: str) -> None:
    norm = normalize_text(text).text
    fast = FAST_TOKEN_RE.findall(norm)
    if all(is_pure(t) for t in fast):
        assert fast == TOKEN_RE.findall(norm)
    else:
        assert TOKEN_RE.findall(norm) != fast


def test_french_and_italian_elisions_match_the_word_after_the_apostrophe() -> None:
    assert token_key("l'accordo") == token_key("accordo")
    assert token_key("dell'ucraina") == "ucraina"
    assert token_key("d'istanbul") == "istanbul"
    # English possessives and contractions keep their word
    assert token_key("ukraine's") == "ukraine"
    assert token_key("don't") == "don't"
    assert token_key("l'") == "l'"


def test_turkish_dotted_capital_i_folds_to_a_plain_i() -> None:
    # "İ".casefold() is "i" and a combining dot: the word must not end at the "i"
    norm = normalize_text("Putin: İstanbul'daki İsviçre")
    assert norm.text == "putin: istanbul'daki isvicre"
    assert tokens("İstanbul'da görüşme") == ["istanbul'da", "gorusme"]
    start, end = norm.span(7, 20)  # offsets still point at the original word
    assert norm.original[start:end] == "İstanbul'daki"


def test_turkish_case_endings_after_an_apostrophe_are_dropped() -> None:
    assert token_key("istanbul'da") == "istanbul"
    assert token_key("putin'in") == token_key("putin")
    assert token_key("o'brien") == "o'brien"  # not a case ending


def test_azerbaijani_schwa_folds_to_e_as_its_neighbours_write_it() -> None:
    # "atəşkəs" is Turkish "ateşkes" (ceasefire): one pattern for both, and for the addresses
    norm = normalize_text("Əbu-Dabidə atəşkəs")
    assert norm.text == "ebu-dabide ateskes"
    assert tokens("Cenevrə danışıqları") == ["cenevre", "danisiqlari"]


def test_arabic_indic_and_persian_digits_read_as_digits() -> None:
    # the rules write "28 بند*": a Persian "۲۸" or an Arabic "٢٨" is the same number
    assert normalize_text("طرح ۲۸ بندی").text == "طرح 28 بندي"  # (the Persian ya as the Arabic)
    assert tokens("خطة ٢٨ بندا") == ["خطة", "28", "بندا"]


def test_combining_marks_stay_in_their_word() -> None:
    # Devanagari writes vowels as combining marks; the regex engine's word characters leave
    # them out, and "शांति" (peace) fell apart into its consonants
    assert tokens("ज़ेलेंस्की का शांति फॉर्मूला") == ["ज़ेलेंस्की", "का", "शांति", "फॉर्मूला"]
    for text in ("शांति फॉर्मूला", "সমঝোতা"):
        assert FAST_TOKEN_RE.findall(text) == TOKEN_RE.findall(text)
        assert all(is_pure(word) for word in TOKEN_RE.findall(text))
    # a mark never starts a word, and offsets still point at the original text
    norm = normalize_text("यूक्रेन शांति")
    assert norm.original[slice(*norm.span(8, 13))] == "शांति"


def test_greek_accents_fold_as_capitals_print_them() -> None:
    # a headline in capitals drops the tonos: "ΕΙΡΗΝΗΣ" and "ειρήνης" are one word
    assert (
        tokens("Η φόρμουλα ΕΙΡΗΝΗΣ") == tokens("Η ΦΟΡΜΟΥΛΑ ειρήνης") == ["η", "φορμουλα", "ειρηνησ"]
    )
    assert tokens("Ζελένσκι Πούτιν διάλογος ϊ") == ["ζελενσκι", "πουτιν", "διαλογοσ", "ι"]


def test_thai_letters_are_tokens_with_their_marks() -> None:
    # Thai writes no spaces between words: "ยูเครน" (Ukraine) inside a run must still match
    assert tokens("ยูเครน") == ["ยู", "เ", "ค", "ร", "น"]
    run = tokens("แผนสันติภาพ 28 ข้อของทรัมป์ต่อยูเครน")
    assert run[-5:] == tokens("ยูเครน") and "28" in run
    assert all(is_pure(token) for token in run)


def test_arabic_spellings_and_the_article_share_a_key() -> None:
    # hamza forms of alif, and Persian ya and kaf, as the one spelling the rules write
    assert normalize_text("أوكرانيا إسطنبول آمن").text == "اوكرانيا اسطنبول امن"
    assert normalize_text("کییف").text == "كييف"
    # the article, with "and", "by", "for" joined to it, and "and" before a word: one key
    assert (
        len({token_key(word) for word in ("السلام", "والسلام", "بالسلام", "للسلام", "سلام")}) == 1
    )
    assert keys("روسيا وأوكرانيا") == keys("روسيا أوكرانيا")
    # a lone "ب" or "ل" begins too many words to be taken off ("بوتين" is Putin), and a short
    # word after "ال" keeps it ("الف", a thousand)
    assert keys("بوتين الف وقف") == ["بوتين", "الف", "وقف"]
    # prefix patterns are matched against the word without its article
    assert without_elision("والروسية").startswith("روسي")


def test_a_prefix_pattern_written_with_the_article_finds_the_word_with_and_before_it() -> None:
    # the pattern "الروسي*" (the Russian...) must find "والروسية" (and the Russian...), as
    # "ukrain*" finds "l'ukraine": both sides lose the article before the prefix is compared
    rules = compile_rules(
        tomllib.loads(
            """
[[initiative]]
id = "arabic-talks"
name = "Arabic talks"
description = "Talks named by an Arabic prefix pattern with its article."
start_date = 2025-01-01
parties = ["North"]
links = ["https://example.org/talks"]
[initiative.rules]
terms = [ { match = "الروسي*", near = ["محادثات"], within = 4, weight = 1 } ]

[relevance.rules]
terms = [ { match = "محادثات" } ]
"""
        ),
        display="arabic.toml",
    )
    found = classify(ItemText(title="محادثات الوفدين الأوكراني والروسية"), rules)
    assert [tag.id for tag in found.initiatives] == ["arabic-talks"]
