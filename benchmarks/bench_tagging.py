"""Tagging speed: classification throughput and a full retag of a large real SQLite file.

    python benchmarks/bench_tagging.py                 # 200k classifications + 1M-item retag
    python benchmarks/bench_tagging.py --retag-items 100000 --classify-items 50000
    python benchmarks/bench_tagging.py --retag-items 200000 --classify-items 0 --workers 0,2

Targets (issue 3): >= 20,000 title+summary items/s on one core with the full shipped rule
set; retag of 1 million stored items in under 2 minutes.

The items: peace-related headlines are the labeled ones in tests/fixtures/tagging (English,
Ukrainian, Russian), each with a summary built from peace-talk sentences; general news comes
from the real feeds in ../shared/corpus/feeds (read with the standard library), or from
built-in sentences when that folder is absent. The "mixed" stream has 25% peace-related items,
a generous share for world-news feeds; "peace only" is the worst case, where every item
reaches rule evaluation and evidence.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import html
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from peacewatch import store
from peacewatch.store import retagging
from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import load_ruleset
from peacewatch.tagging.ruleset import RuleSet
from peacewatch.tagging.scan import _scan

ROOT = Path(__file__).resolve().parent.parent
HEADLINES = ROOT / "tests" / "fixtures" / "tagging" / "headlines.jsonl"
FEEDS = ROOT / ".." / "shared" / "corpus" / "feeds"

PEACE_SENTENCES = [
    "Officials in Kyiv and Moscow said negotiations on a ceasefire would continue next week.",
    "European leaders discussed security guarantees and the frozen Russian assets at Euroclear.",
    "The talks follow weeks of shuttle diplomacy by US envoys Witkoff and Kushner.",
    "Territory in Donbas and the Zaporizhzhia nuclear plant remain the main sticking points.",
    "Prisoner swaps and the return of deported children were also on the agenda.",
    "Переговори щодо припинення вогню продовжаться наступного тижня, заявили в Києві.",
    "В Кремле заявили, что мирный план требует доработки, а санкции должны быть сняты.",
]
GENERAL_SENTENCES = [
    "The central bank kept interest rates unchanged on Thursday, citing persistent inflation.",
    "Heavy rain caused flooding in several districts and disrupted train services.",
    "The company reported higher quarterly profits on strong demand for its new phones.",
    "Scientists say the new vaccine showed promising results in early trials.",
    "The team secured a late win to move into second place in the league table.",
    "Parliament approved the budget after a long debate over spending on schools.",
]


def general_items() -> list[tuple[str, str]]:
    """(title, summary) pairs from real feeds when available, else from built-in sentences."""
    found: list[tuple[str, str]] = []
    for path in sorted(FEEDS.glob("*")) if FEEDS.is_dir() else []:
        raw = path.read_bytes().decode("utf-8", "replace")
        for block in re.findall(r"<item[\s>].*?</item>|<entry[\s>].*?</entry>", raw, re.S):
            title = re.search(r"<title[^>]*>(.*?)</title>", block, re.S)
            summary = re.search(r"<(?:description|summary)[^>]*>(.*?)</(?:description|summary)>",
                                block, re.S)  # fmt: skip
            if not title:
                continue

            def clean(text: str) -> str:
                text = html.unescape(re.sub(r"<!\[CDATA\[|\]\]>", "", text))
                return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()

            found.append((clean(title.group(1)), clean(summary.group(1))[:400] if summary else ""))
    if found:
        return found
    rng = random.Random(1)
    return [
        (rng.choice(GENERAL_SENTENCES)[:60], " ".join(rng.sample(GENERAL_SENTENCES, 2)))
        for _ in range(500)
    ]


def peace_items() -> list[tuple[str, str, str | None]]:
    rng = random.Random(2)
    rows = [json.loads(line) for line in HEADLINES.read_text(encoding="utf-8").splitlines()]
    return [
        (row["title"], " ".join(rng.sample(PEACE_SENTENCES, 2)), row["published"]) for row in rows
    ]


def build_stream(count: int, peace_share: float, seed: int = 3) -> list[ItemText]:
    rng = random.Random(seed)
    peace = peace_items()
    general = general_items()
    items: list[ItemText] = []
    for _ in range(count):
        if rng.random() < peace_share:
            title, summary, published = rng.choice(peace)
            items.append(ItemText(title=title, summary=summary, published=published))
        else:
            title, summary = rng.choice(general)
            items.append(ItemText(title=title, summary=summary, published="2025-06-01"))
    return items


def bench_classify(ruleset: RuleSet, count: int, repeats: int, rules_only: bool = False) -> None:
    """Each stream is classified `repeats` times, each from a cold word memo; the best run
    is reported (as timeit does: slower runs measure other load on the machine, not the
    code), with the median beside it.

    The stream is built up front and frozen out of the garbage collector's view: holding
    200,000 input items alive made every full collection walk them, about 8% of the time,
    which `classify` on stdin and `retag` (batches of 1,000) never pay."""
    runs = [(False, "mixed (25% peace)", 0.25), (False, "peace only", 1.0)]
    if rules_only and ruleset.model is not None:  # the same streams without the model, beside
        runs += [(True, "mixed, rules only", 0.25), (True, "peace only, rules only", 1.0)]
    for without_model, label, share in runs:
        rules = dataclasses.replace(ruleset, model=None) if without_model else ruleset
        items = build_stream(count, share)
        chars = sum(len(i.title) + len(i.summary or "") for i in items) / len(items)
        gc.collect()
        gc.freeze()
        rates: list[float] = []
        for _ in range(repeats):
            rules.fresh_memo()  # start cold: the word memo fills during the run
            cpu = time.process_time()
            tagged = sum(bool(classify(item, rules).initiatives) for item in items)
            rates.append(count / (time.process_time() - cpu))
        gc.unfreeze()
        print(
            f"classify {label:23} {count:>9,} items ({chars:.0f} chars avg): "
            f"{max(rates):>7,.0f} items/s of CPU time, best of {repeats} "
            f"(median {statistics.median(rates):,.0f}); {tagged:,} tagged"
        )


def bench_scan(ruleset: RuleSet, count: int) -> None:
    """The text scan alone (normalize, tokenize, find pattern occurrences) on the worst case:
    what classify costs beyond it is rule evaluation and evidence."""
    items = build_stream(count, 1.0)
    weights = ruleset.field_weights
    cpu = time.process_time()
    for item in items:
        _scan("title", item.title, weights["title"], ruleset)
        _scan("summary", item.summary or "", weights["summary"], ruleset)
    cpu = time.process_time() - cpu
    print(f"scan only (peace only) {count:>9,} items: {count / cpu:>7,.0f} items/s of CPU time")


def fill_database(path: Path, count: int) -> None:
    """`count` items in the real schema (FTS triggers included), in bulk."""
    db = store.open_db(path)
    store.ensure_outlet(db, "bench", "Bench News")
    stream = build_stream(min(count, 200_000), 0.25, seed=4)
    with store.transaction(db):
        db.conn.executemany(
            """INSERT INTO items (title, title_key, url, canonical_url, published, summary,
               outlet_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, 'bench', ?, ?)""",
            (
                (
                    item.title, item.title.lower(), f"https://bench.example/{n}",
                    f"https://bench.example/{n}", item.published, item.summary,
                    "2025-06-01T00:00:00+00:00", "2025-06-01T00:00:00+00:00",
                )
                for n, item in ((n, stream[n % len(stream)]) for n in range(count))
            ),
        )  # fmt: skip
    db.conn.close()


def bench_retag(ruleset: RuleSet, count: int, batch_size: int, workers: list[int]) -> None:
    """The same filled file retagged once per entry of `workers` (0: in this process, as
    `peacewatch retag --workers 0`; N: N worker processes classify while this one writes),
    each run from the untagged state."""
    from peacewatch.ingest.parsepool import ParsePool

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        fill_database(path, count)
        print(f"retag: filled {count:,} items in {time.perf_counter() - start:.1f} s (untimed)")
        for n in workers:
            db = store.open_db(path)
            with store.transaction(db):  # back to untagged (untimed)
                for table in ("item_initiatives", "item_themes", "item_classification"):
                    db.execute(f"DELETE FROM {table}")
            ruleset.fresh_memo()
            pool = ParsePool(n) if n else None
            start, cpu = time.perf_counter(), time.process_time()
            report = retagging.retag(
                db, ruleset, batch_size=batch_size, submit=pool.submit if pool else None,
                ahead=2 * n,
            )  # fmt: skip
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            if pool is not None:
                pool.close()
            size = path.stat().st_size / 1e6
            db.conn.close()
            print(
                f"retag {report.items:,} stored items (batch {batch_size}, {n} worker processes): "
                f"{elapsed:.1f} s wall ({cpu:.1f} s CPU here), {report.items / elapsed:,.0f} "
                f"items/s; {report.tagged:,} tagged, {report.relevant:,} relevant; database "
                f"{size:,.0f} MB"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classify-items", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3, help="classify runs per stream")
    parser.add_argument("--retag-items", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--workers",
        default=f"0,{os.cpu_count() or 1}",
        help="retag runs, by worker processes: 0 classifies in this process (default: 0 and "
        "one per core, side by side)",
    )
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="also classify both streams without the [model] (its cost, side by side)",
    )
    args = parser.parse_args(argv)
    ruleset = load_ruleset(ROOT / "config")
    print(
        f"rules {ruleset.version}: {len(ruleset.initiatives)} initiatives, "
        f"{len(ruleset.themes)} themes, {len(ruleset.table.sources)} patterns"
    )
    if args.classify_items:
        bench_classify(ruleset, args.classify_items, args.repeats, args.rules_only)
        bench_scan(ruleset, args.classify_items)
    if args.retag_items:
        workers = [int(n) for n in args.workers.split(",")]
        bench_retag(ruleset, args.retag_items, args.batch_size, workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
