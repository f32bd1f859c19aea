"""How long to wait before a source's next poll: pure arithmetic, no clock, network or DB.

Adaptive, between a source's `min_interval` and `max_interval`:

- the observed rate of new items (as Miniflux's entry-frequency scheduler does): with `n` new
  items seen over the last `span` of polls (up to a week, the first poll's backlog left out),
  the next poll comes after `span / n`, when about one new item is expected;
- the share of already-seen items in a poll (as Media Cloud does): a poll that brings nothing
  new waits 1.5 times longer; a poll in which every item was new (some may have scrolled off
  the feed before we looked) comes at most half as late as the last;
- never sooner than the feed itself allows: RSS `<ttl>`, `sy:updatePeriod` /
  `sy:updateFrequency`, or the response's `Cache-Control: max-age` / `Expires`.

Failures do not come here: Retry-After and the exponential backoff decide those.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Cadence", "feed_floor", "format_seconds", "header_floor", "next_interval"]

WEEK = 7 * 86400.0
SLOWER = 1.5  # a poll without anything new
FASTER = 0.5  # a poll in which every item was new
_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": WEEK, "monthly": 30 * 86400.0,
            "yearly": 365 * 86400.0}  # fmt: skip
_MAX_AGE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True)
class Cadence:
    """The wait before the next poll, and why (kept on the source row)."""

    seconds: float
    reason: str


def format_seconds(seconds: float) -> str:
    """90 -> '1.5m', 7200 -> '2h'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.0f}s"


def feed_floor(feed: dict[str, Any]) -> tuple[float, str] | None:
    """The shortest wait a feed asks for, from `ttl` (minutes) and `sy:updatePeriod` /
    `sy:updateFrequency` (times per period), as feedparser reads them; None when it says
    nothing usable."""
    floors: list[tuple[float, str]] = []
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        floors.append((int(ttl) * 60.0, f"ttl {ttl} min"))
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIODS:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        times = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        floors.append((_PERIODS[period] / times, f"sy:updatePeriod {period} x{times}"))
    return max(floors) if floors else None


def header_floor(headers: dict[str, str], now: datetime) -> tuple[float, str] | None:
    """The freshness lifetime a response declares: Cache-Control max-age (s-maxage), else
    Expires; None when absent, zero or in the past (no-cache and no-store say nothing about
    how often to ask again)."""
    lower = {k.lower(): v for k, v in headers.items()}
    control = lower.get("cache-control", "")
    match = _MAX_AGE.search(control)
    if match:
        age = float(match.group(2)) - float(lower.get("age", "0") or 0)
        return (age, f"Cache-Control {match.group(1)}={match.group(2)}") if age > 0 else None
    expires = lower.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        left = (when - now).total_seconds()
        return (left, "Expires") if left > 0 else None
    return None


def next_interval(
    *,
    current: float,
    minimum: float,
    maximum: float,
    first_poll: bool,
    items_total: int,
    items_new: int,
    history: list[tuple[float, int]],
    floors: list[tuple[float, str]],
) -> Cadence:
    """The wait before the next poll after a successful one.

    `current`: the wait that led to this poll (the configured interval at first). `history`:
    (seconds ago, new items) of this source's successful polls within the last week, oldest
    first, this one included as (0, items_new). `floors`: what the feed and the response ask
    for at least (see feed_floor, header_floor).
    """
    if first_poll:
        seconds, why = current, "first poll: the configured interval"
    elif items_new == 0:
        seconds, why = current * SLOWER, "no new items: slower"
    else:
        seconds, why = _from_rate(current, history)
        if items_total > 0 and items_new >= items_total and seconds > current * FASTER:
            seconds = current * FASTER
            why = f"all {items_total} items new, some may have been missed: faster"
    if seconds < minimum:
        seconds, why = minimum, f"{why}; held at min_interval {format_seconds(minimum)}"
    elif seconds > maximum:
        seconds, why = maximum, f"{why}; held at max_interval {format_seconds(maximum)}"
    for floor, name in sorted(floors, reverse=True)[:1]:
        if floor > seconds:
            seconds, why = floor, f"{name} asks for at least {format_seconds(floor)}"
    return Cadence(seconds, why)


def _from_rate(current: float, history: list[tuple[float, int]]) -> tuple[float, str]:
    """One poll's wait for about one new item, from the new items of the polls after the
    oldest in `history` over the time since it."""
    if len(history) < 2:
        return current, "new items: the same interval"
    span = history[0][0] - history[-1][0]
    new = sum(count for _ago, count in history[1:])
    if span <= 0 or new <= 0:
        return current, "new items: the same interval"
    seconds = span / new
    return (
        seconds,
        f"{new} new items in {format_seconds(span)}: about one every {format_seconds(seconds)}",
    )
