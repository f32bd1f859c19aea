"""Ingestion benchmark (issue: ingestion core).

Serves N synthetic feeds of 50 items from a loopback server in its own process and measures:
1. cold ingest of 200 feeds, end to end (fetch, parse, dedup, store, tag, and the story
   round the daemon runs after polls), in items per second,
   against feedparser alone parsing the same bytes in the same run (target: within 1.3x);
2. revalidation of 1,000 unchanged feeds, all answered 304 (target: under 2 s wall);
3. peak RSS of `peacewatch run --once` over 1,000 sources, as a real process (target < 150 MB);
4. (--corpus, on by default when the shared corpus is there) 600 feeds made from the real
   feeds in ../shared/corpus/feeds (served from there, never copied), peacewatch and reader
   (the PyPI package, from the `bench` extra) side by side in the same run, each as whole
   processes, the median of several runs taken in turns (the order reversed every round):
   cold ingest (a new database each run), then revalidation of the 600 unchanged feeds
   (targets: revalidation >= 3x faster than reader with 8 workers; cold ingest <= 1.3x
   feedparser alone on the same bytes); peacewatch without (`--no-pages`) and with its
   round of article pages; and peacewatch's revalidation at several concurrencies.

Run: make bench  (or .venv/bin/python benchmarks/bench_ingest.py [--corpus-only | --no-corpus])
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import httpx

from peacewatch import store
from peacewatch.config import load_config
from peacewatch.ingest.fetch import Fetcher
from peacewatch.pipeline import (
    cluster_stories,
    run_cycle,
    select_sources,
)
from peacewatch.runtime import Runtime, make_parse_pool

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
    """A daemon's cycle over every source: the polls, then the story round for their items
    (the daemon's rounds follow polls a moment later), timed together."""
    config = load_config(config_dir)
    db = store.open_db(db_path)
    pool = make_parse_pool(config)
    async with Fetcher(config.settings.http) as fetcher:
        rt = Runtime(config, db, fetcher, parse_pool=pool, defer_stories=True)
        store.sync_sources(db, config.sources, rt.now())
        if pool is not None:  # start the worker before the clock, as a daemon has it running
            await pool.run(len, b"")
        t0 = time.perf_counter()
        with store.group_commit(db):
            report = await run_cycle(rt, select_sources(rt, all_sources=True))
            await cluster_stories(rt)
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


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], cpu: list[float] | None = None) -> tuple[float, str]:
    """Wall seconds of a whole process, and its stdout; its CPU seconds (user and system,
    its own children included once they are waited for) are appended to `cpu`."""
    c0 = cpu_of_children()
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(cpu_of_children() - c0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return wall, proc.stdout.strip()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: list[float]) -> str:
    return f"{median(values):.2f} s (runs {', '.join(f'{v:.2f}' for v in values)})"


CPU: dict[str, list[float]] = {}  # CPU seconds of each alternate() run, by "label: command"


def alternate(
    runs: int, commands: dict[str, Callable[[int], list[str]]], label: str = ""
) -> dict[str, list[float]]:
    """Wall seconds of each command, `runs` times, the order turned around every round so
    that neither tool always goes first (a warmer cache, a quieter moment). The CPU seconds
    of each run go to CPU: on a busy machine they move less than the wall time."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for n in range(runs):
        for name in names if n % 2 == 0 else names[::-1]:
            cpu = CPU.setdefault(f"{label}: {name}", [])
            walls[name].append(timed(commands[name](n), cpu)[0])
    return walls


def corpus_comparison(count: int = 600, runs: int = 5, cold_runs: int = 3) -> None:
    """peacewatch and reader on the same 600 real feeds, cold and revalidating, as whole
    processes, alternating; peacewatch with and without its round of article pages."""
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
            parse_walls = []
            for _ in range(cold_runs):
                t0 = time.perf_counter()
                entries = sum(len(feedparser.parse(b).entries) for b in bodies)
                parse_walls.append(time.perf_counter() - t0)
            parse_s = median(parse_walls)
            config = write_config(tmpdir / "pw", port, count)

            def pw(db: str, *extra: str) -> Callable[[int], list[str]]:
                return lambda n: [sys.executable, "-m", "peacewatch", "--config", str(config),
                                  "--db", str(tmpdir / db.format(n=n)), "run", "--once", "--all",
                                  *extra]  # fmt: skip

            def rd(db: str, cold: str) -> Callable[[int], list[str]]:
                return lambda n: [sys.executable, "-c", READER_SCRIPT,
                                  str(tmpdir / db.format(n=n)), str(port), str(count), "8",
                                  cold]  # fmt: skip

            # Cold: a new database for every run. The last cold databases are the warm ones.
            load = os.getloadavg()[0]
            cold = alternate(cold_runs, {
                "peacewatch": pw("cold-{n}.db", "--no-pages"),
                "peacewatch with pages": pw("cold-pages-{n}.db"),
                "reader": rd("reader-{n}.db", "cold"),
            }, "cold")  # fmt: skip
            last = cold_runs - 1
            warm = alternate(runs, {
                "peacewatch": pw(f"cold-{last}.db", "--no-pages"),
                "peacewatch with pages": pw(f"cold-pages-{last}.db"),
                "reader": rd(f"reader-{last}.db", "warm"),
            }, "revalidation")  # fmt: skip
            _, pw_out = timed(pw(f"cold-{last}.db", "--no-pages")(0))
            _, rd_out = timed(rd(f"reader-{last}.db", "warm")(0))
            print(f"corpus: {count} feeds from {CORPUS} ({entries} entries), whole processes, "
                  f"median of {cold_runs} cold and {runs} warm runs, alternating; load average "
                  f"{load:.2f} before, {os.getloadavg()[0]:.2f} after:")  # fmt: skip
            print(f"  feedparser alone on the same bytes, in one process: {spread(parse_walls)}")
            for name in cold:
                print(f"  cold ingest, {name}: {spread(cold[name])}; "
                      f"/ feedparser {median(cold[name]) / parse_s:.2f}x")  # fmt: skip
            print("    (target: peacewatch <= 1.3x feedparser alone)")
            for name in warm:
                print(f"  revalidation, {name}: {spread(warm[name])}")
            print(f"  reader / peacewatch: {median(warm['reader']) / median(warm['peacewatch']):.2f}x "
                  "(target >= 3x)")  # fmt: skip
            # The pages' round comes after the feeds and is bounded by [pages] budget; the
            # corpus's story links name hosts this machine may not reach (each costs a lookup).
            budget = load_config(config).settings.pages.budget
            bound = median(warm["peacewatch"]) + budget
            with_pages = median(warm["peacewatch with pages"])
            print(f"  revalidation with pages: {with_pages:.2f} s; without pages + page budget "
                  f"({budget:g} s) = {bound:.2f} s: {'within' if with_pages <= bound else 'OVER'} "
                  "(target: within)")  # fmt: skip
            for key, seconds in CPU.items():
                print(f"  CPU seconds, {key}: {spread(seconds)}")
            print(f"  last revalidation: peacewatch {pw_out}; reader {rd_out} entries")
            sweep: dict[str, Callable[[int], list[str]]] = {}
            for concurrency in (4, 8, 16, 32):
                http = BENCH_HTTP.replace(
                    "concurrency = 8\nper_host = 8",
                    f"concurrency = {concurrency}\nper_host = {concurrency}",
                )
                directory = write_config(tmpdir / f"pw{concurrency}", port, count, http)
                sweep[str(concurrency)] = lambda n, d=directory: [
                    sys.executable, "-m", "peacewatch", "--config", str(d), "--db",
                    str(tmpdir / f"cold-{last}.db"), "run", "--once", "--all", "--no-pages",
                ]  # fmt: skip
            walls = alternate(3, sweep, "revalidation at concurrency")
            print("  peacewatch revalidation by concurrency (median of 3): " + ", ".join(
                f"{c}: {median(w):.2f} s" for c, w in walls.items()))  # fmt: skip
    finally:
        server.kill()


def main() -> None:
    if CORPUS.is_dir() and "--no-corpus" not in sys.argv:
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
