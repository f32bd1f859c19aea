"""Typed checks over parsed TOML that collect problems instead of raising.

Every problem names the file, the entry (initiative/theme id), the key and what is wrong, so
a broken rule file is reported whole, in one ConfigError.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from peacewatch.problems import describe as _describe


class Checks:
    """A problem list for one file and the scalar checks that add to it."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.problems: list[str] = []

    def problem(self, entry: str | None, key: str | None, message: str) -> None:
        parts = [self.display]
        if entry:
            parts.append(entry)
        if key:
            parts.append(f"'{key}'")
        parts.append(message)
        self.problems.append(": ".join(parts))

    def _number(self, entry: str, key: str, value: Any, *, minimum: float | None = None) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(entry, key, f"expected a number, got {_describe(value)}")
            return False
        if minimum is not None and value < minimum:
            self.problem(entry, key, f"must be at least {minimum}, got {value}")
            return False
        return True

    def _int(self, entry: str, key: str, value: Any, *, minimum: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(entry, key, f"expected a whole number, got {_describe(value)}")
            return False
        if value < minimum:
            self.problem(entry, key, f"must be at least {minimum}, got {value}")
            return False
        return True

    def _text(self, entry: str, key: str, value: Any, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(entry, key, f"expected a non-empty string, got {_describe(value)}")
            return ""
        return value.strip()

    def _date(self, entry: str, key: str, value: Any) -> date | None:
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(entry, key, f"expected a date (YYYY-MM-DD), got {_describe(value)}")
        return None

    def _strings(self, entry: str, key: str, value: Any) -> list[str] | None:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not value:
            self.problem(
                entry, key, f"expected a string or a non-empty list, got {_describe(value)}"
            )
            return None
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.problem(entry, f"{key}[{index}]", f"expected a string, got {_describe(item)}")
                return None
        return list(value)

    def _unknown(
        self, entry: str | None, prefix: str, table: Mapping[str, Any], known: set[str]
    ) -> None:
        for key in table:
            if key not in known:
                self.problem(entry, f"{prefix}{key}", "unknown key")
