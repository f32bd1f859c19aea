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
from peacewatch.store import tags as tag_store
from peacewatch.tagging.rules import load_ruleset

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
    assert not tag_store.needs_retag(db, load_ruleset(CONFIG))
    db.conn.close()


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
