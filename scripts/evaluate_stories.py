"""Story clustering on the labelled events: pairwise precision and recall within a language
and across languages, and B-cubed F1, on the dev and held-out halves and on the held-out
events of each collection round after the first on their own (`rounds.json`).

    .venv/bin/python scripts/evaluate_stories.py [--errors] [--json] [--stress]
    .venv/bin/python scripts/evaluate_stories.py --calibrate [--sweep=-3,-2.5,-2]

`--errors` lists the false merges and misses of the dev half only: settings are tuned on dev,
and the held-out half's errors are not read. `--stress` scores the dev half once more with
every event moved onto one day (`evaluation.onto_one_day`): only evidence keeps events apart,
and its false merges are the ones a busier news day would bring (listed with `--errors`).
`--calibrate` fits the weights of the evidence on dev (with the stress test's pairs of
different events as negatives) and prints them as `cluster.WEIGHTS`; with `--sweep` it also
clusters dev and dev on one day with those weights at each threshold given. Neither reads the
held-out half.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peacewatch.stories.aliases import load_aliases
from peacewatch.stories.calibration import fit, pairs
from peacewatch.stories.cluster import Settings
from peacewatch.stories.evaluation import (
    evaluate,
    half,
    initiatives_of,
    load_rounds,
    load_rows,
    onto_one_day,
    score,
)
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "stories"
LABELLED = FIXTURES / "labelled.jsonl"
ROUNDS = FIXTURES / "rounds.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="List dev's false merges and misses.")
    parser.add_argument("--json", action="store_true", help="All figures as one JSON object.")
    parser.add_argument(
        "--untagged", action="store_true", help="Cluster without the rules' initiative tags."
    )
    parser.add_argument(
        "--stress", action="store_true", help="Also score dev with every event on one day."
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="Fit the weights on dev and print them."
    )
    parser.add_argument("--negative-weight", type=float, default=4.0, metavar="N")
    parser.add_argument("--l2", type=float, default=0.3, metavar="L")
    parser.add_argument("--sweep", metavar="T,T,...", help="With --calibrate: thresholds.")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.negative_weight, args.l2, args.sweep)
        return
    ruleset = None if args.untagged else load_ruleset(ROOT / "config")
    rounds = load_rounds(ROUNDS)
    fresh = {  # every later round's held-out events on their own (round 1's were read)
        f"held-out, round {n}": [e for e in rounds[n] if half(e) == "held-out"]
        for n in sorted(rounds, key=int)
        if int(n) > 1
    }
    rows, aliases = load_rows(LABELLED), load_aliases(ROOT / "config")
    figures = evaluate(rows, aliases, ruleset=ruleset, subsets=fresh)
    if args.stress:
        dev = [r for r in rows if half(r.event) == "dev"]
        tags = [initiatives_of(r, ruleset) for r in dev]  # as tagged on their own dates
        figures["dev, one day"] = score(onto_one_day(dev), aliases, tags=tags)
    for name, f in figures.items():
        if not name.startswith("dev") or not args.errors:
            del f["errors"]  # held-out errors are never shown
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for name, f in figures.items():
        w, a = f["within"], f["across"]
        print(
            f"{name}: {f['rows']} reports, {f['events']} events ({f['events_3_plus']} with 3+);"
            f" within a language P {w['precision']:.3f} R {w['recall']:.3f} ({w['pairs']} pairs);"
            f" across P {a['precision']:.3f} R {a['recall']:.3f} ({a['pairs']} pairs);"
            f" B-cubed F1 {f['bcubed_f1']:.3f}"
        )
        for e in f.get("errors", []):
            print(f"  {e['kind']}: [{e['a_event']}] {e['a']}\n      [{e['b_event']}] {e['b']}")


def calibrate(negative_weight: float, l2: float, sweep: str | None) -> None:
    """Fit the weights on dev (and dev on one day's pairs of different events) and print
    them; with `sweep`, dev's and the stress test's figures at each threshold."""
    ruleset, aliases = load_ruleset(ROOT / "config"), load_aliases(ROOT / "config")
    dev = [r for r in load_rows(LABELLED) if half(r.event) == "dev"]
    tags = [initiatives_of(r, ruleset) for r in dev]
    found = pairs(dev, aliases, tags)
    found += [p for p in pairs(onto_one_day(dev), aliases, tags) if not p.same]
    weights = fit(found, negative_weight=negative_weight, l2=l2)
    print(f"{len(found)} pairs, {sum(p.same for p in found)} of one event")
    print("WEIGHTS = (" + ", ".join(f'("{k}", {v:.2f})' for k, v in weights.items()) + ")")
    for threshold in [float(t) for t in sweep.split(",")] if sweep else []:
        settings = Settings(weights=tuple(weights.items()), threshold=threshold)
        print(f"threshold {threshold}: " + "; ".join(
            _line(name, score(part, aliases, settings, tags=tags))
            for name, part in (("dev", dev), ("dev, one day", onto_one_day(dev)))
        ))  # fmt: skip


def _line(name: str, f: dict) -> str:
    w, a = f["within"], f["across"]
    return (
        f"{name} within P {w['precision']:.3f} R {w['recall']:.3f}, across P"
        f" {a['precision']:.3f} R {a['recall']:.3f}, B-cubed F1 {f['bcubed_f1']:.3f}"
    )


if __name__ == "__main__":
    main()
