"""What the classifier reads and what it answers: ItemText in, Classification (tags with their
evidence) out. Plain tuples and a dataclass, shared by the matcher (classifier.py, scan.py,
scoring.py), the model's part in it (referee.py), the store and the surfaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class ItemText:
    """The fields of an item the classifier reads. `published` is an ISO-8601 date or datetime
    (a month-only 'YYYY-MM' also works); None means unknown."""

    title: str
    summary: str | None = None
    text: str | None = None
    published: str | None = None
    lang: str | None = None
    # The day the store first saw the item: stands in for a missing `published` (see classify)
    first_seen: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ItemText:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            title=text("title") or "",
            summary=text("summary"),
            text=text("text"),
            published=text("published"),
            lang=text("lang"),
            first_seen=text("first_seen"),
        )


class Evidence(NamedTuple):  # a tuple: created by the hundred thousand, so cheap to build
    rule: str  # e.g. 'terms[0]: 28-point plan'
    field: str  # title | summary | text
    text: str  # the matched text, as in the original field
    start: int  # offsets into the original field
    end: int
    weight: float  # what this match added to the score (0 for context matches)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "field": self.field,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "weight": round(self.weight, 4),
        }


# Evidence and tags are built several times per item: tuple.__new__ skips the Python-level
# NamedTuple.__new__ (the fields are passed in order, as one tuple).
new_tuple = tuple.__new__


class Tag(NamedTuple):
    id: str
    score: float
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "evidence": [e.as_dict() for e in self.evidence],
        }


class Classification(NamedTuple):
    initiatives: tuple[Tag, ...]
    themes: tuple[Tag, ...]
    relevant: bool  # on the topic of Russia-Ukraine peace (always true when tagged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "initiatives": [t.as_dict() for t in self.initiatives],
            "themes": [t.as_dict() for t in self.themes],
            "relevant": self.relevant,
        }


NOTHING = Classification((), (), False)


def published_range(published: str | None) -> tuple[date, date] | None:
    """The first and last day an item's date can mean ('2023-01' is the whole month)."""
    if not published:
        return None
    value = published.strip()
    return _days(value[:10] if len(value) >= 10 else value)


@lru_cache(maxsize=4096)  # items of a day share their date: parse each date once
def _days(value: str) -> tuple[date, date] | None:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return day, day
        if len(value) == 7:
            first = date.fromisoformat(value + "-01")
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            return first, following - timedelta(days=1)
        if len(value) == 4 and value.isdigit():
            return date(int(value), 1, 1), date(int(value), 12, 31)
    except ValueError:
        return None
    return None
