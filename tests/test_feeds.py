"""parse_feed over one fixture per quirk."""

from __future__ import annotations

from pathlib import Path

import pytest

from peacewatch.errors import ParseError
from peacewatch.ingest.feeds import parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def parse(name: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return parse_feed(
        (FEEDS / name).read_bytes(), url=f"https://feeds.example.org/{name}", **kwargs
    )  # type: ignore[arg-type]


def test_rss2_basic_items_are_clean_and_dated_in_utc() -> None:
    feed = parse("rss2-basic.xml")
    assert feed.bozo is None
    assert [i.title for i in feed.items] == [
        "Ukraine and Russia agree to new round of talks in Istanbul",
        "Zelensky & Trump discuss 28-point plan",
        "Grain corridor talks resume",
    ]
    first = feed.items[0]
    assert first.published == "2025-11-20T12:03:00+00:00"
    assert first.guid == "ex-1001"
    assert (
        first.summary == "Delegations will meet next week , officials said."
        or first.summary == "Delegations will meet next week, officials said."
    )
    assert first.canonical_url == "https://news.example.org/world/2025/nov/20/ukraine-russia-talks"
    assert "utm_source" in (first.url or "")
    assert first.lang == "en-gb"
    assert first.author and "Jane Roe" in first.author


def test_atom_relative_links_resolve_and_updated_stands_in_for_published() -> None:
    feed = parse("atom-relative-links.xml")
    item = feed.items[0]
    assert item.url == "https://feeds.example.org/news/2025/11/21/plan/"
    assert item.published == "2025-11-21T08:00:00+00:00"
    assert item.lang == "uk"
    assert item.summary == "Делегації зустрілися в Женеві."
    assert item.author == "Олена Петренко"


def test_entries_without_dates_get_null_never_now() -> None:
    feed = parse("rss2-no-dates-no-guids.xml")
    assert [i.published for i in feed.items] == [None, None]
    assert [i.guid for i in feed.items] == [None, None]


def test_naive_dates_are_read_in_the_source_time_zone() -> None:
    assert (
        parse("rss2-naive-dates.xml", timezone="Europe/Kyiv").items[0].published
        == "2025-11-21T10:00:00+00:00"
    )
    assert parse("rss2-naive-dates.xml").items[0].published == "2025-11-21T12:00:00+00:00"


def test_malformed_feed_yields_recovered_items_and_the_reason() -> None:
    feed = parse("rss2-malformed.xml")
    assert feed.bozo
    # the loose parser resolves isPermaLink guids against the feed URL
    assert [i.guid.rsplit("/", 1)[-1] for i in feed.items if i.guid] == ["b-1", "b-2"]


def test_windows_1251_bytes_are_decoded() -> None:
    feed = parse("rss2-windows-1251.xml")
    assert feed.items[0].title == "Переговоры в Стамбуле завершились"
    assert feed.items[0].published == "2025-11-21T07:00:00+00:00"


def test_html_where_a_feed_should_be_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse("not-a-feed.html", headers={"Content-Type": "text/html; charset=utf-8"})
    assert info.value.outcome == "not_a_feed"


def test_empty_and_garbage_bodies_are_parse_errors() -> None:
    with pytest.raises(ParseError):
        parse_feed(b"   ", url="https://x.example/")
    with pytest.raises(ParseError):
        parse_feed(b"\x00\x01 not xml at all", url="https://x.example/")


def test_gzip_bytes_without_content_encoding_are_inflated() -> None:
    import gzip

    feed = parse_feed(
        gzip.compress((FEEDS / "rss2-basic.xml").read_bytes()), url="https://x.example/"
    )
    assert len(feed.items) == 3
