"""Evaluate the shipped rules against a labeled reading list (headline-level labels).

    python scripts/evaluate_tagging.py [LABELS.jsonl] [--config DIR] [--show-errors]

LABELS defaults to ../shared/reading-list-sample.labels.jsonl relative to the repository root.
Each line has `title`, `date` (YYYY-MM-DD or YYYY-MM) and `initiatives` (short label slugs,
mapped below to our initiative ids). Prints precision and recall per initiative and overall,
for all labels and for the labels not marked `hard`. Exit status 1 when the overall figures
miss the targets (precision >= 0.95, recall >= 0.90).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LABELS = ROOT / ".." / "shared" / "reading-list-sample.labels.jsonl"
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.90

# the reading list's short slugs -> our initiative ids
LABEL_TO_ID = {
    "us-28pt-plan": "us-28pt-plan",
    "us-ua-20pt": "us-ua-20pt-framework",
    "trilateral-2026": "trilateral-talks-2026",
    "coalition-of-willing": "coalition-of-willing",
    "alaska-2025": "alaska-summit-2025",
    "saudi-2025": "saudi-talks-2025",
    "riyadh-2025": "saudi-talks-2025",
    "partial-truces": "partial-truces",
    "istanbul-2025": "istanbul-talks-2025",
    "peace-formula": "ua-peace-formula",
    "burgenstock-2024": "burgenstock-summit-2024",
    "putin-terms-2024": "putin-terms-2024",
    "china-position-2023": "china-12pt",
    "brazil-china-2024": "brazil-china-6pt",
    "indonesia-2023": "indonesia-prabowo-2023",
    "jeddah-2023": "jeddah-meeting-2023",
    "african-mission-2023": "african-peace-mission-2023",
    "vatican-mission-2023": "vatican-zuppi-mission",
    "belarus-2022": "belarus-talks-2022",
    "antalya-2022": "antalya-meeting-2022",
    "istanbul-2022": "istanbul-communique-2022",
    "grain-deal": "black-sea-grain-initiative",
    "black-sea-grain": "black-sea-grain-initiative",
    "minsk": "minsk-agreements",
    "qatar-children": "qatar-children-mediation",
}


def map_label(slug: str, known: set[str]) -> str:
    if slug in LABEL_TO_ID:
        return LABEL_TO_ID[slug]
    if slug in known:  # already one of our ids
        return slug
    raise SystemExit(
        f"error: label {slug!r} has no mapping to an initiative id; add it to LABEL_TO_ID"
    )


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.2f}"


def evaluate(rows: list[dict], config_dir: Path, *, show_errors: bool) -> tuple[float, float]:
    ruleset = load_ruleset(config_dir)
    known = {i.id for i in ruleset.initiatives}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    easy_tp = easy_fn = 0
    for row in rows:
        expected = {map_label(s, known) for s in row.get("initiatives", [])}
        item = ItemText(title=row["title"], published=row.get("date"))
        got = {tag.id for tag in classify(item, ruleset).initiatives}
        for ident in got & expected:
            tp[ident] += 1
        for ident in got - expected:
            fp[ident] += 1
        for ident in expected - got:
            fn[ident] += 1
        if not row.get("hard"):
            easy_tp += len(got & expected)
            easy_fn += len(expected - got)
        if show_errors and got != expected:
            when = row.get("date")
            print(f"  MISMATCH {when} {row['title']!r}:")
            print(f"    expected {sorted(expected)}, got {sorted(got)}")

    print(f"rules version {ruleset.version}, {len(rows)} labeled headlines")
    print(f"{'initiative':32} {'tp':>3} {'fp':>3} {'fn':>3} {'prec':>5} {'recall':>6}")
    for ident in sorted(set(tp) | set(fp) | set(fn)):
        precision = ratio(tp[ident], tp[ident] + fp[ident])
        recall = ratio(tp[ident], tp[ident] + fn[ident])
        counts = f"{tp[ident]:3} {fp[ident]:3} {fn[ident]:3}"
        print(f"{ident:32} {counts} {fmt(precision)} {fmt(recall):>6}")
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = ratio(all_tp, all_tp + all_fp) or 0.0
    recall = ratio(all_tp, all_tp + all_fn) or 0.0
    print(f"{'OVERALL':32} {all_tp:3} {all_fp:3} {all_fn:3} {fmt(precision)} {fmt(recall):>6}")
    easy_recall = ratio(easy_tp, easy_tp + easy_fn)
    print(f"recall without labels marked hard: {fmt(easy_recall)}")
    print(f"targets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL}")
    return precision, recall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("labels", nargs="?", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    parser.add_argument(
        "--show-errors", action="store_true", help="print every mismatching headline"
    )
    args = parser.parse_args(argv)
    try:
        lines = args.labels.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        print(f"error: cannot read {args.labels}: {error.strerror}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in lines if line.strip()]
    precision, recall = evaluate(rows, args.config, show_errors=args.show_errors)
    return 0 if precision >= TARGET_PRECISION and recall >= TARGET_RECALL else 1


if __name__ == "__main__":
    sys.exit(main())
