"""Several witnesses, one verdict: the publication date chosen among everything a page states,
its local day, and the feed/page comparison (issue #12). Pure functions and page fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from peacewatch.ingest.articles import extract_article
from peacewatch.ingest.date_verdict import decide, feed_page_disagreement, possible_days
from peacewatch.ingest.dates import date_from_url, parse_date
from peacewatch.ingest.page_dates import Witness

PAGES = Path(__file__).parent / "fixtures" / "pages"
NOW = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)


def w(source: str, value: str, role: str = "published") -> Witness:
    found = parse_date(value)
    assert found is not None, value
    return Witness(source, role, found, value)


# ---------------------------------------------------------------- the three kinds of miss


def test_utc_instant_near_midnight_takes_the_outlets_local_day() -> None:
    content = (PAGES / "utc-instant-near-midnight.html").read_bytes()
    url = "https://www.sfchronicle.com/politics/article/drought-relief.php"
    article = extract_article(content, url, now=NOW, timezone="America/Los_Angeles")
    assert article.published == "2021-03-02T01:15:00+00:00"  # the instant, in UTC
    assert article.published_local == "2021-03-01T17:15:00-08:00"
    assert article.published_day == "2021-03-01"


def test_utc_instant_without_a_zone_takes_the_bylines_day() -> None:
    content = (PAGES / "utc-instant-near-midnight.html").read_bytes()
    url = "https://www.sfchronicle.com/politics/article/drought-relief.php"
    article = extract_article(content, url, now=NOW)
    assert article.published == "2021-03-02T01:15:00+00:00"
    assert article.published_local == "2021-03-01"
    assert article.date_source == "jsonld"
    assert "local day 2021-03-01 from text" in (article.date_reason or "")


def test_modified_date_in_json_ld_loses_to_the_visible_date_and_the_url() -> None:
    content = (PAGES / "jsonld-modified-as-published.html").read_bytes()
    url = "https://www.arabnews.com/node/2023/08/07/jeddah-talks"
    article = extract_article(content, url, now=NOW)
    assert article.published == "2023-08-07T11:30:00+00:00"
    assert article.published_local == "2023-08-07T14:30:00+03:00"
    assert article.date_source == "time"
    assert article.date_reason == (
        "time and url agree on 2023-08-07 against jsonld (2023-08-10T09:00:00Z)"
    )


def test_url_only_date() -> None:
    content = (PAGES / "url-date-only.html").read_bytes()
    article = extract_article(
        content, "https://geopoliticaleconomy.com/2023/02/10/zelensky-minsk/", now=NOW
    )
    assert (article.published, article.published_local, article.date_source) == (
        "2023-02-10T00:00:00+00:00", "2023-02-10", "url",
    )  # fmt: skip


# ---------------------------------------------------------------- the verdict


def test_structured_date_confirmed_by_the_url_wins() -> None:
    verdict = decide([w("jsonld", "2023-08-07T10:00:00+02:00"), w("url", "2023-08-07")])
    assert verdict.source == "jsonld"
    assert verdict.published is not None and verdict.published.utc == "2023-08-07T08:00:00+00:00"
    assert verdict.reason == "jsonld, confirmed by url"


def test_one_dissenting_witness_does_not_beat_a_structured_date() -> None:
    verdict = decide([w("opengraph", "2023-08-07T10:00:00+02:00"), w("text", "3 May 2023")])
    assert (verdict.source, verdict.local) == ("opengraph", "2023-08-07T10:00:00+02:00")


def test_two_agreeing_witnesses_beat_one_structured_date() -> None:
    verdict = decide(
        [w("jsonld", "2024-01-01T00:00:00Z"), w("text", "12 March 2023"), w("url", "2023-03-12")]
    )
    assert (verdict.source, verdict.local) == ("text", "2023-03-12")
    assert verdict.reason.startswith("text and url agree on 2023-03-12 against jsonld")


def test_htmldate_counts_as_the_second_witness_against_the_markup() -> None:
    verdict = decide([w("meta", "2020-01-01"), w("url", "2019-08-06"), w("htmldate", "2019-08-06")])
    assert (verdict.source, verdict.local) == ("url", "2019-08-06")


def test_two_distinct_markup_dates_on_one_day_hold_against_a_pair() -> None:
    verdict = decide(
        [
            w("jsonld", "2019-10-18T18:11:44+02:00"),
            w("itemprop", "2019-10-18T17:08:11+02:00"),
            w("time", "Samstag, 19. Oktober 2019"),
            w("htmldate", "2019-10-19"),
        ]
    )
    assert (verdict.source, verdict.published and verdict.published.day) == ("jsonld", "2019-10-18")


def test_published_equal_to_modified_loses_to_an_earlier_byline_time() -> None:
    verdict = decide(
        [
            w("opengraph", "2020-01-20T09:49:32+00:00"),
            w("opengraph", "2020-01-20T09:49:32+00:00", role="modified"),
            w("text", "January 19, 2020 / 12:25 PM / Updated 8 hours ago"),
        ],
        outlet_tz=ZoneInfo("America/New_York"),
    )
    assert (verdict.source, verdict.published and verdict.published.day) == ("text", "2020-01-19")
    assert "modified date as published" in verdict.reason


def test_a_day_only_markup_date_after_a_visible_clock_is_the_edition_date() -> None:
    verdict = decide([w("meta", "2021-06-10"), w("time", "2021-06-09T17:45")])
    assert (verdict.source, verdict.local) == ("time", "2021-06-09T17:45:00+00:00")
    assert "an edition's date" in verdict.reason


@pytest.mark.parametrize(
    "visible",
    [
        "2021-06-09",  # a visible day without a clock: one witness against one
        "2021-06-10T07:00",  # the same day
        "2021-06-11T07:00",  # later: an update
        "2021-06-06T17:45",  # too long before the edition: one witness against one
    ],
)
def test_the_day_only_markup_date_stands_otherwise(visible: str) -> None:
    verdict = decide([w("meta", "2021-06-10"), w("time", visible)])
    assert verdict.source == "meta"


@pytest.mark.parametrize(
    ("url_day", "visible", "source"),
    [
        ("2017-07-12", None, "url"),  # two years before the markup: a re-stamped archive
        ("2019-06-16", None, "jsonld"),  # a day before: time zones, an evening story
        ("2019-06-10", None, "jsonld"),  # a week before: not yet a re-publication
        ("2017-07-12", "June 17, 2019", "jsonld"),  # the visible date confirms the markup
    ],
)
def test_a_url_day_long_before_the_markup_date(
    url_day: str, visible: str | None, source: str
) -> None:
    witnesses = [w("jsonld", "2019-06-17T18:28:00+02:00"), w("url", url_day)]
    if visible is not None:
        witnesses.append(w("text", visible))
    assert decide(witnesses).source == source


def test_without_markup_the_day_most_witnesses_agree_on_wins() -> None:
    verdict = decide(
        [w("text", "December 17, 2019"), w("url", "2019-08-06"), w("htmldate", "2019-08-06")]
    )
    assert (verdict.source, verdict.local) == ("url", "2019-08-06")


def test_without_markup_a_tie_goes_to_the_most_trusted() -> None:
    verdict = decide([w("htmldate", "2019-08-06"), w("text", "December 17, 2019")])
    assert (verdict.source, verdict.local) == ("text", "2019-12-17")
    assert "disagreeing" in verdict.reason


def test_without_markup_a_byline_backed_by_another_witness_beats_a_time_element() -> None:
    verdict = decide(
        [w("time", "2019-07-03T10:18:46Z"), w("text", "29 juin 2019"), w("htmldate", "2019-06-29")]
    )
    assert (verdict.source, verdict.local) == ("text", "2019-06-29")
    assert (
        verdict.reason
        == "text and htmldate agree on 2019-06-29 against time (2019-07-03T10:18:46Z)"
    )


def test_an_embedded_posts_time_is_not_a_witness() -> None:
    content = (PAGES / "embedded-post-time.html").read_bytes()
    url = "https://www.werbung.example/kommentare/urteil-172529"
    article = extract_article(content, url, now=NOW, use_htmldate=False)
    assert (article.published, article.date_source) == ("2019-01-29T00:00:00+00:00", "text")
    sources = {c["source"] for c in json.loads(article.date_candidates or "{}")["candidates"]}
    assert sources == {"text"}


def test_no_witness_means_no_date_never_now() -> None:
    verdict = decide([w("jsonld", "2023-08-07", role="modified")])
    assert (verdict.published, verdict.local, verdict.source) == (None, None, None)
    assert verdict.modified is not None


def test_embedded_video_date_counts_only_without_other_markup() -> None:
    video = w("jsonld", "2020-09-29", role="media")
    assert decide([video, w("meta", "2020-09-30")]).published.day == "2020-09-30"  # type: ignore[union-attr]
    assert decide([video]).published.day == "2020-09-29"  # type: ignore[union-attr]


# ---------------------------------------------------------------- the local day


@pytest.mark.parametrize(
    ("page_tz", "outlet_tz", "expected"),
    [
        (ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles"), "2021-03-02T10:15:00+09:00"),
        (None, ZoneInfo("America/Los_Angeles"), "2021-03-01T17:15:00-08:00"),
        (None, None, "2021-03-01"),  # from the byline: within a day of the instant
    ],
)
def test_local_day_by_evidence_in_order(page_tz, outlet_tz, expected) -> None:  # type: ignore[no-untyped-def]
    witnesses = [w("jsonld", "2021-03-02T01:15:00Z"), w("text", "March 1, 2021")]
    verdict = decide(witnesses, page_tz=page_tz, outlet_tz=outlet_tz)
    assert verdict.published is not None
    assert verdict.published.utc == "2021-03-02T01:15:00+00:00"
    assert verdict.local == expected


def test_a_time_element_prints_the_local_day_of_its_utc_instant() -> None:
    content = (PAGES / "time-utc-attribute-local-text.html").read_bytes()
    article = extract_article(content, "https://www.cityweekly.net/news/transit-budget", now=NOW)
    assert (article.published, article.published_local) == (
        "2021-03-02T01:15:00+00:00",
        "2021-03-01",
    )
    assert article.date_reason == "time, confirmed by text; local day 2021-03-01 from time"
    # the outlet's zone, when known, comes first
    article = extract_article(
        content, "https://www.cityweekly.net/x", now=NOW, timezone="America/Denver"
    )
    assert article.published_local == "2021-03-01T18:15:00-07:00"


def test_a_byline_more_than_a_day_away_does_not_move_the_local_day() -> None:
    verdict = decide([w("jsonld", "2021-03-02T13:00:00Z"), w("text", "March 1, 2021")])
    assert verdict.local == "2021-03-02T13:00:00+00:00"
    assert verdict.reason.endswith("local day unknown, UTC day kept")


def test_possible_days_of_an_instant_in_utc() -> None:
    assert possible_days(parse_date("2021-03-02T01:15:00Z")) == {"2021-03-01", "2021-03-02"}  # type: ignore[arg-type]
    assert possible_days(parse_date("2021-03-02T12:00:00Z")) == {"2021-03-02"}  # type: ignore[arg-type]
    assert possible_days(parse_date("2021-03-01T21:15:00-05:00")) == {"2021-03-01"}  # type: ignore[arg-type]


def test_candidates_json_lists_every_witness_and_the_verdict() -> None:
    content = (PAGES / "jsonld-modified-as-published.html").read_bytes()
    article = extract_article(content, "https://www.arabnews.com/node/2023/08/07/x", now=NOW)
    data = json.loads(article.date_candidates or "{}")
    assert data["chosen"] == article.published and data["source"] == "time"
    assert data["reason"] == article.date_reason
    roles = {(c["source"], c["role"]) for c in data["candidates"]}
    assert {("jsonld", "published"), ("jsonld", "modified"), ("time", "published"),
            ("url", "published")} <= roles  # fmt: skip


def test_htmldate_finds_a_date_written_only_in_text_our_rules_miss() -> None:
    # no headline, no hint in a class name: a date stamp in a plain box
    page = (
        b"<html><head><title>T</title></head><body><div class='info'>"
        b"<span>2020-03-04 16:52:59</span></div><p>Text of the story.</p></body></html>"
    )
    url = "https://news.example.net/view?id=1"
    without = extract_article(page, url, now=NOW, use_htmldate=False)
    assert without.published is None
    with_ref = extract_article(page, url, now=NOW)
    assert (with_ref.published_local, with_ref.date_source) == ("2020-03-04", "htmldate")


def test_htmldate_never_dates_a_page_in_the_future() -> None:
    page = b"<html><body><h1>Soon</h1><p>Event on 2030-05-01</p></body></html>"
    assert extract_article(page, "https://x.example.net/a", now=NOW).published is None


# ---------------------------------------------------------------- feed against page

SEEN = "2025-11-21T12:00:00+00:00"


def test_feed_date_that_is_the_fetch_time_loses() -> None:
    got = feed_page_disagreement("2025-11-21T11:59:30+00:00", SEEN, "2025-11-20T08:00:00+00:00",
                                 "2025-11-20T10:00:00+02:00")  # fmt: skip
    assert got == {"feed": "2025-11-21T11:59:30+00:00", "page": "2025-11-20T08:00:00+00:00",
                   "kind": "fetch_time"}  # fmt: skip


def test_feed_date_a_day_or_more_away_loses() -> None:
    got = feed_page_disagreement("2025-11-18T08:00:00+00:00", SEEN, "2025-11-20T08:00:00+00:00",
                                 "2025-11-20T08:00:00+00:00")  # fmt: skip
    assert got is not None and (got["kind"], got["days"]) == ("days_apart", 2)


def test_feed_and_page_within_a_day_agree() -> None:
    assert feed_page_disagreement("2025-11-20T01:00:00+00:00", SEEN,
                                  "2025-11-20T20:00:00+00:00", None) is None  # fmt: skip
    # a bare page day one calendar day off may be the zone: not a disagreement
    assert feed_page_disagreement("2025-11-21T03:00:00+00:00", "2025-11-22T00:00:00+00:00",
                                  "2025-11-20T00:00:00+00:00", "2025-11-20") is None  # fmt: skip


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://x.org/2025/11/20/talks.html", "2025-11-20"),  # was read as 2025-01-01
        ("https://x.org/2019/12/3/a", "2019-12-03"),
        ("https://x.org/2023/7/30/x", "2023-07-30"),
        ("https://x.org/news/2023-08-07-x", "2023-08-07"),
        ("https://x.org/20231120/x", "2023-11-20"),
        ("https://x.org/2023/12/", None),  # a month is not a day
        ("https://www.theguardian.com/world/2023/feb/24/peace-plan", "2023-02-24"),
        ("https://x.org/2019-june-3-talks", "2019-06-03"),
        ("https://x.org/2023/news/24/x", None),  # not a month
    ],
)
def test_url_dates_in_november_and_december(url: str, day: str | None) -> None:
    found = date_from_url(url)
    assert (found.day if found else None) == day


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("13 Jan 2020, 22:11 GMT+10", "2020-01-13T22:11:00+10:00"),  # was read as GMT
        ("13 Jan 2020, 22:11 GMT +5:30", "2020-01-13T22:11:00+05:30"),
        ("March 1, 2021 10:15 pm UTC-5", "2021-03-01T22:15:00-05:00"),
        ("13 Jan 2020, 22:11 GMT", "2020-01-13T22:11:00+00:00"),
    ],
)
def test_a_byline_clock_with_a_gmt_offset(text: str, local: str) -> None:
    found = parse_date(text)
    assert found is not None and found.local == local


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("5 października 2023", "2023-10-05"),  # twelve letters: was too long to be a month
        ("2020. január 5.", "2020-01-05"),  # Hungarian, year first
        ("5. tammikuuta 2020 klo 10.15", "2020-01-05"),  # Finnish
        ("12 Ekim 2020 14:30", "2020-10-12"),  # Turkish
        ("4 MAYIS 2020", "2020-05-04"),  # Turkish capitals lose the dotless i
        ("Senin, 4 Mei 2020", "2020-05-04"),  # Indonesian
        ("12 Ogos 2021", "2021-08-12"),  # Malay
        ("3 Μαΐου 2021", "2021-05-03"),  # Greek
        ("5 de maig de 2020", "2020-05-05"),  # Catalan
        ("14. září 2020", "2020-09-14"),  # Czech
        ("7. augusti 2019", "2019-08-07"),  # Swedish
        ("2 nov. 2023 à 16:00", "2023-11-02"),  # abbreviated
        ("21 мар 2022", "2022-03-21"),
        ("5th of May 2020", "2020-05-05"),
        ("May 2020 12 people", None),
    ],
)
def test_bylines_in_more_languages(text: str, day: str | None) -> None:
    found = parse_date(text)
    assert (found.day if found else None) == day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2 تير 1399 - 12:09:08 ب.ظ", "2020-06-22"),  # Arabic yeh in the month's name
        ("دوشنبه ۲ تیر ۱۳۹۹", "2020-06-22"),  # Persian digits
        ("۱۳۹۹/۰۴/۰۲", "2020-06-22"),
        ("17 آبان 1402", "2023-11-08"),
        ("۳۰ اسفند ۱۳۹۹", "2021-03-20"),  # the last day of a leap year
        ("1 فروردین 1404", "2025-03-21"),
        ("1399/04/02", None),  # without Persian script or digits, not read as Solar Hijri
    ],
)
def test_solar_hijri_dates(text: str, day: str | None) -> None:
    found = parse_date(text)
    assert (found.day if found else None) == day
