"""HTML pages as data: the one module that imports BeautifulSoup (with lxml).

`parse_html` decodes a page safely (declared charset, entity declarations dropped);
`index_page` gathers in one walk every element the extraction looks at; JSON-LD objects and
meta values are read from that index; `html_lines` splits a reading-list page into visual
lines with their links. Pure: bytes in, data out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector

# What other ingest modules hold of a parsed page, so that only this module imports bs4.
Document = BeautifulSoup
Node = Tag

__all__ = [
    "Document",
    "HtmlLine",
    "Node",
    "PageIndex",
    "html_lines",
    "index_page",
    "parse_html",
]

BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "dd", "dt", "tr", "td", "th", "table", "section", "article",
    "header", "footer", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "main", "aside",
    "nav", "form", "figure", "figcaption", "address", "body", "center", "dl", "hr",
}  # fmt: skip
SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "head", "select"}
_DATE_HINT = re.compile(
    r"(?:^|[-_\s])(?:date|dateline|time|publish|published|pubdate|posted|post-date|entry-date|"
    r"byline|meta|timestamp|article-info|datum|fecha|data)(?:$|[-_\s])",
    re.IGNORECASE,
)
_ENTITY_DECLARATIONS = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>|<!ENTITY[^>]*>", re.S | re.I)
_CHARSET = re.compile(r"charset=([\w.:-]+)", re.I)


@dataclass(frozen=True)
class HtmlLine:
    """One visual line of an HTML page (reading lists): its text and the links on it."""

    line: int
    text: str
    links: tuple[tuple[str, str], ...]  # (absolute href, link text)


def parse_html(
    content: bytes, headers: dict[str, str] | None, parser: str = "lxml"
) -> BeautifulSoup:
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


def text_of(node: Tag) -> str:
    return " ".join(node.get_text(" ", strip=True).split())


def attr_of(node: Tag, name: str) -> str:
    value = node.get(name)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


# ---------------------------------------------------------------- one walk over the tree

_CONTAINER_CLASS = re.compile(
    r"(?:^|\s)(?:article-body|article__body|story-body|entry-content|post-content)(?:\s|$)"
)


@dataclass
class PageIndex:
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
    h1s: list[Tag] = field(default_factory=list)  # the first few: a logo may come first
    h2s: list[Tag] = field(default_factory=list)  # the first few, for a headline set in <h2>
    title: Tag | None = None


def index_page(soup: BeautifulSoup) -> PageIndex:
    index = PageIndex([], [], [], [], [], [], [], [], [])
    body_containers: list[Tag] = []
    articles: list[Tag] = []
    mains: list[Tag] = []
    for node in soup.find_all(True):
        name = node.name
        if name == "script":
            if "ld+json" in attr_of(node, "type").lower():
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
        elif name == "h1" and len(index.h1s) < 10:
            index.h1s.append(node)
        elif name == "h2" and len(index.h2s) < 20:
            index.h2s.append(node)
        elif name == "title" and index.title is None:
            index.title = node
        attrs = node.attrs
        if not attrs:
            continue
        itemprop = attr_of(node, "itemprop")
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
        if "rel" in attrs and "author" in attr_of(node, "rel").lower().split():
            index.author_nodes.insert(0, node)
        marker = attr_of(node, "class") + " " + attr_of(node, "id")
        if marker != " ":
            if name not in SKIP_TAGS and _DATE_HINT.search(marker):
                index.hinted.append(node)
            if _CONTAINER_CLASS.search(marker):
                body_containers.append(node)
    index.containers = body_containers[:3] + articles[:3] + mains[:1]
    return index


# ---------------------------------------------------------------- JSON-LD


def json_ld_objects(index: PageIndex) -> list[dict[str, Any]]:
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


def json_ld_types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type", "")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values}


def json_ld_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return json_ld_name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (json_ld_name(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


def meta_values(index: PageIndex) -> dict[str, list[str]]:
    """Every meta tag's content under each of its name/property/itemprop/http-equiv keys."""
    values: dict[str, list[str]] = {}
    for meta in index.metas:
        content = attr_of(meta, "content").strip() or attr_of(meta, "datetime").strip()
        if not content:
            continue
        for key_attr in ("property", "name", "itemprop", "http-equiv"):
            key = attr_of(meta, key_attr).strip().lower()
            if key:
                values.setdefault(key, []).append(content)
    return values


def html_lines(
    content: bytes, url: str, *, headers: dict[str, str] | None = None
) -> list[HtmlLine]:
    """Split a page into the lines a reader sees (blocks and <br>), with each line's links.

    Reading lists are parsed from these lines by peacewatch.readinglist; this function exists
    so BeautifulSoup stays in this one module.
    """
    # Python's html.parser (through BeautifulSoup) records source line numbers, which lxml's
    # builder does not; lists are small, so its lower speed does not matter here.
    soup = parse_html(content, headers, parser="html.parser")
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
                if child.name in SKIP_TAGS:
                    continue
                if child.name == "br":
                    flush()
                    line_no = child.sourceline or line_no
                    continue
                is_block = child.name in BLOCK_TAGS
                if is_block:
                    flush()
                    line_no = child.sourceline or line_no
                if child.name == "a" and child.get("href"):
                    if not text_parts:
                        line_no = child.sourceline or line_no
                    href = urljoin(url, attr_of(child, "href").strip())
                    links.append((href, text_of(child)))
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
