"""The daily digest: what it contains for a day and a recipient, and how it renders.

The database is the surfaces story (tests/surfaces_data.py) built through the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.surfaces.digest import Digest, Entry, build_digest, evidence_line
from peacewatch.surfaces.digest_config import DigestConfig, Recipient
from peacewatch.surfaces.digest_render import render_email, safe_url
from surfaces_data import SCRIPT_TITLE, SCRIPT_URL, build_story

DAY = date(2025, 11, 21)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[store.Database, dict]]:
    server = FixtureServer().start()
    try:
        _, db_path, ids = build_story(tmp_path_factory.mktemp("digest"), server)
    finally:
        server.stop()
    db = store.open_db(db_path)
    yield db, ids
    db.conn.close()


def _titles(entries: tuple[Entry, ...]) -> list[str]:
    return [e.title for e in entries]


def test_groups_by_initiative_most_covered_first(story: tuple[store.Database, dict]) -> None:
    db, ids = story
    digest = build_digest(db, DAY, None, "UTC")
    assert [(s.initiative_id, s.count) for s in digest.sections] == [
        ("us-28pt-plan", 4),
        ("coalition-of-willing", 2),
    ]
    plan = digest.sections[0]
    assert plan.name == "US 28-point peace plan"
    # the syndicated pair folds into one entry that leads (two outlets), BBC under "also"
    first = plan.entries[0]
    assert first.title == "US 28-point peace plan leaked"
    assert first.outlet == "Al Jazeera"
    assert [(c.outlet, c.item_id) for c in first.also] == [("BBC News", ids["plan-bbc"])]
    assert first.evidence == "matched “28-point peace plan” in the headline (rule 28-point)"
    assert sorted(_titles(plan.entries)) == sorted(
        [
            "US 28-point peace plan leaked",
            "Zelensky weighs 28-point plan and coalition guarantees",
            SCRIPT_TITLE,
        ]
    )
    coalition = digest.sections[1]
    assert set(_titles(coalition.entries)) == {
        "Coalition of the willing meets in London",
        "Zelensky weighs 28-point plan and coalition guarantees",
    }


def test_counts_against_previous_day_and_week(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    digest = build_digest(db, DAY, None, "UTC")
    plan, coalition = digest.sections
    # UTC: the 20th had the Witkoff item and the night briefing
    assert (plan.count, plan.previous_day, plan.week, plan.previous_week) == (4, 2, 6, 0)
    assert (coalition.count, coalition.previous_day, coalition.week, coalition.previous_week) == (
        2,
        0,
        2,
        1,
    )
    assert len(plan.chart) == 14
    assert plan.chart[-1].day == DAY and plan.chart[-1].count == 4
    assert plan.chart[-2].count == 2
    assert sum(c.count for c in coalition.chart) == 3


def test_day_is_local_to_the_timezone(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    # 22:30 UTC on the 20th is 00:30 on the 21st in Kyiv
    kyiv = build_digest(db, DAY, None, "Europe/Kyiv")
    plan = kyiv.sections[0]
    assert (plan.count, plan.previous_day) == (5, 1)
    assert "Night briefing on the peace plan" in _titles(plan.entries)


def test_general_coverage_and_failing_sources(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    digest = build_digest(db, DAY, None, "UTC")
    # relevant without an initiative; the off-topic football item is not there
    assert _titles(digest.general) == ["Ceasefire talk grows in Europe"]
    # BBC world has failed since the 19th; Kyiv Independent (uk) only since 20:00 today
    assert [(f.source_id, f.failing_since) for f in digest.failing] == [
        ("bbc-world", "2025-11-19T06:00:00+00:00")
    ]
    later = build_digest(db, DAY, None, "UTC", now=datetime(2025, 11, 23, tzinfo=UTC))
    assert [f.source_id for f in later.failing] == ["bbc-world", "kyivindependent-uk"]
    # 4 + 2 initiative items (one shared) + 1 general
    assert digest.item_count == 6


def test_recipient_filters(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    only_coalition = build_digest(
        db, DAY, Recipient("a@x.org", initiatives=("coalition-of-willing",)), "UTC"
    )
    assert [s.initiative_id for s in only_coalition.sections] == ["coalition-of-willing"]
    assert only_coalition.general == ()  # an initiative filter leaves out general coverage
    ceasefire = build_digest(db, DAY, Recipient("a@x.org", themes=("CEASE",)), "UTC")
    assert [(s.initiative_id, s.count) for s in ceasefire.sections] == [("coalition-of-willing", 1)]
    assert _titles(ceasefire.general) == ["Ceasefire talk grows in Europe"]
    ukrainian = build_digest(db, DAY, Recipient("a@x.org", languages=("uk",)), "Europe/Kyiv")
    assert [(s.initiative_id, s.count, s.previous_day) for s in ukrainian.sections] == [
        ("us-28pt-plan", 1, 0)
    ]
    nothing = build_digest(db, date(2025, 11, 10), None, "UTC")
    assert nothing.empty and nothing.item_count == 0


def test_limit_per_initiative_counts_the_rest(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    digest = build_digest(db, DAY, None, "UTC", max_items_per_initiative=1)
    assert len(digest.sections[0].entries) == 1
    assert digest.sections[0].more == 2


def _parts(message: EmailMessage) -> tuple[str, str]:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_email_has_both_parts_headers_and_escapes(story: tuple[store.Database, dict]) -> None:
    db, _ = story
    config = DigestConfig(list_id="digest.peacewatch.test", from_address="pw <pw@example.org>")
    digest = build_digest(db, DAY, None, "UTC")
    message = render_email(digest, config, "analyst@example.org")
    assert message["Subject"] == (
        "peacewatch Fri 21 Nov 2025: 6 new items, 2 initiatives, top: US 28-point peace plan (4)"
    )
    assert message["List-Id"] == "peacewatch digest <digest.peacewatch.test>"
    assert message["Message-ID"].startswith("<digest.2025-11-21.")
    assert message["Message-ID"].endswith("@digest.peacewatch.test>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = _parts(message)
    assert SCRIPT_TITLE in text  # plain text shows it as it is
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Kremlin &amp; Dmitriev" in html
    assert f'href="{SCRIPT_URL.replace("&", "&amp;")}"' in html
    for part in (text, html):
        assert "US 28-point peace plan" in part
        assert "Coalition of the Willing" in part
        assert "Ceasefire talk grows in Europe" in part
        assert "bbc-world" in part
        assert "Football results" not in part
    assert "also in BBC News" in text
    assert "matched “28-point peace plan” in the headline" in text
    assert text.index("US 28-point peace plan") < text.index("== Coalition of the Willing ==")


def test_only_http_links_become_links() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url(" https://example.org/a?b=1 ") == "https://example.org/a?b=1"
    entry = Entry(1, 'Say "hi" <b>', "Outlet", "javascript:alert(1)", None, None, "")
    digest = Digest(DAY, "UTC", (), (entry,), 0, (), 1)
    _, html = _parts(render_email(digest, DigestConfig(), "a@example.org"))
    assert "javascript:" not in html
    assert "Say &#34;hi&#34; &lt;b&gt;" in html
    assert "date unknown" in html


def test_evidence_line_picks_the_strongest_match() -> None:
    evidence = (
        '[{"rule": "a", "field": "summary", "text": "weak", "weight": 0.5},'
        ' {"rule": "b", "field": "title", "text": "strong", "weight": 2}]'
    )
    assert evidence_line(evidence) == "matched “strong” in the headline (rule b)"
    assert evidence_line("not json") == ""
    model = json.dumps([
        {"rule": "model 0.93: stem witkof", "field": "title", "text": "Witkoff", "weight": 0.7},
        {"rule": "model 0.93: word visit", "field": "title", "text": "visit", "weight": 0.4},
        {"rule": "model 0.93: headline stem witkof", "field": "title", "text": "Witkoff",
         "weight": 0.3},
    ])  # fmt: skip
    assert evidence_line(model) == "the tagging model (93% sure), from “Witkoff”, “visit”"
    assert evidence_line(None) == ""


def test_nothing_new_subject(tmp_path: Path, story: tuple[store.Database, dict]) -> None:
    db, _ = story
    digest = build_digest(db, date(2025, 11, 10), None, "UTC")
    message = render_email(digest, DigestConfig(), "a@example.org")
    assert message["Subject"] == "peacewatch Mon 10 Nov 2025: nothing new"
    text, _ = _parts(message)
    assert "Nothing new today" in text
