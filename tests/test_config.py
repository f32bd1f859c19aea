"""Configuration: the shipped config validates; broken files give exact messages, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peacewatch.config import load_config
from peacewatch.errors import ConfigError

ROOT = Path(__file__).parent.parent


def test_shipped_config_validates() -> None:
    config = load_config(ROOT / "config")
    assert len({s.outlet for s in config.sources}) >= 25
    assert all(s.url.startswith("https://") for s in config.sources)
    assert "+https://" in config.settings.http.user_agent
    assert config.ruleset is not None


def test_the_rules_file_is_named_alike_in_config_and_tagging() -> None:
    # config names it itself, so that a configuration without rules never imports the tagger
    # (nor one without aliases the story clusterer's alias table and word analysis)
    from peacewatch import config
    from peacewatch.stories import aliases
    from peacewatch.tagging import rules

    assert config.RULES_FILE == rules.RULES_FILE
    assert config.ALIASES_FILE == aliases.ALIASES_FILE


def write(tmp_path: Path, settings: str, sources: str) -> Path:
    (tmp_path / "peacewatch.toml").write_text(settings)
    (tmp_path / "sources.toml").write_text(sources)
    return tmp_path


GOOD_SOURCE = '[[source]]\nid = "a"\noutlet = "A"\nurl = "https://a.example/feed"\n'


def problems(tmp_path: Path, settings: str = "", sources: str = GOOD_SOURCE) -> list[str]:
    directory = write(tmp_path, settings, sources)
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return [p.replace(str(directory) + "/", "") for p in info.value.problems]


def test_source_mistakes_name_file_entry_and_key(tmp_path: Path) -> None:
    sources = GOOD_SOURCE + (
        '\n[[source]]\nid = "b"\noutlet = "B"\nurl = "ftp://b.example/feed"\ninterval = "soon"\n'
        'kind = "podcast"\ncolour = "red"\ntimezone = "Mars/Olympus"\n'
        '\n[[source]]\noutlet = "C"\nurl = "https://c.example/"\nenabled = "yes"\n'
        '\n[[source]]\nid = "a"\noutlet = "A again"\nurl = "https://a2.example/"\n'
    )
    assert problems(tmp_path, sources=sources) == [
        "sources.toml: source 'b' (entry 2): 'colour': unknown key (known keys: id, outlet, url, kind, interval, min_interval, max_interval, lang, timezone, enabled, allow_private)",
        "sources.toml: source 'b' (entry 2): 'url': expected an http(s) URL with a host, got \"ftp://b.example/feed\"",
        'sources.toml: source \'b\' (entry 2): \'kind\': expected one of "feed", "page", "list", got "podcast"',
        'sources.toml: source \'b\' (entry 2): \'interval\': expected a duration in seconds or like "30m", "2h", "1d", got "soon"',
        "sources.toml: source 'b' (entry 2): 'timezone': expected an IANA time zone such as \"Europe/Kyiv\", got \"Mars/Olympus\"",
        "sources.toml: entry 3: 'id': missing (every source needs id, outlet and url)",
        "sources.toml: entry 3: 'enabled': expected true or false, got \"yes\"",
        "sources.toml: source 'a' (entry 4): 'id': duplicate: also used by entry 1",
    ]


def test_settings_mistakes(tmp_path: Path) -> None:
    settings = (
        '[http]\nuser_agent = "peacewatch"\nconcurrency = 0\nmax_body_bytes = "big"\n'
        '[schedule]\njitter = 2\n[smtp]\nhost = "x"\n[log]\nformat = "xml"\n'
    )
    assert problems(tmp_path, settings=settings) == [
        "peacewatch.toml: [http]: 'user_agent': must include a contact URL (https://... or mailto:...) so sites can reach us",
        "peacewatch.toml: [http]: 'concurrency': expected a positive whole number, got 0",
        "peacewatch.toml: [http]: 'max_body_bytes': expected a positive whole number, got \"big\"",
        "peacewatch.toml: [schedule]: 'jitter': expected a number from 0 to below 1, got 2",
        "peacewatch.toml: top level: 'smtp': unknown section (known: [database], [digest], [http], [log], [pages], [parse], [schedule])",
        'peacewatch.toml: [log]: \'format\': expected one of "text", "json", got "xml"',
    ]


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    [message] = problems(tmp_path, sources='[[source]]\nid = "a\n')
    assert message.startswith("sources.toml: not valid TOML: ")
    assert "line 2" in message


def test_cli_exits_2_before_touching_the_database(tmp_path: Path) -> None:
    directory = (
        write(tmp_path / "cfg", "", GOOD_SOURCE + "interval = -5\n")
        if (tmp_path / "cfg").mkdir() is None
        else None
    )
    db = tmp_path / "never.db"
    result = subprocess.run(
        [sys.executable, "-m", "peacewatch", "--config", str(directory), "--db", str(db), "run", "--once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {directory}/sources.toml: source 'a' (entry 1): 'interval': "
        'expected a duration in seconds or like "30m", "2h", "1d", got -5\n'
    )
    assert not db.exists()
