"""The [digest] section of peacewatch.toml: valid input parses, every mistake is named."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path

import pytest

from peacewatch.config import load_config
from peacewatch.errors import ConfigError
from peacewatch.surfaces.digest_config import DigestConfig, Recipient, parse_digest_section

PATH = "config/peacewatch.toml"

GOOD = """
enabled = true
send_at = "06:30"
timezone = "Europe/Kyiv"
empty_day = "nothing-new"
list_id = "digest.peacewatch.example.org"
from = "peacewatch <pw@example.org>"
datasette_url = "https://data.example.org/"

[smtp]
host = "smtp.example.org"
port = 465
tls = "implicit"
username = "pw"
password_env = "PW_SMTP_PASSWORD"

[[recipients]]
address = "Analyst@Example.org"
initiatives = ["us-28pt-plan"]
languages = ["EN", "uk"]

[[recipients]]
address = "desk@example.org"
"""


def test_valid_section() -> None:
    config = parse_digest_section(tomllib.loads(GOOD), PATH)
    assert config.enabled and config.send_at == time(6, 30)
    assert config.zone.key == "Europe/Kyiv"
    assert config.empty_day == "nothing-new"
    assert config.smtp.tls == "implicit" and config.smtp.port == 465
    assert config.smtp.password_env == "PW_SMTP_PASSWORD"
    assert config.datasette_url == "https://data.example.org"
    assert config.recipients == (
        Recipient("analyst@example.org", ("us-28pt-plan",), (), ("en", "uk")),
        Recipient("desk@example.org"),
    )


def test_every_problem_named_with_file_entry_and_key() -> None:
    raw = {
        "send_at": "7am",
        "timezone": "Mars/Olympus",
        "empty_day": "silence",
        "colour": "blue",
        "smtp": {"port": "25", "tls": "ssl", "password": "hunter2", "username": "x"},
        "recipients": [{"address": "nobody"}, {"address": "a@b.org", "themes": "TERR"}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_digest_section(raw, PATH)
    problems = caught.value.problems
    expected = [
        f"{PATH}: digest: 'colour': unknown key",
        f'{PATH}: digest: \'send_at\': expected a local time like "07:00", got "7am"',
        f"{PATH}: digest: 'timezone': unknown timezone \"Mars/Olympus\"",
        f"{PATH}: digest: 'empty_day': expected one of skip, nothing-new, got \"silence\"",
        f"{PATH}: digest: 'smtp.password': never put the password in the file",
        f"{PATH}: digest: 'smtp.port': expected an integer, got \"25\"",
        f"{PATH}: digest: 'smtp.tls': expected one of starttls, implicit, none, got \"ssl\"",
        f"{PATH}: digest: 'smtp.password_env': required when username is set",
        f"{PATH}: recipient 1: 'address': expected an email address, got \"nobody\"",
        f"{PATH}: recipient 'a@b.org': 'themes': expected a list of strings, got \"TERR\"",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)
    assert not any("hunter2" in p for p in problems)  # the password is never echoed


def test_enabled_without_recipients_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"no \[\[digest\.recipients\]\]"):
        parse_digest_section({"enabled": True}, PATH)


def test_defaults() -> None:
    assert parse_digest_section({}, PATH) == DigestConfig()


def test_shipped_config_and_settings_loader(tmp_path: Path) -> None:
    shipped = load_config(Path(__file__).parent.parent / "config")
    digest = shipped.settings.raw["digest"]
    assert isinstance(digest, DigestConfig)
    assert digest.smtp.tls == "starttls"
    (tmp_path / "peacewatch.toml").write_text('[digest]\nempty_day = "never"\n')
    (tmp_path / "sources.toml").write_text("")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'peacewatch.toml'}: digest: 'empty_day': "
        'expected one of skip, nothing-new, got "never"'
    ]
