"""The classifier: labeled headlines for every initiative and trap, and each rule feature."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from peacewatch.tagging.classifier import ItemText, classify, published_range
from peacewatch.tagging.rules import compile_rules, load_ruleset
from peacewatch.tagging.ruleset import RuleSet

ROOT = Path(__file__).resolve().parent.parent
HEADLINES = Path(__file__).parent / "fixtures" / "tagging" / "headlines.jsonl"


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_ruleset(ROOT / "config")


def labeled() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in HEADLINES.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if row]


@pytest.mark.parametrize("row", labeled(), ids=lambda row: row["note"])
def test_labeled_headline(shipped: RuleSet, row: dict[str, Any]) -> None:
    item = ItemText(title=row["title"], summary=row.get("summary"), published=row["published"])
    # "rules_only": what the rules make of it, before the model referees between their tags
    result = classify(item, replace(shipped, model=None) if row.get("rules_only") else shipped)
    assert sorted(t.id for t in result.initiatives) == sorted(row["expect"])
    if "relevant" in row:
        assert result.relevant is row["relevant"]
    if row["expect"]:
        assert result.relevant


def test_labels_cover_every_shipped_initiative_and_both_scripts(shipped: RuleSet) -> None:
    rows = labeled()
    covered = {ident for row in rows for ident in row["expect"]}
    assert {i.id for i in shipped.initiatives} <= covered
    traps = [row for row in rows if row["note"].startswith("TRAP")]
    assert len(traps) >= 20
    cyrillic = [row for row in rows if any("\u0400" <= ch <= "\u04ff" for ch in row["title"])]
    ukrainian = [row for row in rows if any(ch in "іїєґ" for ch in row["title"].lower())]
    assert len(cyrillic) >= 12 and len(ukrainian) >= 5


def test_evidence_quotes_the_original_text_with_offsets(shipped: RuleSet) -> None:
    title = "Ukraine’s “28‑point” plan: what Kyiv can accept"
    result = classify(ItemText(title=title, published="2025-11-21T10:00:00+00:00"), shipped)
    (tag,) = result.initiatives
    assert tag.id == "us-28pt-plan"
    first = tag.evidence[0]
    assert first.field == "title"
    assert first.text == "28‑point"
    assert title[first.start : first.end] == first.text
    assert first.rule.startswith("terms[0]: ")
    assert first.weight == tag.score == 2.0


def test_evidence_in_summary_and_text_points_into_that_field(shipped: RuleSet) -> None:
    summary = "Officials say the Peace Formula summit will take place in Switzerland."
    text = "Background: Кардинал Дзуппі відвідав Київ."
    item = ItemText(title="Weekly roundup", summary=summary, text=text, published="2023-07-01")
    result = classify(item, shipped)
    tags = {t.id: t for t in result.initiatives}
    formula = tags["ua-peace-formula"].evidence[0]
    assert formula.field == "summary" and summary[formula.start : formula.end] == "Peace Formula"
    zuppi = tags["vatican-zuppi-mission"].evidence[0]
    assert zuppi.field == "text" and text[zuppi.start : zuppi.end] == "Дзуппі"


def test_field_weights_headline_over_summary_over_body(shipped: RuleSet) -> None:
    def score(**fields: str) -> float:
        item = ItemText(
            title=fields.get("title", "News"),
            published="2023-03-01",
            **{k: v for k, v in fields.items() if k != "title"},
        )
        tags = classify(item, shipped).initiatives
        return tags[0].score if tags else 0.0

    phrase = "the Peace Formula"  # weight 2: fires from any field, scaled by the field's weight
    assert score(title=phrase) > score(summary=phrase) > score(text=phrase) > 0


def test_same_term_in_two_fields_counts_once_at_the_best_weight(shipped: RuleSet) -> None:
    item = ItemText(
        title="Merkel on the Minsk agreements",
        summary="The Minsk agreements bought time, she said.",
        published="2022-12-07",
    )
    (tag,) = classify(item, shipped).initiatives
    assert tag.score == 1.5
    assert [e.field for e in tag.evidence if e.weight] == ["title"]


def test_dates_published_range() -> None:
    assert (
        published_range("2025-11-21T14:03:00+00:00")
        == (
            published_range("2025-11-21")[0],  # type: ignore[index]
        )
        * 2
    )
    first, last = published_range("2024-02")  # type: ignore[misc]
    assert (first.isoformat(), last.isoformat()) == ("2024-02-01", "2024-02-29")
    assert published_range("2023") is not None
    assert published_range("someday") is None
    assert published_range(None) is None


def test_themes_only_on_peace_coverage(shipped: RuleSet) -> None:
    on_topic = classify(
        ItemText("Zelensky rejects ceding Donbas in peace talks", published="2025-12-01"), shipped
    )
    assert on_topic.relevant and "territory" in {t.id for t in on_topic.themes}
    battlefield = classify(
        ItemText("Heavy fighting near Donetsk as Russia advances", published="2025-12-01"), shipped
    )
    assert not battlefield.relevant and battlefield.themes == ()


@pytest.mark.parametrize(
    ("title", "themes"),
    [
        ("Peace plan: Ukraine to cap army at 600,000 and drop NATO membership bid",
         {"army-size-cap", "nato-membership"}),
        ("Kremlin wants sanctions relief and return to SWIFT under Black Sea ceasefire",
         {"sanctions", "black-sea", "ceasefire"}),
        ("Peace deal would use frozen Russian assets, offer security guarantees to Ukraine",
         {"frozen-assets", "security-guarantees"}),
        ("Peace plan calls for elections in Ukraine within 100 days and a full amnesty",
         {"elections", "amnesty-accountability"}),
        ("Ukraine and Russia discuss prisoner swap and deported children in peace talks",
         {"prisoners-children"}),
        ("Zaporizhzhia nuclear plant control is a sticking point in peace talks with Russia",
         {"zaporizhzhia-npp"}),
        ("Переговоры с Украиной: Кремль требует вывода войск из Донбасса",
         {"territory"}),
        ("Мирний план для України: гарантії безпеки та обмін полоненими",
         {"security-guarantees", "prisoners-children"}),
    ],
)  # fmt: skip
def test_themes(shipped: RuleSet, title: str, themes: set[str]) -> None:
    result = classify(ItemText(title, published="2025-12-01"), shipped)
    assert themes <= {t.id for t in result.themes}
    assert all(t.evidence and t.score >= 0.8 for t in result.themes)


# -- rule language features, on small rule sets written here ------------------------------


def rules(terms: str, extra: str = "", start: str = "2020-01-01", slack: int = 3) -> RuleSet:
    import tomllib

    text = f"""
[defaults]
slack_days = {slack}
[concepts]
talks = ["talks", "negotiat*", "communique"]
[[initiative]]
id = "x"
name = "X"
description = "x"
start_date = {start}
parties = ["A"]
links = ["https://example.org"]
[initiative.rules]
terms = {terms}
{extra}
[relevance]
[relevance.rules]
terms = [ {{ match = "@talks" }} ]
"""
    return compile_rules(tomllib.loads(text))


def tagged(ruleset: RuleSet, title: str, **fields: Any) -> bool:
    return bool(classify(ItemText(title=title, **fields), ruleset).initiatives)


def test_threshold_adds_weights() -> None:
    ruleset = rules('[ { match = "alpha", weight = 0.6 }, { match = "beta", weight = 0.6 } ]')
    assert not tagged(ruleset, "alpha only")
    assert tagged(ruleset, "alpha and beta")


def test_proximity() -> None:
    ruleset = rules('[ { match = "istanbul", near = "@talks", within = 3 } ]')
    assert tagged(ruleset, "Istanbul talks resume")
    assert tagged(ruleset, "talks in Istanbul")
    assert tagged(ruleset, "the Istanbul communique")
    assert not tagged(ruleset, "Istanbul hosts tourists while far away other negotiations go on")
    assert not tagged(ruleset, "Istanbul")


def test_require_all_and_any_groups() -> None:
    ruleset = rules(
        '[ { match = "plan" } ]',
        'require = [ { all = ["ukraine", "russia"] }, { any = ["peace", "ceasefire"] } ]',
    )
    assert tagged(ruleset, "Ukraine Russia ceasefire plan")
    assert not tagged(ruleset, "Ukraine ceasefire plan")
    assert not tagged(ruleset, "Ukraine Russia plan")
    # a requirement may be met in another field
    assert tagged(ruleset, "Peace plan", summary="Ukraine and Russia")


def test_exclusion_and_field_scoped_exclusion() -> None:
    ruleset = rules(
        '[ { match = "plan" } ]', 'exclude = [ { any = ["gaza"], fields = ["title"] } ]'
    )
    assert not tagged(ruleset, "Gaza plan")
    assert tagged(ruleset, "The plan", summary="Unlike in Gaza, ...")


def test_unless_drops_a_cue_only_in_its_field() -> None:
    ruleset = rules('[ { match = "china", near = "peace", unless = "saudi" } ]')
    assert tagged(ruleset, "China backs peace")
    assert not tagged(ruleset, "China backs peace at Saudi meeting")


def test_term_date_window_needs_a_date() -> None:
    ruleset = rules('[ { match = "summit", from = 2023-06-01, until = 2023-06-30 } ]')
    assert tagged(ruleset, "summit", published="2023-06-15")
    assert tagged(ruleset, "summit", published="2023-06")  # the month overlaps
    assert not tagged(ruleset, "summit", published="2023-07-01")
    assert not tagged(ruleset, "summit", published="2023-05-31")
    assert not tagged(ruleset, "summit")


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2024-06-15", True),  # the start date
        ("2024-06-12", True),  # start - slack
        ("2024-06-11", False),  # one day before the slack
        ("2024-06-11T23:59:59+00:00", False),
        ("2030-01-01", True),  # long after: an initiative is still discussed
        ("2024-06", True),  # month-only: may be any day of June
        ("2024-05", False),
        (None, True),  # unknown date never blocks
    ],
)
def test_initiative_date_window_edges(published: str | None, expected: bool) -> None:
    ruleset = rules('[ { match = "summit" } ]', start="2024-06-15", slack=3)
    assert tagged(ruleset, "summit", published=published) is expected


def test_prefix_wildcard_and_gap() -> None:
    ruleset = rules('[ { match = ["negotiat*", "end the * war"] } ]')
    assert tagged(ruleset, "Negotiations stall")
    assert tagged(ruleset, "Leaders vow to end the Ukraine war")
    assert not tagged(ruleset, "end the war")  # the gap needs exactly one word
    assert not tagged(ruleset, "Renegotiation")


def test_phrases_sharing_a_first_word_are_found_by_the_words_that_follow() -> None:
    """The matcher files a word's phrases by their second atom (a gap, an exact word or a
    prefix) and walks only those the next word continues; every phrase the text holds is
    still found, and the one-word pattern beside them, in the order the rules list them."""
    ruleset = rules(
        '[ { match = ["peace * summit", "peace talk*", "peace", "peace plan", "peace talks in"] } ]'
    )
    result = classify(ItemText(title="Peace talks in Geneva, then a peace plan"), ruleset)
    # the term's evidence is its first pattern found at the first word that starts any
    quoted = [(e.text, e.start) for tag in result.initiatives for e in tag.evidence]
    assert quoted == [("Peace talks", 0)]
    result = classify(ItemText(title="A peace global summit"), ruleset)
    assert [e.text for tag in result.initiatives for e in tag.evidence] == ["peace global summit"]
    result = classify(ItemText(title="peace"), ruleset)  # the phrases need a next word
    assert [e.text for tag in result.initiatives for e in tag.evidence] == ["peace"]


def test_a_prefix_matches_the_word_after_a_french_or_italian_elision() -> None:
    """'ukrain*' finds "L'Ukraine" and 'ucrain*' "dell'Ucraina", as an exact word finds
    "d'Istanbul"; an English possessive still keeps its word."""
    ruleset = rules('[ { match = ["ukrain*", "ucrain*"] } ]')
    assert tagged(ruleset, "L'Ukraine accepte un cessez-le-feu")
    assert tagged(ruleset, "Conferenza di pace, sì all’integrità dell'Ucraina")
    assert tagged(ruleset, "Ukraine's plan")
    assert not tagged(ruleset, "l'ukulele")


def test_chinese_japanese_and_korean_patterns_are_phrases_of_characters() -> None:
    """Chinese and Japanese write no spaces and Korean joins particles to its words: each of
    their characters is a token, so "乌克兰" is found inside "乌克兰总统泽连斯基" and "회담"
    inside "정상회담", and the evidence quotes the characters themselves."""
    ruleset = rules('[ { match = ["乌克兰 * * 和平计划", "ウクライナ", "회담"] } ]')
    assert tagged(ruleset, "乌克兰总统和平计划")  # 乌克兰, two characters, 和平计划
    assert tagged(ruleset, "ロシアとウクライナの直接交渉")
    assert tagged(ruleset, "러·우크라 외무장관 정상회담 시작")
    assert not tagged(ruleset, "乌鲁木齐和平路")  # Urumqi: 乌 alone is not 乌克兰
    result = classify(ItemText(title="Talks: 乌克兰总统和平计划"), ruleset)
    (evidence,) = result.initiatives[0].evidence
    assert (evidence.text, evidence.start, evidence.end) == ("乌克兰总统和平计划", 7, 16)


def test_negative_weight() -> None:
    ruleset = rules('[ { match = "plan", weight = 1 }, { match = "rumour", weight = -0.5 } ]')
    assert tagged(ruleset, "plan")
    assert not tagged(ruleset, "plan rumour")


def test_classification_as_dict_is_json_ready(shipped: RuleSet) -> None:
    result = classify(ItemText("Minsk agreements are dead, says Kremlin"), shipped)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["relevant"] is True
    assert data["initiatives"][0]["id"] == "minsk-agreements"
    assert set(data["initiatives"][0]["evidence"][0]) == {
        "rule", "field", "text", "start", "end", "weight",
    }  # fmt: skip


def test_empty_item(shipped: RuleSet) -> None:
    result = classify(ItemText(title=""), shipped)
    assert result.initiatives == () and result.themes == () and not result.relevant


def test_mapping_input() -> None:
    item = ItemText.from_mapping({"title": "T", "summary": None, "published": "2025-01-01"})
    assert item == ItemText(title="T", summary=None, published="2025-01-01")


def run_evaluation(labels: Path) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "evaluate_tagging.py"
    return subprocess.run(
        [sys.executable, str(script), str(labels), "--show-errors"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_evaluation_script_prints_precision_and_recall(tmp_path: Path) -> None:
    labels = HEADLINES.parent / "labels-small.jsonl"
    result = run_evaluation(labels)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["china-12pt", "1", "0", "0", "1.00", "1.00"] in rows
    assert ["OVERALL", "2", "0", "0", "1.00", "1.00"] in rows
    # a label the rules do not produce: recall drops, the mismatch is shown, exit status 1
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(
        labels.read_text(encoding="utf-8").replace(
            '"initiatives": []', '"initiatives": ["minsk"]', 1
        ),
        encoding="utf-8",
    )
    failed = run_evaluation(wrong)
    assert failed.returncode == 1
    assert "MISMATCH 2023-01-05" in failed.stdout
    assert ["minsk-agreements", "0", "0", "1", "n/a", "0.00"] in [
        line.split() for line in failed.stdout.splitlines()
    ]


def test_fast_word_split_agrees_with_the_regex_tokenizer() -> None:
    """The classifier splits words with bytes.translate where it can (see tagging.scan._tokens);
    on any text it must find FAST_TOKEN_RE's tokens, and evidence their offsets."""
    import random

    from peacewatch.tagging.normalize import FAST_TOKEN_RE, normalize_text
    from peacewatch.tagging.scan import _Field, _tokens

    alphabet = [*"ab Zz09_'' -.,\"«»\t\n", "й", "і", "ї", "ё", "ß", "é", "€", "٣", "²", "😀"]
    alphabet += ["\u2028", "\u00a0", "\u3000", "\x85", "\u0306", "\ud800"]  # odd spaces, marks
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        words, layout = _tokens(text)
        matches = list(FAST_TOKEN_RE.finditer(text))
        assert words == [m.group() for m in matches], repr(text)
        field = _Field("title", normalize_text(text), 1.0, (words, layout), {})
        offsets = [field.locate(index) for index in range(len(words))]
        assert offsets == [m.start() for m in matches], repr(text)


@pytest.mark.parametrize(
    "title",
    [
        "Zelensky's aides: «мирний план» — Witkoff's 28-point plan",  # split by bytes.translate
        "Zelensky's aides: «мирний план» — 'Witkoff's' 28-point plan",  # by the regex engine
    ],
)
def test_evidence_offsets_with_apostrophes_and_cyrillic(shipped: RuleSet, title: str) -> None:
    result = classify(ItemText(title, published="2025-11-22"), shipped)
    evidence = [e for tag in result.initiatives for e in tag.evidence]
    assert "28-point" in [e.text for e in evidence]
    assert all(title[e.start : e.end] == e.text for e in evidence if e.field == "title")


def test_word_memo_is_bounded_and_never_changes_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from peacewatch.tagging.ruleset import WordMemo

    ruleset = load_ruleset(ROOT / "config")
    item = ItemText(
        "Witkoff's 28pt plan: Umerov meets Dmitriev",
        summary="G7 leaders back ceasefire talks and security guarantees for Ukraine",
        published="2025-11-25",
    )
    cold = classify(item, ruleset)
    assert cold.initiatives and ruleset.memo.mixed >= {"28pt", "g7"}
    assert classify(item, ruleset) == cold  # from the memo
    monkeypatch.setattr(WordMemo, "LIMIT", 4)
    for _ in range(3):  # renewed before each field: every word worked out again
        assert classify(item, ruleset) == cold
        assert len(ruleset.memo) <= 4 + 12  # the limit plus one field's words


def test_two_threads_share_a_rule_set_while_the_memo_is_renewed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The daemon tags new items while a background thread retags: both use one RuleSet."""
    import threading

    from peacewatch.tagging.ruleset import WordMemo

    ruleset = load_ruleset(ROOT / "config")
    rows = [json.loads(line) for line in HEADLINES.read_text(encoding="utf-8").splitlines()][:60]
    items = [ItemText(r["title"], summary="Witkoff's 28pt plan, G7 talks", published=r["published"])
             for r in rows]  # fmt: skip
    expected = [classify(item, ruleset) for item in items]
    monkeypatch.setattr(WordMemo, "LIMIT", 5)  # renewed all the time
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave as finely as they can
    results: list[list[Any]] = [[], []]
    errors: list[BaseException] = []

    def work(out: list[Any]) -> None:
        try:
            for _ in range(5):
                out.extend(classify(item, ruleset) for item in items)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors
    assert results[0] == results[1] == expected * 5
