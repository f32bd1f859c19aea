"""Collecting configuration mistakes: every message names the file, the entry and the key and
says what is wrong, and all of a file's mistakes are reported together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError


def describe(value: Any) -> str:
    """A value as the user wrote it in TOML, for 'got ...' in a message."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class Problems:
    """Messages in the shape `{file}: {entry}: '{key}': {problem}`."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.items: list[str] = []

    def add(self, entry: str, key: str, problem: str) -> None:
        self.items.append(f"{self.path}: {entry}: '{key}': {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)
