"""Classification results are pinned: tags, scores, evidence and relevance for 1,111 items.

The golden file was written by scripts/make_tagging_golden.py from the classifier before its
speed-ups, so any optimisation of the matcher must reproduce it exactly. Regenerate it only
when a rule or matcher change is meant to alter results (and review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "fixtures" / "tagging" / "golden-classify.jsonl"


def golden() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line]


def test_golden_file_covers_labeled_and_benchmark_items() -> None:
    rows = golden()
    assert len(rows) > 1000
    assert sum(bool(row["expect"]["initiatives"]) for row in rows) > 250
    assert sum(bool(row["expect"]["themes"]) for row in rows) > 200
    assert any(row["expect"]["relevant"] and not row["expect"]["initiatives"] for row in rows)


def test_classification_matches_golden_file_cold_and_warm() -> None:
    ruleset = load_ruleset(ROOT / "config")  # a fresh word memo: the first pass fills it
    rows = golden()
    for run in ("cold", "warm"):
        wrong = []
        for row in rows:
            item = ItemText(title=row["title"], summary=row["summary"], published=row["published"])
            got = classify(item, ruleset).as_dict()
            if got != row["expect"]:
                wrong.append((row["title"], got, row["expect"]))
        assert not wrong, f"{run}: {len(wrong)} differ, first: {wrong[0]}"
