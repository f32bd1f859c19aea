"""How far two careful readers agree on the corpus's labels: the ceiling a tagger is held to.

    .venv/bin/python scripts/reader_agreement.py [--tagger] [--json]

`tests/fixtures/tagging/second-reader.jsonl` holds a second reader's labels for 400 pages drawn
at random from the corpus's dev half, given only what the tagger sees (headline, lead, date,
language, outlet) and the initiatives reference, never the first labels or notes. The script
scores the second reader against the corpus's labels as the tagger is scored (precision,
recall and F1 over initiative labels, the corpus as truth), per initiative, and with
`--tagger` the shipped rules and model on the same 400 pages beside it (dev pages: the rules
were written from them and the model trained on them, so that line is no estimate of held-out
quality, only a comparison on equal pages).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tagging"


def scores(pairs: list[tuple[frozenset[str], frozenset[str]]]) -> dict[str, float]:
    """Precision, recall and F1 of `found` against `truth` over every (truth, found) pair."""
    tp = sum(len(t & f) for t, f in pairs)
    fp = sum(len(f - t) for t, f in pairs)
    fn = sum(len(t - f) for t, f in pairs)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagger", action="store_true", help="Score the shipped tagger too.")
    parser.add_argument("--json", action="store_true", help="All figures as one JSON object.")
    args = parser.parse_args()
    corpus = {}
    for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus[row["url"]] = row
    second = [
        json.loads(line) for line in (FIXTURES / "second-reader.jsonl").open(encoding="utf-8")
    ]
    rows = [(corpus[s["url"]], frozenset(s["labels"])) for s in second]
    readers = [(frozenset(row["labels"]), labels) for row, labels in rows]
    figures: dict[str, object] = {
        "pages": len(rows),
        "same_labels": sum(t == f for t, f in readers),
        "second_reader": scores(readers),
    }
    per: dict[str, Counter[str]] = {}
    for truth, found in readers:
        for ident in truth | found:
            count = per.setdefault(ident, Counter())
            side = "corpus" if ident not in found else "second" if ident not in truth else "both"
            count[side] += 1
    figures["initiatives"] = {k: dict(v) for k, v in sorted(per.items())}
    if args.tagger:
        ruleset = load_ruleset(ROOT / "config")
        tagged = [
            frozenset(
                t.id
                for t in classify(
                    ItemText(title=row["title"], summary=row["lead"], published=row["published"]),
                    ruleset,
                ).initiatives
            )
            for row, _ in rows
        ]
        figures["tagger_on_the_same_dev_pages"] = scores(
            [
                (frozenset(row["labels"]), found)
                for (row, _), found in zip(rows, tagged, strict=True)
            ]
        )
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    s = figures["second_reader"]
    assert isinstance(s, dict)
    print(
        f"{figures['pages']} dev pages, the same labels on {figures['same_labels']}; second reader "
        f"against the corpus: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}"
    )
    for ident, count in per.items():
        print(f"  {ident:28} both {count['both']:3}  corpus only {count['corpus']:3}  "
              f"second reader only {count['second']:3}")  # fmt: skip
    if args.tagger:
        t = figures["tagger_on_the_same_dev_pages"]
        assert isinstance(t, dict)
        print(
            f"the shipped tagger on the same pages (dev: its rules' source and its model's "
            f"training pages): P {t['precision']:.3f} R {t['recall']:.3f} F1 {t['f1']:.3f}"
        )


if __name__ == "__main__":
    main()
