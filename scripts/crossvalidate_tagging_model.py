"""Choose the [model] threshold without the held-out half: k-fold cross-validation on dev.

    python scripts/crossvalidate_tagging_model.py                # 5 folds, thresholds 0.4-0.9
    python scripts/crossvalidate_tagging_model.py --folds 3 --thresholds 0.5 0.6
    python scripts/crossvalidate_tagging_model.py --thresholds 0.65 --veto-ratios 0.2 0.35 0.5

The dev half of tests/fixtures/tagging/corpus.jsonl is cut into k folds by a hash of the URL;
for each fold a model is trained on the other folds (as `peacewatch train-model` does) and the
shipped rules with that model score the fold, once per threshold. The rules were written from
the dev half, so the rules alone score higher here than on pages nobody has read: what matters
is how much each threshold adds to them (recall) and costs (precision, trap fires).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from peacewatch.tagging.evaluation import evaluate, load_labelled  # noqa: E402
from peacewatch.tagging.model import dump_model, load_model  # noqa: E402
from peacewatch.tagging.rules import load_ruleset  # noqa: E402
from peacewatch.tagging.training import train_model  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "tagging" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--thresholds", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    parser.add_argument("--title-only", action="store_true", help="score the headline alone")
    parser.add_argument(
        "--veto-ratios", type=float, nargs="*", default=[],
        help="also score these [model] veto_ratio values, at the first threshold",
    )  # fmt: skip
    args = parser.parse_args()

    ruleset = load_ruleset(args.config)
    assert ruleset.model is not None, "the rules have no [model] table"
    classes = [initiative.id for initiative in ruleset.initiatives]
    dev = load_labelled(CORPUS, split="dev")

    def fold(url: str | None) -> int:
        return hashlib.sha256(f"fold:{url}".encode()).digest()[0] % args.folds

    rows: dict[str, list[int]] = {}  # setting -> [tp, fp, fn, trap fires, negatives]
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.folds):
            train = [item for item in dev if fold(item.url) != k]
            test = [item for item in dev if fold(item.url) == k]
            path = Path(tmp) / f"fold{k}.npz"
            dump_model(train_model(train, classes), path)
            model = load_model(path)
            settings = [("rules alone", replace(ruleset, model=None))]
            for threshold in args.thresholds:
                chosen = replace(ruleset.model, model=model, threshold=threshold)
                settings.append((f"threshold {threshold:.2f}", replace(ruleset, model=chosen)))
            for ratio in args.veto_ratios:
                chosen = replace(
                    ruleset.model, model=model, threshold=args.thresholds[0], veto_ratio=ratio
                )
                settings.append((f"veto_ratio {ratio:.2f}", replace(ruleset, model=chosen)))
            for name, rules in settings:
                report = evaluate(test, rules, with_lead=not args.title_only)
                total = rows.setdefault(name, [0, 0, 0, 0, 0])
                total[0] += report.overall.tp
                total[1] += report.overall.fp
                total[2] += report.overall.fn
                total[3] += sum(fired for _, fired in report.traps.values())
                total[4] += sum(negatives for negatives, _ in report.traps.values())
            print(f"fold {k + 1}/{args.folds}: trained on {len(train)}, scored {len(test)}")
    fields = "the headline alone" if args.title_only else "headline and lead"
    print(f"\n{len(dev)} dev pages, {args.folds}-fold, {fields}")
    print(f"{'setting':16} {'P':>6} {'R':>6} {'F1':>6}  negatives tagged")
    for name, (tp, fp, fn, fired, negatives) in rows.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{name:16} {precision:6.3f} {recall:6.3f} {f1:6.3f}  {fired} of {negatives}")


if __name__ == "__main__":
    main()
