"""Reading the many ways pages and lists write a date, without a clock.

`parse_date` turns one string into a `FoundDate` that keeps the offset the page gave (so the
publication *day* stays the outlet's local day) and converts to UTC for storage. Naive times
are read in the outlet's zone when one is known, else as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["FoundDate", "date_from_url", "parse_date", "to_utc_iso", "zone"]

# The web's first pages; anything earlier is a birth date, a founding year or a parse slip.
MIN_YEAR = 1995

MONTHS = {
    # English, German, French, Spanish, Italian, Portuguese, Dutch: enough for bylines
    "jan": 1, "january": 1, "januar": 1, "janvier": 1, "enero": 1, "gennaio": 1, "janeiro": 1,
    "januari": 1, "jänner": 1,
    "feb": 2, "february": 2, "februar": 2, "février": 2, "fevrier": 2, "febrero": 2,
    "febbraio": 2, "fevereiro": 2, "februari": 2,
    "mar": 3, "march": 3, "märz": 3, "maerz": 3, "mars": 3, "marzo": 3, "março": 3, "maart": 3,
    "apr": 4, "april": 4, "avril": 4, "abril": 4, "aprile": 4,
    "may": 5, "mai": 5, "mayo": 5, "maggio": 5, "maio": 5, "mei": 5,
    "jun": 6, "june": 6, "juni": 6, "juin": 6, "junio": 6, "giugno": 6, "junho": 6,
    "jul": 7, "july": 7, "juli": 7, "juillet": 7, "julio": 7, "luglio": 7, "julho": 7,
    "aug": 8, "august": 8, "août": 8, "aout": 8, "agosto": 8, "augustus": 8,
    "sep": 9, "sept": 9, "september": 9, "septembre": 9, "septiembre": 9, "settembre": 9,
    "setembro": 9,
    "oct": 10, "october": 10, "oktober": 10, "octobre": 10, "octubre": 10, "ottobre": 10,
    "outubro": 10,
    "nov": 11, "november": 11, "novembre": 11, "noviembre": 11, "novembro": 11,
    "dec": 12, "december": 12, "dezember": 12, "décembre": 12, "decembre": 12,
    "diciembre": 12, "dicembre": 12, "dezembro": 12,
    # Russian and Ukrainian (genitive, as in "7 августа 2023"), Arabic (Egypt/Gulf spellings)
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
    "січня": 1, "лютого": 2, "березня": 3, "квітня": 4, "травня": 5, "червня": 6, "липня": 7,
    "серпня": 8, "вересня": 9, "жовтня": 10, "листопада": 11, "грудня": 12,
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "إبريل": 4, "ابريل": 4, "مايو": 5,
    "يونيو": 6, "يوليو": 7, "أغسطس": 8, "اغسطس": 8, "سبتمبر": 9, "أكتوبر": 10, "اكتوبر": 10,
    "نوفمبر": 11, "ديسمبر": 12,
    # Romanian (Moldova's press), Polish (genitive)
    "ianuarie": 1, "februarie": 2, "martie": 3, "aprilie": 4, "iunie": 6, "iulie": 7,
    "septembrie": 9, "octombrie": 10, "noiembrie": 11, "decembrie": 12,
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6, "lipca": 7,
    "sierpnia": 8, "września": 9, "października": 10, "listopada": 11, "grudnia": 12,
    # the usual abbreviations: Spanish, French, Italian, Portuguese, German, Russian
    "ene": 1, "janv": 1, "gen": 1, "янв": 1, "févr": 2, "fév": 2, "fevr": 2, "fev": 2,
    "фев": 2, "mär": 3, "avr": 4, "abr": 4, "апр": 4, "mag": 5, "giu": 6, "juil": 7,
    "lug": 7, "ago": 8, "авг": 8, "set": 9, "sett": 9, "сен": 9, "сент": 9, "okt": 10,
    "ott": 10, "out": 10, "окт": 10, "ноя": 11, "dez": 12, "dic": 12, "déc": 12, "дек": 12,
    "мар": 3, "июн": 6, "июл": 7,
    # Turkish (with the dotless i lowercased both ways), Indonesian and Malay
    "ocak": 1, "şubat": 2, "subat": 2, "mart": 3, "nisan": 4, "mayıs": 5, "mayis": 5,
    "haziran": 6, "temmuz": 7, "ağustos": 8, "agustos": 8, "eylül": 9, "eylul": 9, "ekim": 10,
    "kasım": 11, "kasim": 11, "aralık": 12, "aralik": 12,
    "maret": 3, "agustus": 8, "desember": 12, "mac": 3, "julai": 7, "ogos": 8, "disember": 12,
    # Swedish, Danish, Norwegian (the rest are spelt as in Dutch or German)
    "maj": 5, "augusti": 8, "marts": 3,
    # Czech and Slovak (genitive), Serbian and Bosnian in Latin script
    "ledna": 1, "února": 2, "března": 3, "dubna": 4, "května": 5, "června": 6,
    "července": 7, "srpna": 8, "září": 9, "října": 10, "listopadu": 11, "prosince": 12,
    "januára": 1, "februára": 2, "apríla": 4, "mája": 5, "júna": 6, "júla": 7,
    "augusta": 8, "septembra": 9, "októbra": 10, "novembra": 11, "decembra": 12,
    "januara": 1, "februara": 2, "marta": 3, "aprila": 4, "juna": 6, "jula": 7,
    "avgusta": 8, "oktobra": 10,
    # Hungarian, Finnish (partitive), Greek (genitive), Catalan
    "január": 1, "február": 2, "március": 3, "április": 4, "május": 5, "június": 6,
    "július": 7, "augusztus": 8, "szeptember": 9, "október": 10,
    "tammikuuta": 1, "helmikuuta": 2, "maaliskuuta": 3, "huhtikuuta": 4, "toukokuuta": 5,
    "kesäkuuta": 6, "heinäkuuta": 7, "elokuuta": 8, "syyskuuta": 9, "lokakuuta": 10,
    "marraskuuta": 11, "joulukuuta": 12,
    "ιανουαρίου": 1, "φεβρουαρίου": 2, "μαρτίου": 3, "απριλίου": 4, "μαΐου": 5,
    "ιουνίου": 6, "ιουλίου": 7, "αυγούστου": 8, "σεπτεμβρίου": 9, "οκτωβρίου": 10,
    "νοεμβρίου": 11, "δεκεμβρίου": 12,
    "gener": 1, "febrer": 2, "març": 3, "maig": 5, "juny": 6, "juliol": 7, "setembre": 9,
    "desembre": 12,
}  # fmt: skip

# US newsroom abbreviations; pages write "ET" without saying whether DST applies
_ZONE_ABBREVIATIONS: dict[str, tzinfo] = {
    "utc": UTC, "gmt": UTC, "z": UTC,
    "et": ZoneInfo("America/New_York"), "est": timezone(timedelta(hours=-5)),
    "edt": timezone(timedelta(hours=-4)),
    "ct": ZoneInfo("America/Chicago"), "cst": timezone(timedelta(hours=-6)),
    "cdt": timezone(timedelta(hours=-5)),
    "pt": ZoneInfo("America/Los_Angeles"), "pst": timezone(timedelta(hours=-8)),
    "pdt": timezone(timedelta(hours=-7)),
    "bst": timezone(timedelta(hours=1)), "cet": timezone(timedelta(hours=1)),
    "cest": timezone(timedelta(hours=2)), "eet": timezone(timedelta(hours=2)),
    "eest": timezone(timedelta(hours=3)), "msk": timezone(timedelta(hours=3)),
    "ist": timezone(timedelta(hours=5, minutes=30)),
}  # fmt: skip

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?|(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?)?)?"
)
_COMPACT = re.compile(
    r"^(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:T?(?P<H>\d{2})(?P<M>\d{2}))?"
)
_SLASHED_YMD = re.compile(r"(?P<y>(?:19|20)\d{2})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})")
# Chinese and Japanese 2020年07月03日, Korean 2020년 3월 4일
_CJK_YMD = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[年년]\s*(?P<m>\d{1,2})\s*[月월]\s*(?P<d>\d{1,2})\s*[日일]"
)
_DMY = re.compile(r"\b(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>(?:19|20)\d{2})\b")
_TEXT_DMY = re.compile(
    r"\b(?P<d>\d{1,2})(?:st|nd|rd|th|er|\.)?\s+(?:(?:de|of|del)\s+)?(?P<mon>[^\W\d_]{3,12})\.?,?"
    r"\s+(?:de\s+)?(?P<y>(?:19|20)\d{2})\b"
)
_TEXT_MDY = re.compile(
    r"\b(?P<mon>[^\W\d_]{3,12})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{2})\b"
)
# Hungarian (and Lithuanian-like) year first: "2020. január 5."
_TEXT_YMD = re.compile(
    r"\b(?P<y>(?:19|20)\d{2})\.?\s+(?P<mon>[^\W\d_]{3,12})\.?\s+(?P<d>\d{1,2})\b(?![.:/]?\d)"
)
_CLOCK = re.compile(
    r"\b(?P<H>\d{1,2})[:.h](?P<M>\d{2})(?::\d{2})?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?P<tz>(?:UTC|GMT)\s?[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,4}\b|[+-]\d{2}:?\d{2}))?",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")
# The Solar Hijri calendar of Iranian and Afghan outlets: "2 تیر 1399", "۱۳۹۹/۰۴/۰۲"
_JALALI_MONTHS = {
    "فروردین": 1, "اردیبهشت": 2, "خرداد": 3, "تیر": 4, "مرداد": 5, "امرداد": 5, "شهریور": 6,
    "مهر": 7, "آبان": 8, "آذر": 9, "دی": 10, "بهمن": 11, "اسفند": 12,
}  # fmt: skip
_JALALI_TEXT = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s+(?P<mon>"
    + "|".join(sorted(_JALALI_MONTHS, key=len, reverse=True))
    + r")\s+(?P<y>1[34]\d\d)(?!\d)"
)
_JALALI_NUMERIC = re.compile(r"(?<!\d)(?P<y>1[34]\d\d)/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?!\d)")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_EASTERN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_URL_DATE = re.compile(
    # separators required (the compact form is _URL_COMPACT), longest alternatives first:
    # /2025/11/20/ must not read as 2025-1-1
    r"/(?P<y>(?:19|20)\d{2})[/_-](?P<m>1[0-2]|0?[1-9])[/_-](?P<d>3[01]|[12]\d|0?[1-9])(?:[/_.-]|$)"
)
# /2023/feb/24/, /2019-june-3-: a month written as a word (checked against MONTHS)
_URL_MONTH_NAME = re.compile(
    r"/(?P<y>(?:19|20)\d{2})[/_-](?P<mon>[a-z]{3,9})[/_-](?P<d>3[01]|[12]\d|0?[1-9])(?:[/_.-]|$)",
    re.IGNORECASE,
)
_URL_COMPACT = re.compile(
    r"[/_-](?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?:[/_.-]|$)"
)


@dataclass(frozen=True)
class FoundDate:
    """A date as written. `local` is ISO-8601 with the page's own offset (or a bare date).
    `naive` marks a time written without an offset: its day is the local day as written;
    `zoned` an instant written in UTC and placed in a zone known from elsewhere."""

    local: str
    utc: str
    has_time: bool
    naive: bool = False
    zoned: bool = False

    @property
    def day(self) -> str:
        """Publication day as the outlet saw it (YYYY-MM-DD)."""
        return self.local[:10]

    @property
    def in_utc(self) -> bool:
        """An instant written in UTC, whose local day the page's or outlet's zone tells."""
        return self.has_time and not self.naive and self.local.endswith(("+00:00", "Z"))

    def as_datetime(self) -> datetime:
        return datetime.fromisoformat(self.utc)

    def in_zone(self, tz: tzinfo) -> FoundDate:
        """The same moment with the outlet's local offset, when the page wrote it in UTC."""
        if not self.in_utc:
            return self
        local = self.as_datetime().astimezone(tz)
        return FoundDate(local.isoformat(), self.utc, True, zoned=True)


def zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_utc_iso(moment: datetime) -> str:
    """The one storage format: UTC, seconds precision, explicit +00:00."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _offset(text: str) -> tzinfo | None:
    raw = text.strip()
    lowered = raw.lower()
    if lowered in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[lowered]
    if lowered.startswith(("utc", "gmt")):
        raw = raw[3:].strip()
        if not raw:
            return UTC
    match = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", raw)
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta)


def _build(
    y: int, m: int, d: int, hh: int | None, mm: int | None, ss: int, tz: tzinfo | None,
    default_tz: tzinfo | None,
) -> FoundDate | None:  # fmt: skip
    if not MIN_YEAR <= y <= 2100:
        return None
    try:
        if hh is None:
            day = date(y, m, d)
            # a bare date is a day, not a moment: keep it at midnight UTC so the day never shifts
            return FoundDate(day.isoformat(), f"{day.isoformat()}T00:00:00+00:00", False)
        moment = datetime(y, m, d, hh, mm or 0, ss, tzinfo=tz or default_tz or UTC)
    except ValueError:
        return None
    local = moment.replace(microsecond=0).isoformat()
    return FoundDate(local, to_utc_iso(moment), True, naive=tz is None)


def _month(name: str) -> int | None:
    return MONTHS.get(name.lower().rstrip("."))


def _with_clock(rest: str) -> tuple[int | None, int | None, tzinfo | None]:
    clock = _CLOCK.search(rest)
    if not clock:
        return None, None, None
    hh, mm = int(clock.group("H")), int(clock.group("M"))
    ampm = (clock.group("ampm") or "").replace(".", "").lower()
    if ampm == "pm" and hh < 12:
        hh += 12
    elif ampm == "am" and hh == 12:
        hh = 0
    if hh > 23 or mm > 59:
        return None, None, None
    tz = _offset(clock.group("tz")) if clock.group("tz") else None
    return hh, mm, tz


def parse_date(text: str | None, default_tz: tzinfo | None = None) -> FoundDate | None:
    """Parse the usual machine and human date spellings; None when nothing sensible is there."""
    if not text:
        return None
    raw = " ".join(str(text).split())[:200]
    if not raw:
        return None
    if _EPOCH.match(raw):
        seconds = int(raw[:10])
        return _from_datetime(datetime.fromtimestamp(seconds, UTC))
    if _ARABIC_SCRIPT.search(raw):
        found = _jalali_date(raw, default_tz)
        if found is not None:
            return found
    match = _ISO.search(raw)
    if match:
        tz = _offset(match.group("tz")) if match.group("tz") else None
        hour = match.group("H")
        return _build(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            int(hour) if hour is not None else None,
            int(match.group("M")) if hour is not None else None,
            int(match.group("S") or 0), tz, default_tz,
        )  # fmt: skip
    match = _COMPACT.match(raw)
    if match:
        hour = match.group("H")
        return _build(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            int(hour) if hour else None, int(match.group("M")) if hour else None, 0, None,
            default_tz,
        )  # fmt: skip
    if re.match(r"^[A-Za-z]{3},\s+\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", raw):
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=default_tz or UTC)
            return _from_datetime(moment)
    for pattern in (_SLASHED_YMD, _CJK_YMD, _DMY):
        match = pattern.search(raw)
        if match:
            month, day_ = int(match.group("m")), int(match.group("d"))
            if pattern is _DMY and month > 12 and day_ <= 12:
                month, day_ = day_, month  # US order: 03/25/2019
            hh, mm, tz = _with_clock(raw[match.end() :])
            return _build(int(match.group("y")), month, day_, hh, mm, 0, tz, default_tz)
    for pattern in (_TEXT_DMY, _TEXT_MDY, _TEXT_YMD):
        for match in pattern.finditer(raw):
            month_number = _month(match.group("mon"))
            if month_number is None:
                continue
            hh, mm, tz = _with_clock(raw[match.end() :])
            if hh is None:
                hh, mm, tz = _with_clock(raw[: match.start()])
            return _build(
                int(match.group("y")), month_number, int(match.group("d")), hh, mm, 0, tz,
                default_tz,
            )  # fmt: skip
    return None


def _jalali_date(raw: str, default_tz: tzinfo | None) -> FoundDate | None:
    """A Solar Hijri date in Persian text ("2 تير 1399 - 12:09:08 ب.ظ"), as a Gregorian day."""
    # Arabic yeh and kaf, as pages mix them; Persian and Arabic-Indic digits
    text = raw.replace("ي", "ی").replace("ك", "ک").translate(_EASTERN_DIGITS)
    match = _JALALI_TEXT.search(text)
    if match:
        month = _JALALI_MONTHS[match.group("mon")]
    else:
        match = _JALALI_NUMERIC.search(text)
        if match is None:
            return None
        month = int(match.group("m"))
    day = gregorian_of_jalali(int(match.group("y")), month, int(match.group("d")))
    if day is None:
        return None
    hh, mm, tz = _with_clock(text[match.end() :])
    if hh is not None and hh < 12 and "ب.ظ" in text[match.end() :]:  # "afternoon": p.m.
        hh += 12
    return _build(day.year, day.month, day.day, hh, mm, 0, tz, default_tz)


def gregorian_of_jalali(year: int, month: int, day: int) -> date | None:
    """The Gregorian day of a Solar Hijri one (the 33-year arithmetic rule, exact for the
    years newsrooms write)."""
    if not (1 <= month <= 12 and 1 <= day <= (31 if month <= 6 else 30)):
        return None
    y = year + 1595
    days = -355668 + 365 * y + (y // 33) * 8 + ((y % 33) + 3) // 4 + day
    days += (month - 1) * 31 if month <= 6 else (month - 7) * 30 + 186
    return date.fromordinal(days - 365)


def _from_datetime(moment: datetime) -> FoundDate | None:
    if not MIN_YEAR <= moment.year <= 2100:
        return None
    return FoundDate(moment.replace(microsecond=0).isoformat(), to_utc_iso(moment), True)


def date_from_url(url: str) -> FoundDate | None:
    """A day written in a URL path: /2023/08/07/, /2023/aug/07/, /2023-08-07-, /20230807/."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    path = path.split("//", 1)[1] if "//" in path else path
    path = path[path.find("/") :] if "/" in path else ""
    for pattern in (_URL_DATE, _URL_MONTH_NAME, _URL_COMPACT):
        for match in pattern.finditer(path):
            groups = match.groupdict()
            month = _month(groups["mon"]) if "mon" in groups else int(groups["m"])
            if month is None:
                continue
            found = _build(int(groups["y"]), month, int(groups["d"]), None, None, 0, None, None)
            if found:
                return found
    return None
