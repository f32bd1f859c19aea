"""Benchmark `peacewatch export` on a large database.

Builds (or with --keep reuses) the 1,000,000-item database of bench_surfaces.py: items over
400 days with initiatives, themes, classification and sources. Then exports it in each format
into a fresh directory and prints the time, the files, their size and peak memory, and checks
with DuckDB that every item is in the export once.

Target: 1,000,000 items exported in under 60 s (each format).

    .venv/bin/python benchmarks/bench_export.py                 # 1M items, ~3 minutes
    .venv/bin/python benchmarks/bench_export.py --keep --formats parquet
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from bench_surfaces import build  # noqa: E402
from peacewatch import store  # noqa: E402
from peacewatch.surfaces.export import FORMATS, export_store  # noqa: E402

TARGET_S = 60.0


def count_with_duckdb(directory: Path, fmt: str) -> tuple[int, int]:
    import duckdb

    reader = {
        "parquet": "read_parquet('{}')",
        "csv": "read_csv('{}', header=true)",
        "jsonl": "read_json('{}', format='newline_delimited')",
    }[fmt].format(directory / f"items-*.{fmt}")
    with duckdb.connect() as con:
        row = con.execute(f"SELECT count(*), count(DISTINCT id) FROM {reader}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=HERE / "out" / "surfaces.db")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "export")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it exists")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if not (args.keep and args.db.exists()):
        built = build(args.db, args.items)
        print(f"built {args.items:,} items in {built['total_s']:.1f} s -> {args.db}")
    with sqlite3.connect(args.db) as conn:
        items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    failures = 0
    results = []
    for fmt in args.formats:
        out = args.out / fmt
        shutil.rmtree(out, ignore_errors=True)
        db = store.open_db(args.db)
        try:
            started = time.perf_counter()
            report = export_store(db, out, fmt=fmt)
            seconds = time.perf_counter() - started
        finally:
            db.conn.close()
        size = sum(path.stat().st_size for path in report.files) / 1e6
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results.append((fmt, out, report, seconds, size, peak))
    print(f"\n{'format':8} {'items':>10} {'seconds':>8} {'items/s':>9} {'files':>6} "
          f"{'MB':>8} {'peak RSS MB':>12} {'duckdb rows':>12}")  # fmt: skip
    for fmt, out, report, seconds, size, peak in results:
        rows, distinct = count_with_duckdb(out, fmt)  # after every export: not in the peaks
        ok = report.items == items == rows == distinct and seconds < TARGET_S
        failures += not ok
        print(f"{fmt:8} {report.items:>10,} {seconds:>8.1f} {report.items / seconds:>9,.0f} "
              f"{len(report.files):>6} {size:>8.1f} {peak:>12.0f} {rows:>12,}"
              f"{'' if ok else '  FAILED (target < 60 s, every item once)'}")  # fmt: skip
    built_here = "" if args.keep else ", the database build included"
    print(f"(peak RSS: the process's high-water mark after that export{built_here})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
