"""Write tests/fixtures/tagging/golden-classify.jsonl: inputs and full classification results.

    python scripts/make_tagging_golden.py

The golden file pins what the classifier returns (tags, scores, evidence, relevance) for the
labeled headlines (headlines.jsonl) and for the first 2,000 items of each benchmark stream
(duplicates dropped), with the shipped rules. tests/test_tagging_golden.py replays it, so a
speed-up of the matcher cannot silently change a result. Regenerate it only on purpose, when a
rule or matcher change is meant to alter results, and review the diff.

Each line: {"title", "summary", "published", "expect": Classification.as_dict()}. The inputs
are stored in the file, so the test needs neither the benchmark nor ../shared/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "fixtures" / "tagging" / "golden-classify.jsonl"
HEADLINES = ROOT / "tests" / "fixtures" / "tagging" / "headlines.jsonl"
STREAM_ITEMS = 2_000

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_tagging import build_stream  # noqa: E402


def inputs() -> list[ItemText]:
    items: list[ItemText] = []
    for line in HEADLINES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(
                ItemText(title=row["title"], summary=row.get("summary"), published=row["published"])
            )
    for share in (1.0, 0.25):  # the worst case and the mixed stream of the benchmark
        items.extend(build_stream(STREAM_ITEMS, share))
    unique: dict[tuple[str, str | None, str | None], ItemText] = {}
    for item in items:
        unique.setdefault((item.title, item.summary, item.published), item)
    return list(unique.values())


def main() -> int:
    ruleset = load_ruleset(ROOT / "config")
    lines = []
    for item in inputs():
        row = {"title": item.title, "summary": item.summary, "published": item.published}
        row["expect"] = classify(item, ruleset).as_dict()
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} items to {GOLDEN.relative_to(ROOT)} (rules {ruleset.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
