"""Article pages: headline, dates, canonical URL, language, author and lead of one HTML page.

Pure: bytes, the page's URL and the caller's `now` go in, an `Article` comes out; no clock,
network or database. The HTML itself is read by `html` (the Document user) and the date
chosen by `page_dates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from peacewatch.ingest.date_verdict import decide
from peacewatch.ingest.dates import zone
from peacewatch.ingest.html import (
    Document,
    HtmlLine,
    Node,
    PageIndex,
    attr_of,
    html_lines,
    index_page,
    json_ld_name,
    json_ld_objects,
    json_ld_types,
    meta_values,
    parse_html,
    text_of,
)
from peacewatch.ingest.htmldate_witness import htmldate_date
from peacewatch.ingest.page_dates import (
    ARTICLE_TYPES,
    FUTURE_SLACK,
    Witness,
    WitnessCollector,
    collect_witnesses,
    declared_zone,
    in_aside,
    page_zone,
)

__all__ = ["FUTURE_SLACK", "Article", "HtmlLine", "clean_headline", "extract_article", "html_lines"]

_TITLE_SEPARATORS = re.compile(r"\s+(?:\||--?|–|—|::|·|•|«|»|/|:)\s+")


@dataclass(frozen=True)
class Article:
    """What one article page says about itself. Dates are UTC ISO-8601 or None."""

    url: str
    title: str | None = None
    published: str | None = None
    published_local: str | None = None  # the outlet's calendar day: its local time, or a day
    modified: str | None = None
    # jsonld | opengraph | meta | itemprop | time | text | url | htmldate
    date_source: str | None = None
    date_reason: str | None = None  # why that date won
    date_candidates: str | None = None  # JSON: every witness and the verdict (see date_verdict)
    canonical_url: str | None = None
    site_name: str | None = None
    lang: str | None = None
    author: str | None = None
    lead: str | None = None

    @property
    def published_day(self) -> str | None:
        """The publication day as the outlet saw it."""
        return self.published_local[:10] if self.published_local else None


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


def _canonical(index: PageIndex, url: str, meta: dict[str, list[str]]) -> str | None:
    candidates: list[str] = []
    for link in index.links:
        rel: Any = link.get("rel") or []
        rels = [r.lower() for r in (rel if isinstance(rel, list) else rel.split())]
        if "canonical" in rels:
            candidates.append(attr_of(link, "href"))
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


def _lang(soup: Document, meta: dict[str, list[str]], headers: dict[str, str]) -> str | None:
    html = soup.find("html")
    candidates = (
        [attr_of(html, "lang") or attr_of(html, "xml:lang")] if isinstance(html, Node) else []
    )
    candidates += [
        _first_meta(meta, "content-language", "language", "og:locale", "dc.language") or "",
        next((v for k, v in headers.items() if k.lower() == "content-language"), ""),
    ]
    for candidate in candidates:
        match = re.match(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*(?:,|$)", candidate or "")
        if match:
            return match.group(1).lower()
    return None


def _lead(index: PageIndex, description: str | None) -> str | None:
    """The story's first real paragraph; else the page's description; else a short one."""
    short: str | None = None
    for container in index.containers:
        for paragraph in container.find_all("p"):
            if in_aside(paragraph):
                continue
            text = text_of(paragraph)
            if re.match(r"^(?:©|copyright|photo|image)", text, re.I):
                continue
            if len(text) >= 80:
                return text[:1000]
            if short is None and len(text) >= 30:
                short = text
    return description or short


def _author(
    json_ld: list[dict[str, Any]], meta: dict[str, list[str]], index: PageIndex
) -> str | None:
    for obj in json_ld:
        if json_ld_types(obj) & ARTICLE_TYPES:
            name = json_ld_name(obj.get("author") or obj.get("creator"))
            if name:
                return name
    value = _first_meta(meta, "author", "article:author", "parsely-author", "sailthru.author",
                        "dc.creator", "byl")  # fmt: skip
    if value and not value.startswith(("http://", "https://")):
        return re.sub(r"^by\s+", "", value, flags=re.I)
    for node in index.author_nodes[:1]:
        text = text_of(node)
        if 0 < len(text) <= 100:
            return re.sub(r"^by\s+", "", text, flags=re.I)
    return None


def extract_article(
    content: bytes,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
    use_htmldate: bool = True,
) -> Article:
    """Read one article page. `timezone` (the outlet's) is used for dates given without one;
    `now` (aware) rejects dates too far in the future; `use_htmldate` adds htmldate's reading
    to the date witnesses."""
    headers = headers or {}
    soup = parse_html(content, headers)
    index = index_page(soup)
    json_ld = json_ld_objects(index)
    meta = meta_values(index)
    # the outlet's zone (else one the page declares) reads naive times; for times given in UTC,
    # the page's own offset (else that zone, else a visible date) tells the local day
    local_zone = zone(timezone) or declared_zone(content)
    witnesses = collect_witnesses(index, url, json_ld, meta, WitnessCollector(now, local_zone))
    if use_htmldate:
        found = htmldate_date(content, url, now)
        if found is not None:
            witnesses.append(Witness("htmldate", "published", found, found.local))
    # the page's own offset only places instants written in UTC: look for it when there is one
    in_utc = any(w.found.in_utc for w in witnesses)
    dates = decide(witnesses, page_tz=page_zone(content) if in_utc else None, outlet_tz=local_zone)

    article_ld = next((o for o in json_ld if json_ld_types(o) & ARTICLE_TYPES), {})
    publisher = article_ld.get("publisher") if isinstance(article_ld, dict) else None
    site_name = _first_meta(meta, "og:site_name", "application-name", "twitter:site")
    site_name = site_name or json_ld_name(publisher)
    if site_name and site_name.startswith("@"):
        site_name = site_name[1:]
    host = (urlsplit(url).hostname or "").removeprefix("www.")

    raw_title = (
        _first_meta(meta, "og:title", "twitter:title", "title")
        or json_ld_name(article_ld.get("headline"))
        or (text_of(soup.h1) if isinstance(soup.h1, Node) else None)
        or (text_of(soup.title) if isinstance(soup.title, Node) else None)
    )
    title = clean_headline(raw_title, [site_name or "", json_ld_name(publisher) or ""], host) \
        if raw_title else None  # fmt: skip
    description = _first_meta(meta, "og:description", "description", "twitter:description")
    description = description or json_ld_name(article_ld.get("description"))
    modified = dates.modified
    return Article(
        url=url,
        title=title or None,
        published=dates.published.utc if dates.published else None,
        published_local=dates.local,
        modified=modified.utc if modified else None,
        date_source=dates.source,
        date_reason=dates.reason,
        date_candidates=dates.as_json() if witnesses else None,
        canonical_url=_canonical(index, url, meta),
        site_name=site_name,
        lang=_lang(soup, meta, headers),
        author=_author(json_ld, meta, index),
        lead=_lead(index, description),
    )
