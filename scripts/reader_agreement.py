"""How far two careful readers agree on the corpus's labels: the ceiling a tagger is held to.

    .venv/bin/python scripts/reader_agreement.py [--tagger] [--json]

`tests/fixtures/tagging/second-reader.jsonl` holds a second reader's labels for 400 pages drawn
at random from the corpus's dev half, given only what the tagger sees (headline, lead, date,
language, outlet) and the initiatives reference, never the first labels or notes. The script
scores the second reader against the corpus's labels as `peacewatch evaluate` scores the tagger
(precision, recall and F1 over initiative labels, the corpus as truth), per initiative, and
with `--tagger` the shipped rules and model on the same 400 pages beside it (dev pages: the
rules were written from them and the model trained on them, so that line is no estimate of
held-out quality, only a comparison on equal pages).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peacewatch.tagging.evaluation import Scores, evaluate, load_labelled
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tagging"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tagger", action="store_true", help="Score the shipped tagger too.")
    parser.add_argument("--json", action="store_true", help="All figures as one JSON object.")
    args = parser.parse_args()
    by_url = {item.url: item for item in load_labelled(FIXTURES / "corpus.jsonl", split="dev")}
    lines = (FIXTURES / "second-reader.jsonl").read_text(encoding="utf-8").splitlines()
    second = [json.loads(line) for line in lines]
    pages = [by_url[row["url"]] for row in second]
    overall, per, same = Scores(), dict[str, Scores](), 0
    for page, row in zip(pages, second, strict=True):
        found = frozenset(row["labels"])
        same += page.labels == found
        for ident in page.labels | found:
            for scores in (overall, per.setdefault(ident, Scores())):
                if ident not in found:
                    scores.fn += 1
                elif ident not in page.labels:
                    scores.fp += 1
                else:
                    scores.tp += 1
    figures = {
        "pages": len(pages),
        "same_labels": same,
        "second_reader": overall.as_dict(),
        "initiatives": {k: v.as_dict() for k, v in sorted(per.items())},
    }
    tagger = evaluate(pages, load_ruleset(ROOT / "config")).overall if args.tagger else None
    if tagger is not None:
        figures["tagger_on_the_same_dev_pages"] = tagger.as_dict()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{len(pages)} dev pages, the same labels on {same}; second reader against the corpus: "
        f"P {overall.precision:.3f} R {overall.recall:.3f} F1 {overall.f1:.3f}"
    )
    for ident, scores in sorted(per.items()):
        print(f"  {ident:28} both {scores.tp:3}  corpus only {scores.fn:3}  "
              f"second reader only {scores.fp:3}")  # fmt: skip
    if tagger is not None:
        print(
            f"the shipped tagger on the same pages (dev: its rules' source and its model's "
            f"training pages): P {tagger.precision:.3f} R {tagger.recall:.3f} F1 {tagger.f1:.3f}"
        )


if __name__ == "__main__":
    main()
