"""Ingestion benchmark (issue: ingestion core).

Serves N synthetic feeds of 50 items from a loopback server in its own process and measures:
1. cold ingest of 200 feeds, end to end (fetch, parse, dedup, store), in items per second,
   against feedparser alone parsing the same bytes in the same run (target: within 1.3x);
2. revalidation of 1,000 unchanged feeds, all answered 304 (target: under 2 s wall);
3. peak RSS of `peacewatch run --once` over 1,000 sources, as a real process (target < 150 MB);
4. (--corpus, on by default when the shared corpus is there) 600 feeds made from the real
   feeds in ../shared/corpus/feeds (served from there, never copied), peacewatch and reader
   (the PyPI package, from the `bench` extra) side by side in the same run, each as whole
   processes: cold ingest, then revalidation of the 600 unchanged feeds (targets:
   revalidation >= 3x faster than reader with 8 workers; cold ingest <= 1.3x feedparser
   alone on the same bytes), and peacewatch's revalidation at several concurrencies.

Run: make bench  (or .venv/bin/python benchmarks/bench_ingest.py [--corpus-only])
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import feedparser
import httpx

from peacewatch import store
from peacewatch.config import load_config
from peacewatch.ingest.fetch import Fetcher
from peacewatch.pipeline import Runtime, make_parse_pool, run_cycle, select_sources

HERE = Path(__file__).parent
BENCH_HTTP = (
    '[http]\nuser_agent = "peacewatch-bench (+https://example.org/contact)"\n'
    "concurrency = 8\nper_host = 8\nhost_gap = 0\n"
)


CORPUS = HERE.parent.parent / "shared" / "corpus" / "feeds"
READER_SCRIPT = """
import sys, time
from reader import make_reader
db, port, count, workers, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "cold"
r = make_reader(db)
if cold:
    for n in range(count):
        r.add_feed(f"http://127.0.0.1:{port}/feed/{n}.xml", allow_invalid_url=True)
r.update_feeds(workers=workers, scheduled=False)  # every feed, due or not, as peacewatch --all
print(r.get_entry_counts().total)
"""


def start_server(count: int, *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "feedserver.py"), str(count), *extra],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def write_config(directory: Path, port: int, count: int, http: str = BENCH_HTTP) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "peacewatch.toml").write_text(http)
    blocks = [
        f'[[source]]\nid = "f{n:04d}"\noutlet = "Outlet {n % 40}"\n'
        f'url = "http://127.0.0.1:{port}/feed/{n}.xml"\nallow_private = true\n'
        for n in range(count)
    ]
    (directory / "sources.toml").write_text("\n".join(blocks))
    return directory


async def cycle(config_dir: Path, db_path: Path) -> tuple[float, int]:
    config = load_config(config_dir)
    db = store.open_db(db_path)
    pool = make_parse_pool(config)
    async with Fetcher(config.settings.http) as fetcher:
        rt = Runtime(config, db, fetcher, parse_pool=pool)
        store.sync_sources(db, config.sources, rt.now())
        if pool is not None:  # start the worker before the clock, as a daemon has it running
            await pool.run(len, b"")
        t0 = time.perf_counter()
        report = await run_cycle(rt, select_sources(rt, all_sources=True))
        seconds = time.perf_counter() - t0
    if pool is not None:
        pool.close()
    assert report.failed == 0, [s.error for s in report.sources if s.error][:3]
    return seconds, report.items_new


def parse_only(port: int, count: int) -> float:
    bodies = [httpx.get(f"http://127.0.0.1:{port}/feed/{n}.xml").content for n in range(count)]
    t0 = time.perf_counter()
    for body in bodies:
        feedparser.parse(body, response_headers={"content-type": "application/rss+xml"})
    return time.perf_counter() - t0


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """RSS in KiB of a process and of it plus all its descendants (parse workers)."""

    def rss(p: int) -> int:
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def children(p: int) -> list[int]:
        try:
            with open(f"/proc/{p}/task/{p}/children") as handle:
                return [int(c) for c in handle.read().split()]
        except OSError:
            return []

    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss(current)
        stack.extend(children(current))
    return rss(pid), total


def timed(args: list[str]) -> tuple[float, str]:
    """Wall seconds of a whole process, and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    return wall, proc.stdout.strip()


def corpus_comparison(count: int = 600) -> None:
    """peacewatch and reader on the same 600 real feeds, cold and revalidating, as processes."""
    try:
        import reader  # noqa: F401  (the bench extra)
    except ImportError:
        print("corpus comparison skipped: pip install -e '.[bench]' for reader")
        return
    server, port = start_server(count, "--corpus", str(CORPUS))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(count)]
            bodies = [httpx.get(url).content for url in urls]
            t0 = time.perf_counter()
            entries = sum(len(feedparser.parse(b).entries) for b in bodies)
            parse_s = time.perf_counter() - t0
            config = write_config(tmpdir / "pw", port, count)
            pw = [sys.executable, "-m", "peacewatch", "--config", str(config), "--db",
                  str(tmpdir / "pw.db"), "run", "--once", "--all", "--no-pages"]  # fmt: skip
            rd = [sys.executable, "-c", READER_SCRIPT, str(tmpdir / "reader.db"), str(port),
                  str(count), "8"]  # fmt: skip
            pw_cold, pw_out = timed(pw)
            rd_cold, rd_out = timed([*rd, "cold"])
            pw_warm, pw_warm_out = timed(pw)
            rd_warm, _ = timed([*rd, "warm"])
            print(f"corpus: {count} feeds from {CORPUS} ({entries} entries), whole processes:")
            print(f"  cold ingest: peacewatch {pw_cold:.2f} s ({pw_out}); reader (8 workers) "
                  f"{rd_cold:.2f} s ({rd_out} entries); feedparser alone on the same bytes "
                  f"{parse_s:.2f} s in-process; peacewatch / feedparser {pw_cold / parse_s:.2f}x "
                  f"(target <= 1.3x)")  # fmt: skip
            print(f"  revalidation of {count} unchanged feeds: peacewatch {pw_warm:.2f} s "
                  f"({pw_warm_out}); reader (8 workers) {rd_warm:.2f} s; reader / peacewatch "
                  f"{rd_warm / pw_warm:.2f}x (target >= 3x)")  # fmt: skip
            for concurrency in (4, 8, 16, 32):
                http = BENCH_HTTP.replace(
                    "concurrency = 8\nper_host = 8",
                    f"concurrency = {concurrency}\nper_host = {concurrency}",
                )
                write_config(tmpdir / "pw", port, count, http)
                wall, _ = timed(pw)
                print(f"  peacewatch revalidation at concurrency {concurrency}: {wall:.2f} s")
    finally:
        server.kill()


def main() -> None:
    if CORPUS.is_dir():
        corpus_comparison()
    if "--corpus-only" in sys.argv:
        return
    server, port = start_server(1000)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmpdir = Path(tmp)
            cold_dir = write_config(tmpdir / "cold", port, 200)
            parse_s = parse_only(port, 200)
            e2e_s, items = asyncio.run(cycle(cold_dir, tmpdir / "cold.db"))
            print(f"cold ingest, 200 feeds x 50 items: {items} items in {e2e_s:.2f} s "
                  f"= {items / e2e_s:,.0f} items/s end to end")  # fmt: skip
            print(f"  feedparser alone on the same bytes: {parse_s:.2f} s "
                  f"= {items / parse_s:,.0f} items/s; ratio {e2e_s / parse_s:.2f}x (target <= 1.3x)")  # fmt: skip

            warm_dir = write_config(tmpdir / "warm", port, 1000)
            warm_db = tmpdir / "warm.db"
            asyncio.run(cycle(warm_dir, warm_db))
            reval_s, new = asyncio.run(cycle(warm_dir, warm_db))
            db = store.open_db(warm_db)
            outcomes = dict(db.execute(
                "SELECT outcome, count(*) FROM fetches WHERE id > 1000 GROUP BY outcome").fetchall())  # fmt: skip
            print(f"revalidation of 1,000 unchanged feeds: {reval_s:.2f} s wall "
                  f"(target < 2 s); outcomes {outcomes}, {new} new items")  # fmt: skip

            rss_dir = write_config(tmpdir / "rss", port, 1000)
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "peacewatch", "--config", str(rss_dir), "--db",
                 str(tmpdir / "rss.db"), "run", "--once", "--all"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            peak_main = peak_tree = 0
            while proc.poll() is None:
                main_kb, tree_kb = tree_rss_kb(proc.pid)
                peak_main, peak_tree = max(peak_main, main_kb), max(peak_tree, tree_kb)
                time.sleep(0.05)
            out, err = proc.communicate()
            wall = time.perf_counter() - t0
            assert proc.returncode == 0, err[-2000:]
            print(f"run --once over 1,000 sources (50,000 items): {wall:.1f} s; peak RSS "
                  f"{peak_main / 1024:.0f} MB main process, {peak_tree / 1024:.0f} MB with its "
                  f"parse workers (target < 150 MB); {out.strip()}")  # fmt: skip
    finally:
        server.kill()


if __name__ == "__main__":
    main()
