"""Scoring the rules: the evaluation module, the shipped real corpus and `peacewatch evaluate`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from peacewatch import store
from peacewatch.cli import cli
from peacewatch.errors import ConfigError
from peacewatch.models import ParsedItem
from peacewatch.store import labels as label_store
from peacewatch.store import tags as tag_store
from peacewatch.tagging.evaluation import Labelled, evaluate, load_labelled, split_of
from peacewatch.tagging.rules import load_ruleset
from peacewatch.tagging.ruleset import RuleSet

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "tagging" / "corpus.jsonl"
NOW = "2025-12-01T12:00:00+00:00"


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_ruleset(ROOT / "config")


def corpus_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def test_the_corpus_is_real_labelled_coverage_with_provenance(shipped: RuleSet) -> None:
    rows = corpus_rows()
    known = {i.id for i in shipped.initiatives}
    assert len(rows) >= 800
    assert len({row["url"] for row in rows}) == len(rows)
    for row in rows:
        assert row["url"].startswith(("http://", "https://")), row
        assert row["outlet"] and row["title"] and row["language"] and row["note"], row
        assert set(row["labels"]) <= known, row
        assert (row["trap"] is None) == bool(row["labels"]), row
        assert row["title_source"] in {"page", "url-slug"}, row
        assert row["published"] is None or len(row["published"]) == 10, row
    positives = Counter(label for row in rows for label in row["labels"])
    assert len(positives) == len(known)
    assert sum(count >= 25 for count in positives.values()) >= 12
    assert min(positives.values()) >= 10
    cyrillic = sum(row["language"] in {"uk", "ru"} for row in rows)
    assert cyrillic / len(rows) >= 0.30
    assert sum(not row["labels"] for row in rows) >= 250
    languages = Counter(row["language"] for row in rows if row["labels"])
    assert all(languages[lang] >= 10 for lang in ("de", "fr", "es", "it", "pt", "pl"))


def test_the_split_is_fixed_by_the_url_hash() -> None:
    rows = corpus_rows()
    assert all(row["split"] == split_of(row["url"]) for row in rows)
    halves = Counter(row["split"] for row in rows)
    assert set(halves) == {"dev", "heldout"} and min(halves.values()) > len(rows) * 0.4
    assert len(load_labelled(CORPUS, split="dev")) == halves["dev"]


def test_the_second_readers_labels_are_of_dev_pages_and_known_initiatives(
    shipped: RuleSet,
) -> None:
    """scripts/reader_agreement.py: a second reader's labels for 400 dev pages, to measure how
    far two readers agree. Held-out pages are never shown to anyone, so none may be here."""
    by_url = {row["url"]: row for row in corpus_rows()}
    path = CORPUS.with_name("second-reader.jsonl")
    second = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    known = {i.id for i in shipped.initiatives}
    assert len(second) == 400 and len({row["url"] for row in second}) == 400
    for row in second:
        assert by_url[row["url"]]["split"] == "dev", row
        assert set(row["labels"]) <= known and row["note"], row
    # the script counts every label of either reader once: the corpus's as found or missed, the
    # second reader's as found or extra
    script = ROOT / "scripts" / "reader_agreement.py"
    run = subprocess.run(
        [sys.executable, str(script), "--json"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)["second_reader"]
    assert figures["tp"] + figures["fn"] == sum(len(by_url[r["url"]]["labels"]) for r in second)
    assert figures["tp"] + figures["fp"] == sum(len(r["labels"]) for r in second)


def test_a_collection_round_can_be_scored_alone() -> None:
    rows = corpus_rows()
    rounds = Counter((row["round"], row["split"]) for row in rows)
    latest = max(row["round"] for row in rows)
    fresh = load_labelled(CORPUS, split="heldout", collection_round=latest)
    assert len(fresh) == rounds[(latest, "heldout")] > 0
    assert {item.collection_round for item in fresh} == {latest}
    result = CliRunner().invoke(
        cli, ["evaluate", "--split", "heldout", "--round", str(latest), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"] == len(fresh)


def test_scores_per_initiative_traps_and_errors(shipped: RuleSet) -> None:
    items = [
        Labelled("Zelensky and Witkoff discuss the 28-point plan", frozenset({"us-28pt-plan"})),
        Labelled("Ukraine weighs its options", frozenset({"us-28pt-plan"})),  # a miss
        Labelled("Hamas responds to Trump's 20-point plan for Gaza", frozenset(), trap="gaza"),
        Labelled("Minsk agreements are dead, says Kremlin", frozenset(), trap="wrong"),  # a hit
    ]
    report = evaluate(items, shipped)
    plan = report.per_initiative["us-28pt-plan"]
    assert (plan.tp, plan.fp, plan.fn) == (1, 0, 1)
    assert plan.precision == 1.0 and plan.recall == 0.5 and plan.f1 == pytest.approx(2 / 3)
    assert report.traps == {"gaza": (1, 0), "wrong": (1, 1)}
    kinds = sorted((e.kind, e.initiative) for e in report.errors)
    assert kinds == [("false hit", "minsk-agreements"), ("missed", "us-28pt-plan")]
    assert report.overall.tp == 1 and report.overall.fp == 1 and report.overall.fn == 1


def test_title_only_and_undated_runs(shipped: RuleSet) -> None:
    item = Labelled(
        "What Kyiv can accept",
        frozenset({"us-28pt-plan"}),
        lead="The 28-point plan drafted by Witkoff and Dmitriev",
        published="2025-11-21",
    )
    assert evaluate([item], shipped).overall.tp == 1
    # the rules alone miss the bare headline (the model, from its date, may not)
    assert evaluate([item], replace(shipped, model=None), with_lead=False).overall.fn == 1
    assert evaluate([item], shipped, dated=False).overall.tp == 1  # a date-free name


def test_an_analyst_label_is_scored_on_the_judged_initiative_only(shipped: RuleSet) -> None:
    item = Labelled(
        "Minsk agreements and the 28-point plan",
        frozenset(),
        published="2025-11-21",
        judged=frozenset({"minsk-agreements"}),
    )
    report = evaluate([item], shipped)
    assert report.per_initiative["minsk-agreements"].fp == 1
    assert report.per_initiative["us-28pt-plan"].fp == 0  # not judged: not counted
    assert report.traps == {}


def test_unknown_labels_and_broken_lines_are_clear_errors(shipped: RuleSet, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown initiative no-such-plan"):
        evaluate([Labelled("x", frozenset({"no-such-plan"}), url="https://x.example/1")], shipped)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"title": "ok", "labels": []}\n{not json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.jsonl:2: not JSON"):
        load_labelled(broken)


def test_evaluate_command_scores_the_corpus_and_analyst_labels(
    tmp_path: Path, shipped: RuleSet
) -> None:
    corpus = tmp_path / "labels.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {
                    "title": "Ukraine weighs Trump's 28-point peace plan",
                    "published": "2025-11-21",
                    "labels": ["us-28pt-plan"],
                    "url": "https://a.example/1",
                },
                {
                    "title": "Hamas responds to Trump's 20-point plan for Gaza",
                    "published": "2025-10-03",
                    "labels": [],
                    "trap": "gaza",
                    "url": "https://a.example/2",
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    db_path = tmp_path / "p.db"
    db = store.open_db(db_path)
    item = ParsedItem(
        title="Kremlin studies the proposal",
        url="https://b.example/1",
        canonical_url=None,
        published="2025-11-21T10:00:00+00:00",
    )
    with store.transaction(db):
        store.ensure_outlet(db, "example", "Example News")
        report = store.save_items(db, [item], source_id=None, outlet_id="example", now=NOW)
    [item_id] = report.new
    with store.transaction(db):
        tag_store.tag_items(db, [item_id], shipped, NOW)
    label_store.label_item(db, item_id, shipped, add=["us-28pt-plan"], now=NOW)
    db.close()
    runner = CliRunner()
    args = ["--config", str(ROOT / "config"), "--db", str(db_path), "evaluate"]
    # the rules alone: the model, from the date, also finds the analyst's item
    result = runner.invoke(cli, [*args, "--corpus", str(corpus), "--json", "--rules-only"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["items"] == 3
    plan = report["initiatives"]["us-28pt-plan"]
    assert plan["tp"] == 1 and plan["fn"] == 1  # the analyst added what the rules missed
    assert report["traps"] == {"gaza": {"negatives": 1, "fired": 0}}
    text = runner.invoke(cli, [*args, "--corpus", str(corpus), "--show-errors", "--rules-only"])
    assert text.exit_code == 0
    assert "precision" in text.output and "missed" in text.output
    assert "Kremlin studies the proposal" in text.output
    shipped_run = runner.invoke(cli, [*args, "--split", "heldout", "--title-only"])
    assert shipped_run.exit_code == 0 and "heldout, title only" in shipped_run.output
