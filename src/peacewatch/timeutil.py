"""UTC ISO-8601 timestamps, the only date format the store holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_iso(moment: datetime) -> str:
    """UTC ISO-8601 with seconds precision; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    return to_iso(datetime.now(UTC))


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_seconds(iso: str, seconds: float) -> str:
    return to_iso(parse_iso(iso) + timedelta(seconds=seconds))
