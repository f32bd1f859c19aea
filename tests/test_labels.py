"""Analysts' corrections on a real SQLite file: recorded, applied where tags are written, kept
through retags and re-ingests, shown by Datasette and the digest; and review candidates."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from peacewatch import store
from peacewatch.errors import InputError
from peacewatch.models import ParsedItem
from peacewatch.store import labels as label_store
from peacewatch.store import retagging
from peacewatch.store import tags as tag_store
from peacewatch.store.migrations import MIGRATIONS, applied, migrate
from peacewatch.surfaces.datasette_app import make_datasette
from peacewatch.surfaces.digest import build_digest
from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_rules_file, load_ruleset
from peacewatch.tagging.ruleset import RuleSet
from support import rules_only

ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-12-01T12:00:00+00:00"
LATER = "2025-12-02T09:00:00+00:00"
PLAN = "us-28pt-plan"

HEADLINES = [
    ("Ukraine weighs the 28-point plan", "2025-11-21T08:00:00+00:00"),  # rules: us-28pt-plan
    ("Merkel: Minsk agreements gave Ukraine time", "2022-12-07T09:00:00+00:00"),  # minsk
    ("Kremlin: peace talks with Ukraine possible", "2025-11-25T10:00:00+00:00"),  # relevant
    ("Local team wins the cup", "2025-11-26T10:00:00+00:00"),  # off-topic
    ("Saudi Arabia hosts Ukraine peace talks, Russia not invited", "2023-08-05T10:00:00+00:00"),
]


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(ROOT / "config")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = store.open_db(tmp_path / "pw.db")
    store.ensure_outlet(database, "example", "Example News")
    yield database
    database.conn.close()


def save(db: Any, headlines: list[tuple[str, str | None]], ruleset: RuleSet) -> list[int]:
    items = [
        ParsedItem(title=title, url=f"https://example.org/{n}", canonical_url=None,
                   published=published)
        for n, (title, published) in enumerate(headlines)
    ]  # fmt: skip
    with store.transaction(db):
        report = store.save_items(db, items, source_id=None, outlet_id="example", now=NOW)
        tag_store.tag_items(db, report.new, ruleset, NOW)
    return list(report.new)


def rows(db: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def tags(db: Any, item_id: int) -> dict[str, Any]:
    found = rows(db, "SELECT * FROM item_initiatives WHERE item_id = ?", [item_id])
    return {row["initiative_id"]: row for row in found}


def labels(db: Any) -> dict[tuple[int, str], dict[str, Any]]:
    found = rows(db, "SELECT * FROM analyst_labels")
    return {(row["item_id"], row["initiative_id"]): row for row in found}


def weaker_plan_rules(tmp_path: Path) -> RuleSet:
    """An edit of the shipped rules under which the 28-point name alone no longer tags (the
    rules alone: the model would still recognise the plan)."""
    text = rules_only((ROOT / "config" / "initiatives.toml").read_text(encoding="utf-8"))
    edited = tmp_path / "initiatives.toml"
    edited.write_text(text.replace("], weight = 2 },", "], weight = 0.5 },", 1), encoding="utf-8")
    return load_rules_file(edited)


def corrected(db: Any, ids: list[int], ruleset: RuleSet) -> None:
    """The standard corrections: add the plan to a general item, remove it from the item the
    rules gave it to, and confirm the Jeddah tag."""
    label_store.label_item(db, ids[2], ruleset, add=[PLAN], note="the plan, unnamed", now=NOW)
    label_store.label_item(db, ids[0], ruleset, remove=[PLAN], note="an op-ed", now=NOW)
    label_store.label_item(db, ids[4], ruleset, add=["jeddah-meeting-2023"], now=NOW)


def test_a_label_applies_at_once_with_what_the_rules_said(db: Any, ruleset: RuleSet) -> None:
    ids = save(db, HEADLINES, ruleset)
    assert set(tags(db, ids[0])) == {PLAN} and tags(db, ids[2]) == {}
    corrected(db, ids, ruleset)

    assert tags(db, ids[0]) == {}  # removed
    added = tags(db, ids[2])[PLAN]
    assert added["score"] == 1.0
    assert json.loads(added["evidence"]) == [
        {"rule": "analyst: the plan, unnamed", "field": "analyst", "text": "the plan, unnamed",
         "start": 0, "end": 17, "weight": 1.0},
    ]  # fmt: skip
    # agreeing with the rules keeps their evidence and score, and says the analyst agrees
    confirmed = tags(db, ids[4])["jeddah-meeting-2023"]
    evidence = json.loads(confirmed["evidence"])
    assert evidence[0]["field"] == "title" and evidence[-1]["rule"] == "analyst"
    assert evidence[-1]["weight"] == 0.0 and confirmed["score"] > 0

    stored = labels(db)
    assert stored[(ids[2], PLAN)]["rules_said"] == 0
    assert stored[(ids[0], PLAN)]["rules_said"] == 1
    assert json.loads(stored[(ids[0], PLAN)]["rules_evidence"])[0]["text"] == "28-point"
    assert stored[(ids[4], "jeddah-meeting-2023")]["rules_said"] == 1
    assert {row["rules_version"] for row in stored.values()} == {ruleset.version}
    assert stored[(ids[0], PLAN)]["verdict"] == "remove"
    assert stored[(ids[0], PLAN)]["labelled_at"] == NOW
    # the item the analyst tagged counts as relevant; the counters follow the corrections
    assert rows(db, "SELECT relevant FROM item_classification WHERE item_id = ?", [ids[2]]) == [
        {"relevant": 1}
    ]
    assert tag_store.initiative_counts(db)[PLAN] == 1
    assert rows(
        db, "SELECT day, items FROM initiative_day_outlet WHERE initiative_id = ?", [PLAN]
    ) == [{"day": "2025-11-25", "items": 1}]


def test_a_retag_with_changed_rules_keeps_the_corrections(
    db: Any, ruleset: RuleSet, tmp_path: Path
) -> None:
    ids = save(db, HEADLINES, ruleset)
    corrected(db, ids, ruleset)
    disagreements = rows(db, "SELECT item_id, verdict FROM label_disagreements ORDER BY item_id")
    assert disagreements == [
        {"item_id": ids[0], "verdict": "remove"},
        {"item_id": ids[2], "verdict": "add"},
    ]

    changed = weaker_plan_rules(tmp_path)
    assert changed.version != ruleset.version
    report = retagging.retag(db, changed)
    assert report.complete and report.items == len(ids)
    assert tags(db, ids[0]) == {}  # still removed (and the new rules agree now)
    assert set(tags(db, ids[2])) == {PLAN}  # still added
    assert set(tags(db, ids[4])) == {"jeddah-meeting-2023"}
    stored = labels(db)
    assert stored[(ids[0], PLAN)]["rules_said"] == 0
    assert stored[(ids[0], PLAN)]["rules_evidence"] is None
    assert {row["rules_version"] for row in stored.values()} == {changed.version}
    # the removal is no longer a disagreement: the rules learned it
    assert [r["item_id"] for r in rows(db, "SELECT item_id FROM label_disagreements")] == [ids[2]]

    # and back to the shipped rules: the rules give the tag again, the analyst still wins
    retagging.retag(db, ruleset)
    assert tags(db, ids[0]) == {} and labels(db)[(ids[0], PLAN)]["rules_said"] == 1


def test_a_re_ingested_item_keeps_its_corrections(db: Any, ruleset: RuleSet) -> None:
    ids = save(db, HEADLINES, ruleset)
    corrected(db, ids, ruleset)
    with store.transaction(db):  # the pipeline stores an edited headline and tags it again
        db.execute("UPDATE items SET title = title || ' (updated)' WHERE id IN (?, ?)",
                   [ids[0], ids[2]])  # fmt: skip
        tag_store.tag_items(db, [ids[0], ids[2], ids[3]], ruleset, LATER)
    # the edited headline gets what the rules and model say of it now, and the analyst's tag
    title, published = HEADLINES[2]
    edited = classify(ItemText(title=title + " (updated)", published=published), ruleset)
    assert tags(db, ids[0]) == {}
    assert set(tags(db, ids[2])) == {PLAN} | {tag.id for tag in edited.initiatives}


def test_a_later_label_replaces_and_clear_restores_the_rules(db: Any, ruleset: RuleSet) -> None:
    ids = save(db, HEADLINES, ruleset)
    label_store.label_item(db, ids[0], ruleset, remove=[PLAN], note="first look", now=NOW)
    result = label_store.label_item(
        db, ids[0], ruleset, add=[PLAN, "minsk-agreements"], note="second look", now=LATER
    )
    assert result.tags == ("minsk-agreements", PLAN)
    assert [(lb.initiative_id, lb.verdict, lb.note, lb.disagrees) for lb in result.labels] == [
        ("minsk-agreements", "add", "second look", True),
        (PLAN, "add", "second look", False),
    ]
    assert len(labels(db)) == 2

    cleared = label_store.label_item(
        db, ids[0], ruleset, clear=["minsk-agreements", "jeddah-meeting-2023"], now=LATER
    )
    assert cleared.cleared == ("minsk-agreements",)
    assert cleared.not_labelled == ("jeddah-meeting-2023",)
    assert cleared.tags == (PLAN,)
    # the rules' own evidence again, with the analyst's agreement
    evidence = json.loads(tags(db, ids[0])[PLAN]["evidence"])
    assert evidence[0]["text"] == "28-point" and evidence[-1]["rule"] == "analyst: second look"
    label_store.label_item(db, ids[0], ruleset, clear=[PLAN], now=LATER)
    assert labels(db) == {}
    assert [e["field"] for e in json.loads(tags(db, ids[0])[PLAN]["evidence"])] == ["title"]


def test_unknown_ids_are_refused_and_nothing_is_written(db: Any, ruleset: RuleSet) -> None:
    ids = save(db, HEADLINES, ruleset)
    before = rows(db, "SELECT * FROM item_initiatives ORDER BY item_id, initiative_id")
    with pytest.raises(InputError) as error:
        label_store.label_item(db, ids[0], ruleset, add=[PLAN, "no-such-plan"],
                               remove=["minsk-agreements"], now=NOW)  # fmt: skip
    assert error.value.problems == [
        "--add no-such-plan: unknown initiative (`peacewatch initiatives` lists them)"
    ]
    with pytest.raises(InputError) as error:
        label_store.label_item(db, 9999, ruleset, add=[PLAN], remove=[PLAN], now=NOW)
    assert error.value.problems == [
        "item 9999: no such item",
        f"{PLAN}: both --add and --remove",
    ]
    with pytest.raises(InputError, match="--clear together"):
        label_store.label_item(db, ids[0], ruleset, add=[PLAN], clear=[PLAN], now=NOW)
    assert labels(db) == {}
    assert rows(db, "SELECT * FROM item_initiatives ORDER BY item_id, initiative_id") == before


def test_an_added_initiative_that_leaves_the_rules_stays_dormant(
    db: Any, ruleset: RuleSet, tmp_path: Path
) -> None:
    ids = save(db, HEADLINES, ruleset)
    label_store.label_item(db, ids[2], ruleset, add=["minsk-agreements"], now=NOW)
    text = (ROOT / "config" / "initiatives.toml").read_text(encoding="utf-8")
    start = text.index('[[initiative]]\nid = "minsk-agreements"')
    end = text.index("[[initiative]]", start + 10)
    (tmp_path / "initiatives.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    shutil.copy(ROOT / "config" / "tagging-model.npz", tmp_path)
    without = load_rules_file(tmp_path / "initiatives.toml")
    retagging.retag(db, without)
    assert tags(db, ids[2]) == {}  # no tag for an initiative that is not tracked
    assert (ids[2], "minsk-agreements") in labels(db)  # the judgement is kept
    retagging.retag(db, ruleset)
    assert set(tags(db, ids[2])) == {"minsk-agreements"}
    # clearing a label whose initiative is gone is allowed
    label_store.label_item(db, ids[2], without, clear=["minsk-agreements"], now=LATER)
    assert labels(db) == {}


def test_the_labels_migration_upgrades_a_tagged_database(tmp_path: Path, ruleset: RuleSet) -> None:
    """0007 needs only the tables of 0001-0004, so a database that has every other migration
    (in whatever order they were merged) is upgraded on open."""
    path = tmp_path / "old.db"
    old = store.Database(sqlite3.connect(path, isolation_level=None))
    [last] = [m for m in MIGRATIONS if m[0] == "0007_analyst_labels"]
    migrate(old, [m for m in MIGRATIONS if m is not last])
    assert "analyst_labels" not in old.table_names()
    old.conn.close()
    db = store.open_db(path)  # the old file, upgraded on open
    assert applied(db)[-1] == "0007_analyst_labels"
    store.ensure_outlet(db, "example", "Example News")
    ids = save(db, HEADLINES, ruleset)
    label_store.label_item(db, ids[0], ruleset, remove=[PLAN], now=NOW)
    assert tags(db, ids[0]) == {}
    other = [("0008_other", lambda d: None)]
    assert migrate(db, [*MIGRATIONS, *other]) == ["0008_other"]
    db.conn.close()


# -- candidates ----------------------------------------------------------------------------


def _initiative(ruleset: RuleSet, initiative_id: str) -> Any:
    return next(i for i in ruleset.initiatives if i.id == initiative_id)


def test_candidates_in_the_initiatives_window_newest_first(db: Any, ruleset: RuleSet) -> None:
    ruleset = dataclasses.replace(ruleset, model=None)  # the rules alone: they leave candidates
    framework = "us-ua-20pt-framework"  # started 2025-11-23, 3 days' slack, no end
    ids = save(
        db,
        [
            ("Ukraine weighs the 28-point plan", "2025-11-21T08:00:00+00:00"),  # another tag
            ("Kremlin: peace talks with Ukraine possible", "2025-11-25T10:00:00+00:00"),
            ("Zelensky: peace talks must include Europe", "2025-11-28T10:00:00+00:00"),
            ("Kyiv and Moscow discuss peace talks", "2025-11-10T10:00:00+00:00"),  # too early
            ("Local team wins the cup", "2025-11-26T10:00:00+00:00"),  # not relevant
            ("Ukraine peace talks resume", None),  # undated: first seen 2025-12-01
            ("Kremlin rejects peace talks with Ukraine", "2025-11-27T10:00:00+00:00"),
            ("Zelensky reveals details of the 20-point peace plan", "2025-11-30T10:00:00+00:00"),
        ],
        ruleset,
    )
    assert set(tags(db, ids[7])) == {framework}  # tagged: not a candidate
    label_store.label_item(db, ids[6], ruleset, remove=[framework], now=NOW)  # reviewed
    initiative = _initiative(ruleset, framework)
    assert initiative.end_date is None
    today = date(2025, 12, 1)
    assert label_store.candidate_window(initiative, 14, today) == (date(2025, 11, 20), None)
    found = label_store.candidates(db, initiative, days=14, today=today)
    assert [c.item_id for c in found] == [ids[5], ids[2], ids[1], ids[0]]
    assert found[0].published is None and found[0].day == "2025-12-01"
    assert found[1].as_dict()["title"] == "Zelensky: peace talks must include Europe"
    assert found[1].outlet == "Example News"
    assert found[3].initiatives == (PLAN,)
    # the last 4 days only
    recent = label_store.candidates(db, initiative, days=4, today=today)
    assert [c.item_id for c in recent] == [ids[5], ids[2]]
    assert len(label_store.candidates(db, initiative, days=14, today=today, limit=2)) == 2


def test_candidates_of_an_ended_initiative(db: Any, ruleset: RuleSet) -> None:
    minsk = _initiative(ruleset, "minsk-agreements")
    assert minsk.end_date is not None
    ids = save(
        db,
        [
            ("Merkel: Minsk agreements gave Ukraine time", "2022-02-20T09:00:00+00:00"),  # tagged
            ("Kremlin: peace talks with Ukraine possible", "2022-02-28T10:00:00+00:00"),
            ("Kremlin: peace talks with Ukraine stalled", "2022-04-10T10:00:00+00:00"),
            ("Kremlin: peace talks with Ukraine are over", "2014-08-01T10:00:00+00:00"),
        ],
        ruleset,
    )
    window = label_store.candidate_window(minsk, 30, date(2026, 1, 1))
    assert window == (minsk.earliest, date(2022, 3, 23))
    found = label_store.candidates(db, minsk, days=30, today=date(2026, 1, 1))
    assert [c.item_id for c in found] == [ids[1]]
    assert found[0].initiatives == ()


# -- surfaces ------------------------------------------------------------------------------


def _datasette_rows(ds: Any, path: str) -> list[dict[str, Any]]:
    async def go() -> Any:
        return await ds.client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, (path, response.text[:300])
    return list(response.json())


def test_datasette_shows_corrected_tags_and_the_disagreements(
    db: Any, ruleset: RuleSet, tmp_path: Path
) -> None:
    ids = save(db, HEADLINES, ruleset)
    corrected(db, ids, ruleset)
    ds = make_datasette(tmp_path / "pw.db", ROOT / "config" / "datasette.yml")
    try:
        tagged = _datasette_rows(ds, f"/pw/tagged_items.json?initiative_id={PLAN}&_shape=array")
        assert [r["item_id"] for r in tagged] == [ids[2]]
        details = _datasette_rows(ds, f"/pw/item_details.json?id={ids[0]}&_shape=array")
        assert json.loads(details[0]["initiatives"]) == []

        found = _datasette_rows(ds, "/pw/disagreements.json?_shape=array")
        by_item = {r["item_id"]: r for r in found}
        assert set(by_item) == {ids[0], ids[2]}
        removal, addition = by_item[ids[0]], by_item[ids[2]]
        assert (removal["verdict"], removal["initiative_id"], removal["note"]) == (
            "remove", PLAN, "an op-ed"
        )  # fmt: skip
        assert removal["title"] == "Ukraine weighs the 28-point plan"
        assert removal["url"] == "https://example.org/0"
        assert json.loads(removal["evidence"])[0]["text"] == "28-point"  # what the rules saw
        assert addition["initiative"].startswith("US 28-point")
        assert json.loads(addition["evidence"])[0]["rule"] == "analyst: the plan, unnamed"

        async def feed() -> Any:
            return await ds.client.get(f"/pw/initiative_feed.atom?initiative={PLAN}")

        atom = asyncio.run(feed()).text
        assert "Kremlin: peace talks with Ukraine possible" in atom
        assert "Ukraine weighs the 28-point plan" not in atom
    finally:
        for database in ds.databases.values():
            database.close()


def test_the_digest_shows_corrected_tags(db: Any, ruleset: RuleSet) -> None:
    ids = save(db, HEADLINES, ruleset)
    corrected(db, ids, ruleset)
    digest = build_digest(db, date(2025, 12, 1), None, "UTC")
    sections = {s.initiative_id: s for s in digest.sections}
    (entry,) = sections[PLAN].entries
    assert entry.item_id == ids[2]
    assert entry.evidence == "tagged by an analyst: the plan, unnamed"
    # the confirmed tag shows the rules' evidence
    (jeddah,) = sections["jeddah-meeting-2023"].entries
    assert jeddah.evidence.startswith("matched ")
    # the item whose tag was removed is general coverage now
    assert ids[0] in {e.item_id for e in digest.general}


def test_datasette_lists_the_tags_only_the_model_gave(
    db: Any, ruleset: RuleSet, tmp_path: Path
) -> None:
    # a real headline (a dev page of the corpus) that no rule tags and the model does
    truce = ("Putin Orders Cessation of Strikes on Energy Infrastructure in Ukraine",
             "2025-03-18T10:00:00+00:00")  # fmt: skip
    ids = save(db, [*HEADLINES, truce], ruleset)
    ds = make_datasette(tmp_path / "pw.db", ROOT / "config" / "datasette.yml")
    try:
        found = _datasette_rows(ds, "/pw/model_tags.json?initiative=&_shape=array")
        assert [(r["item_id"], r["initiative_id"]) for r in found] == [(ids[-1], "partial-truces")]
        (row,) = found
        assert ruleset.model is not None
        assert ruleset.model.threshold <= row["probability"] <= 1 and row["words"]  # (rounded)
        assert json.loads(row["evidence"])[0]["rule"].startswith("model ")
        other = _datasette_rows(ds, "/pw/model_tags.json?initiative=minsk-agreements&_shape=array")
        assert other == []
    finally:
        for database in ds.databases.values():
            database.close()


def test_datasette_lists_where_the_model_chose_between_the_rules_tags(
    db: Any, ruleset: RuleSet, tmp_path: Path
) -> None:
    # a real headline (a dev page of the corpus, newsmax.com, 7 December 2025) that the rules
    # give the US plan and its revision; the model keeps the revision
    draft = ("Trump 'Little Bit Disappointed' Zelenskyy Hasn't Read Latest Peace Draft",
             "2025-12-07T10:00:00+00:00")  # fmt: skip
    ids = save(db, [*HEADLINES, draft], ruleset)
    ds = make_datasette(tmp_path / "pw.db", ROOT / "config" / "datasette.yml")
    try:
        (row,) = _datasette_rows(ds, "/pw/model_choices.json?initiative=&_shape=array")
        assert (row["item_id"], row["kept"]) == (ids[-1], "us-ua-20pt-framework")
        kept, dropped = re.fullmatch(
            r"the model preferred it \((0\.\d\d)\) to us-28pt-plan \((0\.\d\d)\)", row["choice"]
        ).groups()  # fmt: skip
        assert ruleset.model is not None
        assert float(dropped) < ruleset.model.veto_ratio * float(kept)
        # found by the initiative kept and by the one dropped, not by another
        for initiative, count in (("us-ua-20pt-framework", 1), (PLAN, 1), ("minsk-agreements", 0)):
            url = f"/pw/model_choices.json?initiative={initiative}&_shape=array"
            assert len(_datasette_rows(ds, url)) == count
    finally:
        for database in ds.databases.values():
            database.close()
