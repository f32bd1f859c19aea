"""Loading and validating initiatives.toml: the shipped file, every kind of mistake, versions."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import pytest

from peacewatch.errors import ConfigError
from peacewatch.tagging.rules import compile_rules, load_rules_file, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
FIXTURES = Path(__file__).parent / "fixtures" / "tagging"

REQUIRED_INITIATIVES = {
    "us-28pt-plan",
    "us-ua-20pt-framework",
    "ua-peace-formula",
    "belarus-talks-2022",
    "antalya-meeting-2022",
    "istanbul-communique-2022",
    "istanbul-talks-2025",
    "burgenstock-summit-2024",
    "putin-terms-2024",
    "china-12pt",
    "brazil-china-6pt",
    "indonesia-prabowo-2023",
    "jeddah-meeting-2023",
    "saudi-talks-2025",
    "african-peace-mission-2023",
    "vatican-zuppi-mission",
    "minsk-agreements",
    "black-sea-grain-initiative",
    "alaska-summit-2025",
    "coalition-of-willing",
    "trilateral-talks-2026",
}
REQUIRED_THEMES = {
    "territory",
    "nato-membership",
    "army-size-cap",
    "sanctions",
    "security-guarantees",
    "frozen-assets",
    "elections",
    "amnesty-accountability",
    "prisoners-children",
    "zaporizhzhia-npp",
    "ceasefire",
    "black-sea",
}

MINIMAL = """
[concepts]
talks = ["talks", "negotiat*"]

[[initiative]]
id = "demo"
name = "Demo"
description = "A demo initiative."
start_date = 2025-01-01
parties = ["A"]
links = ["https://example.org/demo"]
[initiative.rules]
terms = [ { match = "demo plan", weight = 1 } ]

[relevance]
[relevance.rules]
terms = [ { match = "@talks" } ]
"""


def load_text(tmp_path: Path, text: str) -> object:
    path = tmp_path / "initiatives.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules_file(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    return caught.value.problems


def test_shipped_rules_load_with_every_initiative_and_theme() -> None:
    ruleset = load_ruleset(CONFIG)
    ids = {i.id for i in ruleset.initiatives}
    assert ids >= REQUIRED_INITIATIVES
    assert {t.id for t in ruleset.themes} >= REQUIRED_THEMES
    for initiative in ruleset.initiatives:
        assert initiative.name and initiative.description
        assert initiative.parties, initiative.id
        assert initiative.links and all(link.startswith("http") for link in initiative.links)
        assert initiative.start_date >= date(2014, 1, 1)
        assert initiative.end_date is None or initiative.end_date >= initiative.start_date


def test_shipped_dates_match_the_reference() -> None:
    ruleset = load_ruleset(CONFIG)
    assert ruleset.initiative("us-28pt-plan").start_date == date(2025, 11, 20)
    assert ruleset.initiative("ua-peace-formula").start_date == date(2022, 11, 15)
    assert ruleset.initiative("burgenstock-summit-2024").start_date == date(2024, 6, 15)
    assert ruleset.initiative("alaska-summit-2025").start_date == date(2025, 8, 15)
    assert ruleset.initiative("black-sea-grain-initiative").end_date == date(2023, 7, 17)
    assert ruleset.initiative("minsk-agreements").end_date == date(2022, 2, 21)
    # over, so the model names them no more than 90 days after (referee.AFTER_END)
    assert ruleset.initiative("african-peace-mission-2023").end_date == date(2023, 7, 28)
    assert ruleset.initiative("putin-terms-2024").end_date == date(2024, 6, 14)
    assert ruleset.initiative("saudi-talks-2025").end_date == date(2025, 3, 25)


def test_minimal_file_compiles(tmp_path: Path) -> None:
    ruleset = load_text(tmp_path, MINIMAL)
    assert [i.id for i in ruleset.initiatives] == ["demo"]  # type: ignore[attr-defined]


def test_ruleset_is_immutable() -> None:
    ruleset = load_ruleset(CONFIG)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ruleset.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ruleset.field_weights["title"] = 5  # type: ignore[index]


def test_version_ignores_comments_and_layout_but_not_content(tmp_path: Path) -> None:
    base = load_text(tmp_path, MINIMAL).version  # type: ignore[attr-defined]
    relaid = "# a comment\n" + MINIMAL.replace("weight = 1 }", "weight = 1.0   }")
    assert load_text(tmp_path, relaid).version == base  # type: ignore[attr-defined]
    changed = MINIMAL.replace("weight = 1 }", "weight = 2 }")
    assert load_text(tmp_path, changed).version != base  # type: ignore[attr-defined]


def test_load_ruleset_reads_config_dir(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "initiatives.toml", tmp_path / "initiatives.toml")
    shutil.copy(CONFIG / "tagging-model.npz", tmp_path / "tagging-model.npz")
    assert load_ruleset(tmp_path).version == load_ruleset(CONFIG).version


def test_broken_fixture_reports_every_problem_in_the_agreed_format() -> None:
    path = FIXTURES / "broken-rules.toml"
    with pytest.raises(ConfigError) as caught:
        load_rules_file(path)
    found = caught.value.problems
    shown = str(path)
    expected = [
        f"{shown}: initiative 'us-28pt-plan': 'rules.terms[2].weight': expected a number, "
        'got "high"',
        f"{shown}: initiative 'us-28pt-plan': 'rules.terms[0].match[1]': pattern 'peace (plan|deal)' "
        "contains '()|': patterns are words and phrases, not regular expressions "
        "(use a list for alternatives, 'word*' for a prefix)",
        f"{shown}: initiative 'us-28pt-plan': 'rules.terms[1].colour': unknown key",
        f"{shown}: initiative 'bad-dates': 'end_date': 2020-01-01 is before start_date 2022-01-01",
        f"{shown}: initiative 'bad-dates': 'rules.require[0].any[0]': unknown concept '@nothing'",
        f"{shown}: initiative 'bad-dates': 'rules.exclude[0]': needs exactly one of 'any' or 'all'",
        f"{shown}: initiative #3: 'id': expected a lowercase slug like 'us-28pt-plan', "
        'got "Bad Id"',
        f"{shown}: theme 'territory': 'rules.terms[0].match[0]': prefix 'a*' in 'a*' is shorter "
        "than 3 letters",
    ]
    for line in expected:
        assert line in found, f"missing: {line}\nfound:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('start_date = "soon"', "'start_date': expected a date (YYYY-MM-DD), got \"soon\""),
        ('links = ["ftp://x"]', "'links[0]': expected an http(s) URL"),
        ("slack_days = -1", "'slack_days': must be at least 0"),
        ("threshold = 1", "'threshold': unknown key"),
    ],
)
def test_initiative_field_problems(tmp_path: Path, snippet: str, expected: str) -> None:
    key = snippet.split(" =")[0]
    lines = [line for line in MINIMAL.splitlines() if not line.startswith(f"{key} =")]
    text = "\n".join(lines).replace('id = "demo"', f'id = "demo"\n{snippet}')
    found = problems(tmp_path, text)
    assert any(expected in p and "initiative 'demo'" in p for p in found), found


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ('[ { match = "" } ]', "pattern '' has no words"),
        ('[ { match = "!!!" } ]', "pattern '!!!' has no words"),
        ('[ { match = "* plan" } ]', "cannot start or end with a '*' gap"),
        ('[ { match = "plan", within = 3 } ]', "only makes sense together with 'near'"),
        ('[ { match = "plan", fields = ["headline"] } ]', "unknown field 'headline'"),
        ('[ { match = "plan", from = 2025-02-01, until = 2025-01-01 } ]', "is before 'from'"),
        ('[ { match = "plan", weight = -1 } ]', "no term has a positive weight"),
        ('[ { match = "plan", near = "@missing" } ]', "unknown concept '@missing'"),
        ('[ "plan" ]', "expected a table like"),
        ("[]", "expected a non-empty list of terms"),
        ("[ { weight = 1 } ]", "'rules.terms[0].match': missing"),
        ('[ { match = "plan", weight = true } ]', "expected a number, got true"),
    ],
)
def test_term_problems(tmp_path: Path, terms: str, expected: str) -> None:
    text = MINIMAL.replace('terms = [ { match = "demo plan", weight = 1 } ]', f"terms = {terms}")
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_concept_cycle_is_reported(tmp_path: Path) -> None:
    text = MINIMAL.replace('talks = ["talks", "negotiat*"]', 'talks = ["@more"]\nmore = ["@talks"]')
    found = problems(tmp_path, text)
    assert any("concept refers to itself" in p for p in found), found


def test_unknown_top_level_key_and_missing_relevance(tmp_path: Path) -> None:
    text = MINIMAL.split("[relevance]")[0] + "\n[extras]\nx = 1\n"
    found = problems(tmp_path, text)
    assert any("'extras': unknown key" in p for p in found)
    assert any("missing [relevance] table" in p for p in found)


def test_duplicate_ids(tmp_path: Path) -> None:
    block = MINIMAL.split("[relevance]")[0].split("[concepts]")[1]
    block = block.split("\n", 2)[2]  # drop the concept line
    found = problems(tmp_path, MINIMAL + block)
    assert any("initiative 'demo': 'id': duplicate id" in p for p in found), found


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_ruleset(tmp_path)
    (tmp_path / "initiatives.toml").write_text("[[initiative]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_ruleset(tmp_path)


def test_direct_compile_of_parsed_data() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_rules({"initiative": []}, display="x.toml")
    assert caught.value.problems[0].startswith("x.toml: 'initiative': expected at least one")


def test_the_example_in_the_docs_compiles() -> None:
    import tomllib

    text = (ROOT / "docs" / "tagging.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    ruleset = compile_rules(tomllib.loads(example))
    assert [i.id for i in ruleset.initiatives] == ["istanbul-talks-2025"]
    assert [t.id for t in ruleset.themes] == ["ceasefire"]
