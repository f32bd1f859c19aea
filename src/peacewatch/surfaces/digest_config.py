"""The `[digest]` section of config/peacewatch.toml, validated once into dataclasses.

Every mistake is collected and reported together as `{path}: {entry}: '{key}': {problem}`;
unknown keys are errors. The SMTP password is never in the file: `password_env` names the
environment variable that holds it, read only when a mail is sent.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peacewatch.errors import ConfigError
from peacewatch.problems import Problems
from peacewatch.problems import describe as _describe

TLS_MODES = ("starttls", "implicit", "none")
EMPTY_DAY_POLICIES = ("skip", "nothing-new")
ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LIST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    tls: str = "starttls"  # starttls | implicit | none
    username: str | None = None
    password_env: str | None = None  # name of the environment variable holding the password
    ca_file: str | None = None  # PEM file of the CA to trust instead of the system's (private CA)
    timeout: float = 30.0  # seconds per SMTP operation
    retries: int = 2  # further attempts within one send, after the first
    backoff: float = 2.0  # seconds before the first retry; doubles each time
    max_attempts: int = 8  # over all runs; then the digest is marked failed for good
    retry_after: int = 900  # seconds before the daemon retries a failed digest; doubles


@dataclass(frozen=True)
class Recipient:
    address: str
    initiatives: tuple[str, ...] = ()  # empty = all
    themes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestConfig:
    enabled: bool = False
    send_at: time = time(7, 0)
    timezone: str = "UTC"
    empty_day: str = "skip"  # skip | nothing-new
    list_id: str = "digest.peacewatch.invalid"
    from_address: str = "peacewatch <peacewatch@localhost>"
    max_items_per_initiative: int = 25
    max_general_items: int = 15
    datasette_url: str | None = None  # links "see all" to the initiative's canned query
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    recipients: tuple[Recipient, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _unknown(raw: dict[str, Any], known: set[str], entry: str, prefix: str, p: Problems) -> None:
    for key in raw:
        if key not in known:
            p.add(entry, prefix + key, f"unknown key (known: {', '.join(sorted(known))})")


def _str(raw: dict[str, Any], key: str, entry: str, p: Problems, prefix: str = "") -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        p.add(entry, prefix + key, f"expected a non-empty string, got {_describe(value)}")
        return None
    return value.strip()


def _number(
    raw: dict[str, Any],
    key: str,
    entry: str,
    p: Problems,
    *,
    integer: bool,
    minimum: float,
    prefix: str = "",
) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        p.add(entry, prefix + key, f"expected {kind}, got {_describe(value)}")
        return None
    if value < minimum:
        p.add(entry, prefix + key, f"expected {kind} >= {minimum:g}, got {value}")
        return None
    return value


def _choice(
    raw: dict[str, Any],
    key: str,
    choices: tuple[str, ...],
    entry: str,
    p: Problems,
    prefix: str = "",
) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if value not in choices:
        p.add(entry, prefix + key, f"expected one of {', '.join(choices)}, got {_describe(value)}")
        return None
    return str(value)


def _str_list(
    raw: dict[str, Any], key: str, entry: str, p: Problems, prefix: str = ""
) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        p.add(entry, prefix + key, f"expected a list of strings, got {_describe(value)}")
        return ()
    good: list[str] = []
    for index, element in enumerate(value):
        if not isinstance(element, str) or not element.strip():
            p.add(
                entry,
                f"{prefix}{key}[{index}]",
                f"expected a non-empty string, got {_describe(element)}",
            )
        else:
            good.append(element.strip())
    return tuple(good)


def _send_at(raw: dict[str, Any], p: Problems) -> time | None:
    value = raw.get("send_at")
    if value is None:
        return None
    if isinstance(value, time):  # TOML local time, e.g. send_at = 07:00:00
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        hours, minutes = (int(part) for part in value.strip().split(":"))
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    p.add("digest", "send_at", f'expected a local time like "07:00", got {_describe(value)}')
    return None


def _smtp(raw: Any, p: Problems) -> SmtpConfig:
    entry, prefix = "digest", "smtp."
    if raw is None:
        return SmtpConfig()
    if not isinstance(raw, dict):
        p.add(entry, "smtp", f"expected a table, got {_describe(raw)}")
        return SmtpConfig()
    if "password" in raw:
        p.add(
            entry,
            prefix + "password",
            "never put the password in the file: set password_env to the name of an "
            "environment variable that holds it",
        )
    others = {k: v for k, v in raw.items() if k != "password"}
    _unknown(others, set(SmtpConfig.__dataclass_fields__), entry, prefix, p)
    values: dict[str, Any] = {
        "host": _str(raw, "host", entry, p, prefix),
        "port": _number(raw, "port", entry, p, integer=True, minimum=1, prefix=prefix),
        "tls": _choice(raw, "tls", TLS_MODES, entry, p, prefix),
        "username": _str(raw, "username", entry, p, prefix),
        "password_env": _str(raw, "password_env", entry, p, prefix),
        "ca_file": _str(raw, "ca_file", entry, p, prefix),
        "timeout": _number(raw, "timeout", entry, p, integer=False, minimum=1, prefix=prefix),
        "retries": _number(raw, "retries", entry, p, integer=True, minimum=0, prefix=prefix),
        "backoff": _number(raw, "backoff", entry, p, integer=False, minimum=0, prefix=prefix),
        "max_attempts": _number(
            raw, "max_attempts", entry, p, integer=True, minimum=1, prefix=prefix
        ),
        "retry_after": _number(
            raw, "retry_after", entry, p, integer=True, minimum=1, prefix=prefix
        ),
    }
    if values["port"] is not None and values["port"] > 65535:
        p.add(entry, prefix + "port", f"expected a port number up to 65535, got {values['port']}")
        values["port"] = None
    env = values["password_env"]
    if env is not None and not ENV_NAME.fullmatch(env):
        p.add(
            entry,
            prefix + "password_env",
            f'expected the name of an environment variable, got "{env}"',
        )
    if values["ca_file"] is not None and not Path(values["ca_file"]).is_file():
        p.add(entry, prefix + "ca_file", f'no such file: "{values["ca_file"]}"')
        values["ca_file"] = None
    if values["username"] and not values["password_env"]:
        p.add(entry, prefix + "password_env", "required when username is set")
    return SmtpConfig(**{k: v for k, v in values.items() if v is not None})


def _recipients(raw: Any, p: Problems) -> tuple[Recipient, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add(
            "digest",
            "recipients",
            f"expected a list of tables ([[digest.recipients]]), got {_describe(raw)}",
        )
        return ()
    known = {"address", "initiatives", "themes", "languages"}
    result: list[Recipient] = []
    seen: set[str] = set()
    for index, entry_raw in enumerate(raw):
        entry = f"recipient {index + 1}"
        if not isinstance(entry_raw, dict):
            p.add("digest", f"recipients[{index}]", f"expected a table, got {_describe(entry_raw)}")
            continue
        address = entry_raw.get("address")
        if isinstance(address, str) and ADDRESS.fullmatch(address.strip()):
            entry = f"recipient '{address.strip()}'"
        _unknown(entry_raw, known, entry, "", p)
        if address is None:
            p.add(entry, "address", "missing")
            continue
        if not isinstance(address, str) or not ADDRESS.fullmatch(address.strip()):
            p.add(entry, "address", f"expected an email address, got {_describe(address)}")
            continue
        address = address.strip().lower()
        if address in seen:
            p.add(entry, "address", "listed twice")
            continue
        seen.add(address)
        result.append(
            Recipient(
                address=address,
                initiatives=_str_list(entry_raw, "initiatives", entry, p),
                themes=_str_list(entry_raw, "themes", entry, p),
                languages=tuple(x.lower() for x in _str_list(entry_raw, "languages", entry, p)),
            )
        )
    return tuple(result)


def parse_digest_section(raw: dict[str, Any], path: str) -> DigestConfig:
    """Validate the `[digest]` table (already read from TOML) of the file at `path`."""
    p = Problems(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: digest: 'digest': expected a table, got {_describe(raw)}")
    known = {
        "enabled",
        "send_at",
        "timezone",
        "empty_day",
        "list_id",
        "from",
        "max_items_per_initiative",
        "max_general_items",
        "datasette_url",
        "smtp",
        "recipients",
    }
    _unknown(raw, known, "digest", "", p)
    values: dict[str, Any] = {}
    enabled = raw.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        p.add("digest", "enabled", f"expected true or false, got {_describe(enabled)}")
    elif enabled is not None:
        values["enabled"] = enabled
    values["send_at"] = _send_at(raw, p)
    zone = _str(raw, "timezone", "digest", p)
    if zone is not None:
        try:
            ZoneInfo(zone)
            values["timezone"] = zone
        except (ZoneInfoNotFoundError, ValueError):
            p.add("digest", "timezone", f'unknown timezone "{zone}" (use an IANA name)')
    values["empty_day"] = _choice(raw, "empty_day", EMPTY_DAY_POLICIES, "digest", p)
    list_id = _str(raw, "list_id", "digest", p)
    if list_id is not None and not LIST_ID.fullmatch(list_id):
        p.add(
            "digest",
            "list_id",
            f'expected a dotted identifier like "digest.example.org", got "{list_id}"',
        )
    else:
        values["list_id"] = list_id
    sender = _str(raw, "from", "digest", p)
    if sender is not None:
        bare = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        if not ADDRESS.fullmatch(bare):
            p.add(
                "digest",
                "from",
                f'expected an address like "peacewatch <pw@example.org>", got "{sender}"',
            )
        else:
            values["from_address"] = sender
    values["max_items_per_initiative"] = _number(
        raw, "max_items_per_initiative", "digest", p, integer=True, minimum=1
    )
    values["max_general_items"] = _number(
        raw, "max_general_items", "digest", p, integer=True, minimum=0
    )
    url = _str(raw, "datasette_url", "digest", p)
    if url is not None and not re.match(r"^https?://", url):
        p.add("digest", "datasette_url", f'expected an http(s) URL, got "{url}"')
    else:
        values["datasette_url"] = url.rstrip("/") if url else None
    values["smtp"] = _smtp(raw.get("smtp"), p)
    values["recipients"] = _recipients(raw.get("recipients"), p)
    if values.get("enabled") and not values["recipients"] and not p.items:
        p.add("digest", "recipients", "digest is enabled but no [[digest.recipients]] are listed")
    if p.items:
        raise ConfigError(p.items)
    return DigestConfig(**{k: v for k, v in values.items() if v is not None})


def load_digest_config(config_dir: Path) -> DigestConfig:
    """Read `[digest]` from config_dir/peacewatch.toml; absent file or section = disabled."""
    path = config_dir / "peacewatch.toml"
    if not path.exists():
        return DigestConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    if "digest" not in data:
        return DigestConfig()
    return parse_digest_section(data["digest"], str(path))
