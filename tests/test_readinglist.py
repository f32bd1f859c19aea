"""Reading lists in text and HTML: every messy variant the issue lists, one fixture line each."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from peacewatch.ingest.outlets import load_outlets
from peacewatch.ingest.readinglist import parse_html_list, parse_text_list

REPO = Path(__file__).resolve().parent.parent
LISTS = Path(__file__).parent / "fixtures" / "lists"
SHARED = REPO.parent / "shared"
REGISTRY = load_outlets(REPO / "config")
TODAY = date(2025, 11, 21)

# line -> (title, outlet as written, outlet id, author, date, kind, note, reference, truncated)
TEXT_EXPECTED = {
    2: ("Plain entry with a day", "Guardian", "guardian", None, "2023-04-06", None, None, None, False),
    3: ("Glued reference number", "Al Arabiya", "al-arabiya", None, "2023-08-07", None, None, "364196", False),
    4: ("Four-digit year", "Meduza", "meduza", None, "2023-08-05", None, None, None, False),
    5: ("Author before the outlet", "Responsible Statecraft", "responsible-statecraft", "Branko Marcetic", "2023-05-12", None, None, None, False),
    6: ("Author and outlet with a slash", "Antiwar", "antiwar", "Ted Snider", "2023-03-03", None, None, None, False),
    7: ("Written by the outlet", "Common Dreams", "common-dreams", None, "2023-03-14", None, None, None, False),
    8: ("A note after the date", "CD", "common-dreams", None, "2022-10-10", None, "must read", None, False),
    9: ("A note before the date", "DN!", "democracy-now", None, "2022-10-11", None, "must read", None, False),
    10: ("Month and year only", "RAND", "rand", None, "2023-01", None, None, None, False),
    11: ("Month and year with a reference number", "RAND", "rand", None, "2022-07", None, None, "327364", False),
    12: ("Lavrov on the grain deal", "@mfa_russia", "mfa-russia", None, "2023-07-18", "video", None, None, False),
    13: ("Ceasefire now", "@someone", "someone", None, "2023-07-20", "tweet", None, None, False),
    14: ("Headline without outlet or date", None, None, None, None, None, None, None, False),
    15: ("Headline with only a date", None, None, None, "2023-07-21", None, None, None, False),
    16: ("Ukraine - the long road to peace", "Counter Punch", "counterpunch", None, "2023-07-22", None, None, None, False),
    17: ("Talks kick off in Saudi Arabia — without Russia", "NY Post", "ny-post", None, "2023-08-05", None, None, None, False),
    18: ("Talks kick off in Saudi Arabia — without Russia", None, None, None, "2023-08-05", None, None, None, False),
    19: ("The case for diplomacy in Ukraine, and why the west keeps", "Independent.ie", "irish-independent", None, "2023-02-24", None, None, None, True),
    20: ("Scholar on China-Russia relations", "Unknown Weekly", "unknown-weekly", None, "2023-02-23", None, None, None, False),
    21: ("Peace plan backed by Turkey", None, None, None, "2023-03-03", None, None, None, False),
    22: ("Starred bullet", "Observer", "observer", None, "2024-01-01", None, None, None, False),
    23: ("Numbered bullet", "Conversation", "the-conversation", None, "2024-01-02", None, None, None, False),
}  # fmt: skip


def test_every_text_variant() -> None:
    parsed = parse_text_list((LISTS / "messy.txt").read_text(), registry=REGISTRY, today=TODAY)
    got = {
        e.line: (
            e.title,
            e.outlet,
            e.outlet_id,
            e.author,
            e.date,
            e.kind,
            e.note,
            e.reference,
            e.truncated,
        )
        for e in parsed.entries
    }
    assert got == TEXT_EXPECTED


def test_unparseable_lines_are_reported_with_their_number_and_skipped() -> None:
    parsed = parse_text_list((LISTS / "messy.txt").read_text(), registry=REGISTRY, today=TODAY)
    assert [(p.line, p.reason) for p in parsed.problems] == [
        (1, "no ' - Outlet DD.MM.YY' ending"),
        (24, "no ' - Outlet DD.MM.YY' ending"),
        (25, "no such date: 31.02.23"),
    ]


def test_registered_outlets_and_published_forms() -> None:
    parsed = parse_text_list("- A - Guardian 06.04.23\n- B - RAND 1/23\n", registry=REGISTRY)
    day, month = parsed.entries
    assert (day.outlet_registered, day.published, day.date_precision) == (
        True, "2023-04-06T00:00:00+00:00", "day",
    )  # fmt: skip
    assert (month.published, month.date_precision) == ("2023-01-01T00:00:00+00:00", "month")


def test_without_a_registry_only_plain_dashes_separate_the_outlet() -> None:
    parsed = parse_text_list("- Talks — without Russia - NY Post 05.08.23\n- X — Y 05.08.23")
    assert [(e.title, e.outlet, e.outlet_registered) for e in parsed.entries] == [
        ("Talks — without Russia", "NY Post", False),
        ("X — Y", None, False),
    ]


def test_html_list() -> None:
    parsed = parse_html_list(
        (LISTS / "list.html").read_bytes(), "https://lists.example.net/further-reading",
        registry=REGISTRY, today=TODAY,
    )  # fmt: skip
    got = [(e.title, e.outlet_id, e.author, e.date, e.url, e.note) for e in parsed.entries]
    assert got == [
        ("Saudi Arabia to host Ukraine peace talks, top official says", "al-jazeera", None,
         "2023-07-31", "https://www.aljazeera.com/news/2023/7/31/saudi-arabia-to-host", None),
        ("China ‘backs further Ukraine peace talks’ - after Saudi summit", "guardian", None,
         "2023-08-06", "https://www.theguardian.com/world/2023/aug/06/china-backs", "must read"),
        ("Saudi Arabia hosts Ukraine peace talks", "meduza", "Branko Marcetic", "2023-08-05",
         "https://meduza.io/en/news/2023/08/05/saudi", None),
        ("Why China's peace plan on Ukraine should be welcomed", "global-times", None,
         "2023-03-03", None, None),
        ("Scholar on China-Russia relations", "unknown-weekly", None, "2023-02-23",
         "https://weekly.example.net/a", None),
    ]  # fmt: skip
    assert all(e.line > 0 for e in parsed.entries)
    assert parsed.problems == []


@pytest.mark.skipif(not (SHARED / "reading-list-sample.txt").exists(), reason="no shared/")
def test_real_sample_matches_its_labels() -> None:
    """Part of a real list, labelled by hand (shared/reading-list-sample.labels.jsonl)."""
    parsed = parse_text_list(
        (SHARED / "reading-list-sample.txt").read_text(), registry=REGISTRY, today=TODAY
    )
    labels = [
        json.loads(line)
        for line in (SHARED / "reading-list-sample.labels.jsonl").read_text().splitlines()
    ]
    by_line = {e.line: e for e in parsed.entries}
    for label in labels:
        entry = by_line[label["line_number"]]
        outlet = REGISTRY.get(entry.outlet_id or "")
        assert (entry.title, entry.outlet, outlet.name if outlet else None, entry.date) == (
            label["title"], label["outlet"], label["outlet_canonical"], label["date"],
        ), label["line"]  # fmt: skip
    assert len(parsed.entries) == len(labels)
