"""Feed parsing: the only feedparser user. Pure: bytes and the response headers in, items out."""

from __future__ import annotations

import calendar
import email.utils
import re
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser

from peacewatch.errors import ParseError
from peacewatch.ingest.cadence import feed_floor
from peacewatch.ingest.dates import parse_date
from peacewatch.ingest.urls import canonicalize_url
from peacewatch.models import ParsedFeed, ParsedItem
from peacewatch.text import clean_text
from peacewatch.timeutil import to_iso

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)", re.I | re.S)
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF|channel)[\s>]", re.I)
_EXPLICIT_ZONE = re.compile(r"([+-]\d{2}:?\d{2}|Z|\b(GMT|UTC?|[ECMP][SD]T))\s*$")
_NAIVE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


# Decompressed size limit for gzip bytes served without Content-Encoding (bomb guard).
MAX_GUNZIP_BYTES = 50 * 1024 * 1024


def _gunzip(content: bytes) -> bytes:
    # Some servers (and saved files) deliver a gzip file as the body itself.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(content, MAX_GUNZIP_BYTES)
    except zlib.error as error:
        raise ParseError("parse_error", f"corrupt gzip body: {error}") from None
    if inflater.unconsumed_tail:
        raise ParseError("too_large", f"gzip body inflates beyond {MAX_GUNZIP_BYTES} bytes")
    return data


def _looks_like_html(content: bytes, content_type: str) -> bool:
    head = content[:2048]
    if _FEED_ROOT.search(content[:4096]):
        return False
    return "html" in content_type or bool(_HTML_START.match(head))


def _parse_date(raw: str | None, parsed: Any, tz: ZoneInfo | None) -> str | None:
    """UTC ISO-8601 from a feed date. A date without a zone is read in the source's time
    zone (feedparser would silently take it as UTC); unparseable -> None, never 'now'."""
    if parsed and raw and _EXPLICIT_ZONE.search(raw):
        # feedparser already converted a zoned date to UTC: reuse it (the common, fast case)
        try:
            return _sane(datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC))
        except (OverflowError, ValueError, TypeError):
            pass
    if raw:
        text = raw.strip()
        moment: datetime | None = None
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is None:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                moment = None
        if moment is not None:
            naive = moment.tzinfo is None
            if naive and (
                _NAIVE_ISO.match(text) or not re.search(r"[+-]\d{4}|\b(GMT|UT|UTC|Z)\b", text)
            ):
                moment = moment.replace(tzinfo=tz or UTC)
            elif naive:  # "-0000": explicitly unknown zone, RFC 5322 says treat as UTC
                moment = moment.replace(tzinfo=UTC)
            return _sane(moment)
    if parsed:
        try:
            return _sane(datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC))
        except (OverflowError, ValueError, TypeError):
            return None
    return None


def _local(raw: str | None, published: str | None, tz: ZoneInfo | None) -> str | None:
    """The feed's date with its own offset (else in the source's zone): the outlet's day.
    None when only UTC is known (the store then tries the outlet's zone)."""
    if not raw or not published:
        return None
    found = parse_date(raw, tz)
    if found is None or found.utc != published or not found.has_time:
        return None
    if not found.local.endswith("+00:00"):
        return found.local
    return found.in_zone(tz).local if tz is not None else None


def _sane(moment: datetime) -> str | None:
    # Year 1 or 9999 dates are placeholders, not dates.
    if not 1990 <= moment.year <= 2100:
        return None
    return to_iso(moment)


def _clean_lang(lang: Any) -> str | None:
    lang = str(lang or "").strip().replace("_", "-")
    return lang.lower() or None


def _lang(entry: Any, feed_lang: str | None, default: str | None) -> tuple[str | None, str | None]:
    """(language, where it came from): the entry's or feed's own ("feed"), else the language
    configured for the source ("source"), else (None, None)."""
    detail = entry.get("title_detail") or {}
    declared = _clean_lang(detail.get("language") or feed_lang)
    if declared:
        return declared, "feed"
    configured = _clean_lang(default)
    return (configured, "source") if configured else (None, None)


def _entry_item(
    entry: Any, *, base: str, feed_lang: str | None, lang: str | None, tz: ZoneInfo | None,
    outlet: str | None,
) -> ParsedItem | None:  # fmt: skip
    title = clean_text(entry.get("title"))
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links", []):
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    guid = entry.get("id") or None
    if not link and guid and re.match(r"^https?://", guid):
        link = guid
    url = urljoin(base, link.strip()) if link else None
    if url and urlsplit(url).scheme not in ("http", "https"):
        url = None
    summary = clean_text(entry.get("summary") or entry.get("description"))
    if not title:
        if not summary:
            return None
        # Some feeds (microblogs) have no titles: use the start of the summary.
        title = summary if len(summary) <= 160 else summary[:157].rsplit(" ", 1)[0] + "..."
    published = _parse_date(entry.get("published"), entry.get("published_parsed"), tz)
    published_local = _local(entry.get("published"), published, tz)
    # dict.get: FeedParserDict.get("updated") silently (and deprecatedly) returns published.
    updated = _parse_date(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"), tz)
    author = clean_text(entry.get("author"))
    lang, lang_source = _lang(entry, feed_lang, lang)
    return ParsedItem(
        title=title,
        url=url,
        canonical_url=canonicalize_url(url) if url else None,
        guid=guid,
        published=published or updated,
        published_local=published_local if published else None,
        updated=updated,
        summary=summary if summary != title else None,
        author=author,
        lang=lang,
        lang_source=lang_source,
        outlet=outlet,
    )


def parse_feed(
    content: bytes,
    *,
    url: str,
    headers: dict[str, str] | None = None,
    lang: str | None = None,
    timezone: str | None = None,
    outlet: str | None = None,
) -> ParsedFeed:
    """Parse RSS/Atom/RDF bytes. A malformed feed yields what feedparser recovers, with the
    reason in `bozo`; HTML or bytes with nothing feed-like raise ParseError."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "").lower()
    if content[:2] == b"\x1f\x8b":
        content = _gunzip(content)
    if not content.strip():
        raise ParseError("empty", "empty response body")
    if _looks_like_html(content, content_type):
        raise ParseError(
            "not_a_feed", f"got an HTML page ({content_type or 'no content type'}), not a feed"
        )
    response_headers = {"content-type": "application/xml", **headers}
    response_headers.pop("content-encoding", None)  # the bytes are already decoded
    # We keep plain text only and resolve entry links ourselves, so feedparser's HTML
    # sanitizing and relative-URI rewriting inside content would be wasted work.
    parsed = feedparser.parse(
        content,
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    bozo = None
    exc = parsed.get("bozo_exception")
    # A feed served as text/plain or text/html parses fine: not worth a warning.
    if parsed.get("bozo") and not isinstance(exc, feedparser.NonXMLContentType):
        bozo = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
    if not parsed.get("version") and not parsed.entries:
        raise ParseError("parse_error", f"not a feed: {bozo or 'no RSS/Atom/RDF root element'}")
    if bozo and not parsed.entries:
        raise ParseError("parse_error", f"malformed feed, nothing recovered: {bozo}")
    tz = ZoneInfo(timezone) if timezone else None
    feed_info = parsed.get("feed", {})
    feed_lang = feed_info.get("language")
    items = []
    for entry in parsed.entries:
        item = _entry_item(entry, base=url, feed_lang=feed_lang, lang=lang, tz=tz, outlet=outlet)
        if item is not None:
            items.append(item)
    return ParsedFeed(
        items=items,
        title=clean_text(feed_info.get("title")),
        lang=feed_lang,
        bozo=bozo,
        encoding=parsed.get("encoding"),
        floor=feed_floor(feed_info),
    )
