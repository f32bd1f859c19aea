"""The README's promises: its commands exist, and every CLI command it names is real."""

from __future__ import annotations

import re
from pathlib import Path

from peacewatch.cli import cli

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1][:600]
    assert "make run" in quick and "make test" in quick


def test_makefile_and_ci_run_what_the_readme_says() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "lint", "bench", "once"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_peacewatch_command_in_the_readme_exists() -> None:
    # commands as written in code: `peacewatch sources`, .venv/bin/peacewatch parse-feed ...
    pattern = r"(?:`|^|bin/)peacewatch(?: --[\w-]+(?: [^\s`]+)?)* ([a-z][a-z-]+)"
    named = set(re.findall(pattern, README, re.M))
    assert len(named) >= 4
    missing = {name for name in named if name not in cli.commands}
    assert not missing, f"README names commands that do not exist: {missing}"
