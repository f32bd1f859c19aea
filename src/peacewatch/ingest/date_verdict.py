"""Several witnesses, one verdict: the publication date of a page and its local day.

The witnesses (`page_dates.Witness`) fall into four independent families: the page's
structured markup (JSON-LD, OpenGraph, meta tags, microdata), its visible date (`<time>`, a
dated byline), its URL, and htmldate's reading. The rules, in order:

1. The most trusted structured date wins, unless it agrees with neither the visible date nor
   the URL while two other families agree with each other on another day: a modified date,
   a re-publication date or a template default in the markup loses to two witnesses. A
   visible byline with a clock also beats a markup date that equals the modified one and
   is later, or that is a day without a time one or two days later (a print edition); a
   URL day more than a week earlier beats it when nothing visible dates the page.
2. Without a structured date, the witness most others agree with wins (the <time> and the
   byline text count separately); a tie goes to the more trusted (time, text, URL, htmldate).
3. The local day of an instant comes from its own offset, else the offset the page writes its
   other timestamps in, else the outlet's time zone (or one the page declares by name), else
   a visible or URL date within a day of it; else it stays the UTC day. `published` is always
   the UTC instant.

Pure: witnesses and zones in, a `Verdict` out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from peacewatch.ingest.dates import FoundDate

if TYPE_CHECKING:  # page_dates reads HTML (bs4): a poll that reads no page never loads it
    from peacewatch.ingest.page_dates import Witness

__all__ = ["FETCH_TIME_SLACK", "Verdict", "decide", "feed_page_disagreement", "possible_days"]

FAMILY = {
    "jsonld": "markup", "opengraph": "markup", "meta": "markup", "itemprop": "markup",
    "time": "visible", "text": "visible", "url": "url", "htmldate": "htmldate",
}  # fmt: skip
# most trusted first
SOURCE_ORDER = ("jsonld", "opengraph", "meta", "itemprop", "time", "text", "url", "htmldate")
FAMILY_ORDER = ("visible", "url", "htmldate")

# Where newsrooms write from when nothing says: between UTC-10 (Hawaii) and UTC+11 (eastern
# Australia in summer). An instant in UTC falls on one of the calendar days these offsets give
# it; a visible or URL date on one of them tells which.
_WEST, _EAST = timedelta(hours=10), timedelta(hours=11)
# A print edition carries the date of the morning after the story went online (two days over
# a weekend or a holiday).
EDITION_LAG_DAYS = 2
# A markup date this many days after the URL's, with no visible date, re-stamps an old story.
REPUBLISHED_AFTER_DAYS = 7


@dataclass(frozen=True)
class Verdict:
    """The chosen date. `local` is the outlet's calendar day: ISO-8601 with the outlet's
    offset when it is known, else a bare day (YYYY-MM-DD)."""

    published: FoundDate | None
    local: str | None
    source: str | None
    reason: str
    modified: FoundDate | None = None
    witnesses: tuple[Witness, ...] = field(default=())

    def as_json(self) -> str:
        """The witnesses and the verdict, as stored in `date_candidates`."""
        data: dict[str, Any] = {
            "chosen": self.published.utc if self.published else None,
            "local": self.local,
            "source": self.source,
            "reason": self.reason,
            "candidates": [
                {
                    "source": w.source,
                    "role": w.role,
                    "value": w.raw,
                    "utc": w.found.utc if w.found.has_time else None,
                    "day": w.found.day,
                }
                for w in self.witnesses
            ],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _local(found: FoundDate, page_tz: tzinfo | None, outlet_tz: tzinfo | None) -> FoundDate:
    """The instant with the page's own offset, else the page's usual offset, else the
    outlet's zone (only instants written in UTC change)."""
    for tz in (page_tz, outlet_tz):
        if tz is not None:
            return found.in_zone(tz)
    return found


def _zone_known(found: FoundDate) -> bool:
    """Does the value tell its local day (a day, a naive or an offset time, or an instant
    placed in the page's or the outlet's zone)?"""
    return (
        not found.has_time
        or found.naive
        or found.zoned
        or not found.local.endswith(("+00:00", "Z"))
    )


def possible_days(found: FoundDate) -> set[str]:
    """The calendar days a date may stand for: one when its local day is known, else the
    days the UTC instant falls on somewhere between UTC-10 and UTC+11."""
    if _zone_known(found):
        return {found.day}
    moment = found.as_datetime()
    return {(moment - _WEST).date().isoformat(), found.day, (moment + _EAST).date().isoformat()}


def _day_only(day: str) -> FoundDate:
    return FoundDate(day, f"{day}T00:00:00+00:00", False)


def _best_per_family(published: list[Witness]) -> dict[str, Witness]:
    best: dict[str, Witness] = {}
    for witness in sorted(published, key=lambda w: SOURCE_ORDER.index(w.source)):
        best.setdefault(FAMILY[witness.source], witness)
    return best


def _printed_day(witness: Witness) -> str | None:
    """The local day a witness states: its own (a day, an offset, a zone), else the day its
    <time> element prints when that is one of the instant's possible days."""
    if _zone_known(witness.found):
        return witness.found.day
    if witness.shown is not None and witness.shown in possible_days(witness.found):
        return witness.shown
    return None


def _days(witness: Witness) -> set[str]:
    printed = _printed_day(witness)
    return {printed} if printed is not None else possible_days(witness.found)


def _shared_day(a: Witness, b: Witness) -> str | None:
    common = _days(a) & _days(b)
    if not common:
        return None
    for witness in (a, b):  # the one that knows its local day says which
        printed = _printed_day(witness)
        if printed is not None:
            return printed
    return min(common)


def decide(
    witnesses: list[Witness],
    *,
    page_tz: tzinfo | None = None,
    outlet_tz: tzinfo | None = None,
) -> Verdict:
    """Choose the publication date among `witnesses` (see the module's rules)."""
    from peacewatch.ingest.page_dates import Witness

    resolved = [
        Witness(w.source, w.role, _local(w.found, page_tz, outlet_tz), w.raw, w.shown)
        for w in witnesses
    ]
    published = [w for w in resolved if w.role == "published"]
    if not any(FAMILY[w.source] == "markup" for w in published):
        published += [w for w in resolved if w.role == "media"]  # a video page's upload date
    best = _best_per_family(published)
    modified = next((w.found for w in resolved if w.role == "modified"), None)
    others = [best[f] for f in FAMILY_ORDER if f in best]
    structured = best.get("markup")

    def verdict(
        found: FoundDate | None, local: str | None, source: str | None, why: str
    ) -> Verdict:
        if found is not None and modified is not None and modified.utc < found.utc:
            mod = None  # "updated" before "published" is a template error, not an update
        else:
            mod = modified
        return Verdict(found, local, source, why, mod, tuple(resolved))

    if structured is not None:
        # htmldate reads the same markup: only the visible date and the URL can confirm it
        agreeing = [o for o in others if o.source != "htmldate" and _shared_day(structured, o)]
        if not agreeing:
            overruled = _overrule(structured, published, others, modified)
            if overruled is not None:
                found, local, source, why = overruled
                return verdict(found, local, source, why)
        local, why = _local_day(structured, agreeing)
        return verdict(structured.found, local, structured.source, why)
    if not others:
        return verdict(None, None, None, "no date on the page")
    # no structured date: the witness most others agree with (a <time> and a byline both
    # count, so a byline and htmldate agreeing beat a <time> alone); ties go to the most trusted
    candidates = sorted(published, key=lambda w: SOURCE_ORDER.index(w.source))
    backing = {
        id(w): [o for o in candidates if o is not w and _shared_day(w, o)] for w in candidates
    }
    chosen = max(candidates, key=lambda w: len(backing[id(w)]))  # max keeps the first of a tie
    local, why = _local_day(chosen, [o for o in backing[id(chosen)] if o.source != "htmldate"])
    if not backing[id(chosen)] and len(candidates) > 1:
        why = f"{chosen.source}, the most trusted of {len(candidates)} disagreeing witnesses"
    elif chosen is not candidates[0]:
        names = " and ".join(w.source for w in (chosen, *backing[id(chosen)]))
        first = candidates[0]
        why = f"{names} agree on {chosen.found.day} against {first.source} ({first.raw})"
    return verdict(chosen.found, local, chosen.source, why)


def _overrule(
    structured: Witness,
    published: list[Witness],
    others: list[Witness],
    modified: FoundDate | None,
) -> tuple[FoundDate, str, str, str] | None:
    """A better date than the structured one, which neither the visible date nor the URL
    confirms: (found, local, source, reason), or None to keep it."""
    # distinct markup values on the structured day: jsonld and og copying one field count once
    support = len(
        {
            w.found.utc
            for w in published
            if FAMILY[w.source] == "markup" and _shared_day(structured, w)
        }
    )
    for i, a in enumerate(others):
        group = [a, *(b for b in others[i + 1 :] if _shared_day(a, b))]
        if len(group) >= 2 and len(group) > support:
            day = _shared_day(group[0], group[1]) or a.found.day
            chosen = next((w for w in group if w.found.day == day and _zone_known(w.found)), None)
            names = " and ".join(w.source for w in group)
            why = f"{names} agree on {day} against {structured.source} ({structured.raw})"
            if chosen is not None:
                return chosen.found, chosen.found.local, group[0].source, why
            return _day_only(day), day, group[0].source, why
    visible = next((o for o in others if FAMILY[o.source] == "visible"), None)
    # the URL is minted when a story first goes out and never changes: a markup date more than
    # a week later, which nothing visible confirms, is a re-publication or a CMS migration
    url = next((o for o in others if o.source == "url"), None)
    if (
        url is not None
        and visible is None
        and _days_between(url.found.day, structured.found.day) > REPUBLISHED_AFTER_DAYS
    ):
        why = f"url ({url.found.day}) is earlier than {structured.source} ({structured.raw})"
        return url.found, url.found.local, url.source, why
    # a day without a time in the markup, a day or two after a visible byline with a clock, is
    # the print edition's date (newspapers print the next morning what went online today)
    if (
        visible is not None
        and not structured.found.has_time
        and visible.found.has_time
        and _printed_day(visible) is not None
        and 1 <= _days_between(visible.found.day, structured.found.day) <= EDITION_LAG_DAYS
    ):
        why = (
            f"{structured.source} gives only a day ({structured.raw}), after the visible "
            f"{visible.source} with a clock ({visible.raw}): an edition's date"
        )
        return visible.found, visible.found.local, visible.source, why
    # a published date equal to the modified one is often the last edit: a visible time
    # (a byline with a clock) on an earlier day is the first publication
    if (
        visible is not None
        and modified is not None
        and modified.utc == structured.found.utc
        and visible.found.has_time
        and visible.found.utc < structured.found.utc
    ):
        why = (
            f"{structured.source} gives the modified date as published ({structured.raw}); "
            f"the visible {visible.source} date is earlier"
        )
        return visible.found, visible.found.local, visible.source, why
    return None


def _days_between(earlier: str, later: str) -> int:
    return (date.fromisoformat(later) - date.fromisoformat(earlier)).days


def _local_day(chosen: Witness, agreeing: list[Witness]) -> tuple[str, str]:
    """The local day (or moment) of the chosen witness, and why."""
    found = chosen.found
    names = ", ".join(w.source for w in agreeing)
    confirmed = f"{chosen.source}, confirmed by {names}" if agreeing else chosen.source
    if _zone_known(found):
        return found.local, confirmed
    for witness in (chosen, *agreeing):
        day = _printed_day(witness)
        if day is not None and day in possible_days(found):
            if day != found.day:
                return day, f"{confirmed}; local day {day} from {witness.source}"
            return found.local, confirmed
    return found.local, f"{confirmed}; local day unknown, UTC day kept"


# A feed date this close to the moment the item was first stored is the fetch time, not the
# publication time (feeds that stamp every entry with "now").
FETCH_TIME_SLACK = timedelta(minutes=5)


def feed_page_disagreement(
    feed_published: str, first_seen: str, page_published: str, page_local: str | None
) -> dict[str, Any] | None:
    """Why a feed item's date must give way to its page's (all UTC ISO-8601), or None when
    they agree. The feed's date loses when it is the fetch time, or a day or more away from
    the page's date (for a page that gives only a day: two calendar days or more, since a day
    alone does not say its zone)."""
    feed = datetime.fromisoformat(feed_published)
    page = datetime.fromisoformat(page_published)
    seen = datetime.fromisoformat(first_seen)
    record = {"feed": feed_published, "page": page_published}
    if abs(feed - seen) <= FETCH_TIME_SLACK and abs(feed - page) > FETCH_TIME_SLACK:
        return {**record, "kind": "fetch_time"}
    if page_local is not None and len(page_local) == 10:  # a bare day
        days = abs((feed.date() - date.fromisoformat(page_local)).days)
        if days >= 2:
            return {**record, "kind": "days_apart", "days": days}
        return None
    if abs(feed - page) >= timedelta(days=1):
        days = abs(feed - page).days
        return {**record, "kind": "days_apart", "days": days}
    return None
