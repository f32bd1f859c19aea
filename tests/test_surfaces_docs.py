"""docs/surfaces.md keeps its promises: commands, canned queries and the example config."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from peacewatch.cli import cli
from peacewatch.surfaces.datasette_app import load_metadata
from peacewatch.surfaces.digest_config import parse_digest_section

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "surfaces.md").read_text()


def test_every_command_in_the_doc_exists() -> None:
    code = re.findall(r"```sh\n(.*?)```", DOC, re.S) + re.findall(r"`([^`\n]+)`", DOC)
    named = {m for text in code for m in re.findall(r"peacewatch ([a-z][a-z-]+)", text)}
    assert {"datasette", "digest"} <= named
    assert named <= set(cli.commands)


def test_the_doc_lists_every_canned_query() -> None:
    queries = load_metadata(ROOT / "config" / "datasette.yml", "peacewatch")["databases"][
        "peacewatch"
    ]["queries"]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.M))
    assert set(queries) <= documented


def test_the_example_configuration_is_valid() -> None:
    block = DOC.split("```toml", 1)[1].split("```", 1)[0]
    raw = tomllib.loads(block)
    config = parse_digest_section(raw["digest"], "docs/surfaces.md")
    assert config.enabled and len(config.recipients) == 2
    assert config.smtp.password_env == "PEACEWATCH_SMTP_PASSWORD"


def test_the_screenshot_exists() -> None:
    assert "(datasette.png)" in DOC
    assert (ROOT / "docs" / "datasette.png").stat().st_size > 10_000


def test_the_doc_lists_every_dashboard_chart_and_shows_the_dashboard() -> None:
    plugins = load_metadata(ROOT / "config" / "datasette.yml", "peacewatch")["plugins"]
    charts = plugins["datasette-dashboards"]["coverage"]["charts"]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.M))
    assert set(charts) <= documented
    assert "(dashboard.png)" in DOC
    assert "(docs/dashboard.png)" in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "dashboard.png").stat().st_size > 10_000
