"""Article pages: headline, dates, canonical URL and lead read from one HTML page.

This is the only module that imports BeautifulSoup/lxml. It is pure: bytes, the page's URL
and the caller's `now` go in, an `Article` comes out; no clock, network or database.

Dates are taken from the most trustworthy place that has one, in this order: JSON-LD
(NewsArticle and friends, including @graph), OpenGraph/article: meta, other meta tags
(date, pubdate, DC.date, sailthru, parsely...), itemprop="datePublished", <time datetime>,
dated bylines in the text, a day in the URL path, and finally a date written just after the
headline. A date more than FUTURE_SLACK after `now` is rejected (scheduled posts, typos,
"copyright 2099").
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector

from peacewatch.ingest.dates import FoundDate, date_from_url, parse_date, zone

__all__ = ["FUTURE_SLACK", "Article", "HtmlLine", "extract_article", "html_lines"]

# A naive local time read as UTC can look up to 14 h ahead (UTC+14): allow that, no more.
FUTURE_SLACK = timedelta(hours=14)

ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
    "blogposting", "liveblogposting", "socialmediaposting", "scholarlyarticle", "techarticle",
    "report", "posting", "discussionforumposting", "satiricalarticle", "advertisercontentarticle",
}  # fmt: skip
PAGE_TYPES = {"webpage", "itempage", "collectionpage", "event"}
# an embedded video carries its own upload date: trusted only when nothing else dates the page
MEDIA_TYPES = {"videoobject", "mediaobject", "audioobject", "clip"}

# meta property/name/itemprop values, lowercased; published first, then modified
PUBLISHED_OG = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "article:published", "og:article:published", "og:pubdate", "og:publish_date",
    "og:datepublished", "article.published", "og:regdate",
)  # fmt: skip
MODIFIED_OG = ("article:modified_time", "og:updated_time", "og:article:modified_time",
               "article:modified", "og:modified_time")  # fmt: skip
PUBLISHED_META = (
    "date", "pubdate", "publishdate", "publish_date", "publish-date", "published-date",
    "published_date", "publication_date", "publication-date", "date_published", "datepublished",
    "dc.date", "dc.date.issued", "dc.date.created", "dc.date.publication", "dc.created",
    "dcterms.date", "dcterms.issued", "dcterms.created", "dc:date", "dc:created",
    "sailthru.date", "parsely-pub-date", "citation_publication_date", "citation_date",
    "originalpublicationdate", "article_date_original", "article.created", "article:created",
    "cxenseparse:recs:publishtime", "bt:pubdate", "rnews:datepublished", "displaydate",
    "date_created", "datecreated", "dateposted", "content_create_date", "created",
    "dcsext.articlefirstpublished", "ptime", "pdate", "rbpubdate", "release_date",
    "shareaholic:article_published_time", "twt-published-at", "vr:published_time",
    "mediator_published_time", "sailthru.publishdate", "parsely-pubdate", "pub_date",
    "article:publication_date", "publish-time", "publishtime", "timestamp",
)  # fmt: skip
MODIFIED_META = (
    "lastmod", "last-modified", "lastmodified", "dc.date.modified", "dcterms.modified",
    "datemodified", "date_modified", "modified", "revised", "updated", "sailthru.lastmod",
    "parsely-updated", "article.updated", "last_updated",
)  # fmt: skip

_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "dd", "dt", "tr", "td", "th", "table", "section", "article",
    "header", "footer", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "main", "aside",
    "nav", "form", "figure", "figcaption", "address", "body", "center", "dl", "hr",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "head", "select"}
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||--?|–|—|::|·|•|«|»|/|:)\s+")
_DATE_HINT = re.compile(
    r"(?:^|[-_\s])(?:date|dateline|time|publish|published|pubdate|posted|post-date|entry-date|"
    r"byline|meta|timestamp|article-info|datum|fecha|data)(?:$|[-_\s])",
    re.IGNORECASE,
)
_MODIFIED_HINT = re.compile(r"updat|modif|edited|revised|aktualisiert", re.IGNORECASE)
_ENTITY_DECLARATIONS = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>|<!ENTITY[^>]*>", re.S | re.I)
_CHARSET = re.compile(r"charset=([\w.:-]+)", re.I)
_OFFSET_IN_MARKUP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?(?:\.\d+)?([+-]\d\d):?(\d\d)")


@dataclass(frozen=True)
class Article:
    """What one article page says about itself. Dates are UTC ISO-8601 or None."""

    url: str
    title: str | None = None
    published: str | None = None
    published_local: str | None = None  # same moment with the page's own offset (or a day)
    modified: str | None = None
    date_source: str | None = None  # jsonld | opengraph | meta | itemprop | time | text | url
    canonical_url: str | None = None
    site_name: str | None = None
    lang: str | None = None
    author: str | None = None
    lead: str | None = None

    @property
    def published_day(self) -> str | None:
        """The publication day as the outlet saw it."""
        return self.published_local[:10] if self.published_local else None


@dataclass(frozen=True)
class HtmlLine:
    """One visual line of an HTML page (reading lists): its text and the links on it."""

    line: int
    text: str
    links: tuple[tuple[str, str], ...]  # (absolute href, link text)


def _soup(content: bytes, headers: dict[str, str] | None, parser: str = "lxml") -> BeautifulSoup:
    # Internal DTD subsets and entity declarations have no business in a web page: drop them
    # before the parser sees them (billion-laughs, external entities). lxml's HTML parser also
    # never fetches external resources.
    if b"<!ENTITY" in content[:65536] or b"<!entity" in content[:65536]:
        content = _ENTITY_DECLARATIONS.sub(b"", content)
    encoding = None
    if headers:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        match = _CHARSET.search(content_type)
        if match:
            encoding = match.group(1)
    if encoding is None:
        encoding = EncodingDetector.find_declared_encoding(content, is_html=True)
    try:
        if encoding:
            "".encode(encoding)
    except LookupError:
        encoding = None
    return BeautifulSoup(content, parser, from_encoding=encoding or "utf-8")


def _text(node: Tag) -> str:
    return " ".join(node.get_text(" ", strip=True).split())


def _attr(node: Tag, name: str) -> str:
    value = node.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


# ---------------------------------------------------------------- one walk over the tree

_CONTAINER_CLASS = re.compile(
    r"(?:^|\s)(?:article-body|article__body|story-body|entry-content|post-content)(?:\s|$)"
)


@dataclass
class _Index:
    """Every element the extraction looks at, gathered in one walk (bs4 searches each walk
    the whole tree, and big pages have tens of thousands of elements)."""

    json_ld: list[Tag]
    metas: list[Tag]
    links: list[Tag]
    times: list[Tag]
    published_props: list[Tag]
    modified_props: list[Tag]
    hinted: list[Tag]  # elements whose class/id says "date", "byline", "published"...
    containers: list[Tag]  # article bodies, best first
    author_nodes: list[Tag]
    h1: Tag | None = None


def _index(soup: BeautifulSoup) -> _Index:
    index = _Index([], [], [], [], [], [], [], [], [])
    body_containers: list[Tag] = []
    articles: list[Tag] = []
    mains: list[Tag] = []
    for node in soup.find_all(True):
        name = node.name
        if name == "script":
            if "ld+json" in _attr(node, "type").lower():
                index.json_ld.append(node)
            continue
        if name == "meta":
            index.metas.append(node)
            continue
        if name == "link":
            index.links.append(node)
            continue
        if name == "time":
            index.times.append(node)
        elif name == "article":
            articles.append(node)
        elif name == "main":
            mains.append(node)
        elif name == "h1" and index.h1 is None:
            index.h1 = node
        attrs = node.attrs
        if not attrs:
            continue
        itemprop = _attr(node, "itemprop")
        if itemprop:
            lowered = itemprop.lower()
            if lowered in {"datepublished", "datecreated"}:
                index.published_props.append(node)
            elif lowered == "datemodified":
                index.modified_props.append(node)
            elif lowered == "author":
                index.author_nodes.append(node)
            elif lowered == "articlebody":
                body_containers.append(node)
        if "rel" in attrs and "author" in _attr(node, "rel").lower().split():
            index.author_nodes.insert(0, node)
        marker = _attr(node, "class") + " " + _attr(node, "id")
        if marker != " ":
            if name not in _SKIP_TAGS and _DATE_HINT.search(marker):
                index.hinted.append(node)
            if _CONTAINER_CLASS.search(marker):
                body_containers.append(node)
    index.containers = body_containers[:3] + articles[:3] + mains[:1]
    return index


# ---------------------------------------------------------------- JSON-LD


def _json_ld_objects(index: _Index) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in index.json_ld:
        raw = script.string or script.get_text() or ""
        raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
        raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            try:  # trailing commas are the commonest hand-written mistake
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except ValueError:
                continue
        objects.extend(_walk_json_ld(data, depth=0))
    return objects


def _walk_json_ld(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for element in data:
            yield from _walk_json_ld(element, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in data and isinstance(data[key], list | dict):
                yield from _walk_json_ld(data[key], depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type", "")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values}


def _json_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _json_name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (_json_name(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


# ---------------------------------------------------------------- dates


@dataclass
class _Dates:
    published: FoundDate | None = None
    source: str | None = None
    modified: FoundDate | None = None


class _DatePicker:
    def __init__(
        self, now: datetime | None, default_tz: tzinfo | None, local_tz: tzinfo | None
    ) -> None:
        self.now = now
        self.default_tz = default_tz
        self.local_tz = local_tz
        self.found = _Dates()

    def accept(self, value: Any) -> FoundDate | None:
        found = parse_date(value if isinstance(value, str) else None, self.default_tz)
        if found is None:
            return None
        if self.now is not None and found.as_datetime() > self.now + FUTURE_SLACK:
            return None
        if self.local_tz is not None:
            # pages often state UTC: the publication day is still the outlet's local day
            found = found.in_zone(self.local_tz)
        return found

    def published(self, value: Any, source: str) -> None:
        if self.found.published is None:
            found = self.accept(value)
            if found is not None:
                self.found.published, self.found.source = found, source

    def modified(self, value: Any) -> None:
        if self.found.modified is None:
            self.found.modified = self.accept(value)


def _meta_values(index: _Index) -> dict[str, list[str]]:
    """Every meta tag's content under each of its name/property/itemprop/http-equiv keys."""
    values: dict[str, list[str]] = {}
    for meta in index.metas:
        content = _attr(meta, "content").strip() or _attr(meta, "datetime").strip()
        if not content:
            continue
        for key_attr in ("property", "name", "itemprop", "http-equiv"):
            key = _attr(meta, key_attr).strip().lower()
            if key:
                values.setdefault(key, []).append(content)
    return values


def _find_dates(
    index: _Index,
    url: str,
    json_ld: list[dict[str, Any]],
    meta: dict[str, list[str]],
    picker: _DatePicker,
) -> _Dates:
    # 1. JSON-LD: article types first, then page-level types
    for wanted in (ARTICLE_TYPES, PAGE_TYPES):
        for obj in json_ld:
            if _types(obj) & wanted:
                picker.published(obj.get("datePublished") or obj.get("dateCreated"), "jsonld")
                picker.modified(obj.get("dateModified"))
    # 2. OpenGraph and article:* properties
    for key in PUBLISHED_OG:
        for value in meta.get(key, ()):
            picker.published(value, "opengraph")
    for key in MODIFIED_OG:
        for value in meta.get(key, ()):
            picker.modified(value)
    # 3. other meta tags (including parsely-page's JSON blob)
    for key in PUBLISHED_META:
        for value in meta.get(key, ()):
            picker.published(value, "meta")
    for value in meta.get("parsely-page", ()):
        try:
            blob = json.loads(value)
        except ValueError:
            continue
        if isinstance(blob, dict):
            picker.published(blob.get("pub_date"), "meta")
    for key in MODIFIED_META:
        for value in meta.get(key, ()):
            picker.modified(value)
    # 4. microdata on visible elements
    for node in index.published_props:
        picker.published(
            _attr(node, "content") or _attr(node, "datetime") or _text(node), "itemprop"
        )
    for node in index.modified_props:
        picker.modified(_attr(node, "content") or _attr(node, "datetime") or _text(node))
    # 4b. the page is a video or audio page
    for obj in json_ld:
        if _types(obj) & MEDIA_TYPES:
            picker.published(obj.get("uploadDate") or obj.get("datePublished"), "jsonld")
    # 5. <time datetime>: the ones marked as the publication first, then the first in the story
    if picker.found.published is None:
        _time_elements(index, picker)
    # 6. a dated byline in the text
    if picker.found.published is None:
        _text_dates(index, picker)
    # 7. the URL path
    if picker.found.published is None:
        found = date_from_url(url)
        if found is not None and (
            picker.now is None or found.as_datetime() <= picker.now + FUTURE_SLACK
        ):
            picker.found.published, picker.found.source = found, "url"
    # 8. a date written near the headline (bylines without telling class names)
    if picker.found.published is None:
        _dates_after_headline(index, picker)
    return picker.found


def _is_modified_marker(node: Tag) -> bool:
    parents = [_attr(p, "class") for p in node.parents if isinstance(p, Tag)][:2]
    marker = " ".join([_attr(node, "class"), _attr(node, "id"), _attr(node, "itemprop"), *parents])
    return bool(_MODIFIED_HINT.search(marker))


# a whole class/id token naming a box of other stories or reader comments
_ASIDE_TOKEN = re.compile(
    r"^(?:.*[-_])?(?:related|sidebar|side-bar|comments?|recommend(?:ed|ations)?|popular|"
    r"most-read|more-stories|read-more|outbrain|taboola)(?:[-_](?:list|box|stories|posts|"
    r"articles|items|widget|content|area|section|wrapper|container|links|block))?$",
    re.IGNORECASE,
)


def _in_aside(node: Tag) -> bool:
    for parent in node.parents:
        if not isinstance(parent, Tag):
            continue
        if parent.name in {"aside", "nav", "footer"}:
            return True
        tokens = _attr(parent, "class").split() + _attr(parent, "id").split()
        if any(_ASIDE_TOKEN.match(token) for token in tokens):
            return True
    return False


def _time_elements(index: _Index, picker: _DatePicker) -> None:
    times = [t for t in index.times if not _in_aside(t)]
    marked = [
        t
        for t in times
        if t.has_attr("pubdate")
        or re.search(r"publish|pubdate|posted|entry-date|created", _attr(t, "class"), re.I)
    ]
    for node in marked:
        picker.published(_attr(node, "datetime") or _text(node), "time")
    for node in times:
        if _is_modified_marker(node):
            picker.modified(_attr(node, "datetime") or _text(node))
            continue
        picker.published(_attr(node, "datetime") or _text(node), "time")


def _text_dates(index: _Index, picker: _DatePicker) -> None:
    checked = 0
    for node in index.hinted:
        marker = " ".join((_attr(node, "class"), _attr(node, "id")))
        if _in_aside(node):
            continue
        text = _text(node)
        if not text or len(text) > 200:
            continue
        checked += 1
        if _MODIFIED_HINT.search(marker):
            picker.modified(text)
        else:
            picker.published(text, "text")
        if picker.found.published is not None or checked > 50:
            return


_YEAR = re.compile(r"(?:19|20)\d\d")


def _dates_after_headline(index: _Index, picker: _DatePicker) -> None:
    """The first short text after the story's <h1> that holds a full date."""
    if index.h1 is None:
        return
    for text in index.h1.find_all_next(string=True, limit=150):
        parent = text.parent
        if parent is None or parent.name in _SKIP_TAGS or len(text) > 120:
            continue
        if _YEAR.search(text) and not _in_aside(parent):
            picker.published(str(text), "text")
            if picker.found.published is not None:
                return


# ---------------------------------------------------------------- other fields


def _first_meta(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        for value in meta.get(key, ()):
            cleaned = " ".join(value.split())
            if cleaned:
                return cleaned
    return None


def clean_headline(title: str, site_names: list[str], host: str) -> str:
    """Drop " | Outlet", " - Outlet" and "Outlet: " decorations from a headline."""
    title = " ".join(title.split())
    keys = {_norm(n) for n in site_names if n}
    domain_core = host.split(".")[-2] if host.count(".") >= 1 else host
    keys.add(_norm(domain_core))
    keys.add(_norm(host))
    keys.discard("")
    prefix = re.match(r"^([^:|]{2,40}):\s+", title)
    if (
        prefix
        and _matches_site(prefix.group(1), keys, whole=True)
        and len(title) > prefix.end() + 10
    ):
        title = title[prefix.end() :]
    for _ in range(3):
        parts = _TITLE_SEPARATORS.split(title)
        seps = _TITLE_SEPARATORS.findall(title)
        if len(parts) < 2:
            break
        last, first = parts[-1], parts[0]
        if _matches_site(last, keys) or (
            seps[-1].strip() in {"|", "::", "·", "•", "«", "»"} and len(last.split()) <= 4
        ):
            title = title[: title.rfind(seps[-1])].strip()
        elif _matches_site(first, keys, whole=True) or (
            seps[0].strip() == "|" and len(first.split()) <= 2 and len(parts[1].split()) >= 4
        ):  # "Outlet | Headline", "Opinion | Headline"
            title = title[len(first) + len(seps[0]) :].strip()
        else:
            break
    return title


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold().removeprefix("the "))


def _matches_site(segment: str, keys: set[str], *, whole: bool = False) -> bool:
    """Does a headline segment name the site? With `whole`, the segment must contain the
    full name ("Kyiv: ..." is a place, not "Kyiv Post")."""
    norm = _norm(segment)
    if not norm:
        return False
    if whole:
        return any(len(k) >= 3 and norm.startswith(k) for k in keys)
    return any(
        norm == k
        or (len(k) >= 3 and (norm.startswith(k) or k.startswith(norm)))
        or (len(k) >= 4 and (k in norm or norm in k))
        for k in keys
    )


def _canonical(index: _Index, url: str, meta: dict[str, list[str]]) -> str | None:
    candidates: list[str] = []
    for link in index.links:
        rel: Any = link.get("rel") or []
        rels = [r.lower() for r in (rel if isinstance(rel, list) else rel.split())]
        if "canonical" in rels:
            candidates.append(_attr(link, "href"))
    candidates.extend(meta.get("og:url", []))
    page_path = urlsplit(url).path.strip("/")
    for candidate in candidates:
        absolute = urljoin(url, candidate.strip())
        parts = urlsplit(absolute)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            continue
        # a canonical pointing at a site's front page from an article is a template bug
        if page_path and not parts.path.strip("/") and not parts.query:
            continue
        return absolute
    return None


def _lang(soup: BeautifulSoup, meta: dict[str, list[str]], headers: dict[str, str]) -> str | None:
    html = soup.find("html")
    candidates = [_attr(html, "lang") or _attr(html, "xml:lang")] if isinstance(html, Tag) else []
    candidates += [
        _first_meta(meta, "content-language", "language", "og:locale", "dc.language") or "",
        next((v for k, v in headers.items() if k.lower() == "content-language"), ""),
    ]
    for candidate in candidates:
        match = re.match(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*(?:,|$)", candidate or "")
        if match:
            return match.group(1).lower()
    return None


def _lead(index: _Index, description: str | None) -> str | None:
    """The story's first real paragraph; else the page's description; else a short one."""
    short: str | None = None
    for container in index.containers:
        for paragraph in container.find_all("p"):
            if _in_aside(paragraph):
                continue
            text = _text(paragraph)
            if re.match(r"^(?:©|copyright|photo|image)", text, re.I):
                continue
            if len(text) >= 80:
                return text[:1000]
            if short is None and len(text) >= 30:
                short = text
    return description or short


def _author(json_ld: list[dict[str, Any]], meta: dict[str, list[str]], index: _Index) -> str | None:
    for obj in json_ld:
        if _types(obj) & ARTICLE_TYPES:
            name = _json_name(obj.get("author") or obj.get("creator"))
            if name:
                return name
    value = _first_meta(meta, "author", "article:author", "parsely-author", "sailthru.author",
                        "dc.creator", "byl")  # fmt: skip
    if value and not value.startswith(("http://", "https://")):
        return re.sub(r"^by\s+", "", value, flags=re.I)
    for node in index.author_nodes[:1]:
        text = _text(node)
        if 0 < len(text) <= 100:
            return re.sub(r"^by\s+", "", text, flags=re.I)
    return None


def _page_zone(content: bytes) -> tzinfo | None:
    """The non-UTC offset the page itself writes its timestamps in, if any (most common)."""
    offsets = Counter(
        (sign_hours, minutes)
        for sign_hours, minutes in _OFFSET_IN_MARKUP.findall(content[:2_000_000])
        if sign_hours[1:] != b"00" or minutes != b"00"
    )
    if not offsets:
        return None
    (sign_hours, minutes), _count = offsets.most_common(1)[0]
    delta = timedelta(hours=int(sign_hours[1:]), minutes=int(minutes))
    return dt_timezone(-delta if sign_hours.startswith(b"-") else delta)


def extract_article(
    content: bytes,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
) -> Article:
    """Read one article page. `timezone` (the outlet's) is used for dates given without one;
    `now` (aware) rejects dates too far in the future."""
    headers = headers or {}
    soup = _soup(content, headers)
    index = _index(soup)
    json_ld = _json_ld_objects(index)
    meta = _meta_values(index)
    # the outlet's zone reads naive times; for times given in UTC, the page's own offset (else
    # the outlet's zone) tells the local publication day
    local_zone = zone(timezone)
    picker = _DatePicker(now, local_zone, local_zone or _page_zone(content))
    dates = _find_dates(index, url, json_ld, meta, picker)

    article_ld = next((o for o in json_ld if _types(o) & ARTICLE_TYPES), {})
    publisher = article_ld.get("publisher") if isinstance(article_ld, dict) else None
    site_name = _first_meta(meta, "og:site_name", "application-name", "twitter:site")
    site_name = site_name or _json_name(publisher)
    if site_name and site_name.startswith("@"):
        site_name = site_name[1:]
    host = (urlsplit(url).hostname or "").removeprefix("www.")

    raw_title = (
        _first_meta(meta, "og:title", "twitter:title", "title")
        or _json_name(article_ld.get("headline"))
        or (_text(soup.h1) if isinstance(soup.h1, Tag) else None)
        or (_text(soup.title) if isinstance(soup.title, Tag) else None)
    )
    title = clean_headline(raw_title, [site_name or "", _json_name(publisher) or ""], host) \
        if raw_title else None  # fmt: skip
    description = _first_meta(meta, "og:description", "description", "twitter:description")
    description = description or _json_name(article_ld.get("description"))
    modified = dates.modified
    if modified and dates.published and modified.utc < dates.published.utc:
        modified = None  # "updated" before "published" is a template error, not an update
    return Article(
        url=url,
        title=title or None,
        published=dates.published.utc if dates.published else None,
        published_local=dates.published.local if dates.published else None,
        modified=modified.utc if modified else None,
        date_source=dates.source,
        canonical_url=_canonical(index, url, meta),
        site_name=site_name,
        lang=_lang(soup, meta, headers),
        author=_author(json_ld, meta, index),
        lead=_lead(index, description),
    )


def html_lines(
    content: bytes, url: str, *, headers: dict[str, str] | None = None
) -> list[HtmlLine]:
    """Split a page into the lines a reader sees (blocks and <br>), with each line's links.

    Reading lists are parsed from these lines by peacewatch.readinglist; this function exists
    so BeautifulSoup stays in this one module.
    """
    # Python's html.parser (through BeautifulSoup) records source line numbers, which lxml's
    # builder does not; lists are small, so its lower speed does not matter here.
    soup = _soup(content, headers, parser="html.parser")
    root = soup.body or soup
    lines: list[HtmlLine] = []
    text_parts: list[str] = []
    links: list[tuple[str, str]] = []
    line_no = 0

    def flush() -> None:
        nonlocal text_parts, links
        text = " ".join(" ".join(text_parts).split())
        if text:
            lines.append(HtmlLine(line_no, text, tuple(links)))
        text_parts, links = [], []

    def walk(node: Tag) -> None:
        nonlocal line_no
        for child in node.children:
            if isinstance(child, Tag):
                if child.name in _SKIP_TAGS:
                    continue
                if child.name == "br":
                    flush()
                    line_no = child.sourceline or line_no
                    continue
                is_block = child.name in _BLOCK_TAGS
                if is_block:
                    flush()
                    line_no = child.sourceline or line_no
                if child.name == "a" and child.get("href"):
                    if not text_parts:
                        line_no = child.sourceline or line_no
                    href = urljoin(url, _attr(child, "href").strip())
                    links.append((href, _text(child)))
                walk(child)
                if is_block:
                    flush()
            elif isinstance(child, str) and child.__class__.__name__ == "NavigableString":
                if not text_parts and child.strip():
                    parent_line = node.sourceline if isinstance(node, Tag) else None
                    line_no = line_no or parent_line or 0
                text_parts.append(str(child))

    if isinstance(root, Tag):
        walk(root)
    flush()
    return lines
