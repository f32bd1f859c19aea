"""A poll's parse step: a fetched body into items by the source's kind (a feed, a reading
list, an article page), with a warning for what was recovered or skipped.

Separate from `pipeline`, which decides where a feed is parsed (the parse worker or this
process); the parsers themselves are `ingest.feeds`, `ingest.readinglist` and
`ingest.articles`, imported where they are used (see pipeline.py).
"""

from __future__ import annotations

from typing import Any

from peacewatch.errors import ParseError
from peacewatch.ingest.parsepool import parse_feed_call
from peacewatch.models import FetchResult, ParsedFeed, ParsedItem, Source
from peacewatch.runtime import Runtime


def _parse_list(
    rt: Runtime, source: Source, result: FetchResult
) -> tuple[list[ParsedItem], str | None]:
    from peacewatch.ingest.readinglist import parse_html_list, parse_text_list

    content_type = result.headers.get("content-type", "")
    today = rt.clock().date()
    if "text/plain" in content_type:
        text = result.content.decode("utf-8", errors="replace")
        parsed = parse_text_list(text, registry=rt.outlets, today=today)
    else:
        parsed = parse_html_list(
            result.content, result.url, registry=rt.outlets, today=today, headers=result.headers
        )
    items = [
        ParsedItem(
            title=entry.title,
            url=entry.url,
            canonical_url=None,
            published=entry.published,
            published_local=entry.date if entry.date_precision == "day" else None,
            author=entry.author,
            outlet=entry.outlet,
            extra={"list_entry": entry},
        )
        for entry in parsed.entries
    ]
    warning = None
    if parsed.problems:
        shown = "; ".join(f"line {p.line}: {p.reason}" for p in parsed.problems[:5])
        more = f" (+{len(parsed.problems) - 5} more)" if len(parsed.problems) > 5 else ""
        warning = f"{len(parsed.problems)} list lines skipped: {shown}{more}"
    if not items and not parsed.problems:
        raise ParseError("empty_list", "no reading-list entries found on the page")
    return items, warning


def _parse_page(rt: Runtime, source: Source, result: FetchResult) -> list[ParsedItem]:
    from peacewatch.ingest.articles import extract_article

    article = extract_article(
        result.content, result.url, headers=result.headers, now=rt.clock(),
        timezone=source.timezone,
    )  # fmt: skip
    if not article.title:
        raise ParseError("no_headline", "the page has no headline")
    item = ParsedItem(
        title=article.title, url=result.url, canonical_url=None,
        published=article.published, published_local=article.published_local,
        date_candidates=article.date_candidates, updated=article.modified, summary=article.lead,
        author=article.author, lang=article.lang or source.lang,
        lang_source="page" if article.lang else "source" if source.lang else None,
    )  # fmt: skip
    return [item]


def _feed_warning(parsed: ParsedFeed) -> str | None:
    if not parsed.bozo:
        return None
    return f"malformed feed, recovered {len(parsed.items)} items: {parsed.bozo}"


def parse_result(
    source: Source, result: FetchResult, rt: Runtime | None = None
) -> tuple[list[ParsedItem], str | None]:
    """Items and a warning (a recovered malformed feed, skipped list lines) from a body."""
    if rt is not None and source.kind == "list":
        return _parse_list(rt, source, result)
    if rt is not None and source.kind == "page":
        return _parse_page(rt, source, result), None
    parsed = parse_feed_call(_feed_arguments(source, result))
    return parsed.items, _feed_warning(parsed)


def _feed_arguments(source: Source, result: FetchResult) -> dict[str, Any]:
    return {
        "content": result.content, "url": result.url, "headers": result.headers,
        "lang": source.lang, "timezone": source.timezone, "outlet": source.outlet,
    }  # fmt: skip
