"""Build the daily digest: what was new on one local day, for one recipient.

`build_digest` only reads the database and returns plain data (no clock unless `now` is not
given, no network); `digest_render` turns it into an email and `mailer` sends it once.

A day is a calendar day in the digest's timezone; an item is new on the day peacewatch first
stored it (first_seen), so late-dated or undated stories still reach the digest once.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from peacewatch.surfaces.digest_config import Recipient
from peacewatch.surfaces.links import database_name

CHART_DAYS = 14
FAILING_FOR = timedelta(days=1)
MIN_FOLD_WORDS = 4  # shorter headlines ("Live updates") are too generic to fold across outlets
ALSO_SHOWN = 5  # outlets named under a folded entry; the rest are counted ("and 12 more")
FIELD_NAMES = {"title": "headline", "summary": "summary", "text": "article text"}


class Database(Protocol):
    """What the digest needs from a database handle: its sqlite3 connection."""

    @property
    def conn(self) -> sqlite3.Connection: ...


@dataclass(frozen=True)
class Copy:
    """The same headline carried by another outlet."""

    item_id: int
    outlet: str
    url: str | None
    published: str | None


@dataclass(frozen=True)
class Entry:
    """One story in the digest; `also` holds the same story from other outlets (the same
    headline, or members of the same story cluster), `languages` every language it came in."""

    item_id: int
    title: str
    outlet: str
    url: str | None
    published: str | None  # UTC ISO-8601 or None
    language: str | None
    evidence: str
    also: tuple[Copy, ...] = ()
    languages: tuple[str, ...] = ()

    @property
    def also_shown(self) -> tuple[Copy, ...]:
        """Up to ALSO_SHOWN copies, one per outlet, other than the entry's own outlet."""
        shown: list[Copy] = []
        seen = {self.outlet}
        for copy in self.also:
            if copy.outlet not in seen and len(shown) < ALSO_SHOWN:
                shown.append(copy)
                seen.add(copy.outlet)
        return tuple(shown)

    @property
    def more_outlets(self) -> int:
        """Outlets carrying the story beyond the entry's own and those shown."""
        outlets = {copy.outlet for copy in self.also} - {self.outlet}
        return len(outlets) - len(self.also_shown)


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class InitiativeSection:
    initiative_id: str
    name: str
    count: int  # new items on the day (before folding)
    previous_day: int
    week: int  # the 7 days ending on the digest day
    previous_week: int  # the 7 days before those
    chart: tuple[DayCount, ...]  # CHART_DAYS days ending on the digest day
    entries: tuple[Entry, ...]
    more: int  # folded entries left out by the per-initiative limit


@dataclass(frozen=True)
class FailingSource:
    source_id: str
    outlet: str
    failing_since: str
    consecutive_failures: int
    last_error: str | None


@dataclass(frozen=True)
class Digest:
    day: date
    timezone: str
    sections: tuple[InitiativeSection, ...]
    general: tuple[Entry, ...]
    general_more: int
    failing: tuple[FailingSource, ...]
    item_count: int  # distinct new items in the digest, before limits
    filters: Recipient | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    database: str = "peacewatch"  # the name Datasette serves the database under

    @property
    def empty(self) -> bool:
        return not self.sections and not self.general


@dataclass
class _Item:
    id: int
    title: str
    title_key: str
    url: str | None
    published: str | None
    first_seen: str
    lang: str | None
    outlet_id: str
    outlet: str
    initiatives: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> score, why
    themes: dict[str, str] = field(default_factory=dict)  # id -> why
    relevant: bool = False
    story_id: int | None = None  # its story cluster (store.stories), when clustered


def day_window(day: date, tz: ZoneInfo) -> tuple[str, str]:
    """UTC bounds [start, end) of a local calendar day, as stored-format strings."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


def local_day(timestamp: str, tz: ZoneInfo) -> date:
    return datetime.fromisoformat(timestamp).astimezone(tz).date()


def evidence_line(evidence: str | None) -> str:
    """The strongest match behind a tag, as one readable line."""
    try:
        matches = json.loads(evidence) if evidence else []
    except ValueError:
        return ""
    if not isinstance(matches, list):
        return ""
    matches = [m for m in matches if isinstance(m, dict)]
    analyst = [m for m in matches if m.get("field") == "analyst"]
    if analyst and float(analyst[0].get("weight") or 0) > 0:  # only an analyst gave the tag
        note = analyst[0].get("text")
        return f"tagged by an analyst: {note}" if note else "tagged by an analyst"
    matches = [m for m in matches if m.get("text") and m.get("field") != "analyst"]
    if not matches:
        return ""
    model = [m for m in matches if str(m.get("rule") or "").startswith("model ")]
    if model:  # the tagging model's tag: its certainty and the words that weighed most
        try:
            sure = f"{float(str(model[0]['rule']).split()[1].rstrip(':')):.0%} sure"
        except (IndexError, ValueError):
            sure = "sure enough"
        words = ", ".join(dict.fromkeys(f"“{m['text']}”" for m in model))
        return f"the tagging model ({sure}), from {words}"
    best = max(matches, key=lambda m: float(m.get("weight") or 0))
    where = FIELD_NAMES.get(str(best.get("field")), str(best.get("field") or "text"))
    line = f"matched “{best['text']}” in the {where}"
    if best.get("rule"):
        line += f" (rule {best['rule']})"
    return line


def _wanted(item: _Item, filters: Recipient | None) -> bool:
    if filters is None:
        return True
    if filters.languages:
        lang = (item.lang or "").lower()
        if not any(lang == want or lang.startswith(want + "-") for want in filters.languages):
            return False
    return not filters.themes or any(theme in item.themes for theme in filters.themes)


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _load_items(conn: sqlite3.Connection, start: str, end: str) -> dict[int, _Item]:
    items: dict[int, _Item] = {}
    rows = conn.execute(
        "SELECT items.id, items.title, items.title_key, coalesce(items.url,"
        " items.canonical_url), items.published, items.first_seen, items.lang,"
        " items.outlet_id, coalesce(outlets.name, items.outlet_id)"
        " FROM items LEFT JOIN outlets ON outlets.id = items.outlet_id"
        " WHERE items.first_seen >= ? AND items.first_seen < ? ORDER BY items.id",
        [start, end],
    )
    for row in rows:
        items[row[0]] = _Item(*row)
    ids = list(items)
    clustered = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'story_members'"
    ).fetchone()
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        if clustered:
            for item_id, story_id in conn.execute(
                f"SELECT item_id, story_id FROM story_members WHERE item_id IN ({marks})", chunk
            ):
                items[item_id].story_id = story_id
        for item_id, initiative, score, evidence in conn.execute(
            "SELECT item_id, initiative_id, score, evidence FROM item_initiatives"
            f" WHERE item_id IN ({marks})",
            chunk,
        ):
            items[item_id].initiatives[initiative] = (score or 0.0, evidence_line(evidence))
        for item_id, theme, evidence in conn.execute(
            f"SELECT item_id, theme_id, evidence FROM item_themes WHERE item_id IN ({marks})",
            chunk,
        ):
            items[item_id].themes[theme] = evidence_line(evidence)
        for (item_id,) in conn.execute(
            f"SELECT item_id FROM item_classification WHERE relevant = 1 AND item_id IN ({marks})",
            chunk,
        ):
            items[item_id].relevant = True
    return items


def _fold(items: list[_Item], why: dict[int, str], score: dict[int, float]) -> list[Entry]:
    """Fold one story from several outlets into one entry, most carried first: the same
    headline, or members of one story cluster (across outlets and languages)."""
    parent = {item.id: item.id for item in items}

    def root(item_id: int) -> int:
        while parent[item_id] != item_id:
            parent[item_id] = parent[parent[item_id]]
            item_id = parent[item_id]
        return item_id

    first_of: dict[str, int] = {}
    for item in items:
        keys = [f"s:{item.story_id}"] if item.story_id is not None else []
        if len(item.title_key.split()) >= MIN_FOLD_WORDS:
            keys.append(f"t:{item.title_key}")
        for key in keys:
            if key in first_of:
                parent[root(item.id)] = root(first_of[key])
            else:
                first_of[key] = item.id
    groups: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        groups[root(item.id)].append(item)
    ranked: list[tuple[tuple[int, float, str], Entry]] = []
    for group in groups.values():
        group.sort(key=lambda i: (i.first_seen, i.id))
        first, rest = group[0], group[1:]
        entry = Entry(
            item_id=first.id,
            title=first.title,
            outlet=first.outlet,
            url=first.url,
            published=first.published,
            language=first.lang,
            evidence=why.get(first.id, ""),
            also=tuple(Copy(i.id, i.outlet, i.url, i.published) for i in rest),
            languages=tuple(sorted({i.lang.split("-")[0] for i in group if i.lang})),
        )
        best = max(score.get(i.id, 0.0) for i in group)
        ranked.append(((len(group), best, group[-1].first_seen), entry))
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in ranked]


def _daily_counts(
    conn: sqlite3.Connection, day: date, tz: ZoneInfo, filters: Recipient | None
) -> dict[str, dict[date, int]]:
    """Per initiative, new items per local day over the chart window, filtered like the day."""
    start, _ = day_window(day - timedelta(days=CHART_DAYS - 1), tz)
    _, end = day_window(day, tz)
    need_themes = bool(filters and filters.themes)
    rows = conn.execute(
        "SELECT item_initiatives.initiative_id, items.first_seen, items.lang,"
        + (
            " (SELECT group_concat(theme_id, ' ') FROM item_themes"
            " WHERE item_themes.item_id = items.id)"
            if need_themes
            else " NULL"
        )
        + " FROM items JOIN item_initiatives ON item_initiatives.item_id = items.id"
        " WHERE items.first_seen >= ? AND items.first_seen < ?",
        [start, end],
    )
    counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    day_of: dict[str, date] = {}  # first_seen strings repeat per initiative; parse once
    for initiative, first_seen, lang, themes in rows:
        probe = _Item(0, "", "", None, None, first_seen, lang, "", "")
        if themes:
            probe.themes = dict.fromkeys(themes.split(), "")
        if filters and filters.initiatives and initiative not in filters.initiatives:
            continue
        if not _wanted(probe, filters):
            continue
        when = day_of.get(first_seen)
        if when is None:
            when = day_of[first_seen] = local_day(first_seen, tz)
        counts[initiative][when] += 1
    return counts


def _failing_sources(conn: sqlite3.Connection, now: datetime) -> list[FailingSource]:
    cutoff = (now - FAILING_FOR).astimezone(UTC).isoformat(timespec="seconds")
    rows = conn.execute(
        "SELECT sources.id, coalesce(outlets.name, sources.outlet_id), sources.failing_since,"
        " sources.consecutive_failures, sources.last_error"
        " FROM sources LEFT JOIN outlets ON outlets.id = sources.outlet_id"
        " WHERE sources.failing_since IS NOT NULL AND sources.failing_since <= ?"
        " AND sources.enabled ORDER BY sources.failing_since, sources.id",
        [cutoff],
    )
    return [FailingSource(*row) for row in rows]


def build_digest(
    db: Database,
    day: date,
    recipient_filters: Recipient | None,
    tz: ZoneInfo | str,
    *,
    max_items_per_initiative: int = 25,
    max_general_items: int = 15,
    now: datetime | None = None,
) -> Digest:
    """The digest of `day` (local to `tz`) for a recipient's filters (None = everything).

    `now` decides which sources have failed "for over a day"; by default the end of the day.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    conn = db.conn
    start, end = day_window(day, zone)
    reference = now or datetime.fromisoformat(end)
    items = [
        item for item in _load_items(conn, start, end).values() if _wanted(item, recipient_filters)
    ]
    names = dict(conn.execute("SELECT id, coalesce(name, id) FROM initiatives").fetchall())

    by_initiative: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        for initiative in item.initiatives:
            if (
                recipient_filters
                and recipient_filters.initiatives
                and (initiative not in recipient_filters.initiatives)
            ):
                continue
            by_initiative[initiative].append(item)

    counts = _daily_counts(conn, day, zone, recipient_filters) if by_initiative else {}
    sections: list[InitiativeSection] = []
    for initiative, members in by_initiative.items():
        why = {i.id: i.initiatives[initiative][1] for i in members}
        score = {i.id: i.initiatives[initiative][0] for i in members}
        entries = _fold(members, why, score)
        per_day = counts.get(initiative, {})
        chart = tuple(
            DayCount(day - timedelta(days=back), per_day.get(day - timedelta(days=back), 0))
            for back in range(CHART_DAYS - 1, -1, -1)
        )
        sections.append(
            InitiativeSection(
                initiative_id=initiative,
                name=names.get(initiative, initiative),
                count=len(members),
                previous_day=per_day.get(day - timedelta(days=1), 0),
                week=sum(c.count for c in chart[-7:]),
                previous_week=sum(c.count for c in chart[-14:-7]),
                chart=chart,
                entries=tuple(entries[:max_items_per_initiative]),
                more=max(0, len(entries) - max_items_per_initiative),
            )
        )
    sections.sort(key=lambda s: (-s.count, s.name.lower()))

    general_items: list[_Item] = []
    if not (recipient_filters and recipient_filters.initiatives):
        general_items = [i for i in items if i.relevant and not i.initiatives]
    general = _fold(
        general_items,
        {i.id: next(iter(i.themes.values()), "") for i in general_items},
        {i.id: float(len(i.themes)) for i in general_items},
    )
    included = {i.id for members in by_initiative.values() for i in members}
    included.update(i.id for i in general_items)
    return Digest(
        day=day,
        timezone=zone.key,
        sections=tuple(sections),
        general=tuple(general[:max_general_items]),
        general_more=max(0, len(general) - max_general_items),
        failing=tuple(_failing_sources(conn, reference)),
        item_count=len(included),
        filters=recipient_filters,
        database=database_name(conn),
    )
