"""Load, validate and compile config/initiatives.toml into an immutable RuleSet.

Validation happens once, at load: every problem in the file is collected and raised as one
ConfigError whose lines name the file, the entry (initiative/theme id), the key and the problem.
Only a fully valid file is compiled, so a bad pattern can never reach the matcher.

This module reads the file and is the one entry point (`load_ruleset`, `load_rules_file`,
`compile_rules`). The compiler is layered by what it compiles, each layer a module of its own:
`rule_compiler` (the file's sections and the rules version) over `rule_events` (dated events)
over `rule_terms` (terms, groups and @concepts), with the checks and pattern atoms in `checks`
and `patterns`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.tagging.rule_compiler import _Compiler
from peacewatch.tagging.ruleset import RuleSet

RULES_FILE = "initiatives.toml"


def load_ruleset(config_dir: Path | str) -> RuleSet:
    """Read, validate and compile `config_dir/initiatives.toml` (and the model it names)."""
    return load_rules_file(Path(config_dir) / RULES_FILE)


def load_rules_file(path: Path, *, display: str | None = None) -> RuleSet:
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror or error}") from error
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{shown}: invalid TOML: {error}") from error
    return compile_rules(data, display=shown, base_dir=path.parent)


def compile_rules(
    data: Mapping[str, Any], *, display: str = RULES_FILE, base_dir: Path | None = None
) -> RuleSet:
    """Validate parsed TOML and compile it; raise one ConfigError listing every problem.

    `base_dir` is the folder the `[model]` file is named relative to."""
    compiler = _Compiler(display, base_dir)
    ruleset = compiler.compile(data)
    if compiler.problems:
        raise ConfigError(compiler.problems)
    assert ruleset is not None
    return ruleset
