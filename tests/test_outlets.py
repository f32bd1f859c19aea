"""The outlet registry: the shipped config validates, list spellings resolve, mistakes are
reported in the project's format, unknown names and domains become derived outlets."""

from __future__ import annotations

from pathlib import Path

import pytest

from peacewatch.errors import ConfigError
from peacewatch.ingest.outlets import (
    alias_key,
    derive_outlet_from_domain,
    derive_outlet_from_name,
    guess_timezone,
    load_outlets,
    parse_outlets,
    registrable_domain,
)

REPO = Path(__file__).resolve().parent.parent
REGISTRY = load_outlets(REPO / "config")


def test_shipped_registry_validates_and_covers_the_outlets_analysts_read() -> None:
    wanted = [
        "Al Jazeera", "The Guardian", "Reuters", "BBC", "Politico", "TASS", "Meduza",
        "Ukrainska Pravda", "Kyiv Independent", "Global Times", "Common Dreams",
        "Democracy Now!", "Antiwar.com", "Responsible Statecraft", "CounterPunch", "UN News",
        "NY Post", "SCMP", "bne IntelliNews", "FMPRC", "Al Arabiya", "TFF", "Independent.ie",
        "The Observer", "The Conversation", "Anadolu", "RT", "Kyiv Post",
        "Novaya Gazeta Europe", "Moscow Times", "DW", "France 24", "AP", "Bloomberg", "FT",
        "NYT", "WaPo", "WSJ", "Euronews", "Xinhua", "CGTN", "Interfax-Ukraine", "Ukrinform",
        "RFE/RL",
    ]  # fmt: skip
    missing = [name for name in wanted if REGISTRY.resolve(name) is None]
    assert missing == []
    for outlet in REGISTRY:
        assert outlet.domains and outlet.langs and outlet.timezone and outlet.country


@pytest.mark.parametrize(
    ("written", "outlet_id"),
    [
        ("CD", "common-dreams"), ("DN", "democracy-now"), ("DN!", "democracy-now"),
        ("TFF", "tff"), ("Anti War", "antiwar"), ("Antiwar", "antiwar"),
        ("anti-war", "antiwar"), ("Counter Punch", "counterpunch"),
        ("Independent.ie", "irish-independent"), ("SCMP", "scmp"), ("BNE", "bne-intellinews"),
        ("FMPRC", "fmprc"), ("NY Post", "ny-post"), ("Observer", "observer"),
        ("Conversation", "the-conversation"), ("Guardian", "guardian"),
        ("the guardian", "guardian"), ("theguardian.com", "guardian"),
    ],
)  # fmt: skip
def test_list_spellings_resolve(written: str, outlet_id: str) -> None:
    outlet = REGISTRY.resolve(written)
    assert outlet is not None and outlet.id == outlet_id


def test_domains_resolve_with_subdomains() -> None:
    assert REGISTRY.outlet_for_url("https://edition.bbc.co.uk/news/world-1").id == "bbc"
    assert REGISTRY.outlet_for_url("https://www.theguardian.com/world").id == "guardian"
    assert REGISTRY.by_domain("https://notbbc.co.uk/") is None


def test_unknown_domain_and_name_give_derived_outlets() -> None:
    outlet = REGISTRY.outlet_for_url("https://news.weekly.example.co.uk/story/1")
    assert (outlet.id, outlet.name, outlet.registered, outlet.timezone) == (
        "example-co-uk", "example.co.uk", False, "Europe/London",
    )  # fmt: skip
    assert derive_outlet_from_name("Unknown Weekly").id == "unknown-weekly"
    assert derive_outlet_from_name("Новая газета").id.startswith("outlet-")
    assert registrable_domain("a.b.example.com") == "example.com"
    assert guess_timezone("https://www.spiegel.de/") == "Europe/Berlin"
    assert guess_timezone("https://example.com/") is None
    assert derive_outlet_from_domain("https://www.denverpost.com/x").id == "denverpost-com"


def test_alias_key_ignores_case_spacing_punctuation_and_the() -> None:
    assert alias_key("The Anti-War") == alias_key("antiwar") == "antiwar"


def test_mistakes_are_reported_together_in_the_project_format() -> None:
    text = """
[outlets.good]
name = "Good"
domains = ["good.org"]

[outlets.bad]
name = 3
domains = ["good.org", "Not A Domain"]
country = "Ukraine"
langs = ["en", 5]
timezone = "Mars/Olympus"
aliases = ["Good"]
colour = "red"

[outlets.BadId]
name = "x"
domains = ["x.org"]
"""
    with pytest.raises(ConfigError) as caught:
        parse_outlets(text, "config/outlets.toml")
    assert caught.value.problems == [
        "config/outlets.toml: outlet 'bad': 'colour': unknown key (expected one of aliases, "
        "country, domains, langs, name, timezone)",
        "config/outlets.toml: outlet 'bad': 'name': expected a non-empty string, got 3",
        "config/outlets.toml: outlet 'bad': 'domains[1]': expected a lowercase domain name, "
        'got "Not A Domain"',
        "config/outlets.toml: outlet 'bad': 'country': expected a two-letter country code, "
        'got "Ukraine"',
        "config/outlets.toml: outlet 'bad': 'langs[1]': expected a non-empty string, got 5",
        "config/outlets.toml: outlet 'bad': 'timezone': unknown time zone \"Mars/Olympus\"",
        "config/outlets.toml: outlet 'bad': 'aliases[0]': \"Good\" already names outlet 'good'",
        "config/outlets.toml: outlet 'bad': 'domains[0]': \"good.org\" already belongs to "
        "outlet 'good'",
        "config/outlets.toml: outlet 'BadId': 'id': expected a lowercase slug of letters, "
        "digits and dashes",
    ]


def test_missing_file_is_an_empty_registry_and_bad_toml_is_a_config_error(
    tmp_path: Path,
) -> None:
    assert len(load_outlets(tmp_path)) == 0
    (tmp_path / "outlets.toml").write_text("[outlets.x\n")
    with pytest.raises(ConfigError, match=r"outlets\.toml: not valid TOML"):
        load_outlets(tmp_path)
