"""Configuration: config/peacewatch.toml (settings) and config/sources.toml (sources).

Everything is validated once, at start. Every problem names the file, the entry and the key and
says what is wrong; all problems are collected and raised together as one ConfigError.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peacewatch.errors import ConfigError
from peacewatch.ingest.fetch import HttpSettings
from peacewatch.models import Source
from peacewatch.problems import Problems, describe

SETTINGS_FILE = "peacewatch.toml"
SOURCES_FILE = "sources.toml"
# tagging.rules.RULES_FILE, named here too so that a configuration without rules never
# imports the tagger (tests/test_config.py checks that the two agree)
RULES_FILE = "initiatives.toml"
ALIASES_FILE = "aliases.toml"  # stories.aliases.ALIASES_FILE, for the same reason
SOURCE_KINDS = ("feed", "page", "list")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_DURATION_UNITS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


@dataclass(frozen=True)
class ScheduleSettings:
    default_interval: int = 1800
    min_interval: int = 300  # adaptive intervals stay within these, unless a source says
    max_interval: int = 21600
    jitter: float = 0.1  # +-10% on every interval, so polls spread out
    max_backoff: float = 86400.0
    tick: float = 10.0  # how often the daemon looks for due sources
    shutdown_grace: float = 5.0


# Why a feed item or list entry asks for its article page (store.pages.page_reason).
PAGE_REASONS = ("list", "no_date", "fetch_time_date", "no_summary", "untrusted_link")


@dataclass(frozen=True)
class PageSettings:
    """[pages]: article pages, read by their own queue off the feeds' critical path."""

    enabled: bool = True
    items: tuple[str, ...] = PAGE_REASONS  # which items ask for their page
    per_poll: int = 20  # most pages of one source's polls read in one round of the queue
    per_cycle: int = 100  # most pages read in one round (a `run --once`, a daemon round)
    budget: float = 60.0  # seconds `run --once` spends on pages after the feeds
    every: float = 60.0  # the daemon runs a round this often
    concurrency: int = 2  # pages in flight at once, on connections of their own
    refused_backoff: float = 86400.0  # a refused page is tried again after this, doubling


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("db/peacewatch.db")
    busy_timeout: float = 10.0
    log_format: str = "text"
    log_level: str = "INFO"
    parse_workers: int | str = "auto"
    # bodies up to this many bytes are parsed in the main process even with workers:
    # parsing a few KiB takes a millisecond, handing them over (or starting a worker) more
    parse_inline_bytes: int = 16384
    http: HttpSettings = field(default_factory=HttpSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    pages: PageSettings = field(default_factory=PageSettings)
    raw: dict[str, Any] = field(default_factory=dict)  # sections owned by other modules


@dataclass(frozen=True)
class Config:
    config_dir: Path
    settings: Settings
    sources: list[Source]
    ruleset: Any = None  # peacewatch.rules.RuleSet from initiatives.toml; None: no tagging
    outlets: Any = None  # peacewatch.outlets.OutletRegistry from outlets.toml
    aliases: Any = None  # peacewatch.stories.aliases.AliasTable from aliases.toml


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def parse_duration(value: Any) -> float | None:
    """Seconds from 900, 1.5, "90s", "30m", "2h", "1d"; None when not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return None


# Each checker returns (value, None) or (None, problem).
Checker = Callable[[Any], tuple[Any, str | None]]


def _positive_int(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, None
    return None, f"expected a positive whole number, got {describe(value)}"


def _non_negative_int(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, None
    return None, f"expected a whole number of 0 or more, got {describe(value)}"


def _positive_number(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value), None
    return None, f"expected a positive number, got {describe(value)}"


def _fraction(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value), None
    return None, f"expected a number from 0 to below 1, got {describe(value)}"


def _duration(value: Any) -> tuple[Any, str | None]:
    seconds = parse_duration(value)
    if seconds is None or seconds <= 0:
        return None, (
            f'expected a duration in seconds or like "30m", "2h", "1d", got {describe(value)}'
        )
    return seconds, None


def _string(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and value.strip():
        return value, None
    return None, f"expected a non-empty string, got {describe(value)}"


def _choice(*choices: str) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if value in choices:
            return value, None
        options = ", ".join(f'"{c}"' for c in choices)
        return None, f"expected one of {options}, got {describe(value)}"

    return check


def _workers(value: Any) -> tuple[Any, str | None]:
    if value == "auto" or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 64
    ):
        return value, None
    return None, f'expected "auto" or a whole number from 0 to 64, got {describe(value)}'


def _bool(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"expected true or false, got {describe(value)}"


def _page_reasons(value: Any) -> tuple[Any, str | None]:
    known = ", ".join(f'"{r}"' for r in PAGE_REASONS)
    if not isinstance(value, list):
        return None, f"expected a list of reasons ({known}), got {describe(value)}"
    unknown = [describe(v) for v in value if v not in PAGE_REASONS]
    if unknown:
        return None, f"unknown reason {', '.join(unknown)} (known: {known})"
    if len(set(value)) != len(value):
        return None, "lists a reason twice"
    return tuple(value), None


def _user_agent(value: Any) -> tuple[Any, str | None]:
    text, problem = _string(value)
    if problem:
        return None, problem
    if not re.search(r"(https?://\S+|mailto:\S+@\S+)", text):
        return None, "must include a contact URL (https://... or mailto:...) so sites can reach us"
    return text, None


_SECTIONS: dict[str, dict[str, Checker]] = {
    "database": {"path": _string, "busy_timeout": _positive_number},
    "http": {
        "user_agent": _user_agent,
        "concurrency": _positive_int,
        "per_host": _positive_int,
        "host_gap": lambda v: (
            (float(v), None)
            if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            else (None, f"expected a number of seconds >= 0, got {describe(v)}")
        ),
        "connect_timeout": _duration,
        "read_timeout": _duration,
        "total_timeout": _duration,
        "max_redirects": _positive_int,
        "max_body_bytes": _positive_int,
        "unconditional_every": _duration,
    },
    "schedule": {
        "default_interval": _duration,
        "min_interval": _duration,
        "max_interval": _duration,
        "jitter": _fraction,
        "max_backoff": _duration,
        "tick": _duration,
        "shutdown_grace": _duration,
    },
    "parse": {"workers": _workers, "inline_bytes": _non_negative_int},
    "pages": {
        "enabled": _bool,
        "items": _page_reasons,
        "per_poll": _positive_int,
        "per_cycle": _positive_int,
        "budget": _duration,
        "every": _duration,
        "concurrency": _positive_int,
        "refused_backoff": _duration,
    },
    "log": {
        "format": _choice("text", "json"),
        "level": _choice("DEBUG", "INFO", "WARNING", "ERROR"),
    },
}


def _digest_section(table: dict[str, Any], path: str) -> Any:
    from peacewatch.surfaces.digest_config import parse_digest_section

    return parse_digest_section(table, path)


# Sections validated by the modules that own them (digest, ...): passed through in Settings.raw.
EXTERNAL_SECTIONS: dict[str, Callable[[dict[str, Any], str], Any]] = {
    "digest": _digest_section,
}


def _check_section(
    problems: Problems, path: Path, name: str, table: Any, checkers: dict[str, Checker]
) -> dict[str, Any]:
    if not isinstance(table, dict):
        problems.add(f"[{name}]", name, "expected a table")
        return {}
    out: dict[str, Any] = {}
    for key, value in table.items():
        checker = checkers.get(key)
        if checker is None:
            known = ", ".join(sorted(checkers))
            problems.add(f"[{name}]", key, f"unknown key (known keys: {known})")
            continue
        result, problem = checker(value)
        if problem:
            problems.add(f"[{name}]", key, problem)
        else:
            out[key] = result
    return out


def _check_bounds(
    problems: Problems, entry: str, table: dict[str, Any], min_default: float,
    max_default: float, interval_default: float, *, interval_key: str,
) -> None:  # fmt: skip
    """min_interval >= 60 s, min_interval <= interval <= max_interval."""
    low = table.get("min_interval", min_default)
    high = table.get("max_interval", max_default)
    interval = table.get(interval_key, interval_default)
    for key in ("min_interval", "max_interval", interval_key):
        if key in table and table[key] < 60:
            problems.add(entry, key, f"must be at least 60 seconds, got {table[key]:g}")
            return
    if low > high:
        problems.add(entry, "min_interval",
                     f"must not exceed max_interval ({high:g} s), got {low:g} s")  # fmt: skip
    elif not low <= interval <= high and (interval_key in table or "min_interval" in table
                                          or "max_interval" in table):  # fmt: skip
        problems.add(entry, interval_key, (
            f"must lie between min_interval ({low:g} s) and max_interval ({high:g} s), "
            f"got {interval:g} s"
        ))  # fmt: skip


def load_settings(config_dir: Path) -> Settings:
    path = config_dir / SETTINGS_FILE
    raw = _read_toml(path)
    problems = Problems(path)
    parsed: dict[str, dict[str, Any]] = {}
    external: dict[str, Any] = {}
    for name, table in raw.items():
        if name in _SECTIONS:
            parsed[name] = _check_section(problems, path, name, table, _SECTIONS[name])
        elif name in EXTERNAL_SECTIONS:
            try:
                external[name] = EXTERNAL_SECTIONS[name](table, str(path))
            except ConfigError as error:
                problems.items.extend(error.problems)
        else:
            known = ", ".join(f"[{s}]" for s in sorted([*_SECTIONS, *EXTERNAL_SECTIONS]))
            problems.add("top level", name, f"unknown section (known: {known})")
    problems.raise_if_any()
    database = parsed.get("database", {})
    http = parsed.get("http", {})
    schedule = parsed.get("schedule", {})
    log = parsed.get("log", {})
    parse = parsed.get("parse", {})
    pages = parsed.get("pages", {})
    _check_bounds(problems, "[schedule]", schedule, ScheduleSettings.min_interval,
                  ScheduleSettings.max_interval, ScheduleSettings.default_interval,
                  interval_key="default_interval")  # fmt: skip
    problems.raise_if_any()
    if "per_poll" in pages and pages["per_poll"] > pages.get("per_cycle", PageSettings.per_cycle):
        problems.add("[pages]", "per_poll", (
            f"must not exceed per_cycle ({pages.get('per_cycle', PageSettings.per_cycle)}), "
            f"got {pages['per_poll']}"
        ))  # fmt: skip
        problems.raise_if_any()
    db_path = Path(database.get("path", Settings.db_path))
    return Settings(
        db_path=db_path,
        busy_timeout=database.get("busy_timeout", Settings.busy_timeout),
        log_format=log.get("format", "text"),
        log_level=log.get("level", "INFO"),
        parse_workers=parse.get("workers", "auto"),
        parse_inline_bytes=parse.get("inline_bytes", Settings.parse_inline_bytes),
        http=HttpSettings(**http),
        schedule=ScheduleSettings(
            **{k: (int(v) if k.endswith("_interval") else v) for k, v in schedule.items()}
        ),
        pages=PageSettings(**pages),
        raw=external,
    )


_SOURCE_KEYS = ("id", "outlet", "url", "kind", "interval", "min_interval", "max_interval",
                "lang", "timezone", "enabled", "allow_private")  # fmt: skip


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def load_sources(config_dir: Path, settings: Settings) -> list[Source]:
    path = config_dir / SOURCES_FILE
    raw = _read_toml(path)
    problems = Problems(path)
    for key in raw:
        if key != "source":
            problems.add("top level", key, "unknown key (sources are [[source]] tables)")
    entries = raw.get("source", [])
    if not isinstance(entries, list):
        problems.add("top level", "source", "expected an array of [[source]] tables")
        entries = []
    sources: list[Source] = []
    ids: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        sid = entry.get("id") if isinstance(entry, dict) else None
        label = f"source '{sid}' (entry {number})" if isinstance(sid, str) else f"entry {number}"
        if not isinstance(entry, dict):
            problems.add(label, "source", "expected a table")
            continue
        before = len(problems.items)
        for key in entry:
            if key not in _SOURCE_KEYS:
                problems.add(label, key, f"unknown key (known keys: {', '.join(_SOURCE_KEYS)})")
        for key in ("id", "outlet", "url"):
            if key not in entry:
                problems.add(label, key, "missing (every source needs id, outlet and url)")
            elif not isinstance(entry[key], str) or not entry[key].strip():
                problems.add(label, key, f"expected a non-empty string, got {describe(entry[key])}")
        if isinstance(sid, str):
            if not _SOURCE_ID.match(sid):
                problems.add(label, "id", "use lower-case letters, digits, '.', '_' and '-'")
            elif sid in ids:
                problems.add(label, "id", f"duplicate: also used by entry {ids[sid]}")
            else:
                ids[sid] = number
        url = entry.get("url")
        if isinstance(url, str) and url.strip() and not _valid_url(url):
            problems.add(label, "url", f"expected an http(s) URL with a host, got {describe(url)}")
        kind = entry.get("kind", "feed")
        if kind not in SOURCE_KINDS:
            options = ", ".join(f'"{k}"' for k in SOURCE_KINDS)
            problems.add(label, "kind", f"expected one of {options}, got {describe(kind)}")
        interval: float | None = settings.schedule.default_interval
        if "interval" in entry:
            interval, problem = _duration(entry["interval"])
            if problem:
                problems.add(label, "interval", problem)
            elif interval is not None and interval < 60:
                problems.add(
                    label,
                    "interval",
                    f"must be at least 60 seconds, got {describe(entry['interval'])}",
                )
        bounds: dict[str, Any] = {}
        for key in ("min_interval", "max_interval"):
            if key in entry:
                bounds[key], problem = _duration(entry[key])
                if problem:
                    problems.add(label, key, problem)
        if len(problems.items) == before and interval is not None and interval >= 60:
            if "interval" in entry:
                bounds["interval"] = interval
            low = bounds.get("min_interval", settings.schedule.min_interval)
            _check_bounds(problems, label, bounds, settings.schedule.min_interval,
                          settings.schedule.max_interval, low,
                          interval_key="interval")  # fmt: skip
        lang = entry.get("lang")
        if lang is not None and (not isinstance(lang, str) or not _LANG.match(lang)):
            problems.add(
                label,
                "lang",
                f'expected a language code such as "en" or "uk", got {describe(lang)}',
            )
        tz = entry.get("timezone")
        if tz is not None:
            try:
                if not isinstance(tz, str):
                    raise ZoneInfoNotFoundError
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                problems.add(
                    label,
                    "timezone",
                    f'expected an IANA time zone such as "Europe/Kyiv", got {describe(tz)}',
                )
        for key in ("enabled", "allow_private"):
            if key in entry and not isinstance(entry[key], bool):
                problems.add(label, key, f"expected true or false, got {describe(entry[key])}")
        if len(problems.items) > before:
            continue
        sources.append(
            Source(
                id=entry["id"],
                outlet=entry["outlet"].strip(),
                url=entry["url"].strip(),
                kind=kind,
                # the default interval, for a source without one, within its own bounds
                interval=int(
                    min(
                        max(
                            interval or settings.schedule.default_interval,
                            bounds.get("min_interval", settings.schedule.min_interval),
                        ),
                        bounds.get("max_interval", settings.schedule.max_interval),
                    )
                ),
                min_interval=int(bounds.get("min_interval", settings.schedule.min_interval)),
                max_interval=int(bounds.get("max_interval", settings.schedule.max_interval)),
                lang=lang.lower() if lang else None,
                timezone=tz,
                enabled=entry.get("enabled", True),
                allow_private=entry.get("allow_private", False),
            )
        )
    problems.raise_if_any()
    return sources


def load_config(config_dir: Path | str) -> Config:
    """Read and validate the whole configuration directory, or raise ConfigError."""
    config_dir = Path(config_dir)
    if not config_dir.is_dir():
        raise ConfigError(f"{config_dir}: configuration directory not found")
    from peacewatch.ingest.outlets import load_outlets

    settings, problems = load_settings(config_dir), []
    try:
        sources = load_sources(config_dir, settings)
    except ConfigError as error:
        problems.extend(error.problems)
        sources = []
    ruleset = outlets = aliases = None  # without aliases.toml the story index has none
    try:
        if (config_dir / RULES_FILE).exists():
            from peacewatch.tagging.rules import load_ruleset

            ruleset = load_ruleset(config_dir)
    except ConfigError as error:
        problems.extend(error.problems)
    try:
        outlets = load_outlets(config_dir)
    except ConfigError as error:
        problems.extend(error.problems)
    try:
        if (config_dir / ALIASES_FILE).exists():
            from peacewatch.stories.aliases import load_aliases

            aliases = load_aliases(config_dir)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return Config(
        config_dir=config_dir, settings=settings, sources=sources, ruleset=ruleset,
        outlets=outlets, aliases=aliases,
    )  # fmt: skip
