"""Speed of article extraction (pages/s) and reading-list parsing (lines/s).

    .venv/bin/python benchmarks/bench_articles.py [--corpus ../shared/corpus] [--rounds 3]
                                                  [--no-htmldate]

Pages are read as the pipeline reads them, with htmldate as one of the date witnesses;
`--no-htmldate` also times them without it, to show what that witness costs.

Pages are the real pages of the shared corpus (read in place); lists are the repository's
list fixtures and the shared sample, repeated to a few thousand lines. Prints figures only:
timings are never asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from peacewatch.ingest.articles import extract_article
from peacewatch.ingest.outlets import load_outlets
from peacewatch.ingest.readinglist import parse_html_list, parse_text_list

REPO = Path(__file__).resolve().parent.parent


def best_of(rounds: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-htmldate", action="store_true", help="also time without htmldate")
    args = parser.parse_args()
    registry = load_outlets(REPO / "config")
    now = datetime.now(UTC)

    manifest = json.loads((args.corpus / "manifest.json").read_text())
    pages = [
        ((args.corpus / e["file"]).read_bytes(), e.get("url") or "https://unknown.invalid/")
        for e in manifest
        if e["kind"] == "page"
    ]
    megabytes = sum(len(content) for content, _ in pages) / 1e6

    for use_htmldate in (True, False) if args.no_htmldate else (True,):

        def extract_all(use_htmldate: bool = use_htmldate) -> None:
            for content, url in pages:
                extract_article(content, url, now=now, use_htmldate=use_htmldate)

        seconds = best_of(args.rounds, extract_all)
        sizes = sorted(len(content) for content, _ in pages)
        print(
            f"article extraction (htmldate {'on' if use_htmldate else 'off'}): {len(pages)} "
            f"corpus pages ({megabytes:.1f} MB, median {statistics.median(sizes) / 1000:.0f} kB) "
            f"in {seconds:.2f} s = {len(pages) / seconds:.1f} pages/s, "
            f"{megabytes / seconds:.1f} MB/s"
        )

    text_sources = [(REPO / "tests" / "fixtures" / "lists" / "messy.txt").read_text()]
    sample = args.corpus.parent / "reading-list-sample.txt"
    if sample.exists():
        text_sources.append(sample.read_text())
    block = "\n".join(text_sources)
    text = "\n".join([block] * max(1, 5000 // block.count("\n")))
    lines = text.count("\n") + 1
    seconds = best_of(args.rounds, lambda: parse_text_list(text, registry=registry))
    print(f"text list parsing: {lines} lines in {seconds:.3f} s = {lines / seconds:,.0f} lines/s")

    html_one = (REPO / "tests" / "fixtures" / "lists" / "list.html").read_bytes()
    body_start = html_one.index(b"<ul>")
    body_end = html_one.index(b"</ul>") + 5
    html = html_one[:body_start] + html_one[body_start:body_end] * 400 + html_one[body_end:]
    entries = len(parse_html_list(html, "https://lists.invalid/", registry=registry).entries)
    seconds = best_of(
        args.rounds, lambda: parse_html_list(html, "https://lists.invalid/", registry=registry)
    )
    print(
        f"HTML list parsing: {entries} entries ({len(html) / 1000:.0f} kB) in {seconds:.3f} s = "
        f"{entries / seconds:,.0f} entries/s"
    )


if __name__ == "__main__":
    main()
