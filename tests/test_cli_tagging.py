"""`peacewatch classify`, `retag` and `initiatives` through click's runner, on real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from peacewatch import store
from peacewatch.cli import cli
from peacewatch.models import ParsedItem
from peacewatch.store import retagging
from peacewatch.store import tags as tag_store
from peacewatch.tagging.rules import load_ruleset
from support import rules_only

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
BROKEN = Path(__file__).parent / "fixtures" / "tagging" / "broken-rules.toml"


def invoke(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_classify_keeps_order_and_reports_bad_lines() -> None:
    stdin = "\n".join(
        [
            json.dumps({"title": "Ukraine weighs the 28-point plan", "published": "2025-11-21",
                        "url": "https://example.org/1"}),
            "not json",
            json.dumps({"title": "Local team wins the cup"}),
            json.dumps({"summary": "no title"}),
            "",
            json.dumps({"title": "Мінські домовленості мертві", "lang": "uk"}),
        ]
    )  # fmt: skip
    result = invoke("--config", str(CONFIG), "classify", stdin=stdin)
    assert result.exit_code == 1
    out = lines(result.stdout)
    assert len(out) == 5
    assert out[0]["url"] == "https://example.org/1"
    assert [t["id"] for t in out[0]["initiatives"]] == ["us-28pt-plan"]
    assert out[0]["initiatives"][0]["evidence"][0]["text"] == "28-point"
    assert out[0]["relevant"] is True
    assert out[1]["line"] == 2 and "error" in out[1]
    assert out[2]["initiatives"] == [] and out[2]["relevant"] is False
    assert out[3] == {"line": 4, "error": 'expected an object with a string "title"'}
    assert [t["id"] for t in out[4]["initiatives"]] == ["minsk-agreements"]
    assert out[4]["rules_version"] == load_ruleset(CONFIG).version
    assert "2 input line(s) could not be read" in result.stderr


def test_classify_with_a_trial_rule_file(tmp_path: Path) -> None:
    trial = tmp_path / "trial.toml"
    shutil.copy(CONFIG / "tagging-model.npz", tmp_path)  # the [model] file, beside the trial rules
    text = (CONFIG / "initiatives.toml").read_text(encoding="utf-8")
    # the analyst's trial: the 28-point name alone no longer suffices
    trial.write_text(text.replace("], weight = 2 },", "], weight = 0.5 },", 1), encoding="utf-8")
    stdin = json.dumps({"title": "The 28-point plan", "published": "2025-11-21"}) + "\n"
    shipped = lines(invoke("--config", str(CONFIG), "classify", stdin=stdin).stdout)
    tried = lines(invoke("--config", str(CONFIG), "classify", "--rules", str(trial),
                         stdin=stdin).stdout)  # fmt: skip
    assert shipped[0]["initiatives"] and not tried[0]["initiatives"]
    assert tried[0]["rules_version"] != shipped[0]["rules_version"]


def test_broken_rules_exit_2_with_every_problem(tmp_path: Path) -> None:
    shutil.copy(BROKEN, tmp_path / "initiatives.toml")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path), "classify"], input="")
    assert result.exit_code == 2
    assert (
        f"error: {tmp_path / 'initiatives.toml'}: initiative 'us-28pt-plan': "
        "'rules.terms[2].weight': expected a number, got \"high\""
    ) in result.stderr
    assert result.stderr.count("error: ") == 8


def test_retag_shows_progress_and_initiatives_lists_counts(tmp_path: Path) -> None:
    path = tmp_path / "pw.db"
    db = store.open_db(path)
    store.ensure_outlet(db, "example", "Example News")
    items = [
        ParsedItem(title=f"Merkel: Minsk agreements gave Ukraine time ({n})",
                   url=f"https://example.org/{n}", canonical_url=None,
                   published="2022-12-07T09:00:00+00:00")
        for n in range(30)
    ]  # fmt: skip
    with store.transaction(db):
        store.save_items(
            db, items, source_id=None, outlet_id="example", now="2025-01-01T00:00:00+00:00"
        )
    db.conn.close()

    result = invoke("--config", str(CONFIG), "--db", str(path), "retag", "--batch-size", "8")
    assert result.exit_code == 0
    assert "retagged 30 items" in result.stdout and "30 tagged, 30 relevant" in result.stdout
    assert "retagging" in result.stderr  # the progress bar
    again = invoke("--config", str(CONFIG), "--db", str(path), "retag", "--quiet")
    assert "retagged 0 items" in again.stdout

    listing = invoke("--config", str(CONFIG), "--db", str(path), "initiatives", "--json")
    counts = {row["id"]: row["items"] for row in lines(listing.stdout)}
    assert counts["minsk-agreements"] == 30 and counts["us-28pt-plan"] == 0
    assert set(counts) == {i.id for i in load_ruleset(CONFIG).initiatives}
    table = invoke("--config", str(CONFIG), "--db", str(path), "initiatives")
    row = next(line for line in table.stdout.splitlines() if line.startswith("minsk-agreements"))
    assert "2014-09-05 .. 2022-02-21" in row and " 30 " in row

    db = store.open_db(path)
    assert not retagging.needs_retag(db, load_ruleset(CONFIG))
    db.conn.close()


def test_retag_with_and_without_worker_processes_stores_the_same(tmp_path: Path) -> None:
    """`--workers 2` hands batches to two processes, `--workers 0` classifies here, the
    default one per core: the same counts and the same stored tags."""
    stored = []
    for workers in ("2", "0", None):
        path = tmp_path / f"pw-{workers}.db"
        db = store.open_db(path)
        store.ensure_outlet(db, "example", "Example News")
        items = [
            ParsedItem(title=f"{title} ({n})", url=f"https://example.org/{n}",
                       canonical_url=None, published=published)
            for n, (title, published) in enumerate([
                ("Merkel: Minsk agreements gave Ukraine time", "2022-12-07T09:00:00+00:00"),
                ("Ukraine weighs the 28-point plan", "2025-11-21T08:00:00+00:00"),
                ("Local team wins the cup", "2025-05-01T10:00:00+00:00"),
            ] * 7)
        ]  # fmt: skip
        with store.transaction(db):
            store.save_items(
                db, items, source_id=None, outlet_id="example", now="2025-01-01T00:00:00+00:00"
            )
        db.conn.close()
        option = ["--workers", workers] if workers is not None else []
        result = invoke("--config", str(CONFIG), "--db", str(path), "retag", "--quiet",
                        "--batch-size", "4", *option)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert "retagged 21 items" in result.stdout and "14 tagged" in result.stdout
        db = store.open_db(path)
        stored.append(db.execute("SELECT item_id, initiative_id, score, evidence "
                                 "FROM item_initiatives ORDER BY 1, 2").fetchall())  # fmt: skip
        db.conn.close()
    assert stored[0] == stored[1] == stored[2] and len(stored[0]) == 14


def test_retag_names_a_bad_workers_value(tmp_path: Path) -> None:
    result = invoke("--config", str(CONFIG), "--db", str(tmp_path / "pw.db"), "retag",
                    "--workers", "many")  # fmt: skip
    assert result.exit_code == 2
    assert "error: --workers: expected a number or 'auto', got 'many'" in result.stderr


def test_initiatives_without_a_database(tmp_path: Path) -> None:
    result = invoke("--config", str(CONFIG), "--db", str(tmp_path / "none.db"), "initiatives")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("us-28pt-plan")


def test_the_quick_start_output_in_the_docs_is_current() -> None:
    text = (ROOT / "docs" / "tagging.md").read_text(encoding="utf-8")
    command_input = text.split("$ echo '", 1)[1].split("'", 1)[0]
    documented = next(line for line in text.splitlines() if line.startswith('{"title"'))
    expected = json.loads(documented.replace('"rules_version": "..."', '"rules_version": null'))
    (actual,) = lines(invoke("--config", str(CONFIG), "classify", stdin=command_input).stdout)
    actual["rules_version"] = None
    assert actual == expected


def _labelled_db(tmp_path: Path) -> tuple[Path, list[int]]:
    path = tmp_path / "pw.db"
    db = store.open_db(path)
    store.ensure_outlet(db, "example", "Example News")
    items = [
        ParsedItem(title=title, url=f"https://example.org/{n}", canonical_url=None,
                   published=published)
        for n, (title, published) in enumerate([
            ("Ukraine weighs the 28-point plan", "2025-11-21T08:00:00+00:00"),
            ("Kremlin: peace talks with Ukraine possible", "2025-11-22T10:00:00+00:00"),
        ])
    ]  # fmt: skip
    with store.transaction(db):
        report = store.save_items(
            db, items, source_id=None, outlet_id="example", now="2025-11-22T12:00:00+00:00"
        )
        tag_store.tag_items(db, report.new, load_ruleset(CONFIG), "2025-11-22T12:00:00+00:00")
    db.conn.close()
    return path, list(report.new)


def _stored(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = store.open_db(path)
    try:
        return [tuple(row) for row in db.execute(sql).fetchall()]
    finally:
        db.conn.close()


def test_label_corrects_tags_and_reports_what_the_rules_said(tmp_path: Path) -> None:
    path, (plan, general) = _labelled_db(tmp_path)
    base = ["--config", str(CONFIG), "--db", str(path)]
    result = invoke(*base, "label", str(general), "--add", "us-28pt-plan",
                    "--note", "the plan, unnamed")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"item {general}: Kremlin: peace talks with Ukraine possible",
        "  add us-28pt-plan: the rules said no  (disagrees with the rules)",
        "tags now: us-28pt-plan",
    ]
    result = invoke(*base, "label", str(plan), "--remove", "us-28pt-plan", "--add",
                    "minsk-agreements", "--remove", "jeddah-meeting-2023")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "  remove us-28pt-plan: the rules said yes  (disagrees with the rules)" in result.stdout
    assert "  remove jeddah-meeting-2023: the rules said no" in result.stdout
    assert result.stdout.splitlines()[-1] == "tags now: minsk-agreements"
    assert _stored(path, "SELECT item_id, initiative_id FROM item_initiatives ORDER BY 1") == [
        (plan, "minsk-agreements"),
        (general, "us-28pt-plan"),
    ]
    result = invoke(*base, "label", str(plan), "--clear", "us-28pt-plan",
                    "--clear", "minsk-agreements", "--clear", "ua-peace-formula")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "  cleared us-28pt-plan" in result.stdout
    assert "no correction for ua-peace-formula" in result.stderr
    assert result.stdout.splitlines()[-1] == "tags now: us-28pt-plan"
    kept = _stored(path, "SELECT item_id, initiative_id, verdict FROM analyst_labels ORDER BY 1, 2")
    assert kept == [(plan, "jeddah-meeting-2023", "remove"), (general, "us-28pt-plan", "add")]


def test_label_refuses_bad_ids_with_status_2_and_writes_nothing(tmp_path: Path) -> None:
    path, (plan, _) = _labelled_db(tmp_path)
    base = ["--config", str(CONFIG), "--db", str(path)]
    before = _stored(path, "SELECT * FROM item_initiatives ORDER BY 1, 2")
    unknown_item = invoke(*base, "label", "999", "--add", "us-28pt-plan")
    assert unknown_item.exit_code == 2
    assert unknown_item.stderr == "error: item 999: no such item\n"
    unknown = invoke(*base, "label", str(plan), "--remove", "us-28pt-plan", "--add", "nope")
    assert unknown.exit_code == 2
    assert "error: --add nope: unknown initiative" in unknown.stderr
    assert invoke(*base, "label", str(plan)).exit_code == 2  # nothing asked
    assert invoke(*base, "label", "x", "--add", "us-28pt-plan").exit_code == 2
    note_alone = invoke(*base, "label", str(plan), "--clear", "us-28pt-plan", "--note", "n")
    assert note_alone.exit_code == 2
    assert _stored(path, "SELECT * FROM analyst_labels") == []
    assert _stored(path, "SELECT * FROM item_initiatives ORDER BY 1, 2") == before


def test_candidates_lists_relevant_untagged_items_in_the_window(tmp_path: Path) -> None:
    path, (_, general) = _labelled_db(tmp_path)
    base = ["--config", str(CONFIG), "--db", str(path)]
    # us-28pt-plan ran 2025-11-20 .. 2025-11-23 (3 days' slack before)
    listing = invoke(*base, "candidates", "--initiative", "us-28pt-plan", "--json")
    assert listing.exit_code == 0, listing.output
    assert [row["item_id"] for row in lines(listing.stdout)] == [general]
    (row,) = lines(listing.stdout)
    assert row["day"] == "2025-11-22" and row["outlet"] == "Example News"
    assert row["url"] == "https://example.org/1" and row["initiatives"] == []
    # nothing of 2025 is in the window of the Minsk agreements (ended 2022-02-21)
    assert invoke(*base, "candidates", "--initiative", "minsk-agreements").stdout == ""
    # the model's probability with the date's part: the words alone stay under the floor
    # (`words_threshold`), so the item is untagged even where the date lifts it over 0.7
    assert 0 < row["likelihood"] < 1
    text = invoke(*base, "candidates", "--initiative", "us-28pt-plan")
    assert text.stdout.split()[:4] == [
        str(general),
        "2025-11-22",
        f"{row['likelihood']:.2f}",
        "Example",
    ]
    likely = invoke(*base, "candidates", "--initiative", "us-28pt-plan", "--likely", "--json")
    assert [r["item_id"] for r in lines(likely.stdout)] == [general]
    # once an analyst decided, it is no longer a candidate
    invoke(*base, "label", str(general), "--remove", "us-28pt-plan")
    assert invoke(*base, "candidates", "--initiative", "us-28pt-plan").stdout == ""
    bad = invoke(*base, "candidates", "--initiative", "nope")
    assert bad.exit_code == 2 and "error: --initiative nope: unknown initiative" in bad.stderr


def test_candidates_without_a_model_have_no_likelihood(tmp_path: Path) -> None:
    path, (_, general) = _labelled_db(tmp_path)
    config = tmp_path / "rules-only"
    shutil.copytree(CONFIG, config)
    rules = config / "initiatives.toml"
    rules.write_text(rules_only(rules.read_text(encoding="utf-8")), encoding="utf-8")
    base = ["--config", str(config), "--db", str(path)]
    (row,) = lines(invoke(*base, "candidates", "--initiative", "us-28pt-plan", "--json").stdout)
    assert row["item_id"] == general and row["likelihood"] is None
    likely = invoke(*base, "candidates", "--initiative", "us-28pt-plan", "--likely")
    assert (
        likely.exit_code == 2 and "--likely: no tagging model knows us-28pt-plan" in likely.stderr
    )
