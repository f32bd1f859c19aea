"""The date witnesses of an article page: every place in its markup, text and URL that dates it.

Each place gives at most one published and one modified date (the first it states), most
trusted first: JSON-LD (NewsArticle and friends, including @graph; an embedded video's upload
date apart), OpenGraph/article: meta, other meta tags (date, pubdate, DC.date, sailthru,
parsely...), itemprop="datePublished", <time datetime>, a dated byline in the text (never
the masthead's date of today; else a date written just after the headline), and a day in the
URL path. A date more than FUTURE_SLACK after `now` is rejected (scheduled posts, typos,
"copyright 2099"). `date_verdict` chooses among them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any

from peacewatch.ingest.dates import FoundDate, date_from_url, parse_date, zone
from peacewatch.ingest.html import (
    SKIP_TAGS,
    Node,
    PageIndex,
    attr_of,
    json_ld_types,
    text_of,
)

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

_MODIFIED_HINT = re.compile(r"updat|modif|edited|revised|aktualisiert", re.IGNORECASE)
_OFFSET_IN_MARKUP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?(?:\.\d+)?([+-]\d\d):?(\d\d)")
# RFC 2822, as scripts and feeds embedded in the page write it: "Fri, 01 May 2020 23:00:00 -0400"
_RFC2822_OFFSET = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rb" \d{4} \d\d:\d\d(?::\d\d)? ([+-]\d\d)(\d\d)\b"
)
# A zone the page declares for itself in its scripts or markup: "timezone":"America/New_York",
# "timeZone": {"short": "ET", "long": "America/New_York"}, timezone_string: "Europe\/Berlin"
# (it starts with the literal "ime" and is case-sensitive, so re can skip to candidates fast)
_DECLARED_ZONE = re.compile(
    rb"ime_?[Zz]one(?:_?[Ss]tring|_?[Nn]ame)?[\"']?\s*[:=]\s*(?:\{[^{}]{0,80}?)?[\"']"
    rb"((?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)"
    rb"(?:\\?/[A-Za-z_-]+){1,2})[\"']"
)


# ---------------------------------------------------------------- witnesses


@dataclass(frozen=True)
class Witness:
    """One place on the page that states a date. `role` is published, modified or media (an
    embedded video's upload date); `raw` is the value as written (shortened); `shown` the day
    a <time> element prints when its machine-readable value is an instant in UTC."""

    source: str  # jsonld | opengraph | meta | itemprop | time | text | url | htmldate
    role: str
    found: FoundDate
    raw: str
    shown: str | None = None


class WitnessCollector:
    """Keeps the first date each place states for each role (pages repeat themselves)."""

    def __init__(self, now: datetime | None, default_tz: tzinfo | None) -> None:
        self.now = now
        self.default_tz = default_tz
        self.witnesses: list[Witness] = []
        self._seen: set[tuple[str, str]] = set()

    def accept(self, value: Any) -> FoundDate | None:
        found = parse_date(value if isinstance(value, str) else None, self.default_tz)
        if found is None:
            return None
        if self.now is not None and found.as_datetime() > self.now + FUTURE_SLACK:
            return None
        return found

    def has(self, source: str, role: str = "published") -> bool:
        return (source, role) in self._seen

    def add(
        self,
        source: str,
        role: str,
        value: Any,
        found: FoundDate | None = None,
        shown: str | None = None,
    ) -> bool:
        """Record `value` for (source, role) unless that pair already has one; True if kept."""
        if (source, role) in self._seen:
            return False
        found = found or self.accept(value)
        if found is None:
            return False
        self._seen.add((source, role))
        raw = " ".join(str(value).split())[:80] if value is not None else found.local
        self.witnesses.append(Witness(source, role, found, raw, shown))
        return True

    def time_element(self, node: Node, role: str) -> None:
        """A <time>: its datetime attribute, else its text; the text's day is kept as `shown`
        when the attribute is an instant in UTC (the page prints the outlet's day)."""
        if (source_role := ("time", role)) in self._seen:
            return
        machine, text = attr_of(node, "datetime"), text_of(node)
        shown = None
        if machine and text:
            printed = parse_date(text, self.default_tz)
            if printed is not None and (not printed.has_time or printed.naive):
                shown = printed.day
        self.add(*source_role, machine or text, shown=shown)

    def published(self, value: Any, source: str) -> None:
        self.add(source, "published", value)

    def modified(self, value: Any, source: str) -> None:
        self.add(source, "modified", value)


def collect_witnesses(
    index: PageIndex,
    url: str,
    json_ld: list[dict[str, Any]],
    meta: dict[str, list[str]],
    picker: WitnessCollector,
) -> list[Witness]:
    """Every place on the page that dates it, most trusted first within each kind."""
    # 1. JSON-LD: article types first, then page-level types
    for wanted in (ARTICLE_TYPES, PAGE_TYPES):
        for obj in json_ld:
            if json_ld_types(obj) & wanted:
                picker.published(obj.get("datePublished") or obj.get("dateCreated"), "jsonld")
                picker.modified(obj.get("dateModified"), "jsonld")
    # 2. OpenGraph and article:* properties
    for key in PUBLISHED_OG:
        for value in meta.get(key, ()):
            picker.published(value, "opengraph")
    for key in MODIFIED_OG:
        for value in meta.get(key, ()):
            picker.modified(value, "opengraph")
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
            picker.modified(value, "meta")
    # 4. microdata on visible elements
    for node in index.published_props:
        picker.published(
            attr_of(node, "content") or attr_of(node, "datetime") or text_of(node), "itemprop"
        )
    for node in index.modified_props:
        value = attr_of(node, "content") or attr_of(node, "datetime") or text_of(node)
        picker.modified(value, "itemprop")
    # 4b. the page is a video or audio page
    for obj in json_ld:
        if json_ld_types(obj) & MEDIA_TYPES:
            picker.add("jsonld", "media", obj.get("uploadDate") or obj.get("datePublished"))
    # 5. <time datetime>: the ones marked as the publication first, then the first in the story
    is_article = any(json_ld_types(obj) & ARTICLE_TYPES for obj in json_ld) or any(
        kind.strip().lower() == "article" for kind in meta.get("og:type", ())
    )
    headline = _headline(index, meta, is_article)
    _time_elements(index, headline, picker)
    # 6. a dated byline in the text; else a date written near the headline
    _text_dates(index, headline, picker)
    if not picker.has("text"):
        _dates_after_headline(headline, picker)
    # 7. the URL path
    found = date_from_url(url)
    if found is not None and (
        picker.now is None or found.as_datetime() <= picker.now + FUTURE_SLACK
    ):
        picker.add("url", "published", url, found)
    return picker.witnesses


def _is_modified_marker(node: Node) -> bool:
    parents = [attr_of(p, "class") for p in node.parents if isinstance(p, Node)][:2]
    marker = " ".join(
        [attr_of(node, "class"), attr_of(node, "id"), attr_of(node, "itemprop"), *parents]
    )
    return bool(_MODIFIED_HINT.search(marker))


# a whole class/id token naming a box of other stories or reader comments
_ASIDE_TOKEN = re.compile(
    r"^(?:.*[-_])?(?:related|sidebar|side-bar|comments?|recommend(?:ed|ations)?|popular|"
    r"most-read|more-stories|read-more|outbrain|taboola)(?:[-_](?:list|box|stories|posts|"
    r"articles|items|widget|content|area|section|wrapper|container|links|block)"
    r"(?:--?[a-z0-9]+)?)?$",  # a BEM modifier: related-posts--cfm
    re.IGNORECASE,
)


def in_quote(node: Node) -> bool:
    """Is the node inside a <blockquote>: an embedded post (a tweet, an Instagram post) or a
    quoted text, which carries the date of what it quotes, not the story's?"""
    return any(isinstance(p, Node) and p.name == "blockquote" for p in node.parents)


def in_aside(node: Node) -> bool:
    for parent in node.parents:
        if not isinstance(parent, Node):
            continue
        if parent.name in {"aside", "nav", "footer"}:
            return True
        tokens = attr_of(parent, "class").split() + attr_of(parent, "id").split()
        if any(_ASIDE_TOKEN.match(token) for token in tokens):
            return True
    return False


def _time_elements(index: PageIndex, headline: Node | None, picker: WitnessCollector) -> None:
    times = [
        t
        for t in index.times
        if not in_aside(t) and not in_quote(t) and not in_masthead(t, headline)
    ]
    marked = [
        t
        for t in times
        if t.has_attr("pubdate")
        or re.search(r"publish|pubdate|posted|entry-date|created", attr_of(t, "class"), re.I)
    ]
    for node in marked:
        picker.time_element(node, "published")
    for node in times:
        picker.time_element(node, "modified" if _is_modified_marker(node) else "published")


# a class/id token naming the site's header or top bar, unless it names a story's header
_MASTHEAD_TOKEN = re.compile(
    r"(?:^|[-_])(?:header|head|masthead|topbar|top-bar|top-menu|navbar)(?:$|[-_])", re.I
)
_STORY_HEADER_TOKEN = re.compile(
    r"(?:entry|article|post|story|content|page|single|title|news|item|card|teaser)[-_]*head",
    re.I,
)


def _header_kind(node: Node) -> str | None:
    """'element' for a <header> or role=banner, 'class' for a box whose class or id says
    header or top bar, else None."""
    if node.name == "header" or attr_of(node, "role") == "banner":
        return "element"
    tokens = attr_of(node, "class").split() + attr_of(node, "id").split()
    if any(_MASTHEAD_TOKEN.search(t) and not _STORY_HEADER_TOKEN.search(t) for t in tokens):
        return "class"
    return None


def _precedes(a: Node, b: Node) -> bool:
    """Does `a` come before `b` in the document? (False when one contains the other.)"""
    b_chain = [id(p) for p in (b, *b.parents)]
    if id(a) in b_chain:
        return False  # a contains b
    child = a
    for parent in a.parents:
        if id(parent) in b_chain:
            depth = b_chain.index(id(parent))
            if depth == 0:
                return False  # b contains a
            b_side = b_chain[depth - 1]
            for sibling in parent.contents:  # whichever of the two branches comes first
                if id(sibling) == id(child):
                    return True
                if id(sibling) == b_side:
                    return False
        child = parent
    return False


def in_masthead(node: Node, headline: Node | None) -> bool:
    """Is the node in the site's masthead, outside the story: a page-level <header> (or
    role=banner) without the headline, or a box whose class says header or top bar and that
    comes before the headline? A date there is today's, printed on every page. Without a
    known headline the story's own header cannot be told from the site's: nothing is."""
    if headline is None:
        return False
    for box in (node, *node.parents):
        if not isinstance(box, Node) or box.name in {"article", "main", "body"}:
            return False
        kind = _header_kind(box)
        if kind is None:
            continue
        if any(p is box for p in (headline, *headline.parents)):
            continue  # the story's own header (headline and byline)
        if kind == "class" and not _precedes(box, headline):
            continue  # "art-header-meta" under the headline is the story's
        return not any(isinstance(p, Node) and p.name in {"article", "main"} for p in box.parents)
    return False


def _text_dates(index: PageIndex, headline: Node | None, picker: WitnessCollector) -> None:
    checked = 0
    for node in index.hinted:
        marker = " ".join((attr_of(node, "class"), attr_of(node, "id")))
        if in_aside(node) or in_quote(node) or in_masthead(node, headline):
            continue
        text = text_of(node)
        if len(text) > 200:
            continue
        if not text or picker.accept(text) is None:
            # "5 hours ago", "Jul 10" or nothing yet: scripts render the time from an attribute
            text = _rendered_time(node) or text
        if not text:
            continue
        checked += 1
        if _MODIFIED_HINT.search(marker):
            picker.modified(text, "text")
        else:
            picker.published(text, "text")
        if picker.has("text") or checked > 50:
            return


# attributes from which scripts render a relative or local time ("3 hours ago")
_TIME_ATTRIBUTES = ("data-timestamp", "data-time", "data-utime", "data-epoch", "data-datetime",
                    "data-date", "datetime", "time")  # fmt: skip
_MACHINE_TIME = re.compile(r"^\s*(?:\d{10}|\d{13}|(?:19|20)\d\d-\d\d-\d\d(?:[T ][\d:.]+\S*)?)\s*$")


def _rendered_time(node: Node) -> str | None:
    """An epoch or ISO time in an attribute of a dated element or of its first few children."""
    for element in (node, *node.find_all(True, limit=6)):
        for name in _TIME_ATTRIBUTES:
            value = attr_of(element, name)
            if value and _MACHINE_TIME.match(value):
                return value.strip()
    return None


_YEAR = re.compile(r"(?:19|20)\d\d")


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalpha())


def _headline(index: PageIndex, meta: dict[str, list[str]], is_article: bool) -> Node | None:
    """The story's headline: the <h1> that repeats the page's title (a logo may be an <h1>
    too), else on a page that says it is an article the <h2> that does, else the first <h1>
    with text."""
    titles = [*meta.get("og:title", ()), *meta.get("twitter:title", ())]
    if index.title is not None:
        titles.append(text_of(index.title))
    keys = [key for key in map(_letters, titles) if key]
    for heading in (*index.h1s, *(index.h2s if is_article else ())):
        letters = _letters(text_of(heading))
        if len(letters) >= 15 and any(letters in key for key in keys):
            return heading
    return next((h1 for h1 in index.h1s if text_of(h1)), None)


def _dates_after_headline(headline: Node | None, picker: WitnessCollector) -> None:
    """The first short text after the story's headline that holds a full date."""
    if headline is None:
        return
    for text in headline.find_all_next(string=True, limit=150):
        parent = text.parent
        if parent is None or parent.name in SKIP_TAGS or len(text) > 120:
            continue
        if _YEAR.search(text) and not in_aside(parent) and not in_quote(parent):
            picker.published(str(text), "text")
            if picker.has("text"):
                return


def page_zone(content: bytes) -> tzinfo | None:
    """The offset the page itself writes its timestamps in: the most common non-UTC one
    (ISO 8601 or RFC 2822), if any."""
    head = content[:2_000_000]
    offsets = Counter(
        (sign_hours, minutes)
        for pattern in (_OFFSET_IN_MARKUP, _RFC2822_OFFSET)
        for sign_hours, minutes in pattern.findall(head)
        if sign_hours[1:] != b"00" or minutes != b"00"
    )
    if not offsets:
        return None
    (sign_hours, minutes), _count = offsets.most_common(1)[0]
    delta = timedelta(hours=int(sign_hours[1:]), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return dt_timezone(-delta if sign_hours.startswith(b"-") else delta)


def declared_zone(content: bytes) -> tzinfo | None:
    """A time zone the page declares by name in its scripts or markup (a site setting, as
    `"timezone": "America/New_York"`): weaker than the outlet's zone in the registry, since a
    widget may declare its own."""
    declared = _DECLARED_ZONE.search(content[:2_000_000])
    if declared is None:
        return None
    return zone(declared.group(1).replace(b"\\", b"").decode("ascii"))
