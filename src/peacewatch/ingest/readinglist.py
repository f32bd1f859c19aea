"""Curated reading lists: "Headline - Outlet DD.MM.YY" lines, in plain text or HTML.

Pure: text or bytes in, `ReadingList` out. Real lists are typed by hand and copied between
tools, so a line may carry an author before the outlet, a note, a month-only date, a reference
number glued to its date, a handle instead of an outlet, or nothing after the headline at all.
A line that cannot be read becomes a `ListProblem` with its line number; it never stops the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from peacewatch.ingest.dates import MONTHS
from peacewatch.ingest.outlets import Outlet, OutletRegistry, derive_outlet_from_name

__all__ = ["ListEntry", "ListProblem", "ReadingList", "parse_html_list", "parse_text_list"]

_BULLET = re.compile(r"^\s*(?:[-*•·▪►–—+]|\d{1,3}[.)])\s+")
_KIND = re.compile(
    r"^(?P<kind>video|tweet|thread|podcast|audio|pdf)\s*:\s*(?P<rest>.+)$", re.IGNORECASE
)
_KIND_NAMES = {"thread": "tweet"}
_NOTE_AT_END = re.compile(r"\s*[\(\[]\s*(?P<note>[^()\[\]]{1,60}?)\s*[\)\]]\s*$")
_NOTE_WORDS = re.compile(
    r"^(?:must[- ]?read|paywall(?:ed)?|long[- ]?read|recommended|important|opinion|op-?ed|"
    r"analysis|interview|video|audio|podcast|thread|pdf|translated|machine translation|"
    r"in (?:english|russian|ukrainian|german|french|spanish|chinese)|english|russian|ukrainian|"
    r"german|french|updated?|editorial|transcript|excerpts?|\w+ only)!*$",
    re.IGNORECASE,
)
# d.m.yy with anything glued after the year (a copied reference number: 07.08.23364196)
_DMY_END = re.compile(r"(?:^|(?<=[\s,(–—-]))(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{2,})$")
_ISO_END = re.compile(r"(?:^|(?<=[\s,(]))(?P<y>(?:19|20)\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
# month/year: "1/23", "7/22", "01/2023", also with a glued reference number
_MY_END = re.compile(r"(?:^|(?<=[\s,(–—-]))(?P<m>\d{1,2})/(?P<y>\d{2,})$")
_TEXT_DATE_END = re.compile(
    r"(?:^|(?<=[\s,(–—-]))(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<mon1>[^\W\d_]{3,10})\.?,?"
    r"\s+(?P<y1>\d{4})|(?P<mon2>[^\W\d_]{3,10})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y2>\d{4})|(?P<mon3>[^\W\d_]{3,10})\.?\s+(?P<y3>\d{4}))$"
)
_SEPARATOR = re.compile(r"\s+(?:-{1,2}|–|—|\|)\s+")
_ELLIPSIS = re.compile(r"\s*(?:\.{3,}|…)\s*$")
_BY = re.compile(r"^(?P<head>.+)\s+by\s+(?P<who>[^,]{2,60}(?:,\s*[^,]{2,60})?)$", re.IGNORECASE)


@dataclass(frozen=True)
class ListEntry:
    """One reading-list entry. `date` is YYYY-MM-DD or YYYY-MM (month-only lists)."""

    line: int
    title: str
    outlet: str | None = None  # as written in the list
    outlet_id: str | None = None
    outlet_registered: bool = False
    author: str | None = None
    date: str | None = None
    url: str | None = None
    kind: str | None = None  # video | tweet | podcast | audio | pdf
    note: str | None = None
    reference: str | None = None  # number copied after the date
    truncated: bool = False  # headline cut short with an ellipsis
    bad_date: str | None = None  # a date that does not exist; the line is reported, not stored

    @property
    def published(self) -> str | None:
        """UTC ISO-8601 at midnight of the day (first of the month for month-only dates)."""
        if self.date is None:
            return None
        day = self.date if len(self.date) == 10 else f"{self.date}-01"
        return f"{day}T00:00:00+00:00"

    @property
    def date_precision(self) -> str | None:
        if self.date is None:
            return None
        return "day" if len(self.date) == 10 else "month"


@dataclass(frozen=True)
class ListProblem:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class ReadingList:
    entries: list[ListEntry] = field(default_factory=list)
    problems: list[ListProblem] = field(default_factory=list)


@dataclass
class _Trailer:
    date: str | None = None
    reference: str | None = None
    notes: list[str] = field(default_factory=list)
    bad_date: str | None = None  # looked like a date but is none (31.02.23)


def _year(digits: str, max_year: int) -> tuple[int, str | None] | None:
    """Split '23364196' into (2023, '364196') and '2023' into (2023, None)."""
    if len(digits) >= 4 and digits[:2] in {"19", "20"}:
        year = int(digits[:4])
        if 1995 <= year <= max_year:
            return year, digits[4:] or None
    if len(digits) >= 2:
        return 2000 + int(digits[:2]), digits[2:] or None
    return None


def _take_date(text: str, trailer: _Trailer, max_year: int) -> str:
    """Remove a date at the end of `text` into `trailer`; return what is left."""
    match = _DMY_END.search(text)
    if match:
        split = _year(match.group("y"), max_year)
        day, month = int(match.group("d")), int(match.group("m"))
        if month > 12 and day <= 12:
            day, month = month, day  # US order
        if split is not None:
            year, reference = split
            try:
                trailer.date = date(year, month, day).isoformat()
            except ValueError:
                trailer.bad_date = match.group()
                return text
            trailer.reference = reference
            return text[: match.start()]
    match = _ISO_END.search(text)
    if match:
        try:
            trailer.date = date(
                int(match.group("y")), int(match.group("m")), int(match.group("d"))
            ).isoformat()
            return text[: match.start()]
        except ValueError:
            trailer.bad_date = match.group()
            return text
    match = _MY_END.search(text)
    if match and 1 <= int(match.group("m")) <= 12:
        split = _year(match.group("y"), max_year)
        if split is not None:
            year, reference = split
            trailer.date, trailer.reference = f"{year:04d}-{int(match.group('m')):02d}", reference
            return text[: match.start()]
    match = _TEXT_DATE_END.search(text)
    if match:
        month_number = MONTHS.get(
            (match.group("mon1") or match.group("mon2") or match.group("mon3")).lower()
        )
        if month_number is not None:
            year = int(match.group("y1") or match.group("y2") or match.group("y3"))
            day_text = match.group("d1") or match.group("d2")
            try:
                trailer.date = (
                    date(year, month_number, int(day_text)).isoformat()
                    if day_text
                    else f"{year:04d}-{month_number:02d}"
                )
            except ValueError:
                return text
            return text[: match.start()]
    return text


def _take_notes(text: str, trailer: _Trailer, *, any_note: bool) -> str:
    while True:
        match = _NOTE_AT_END.search(text)
        if not match or not (any_note or _NOTE_WORDS.match(match.group("note"))):
            return text
        if match.start() == 0:
            return text
        trailer.notes.insert(0, match.group("note"))
        text = text[: match.start()]


def _strip_tail(text: str) -> str:
    return text.rstrip(" ,;:-–—|").rstrip()


class _LineParser:
    def __init__(self, registry: OutletRegistry | None, max_year: int) -> None:
        self.registry = registry or OutletRegistry({})
        self.max_year = max_year

    def resolve(self, written: str) -> Outlet | None:
        return self.registry.resolve(written)

    def split_outlet(
        self, who: str, *, strict: bool
    ) -> tuple[str | None, str | None, Outlet | None] | None:
        """("Author, Outlet" | "Author / Outlet" | "by Outlet" | "Outlet") -> (outlet, author,
        registered outlet). With `strict`, only names the registry knows are accepted."""
        who = re.sub(r"^by\s+", "", who.strip(), flags=re.IGNORECASE).strip()
        if not who:
            return None
        known = self.resolve(who)
        if known is not None:
            return who, None, known
        for separator in (" / ", ", ", "; "):
            if separator in who:
                left, right = (part.strip() for part in who.rsplit(separator, 1))
                for outlet_part, author_part in ((right, left), (left, right)):
                    known = self.resolve(outlet_part)
                    if known is not None:
                        return outlet_part, re.sub(r"^by\s+", "", author_part, flags=re.I), known
                if not strict and _name_like(right) and _name_like(left):
                    return right, re.sub(r"^by\s+", "", left, flags=re.I), None
        if who.startswith("@") and re.fullmatch(r"@\w{1,50}", who):
            return who, None, None
        if not strict and _name_like(who):
            return who, None, None
        return None

    def parse(self, text: str, line: int, url: str | None, headline: str | None) -> ListEntry:
        kind = None
        body = text.strip()
        match = _KIND.match(body)
        if match:
            kind = match.group("kind").lower()
            kind = _KIND_NAMES.get(kind, kind)
            body = match.group("rest").strip()
            if headline and _KIND.match(headline):
                headline = _KIND.match(headline).group("rest").strip()  # type: ignore[union-attr]
        trailer = _Trailer()
        if headline and body.startswith(headline) and len(headline) < len(body):
            # HTML lists: the link text is the headline, the rest is "- Outlet date"
            rest = body[len(headline) :]
            rest = _strip_tail(_take_notes(rest, trailer, any_note=True))
            rest = _strip_tail(_take_date(rest, trailer, self.max_year))
            rest = _strip_tail(_take_notes(rest, trailer, any_note=True))
            rest = rest.lstrip(" -–—|:,").strip()
            who = self.split_outlet(rest, strict=False) if rest else None
            title = headline
        else:
            body = _strip_tail(_take_notes(body, trailer, any_note=True))
            body = _strip_tail(_take_date(body, trailer, self.max_year))
            body = _strip_tail(_take_notes(body, trailer, any_note=True))
            title, who = self.split_headline(body, kind)
        title = _take_notes(title, trailer, any_note=False).strip()
        truncated = bool(_ELLIPSIS.search(title))
        title = _ELLIPSIS.sub("", title).strip().strip("\"'“”‘’").strip() if truncated else title
        outlet_written, author, known = who if who else (None, None, None)
        outlet_id, registered = None, False
        if known is not None:
            outlet_id, registered = known.id, True
        elif outlet_written:
            outlet_id = derive_outlet_from_name(outlet_written.lstrip("@")).id
        return ListEntry(
            line=line,
            title=title,
            outlet=outlet_written,
            outlet_id=outlet_id,
            outlet_registered=registered,
            author=author or None,
            date=trailer.date,
            url=url,
            kind=kind,
            note="; ".join(trailer.notes) or None,
            reference=trailer.reference,
            truncated=truncated,
            bad_date=trailer.bad_date,
        )

    def split_headline(
        self, body: str, kind: str | None
    ) -> tuple[str, tuple[str | None, str | None, Outlet | None] | None]:
        separators = list(_SEPARATOR.finditer(body))
        if separators:
            last = separators[-1]
            head, tail = body[: last.start()].strip(), body[last.end() :].strip()
            dash = last.group().strip()
            # " - " is the list convention; en/em dashes and pipes also occur inside headlines,
            # so after those only a name the registry knows (or a handle) counts as the outlet
            strict = dash not in {"-", "--"} and not tail.startswith("@")
            who = self.split_outlet(tail, strict=strict) if head else None
            if who is not None:
                return head, who
        match = _BY.match(body)
        if match:
            who = self.split_outlet(match.group("who"), strict=True)
            if who is not None:
                return match.group("head").strip(), who
        return body, None


def _name_like(text: str) -> bool:
    """Could this be an outlet or author name rather than the end of a headline?"""
    words = text.split()
    if not 1 <= len(words) <= 5 or len(text) > 60:
        return False
    if text.endswith(("?", "!", ".")) and not re.search(r"\w\.\w|!$", text):
        return False
    first = words[0]
    return first[0].isupper() or first[0].isdigit() or first[0] == "@" or "." in first


def parse_text_list(
    text: str, *, registry: OutletRegistry | None = None, today: date | None = None
) -> ReadingList:
    """Parse a list pasted as text. Bulleted lines are entries even without outlet or date;
    other lines must end with an outlet or a date to count (intros, headings are reported)."""
    parser = _LineParser(registry, (today.year + 1) if today else 2100)
    entries: list[ListEntry] = []
    problems: list[ListProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        bullet = _BULLET.match(line)
        body = line[bullet.end() :] if bullet else line
        entry = parser.parse(body, number, None, None)
        if not any(ch.isalnum() for ch in entry.title):
            problems.append(ListProblem(number, raw, "no headline"))
        elif entry.bad_date:
            problems.append(ListProblem(number, raw, f"no such date: {entry.bad_date}"))
        elif not bullet and entry.outlet is None and entry.date is None:
            problems.append(ListProblem(number, raw, "no ' - Outlet DD.MM.YY' ending"))
        else:
            entries.append(entry)
    return ReadingList(entries, problems)


def parse_html_list(
    content: bytes,
    url: str,
    *,
    registry: OutletRegistry | None = None,
    today: date | None = None,
    headers: dict[str, str] | None = None,
) -> ReadingList:
    """Parse a list page: a line is an entry when its text ends with an outlet, or with a date
    and it has a link; its first http(s) link is the entry's URL. Page chrome (menus, footers,
    "updated 06.04.23") is ignored."""
    from peacewatch.ingest.html import html_lines  # the one module that may parse HTML

    parser = _LineParser(registry, (today.year + 1) if today else 2100)
    entries: list[ListEntry] = []
    problems: list[ListProblem] = []
    for html_line in html_lines(content, url, headers=headers):
        text = _BULLET.sub("", html_line.text, count=1)
        links = [(h, t) for h, t in html_line.links if h.startswith(("http://", "https://"))]
        link, link_text = links[0] if links else (None, None)
        headline = link_text if link_text and len(link_text.split()) >= 2 else None
        entry = parser.parse(text, html_line.line, link, headline)
        if entry.bad_date:
            problems.append(
                ListProblem(html_line.line, html_line.text, f"no such date: {entry.bad_date}")
            )
            continue
        if entry.outlet is None and (entry.date is None or entry.url is None):
            continue  # navigation, headings, footers, "updated 06.04.23": not list entries
        if not any(ch.isalnum() for ch in entry.title):
            problems.append(ListProblem(html_line.line, html_line.text, "no headline"))
            continue
        entries.append(entry)
    return ReadingList(entries, problems)
