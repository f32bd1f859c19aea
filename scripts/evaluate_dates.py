"""Publication-day accuracy of peacewatch's article extractor, side by side with htmldate's.

Runs over the pages of the shared corpus (manifest.json; each page's expected day comes from
public evaluation sets and test suites) and prints accuracy on news pages and on all pages,
overall and for the pages that carry a date in their markup (JSON-LD, meta, <time>, microdata),
then where the two disagree: on how many pages, and which of them was right.

    .venv/bin/python scripts/evaluate_dates.py [--corpus ../shared/corpus] [--misses]

htmldate is also one of peacewatch's own date witnesses (ingest/htmldate_witness.py); here it
runs alone, as the reference to beat. `--misses` lists the pages peacewatch got wrong, each
with the verdict's reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from peacewatch.ingest.articles import extract_article
from peacewatch.ingest.outlets import load_outlets

REPO = Path(__file__).resolve().parent.parent
MARKUP_DATE = re.compile(
    rb"datePublished|article:published_time|<time[^>]+datetime|pubdate|dc\.date|"
    rb"sailthru\.date|parsely-pub|publish[-_]?date|og:published",
    re.I,
)


def htmldate_day(html: bytes, url: str | None) -> str | None:
    from htmldate import find_date

    try:
        return find_date(html, url=url, original_date=True, outputformat="%Y-%m-%d")
    except Exception:  # htmldate's own failures count as misses, they must not stop the run
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--misses", action="store_true", help="list pages peacewatch got wrong")
    parser.add_argument("--no-htmldate", action="store_true", help="skip the reference run")
    args = parser.parse_args()

    manifest = json.loads((args.corpus / "manifest.json").read_text())
    pages = [e for e in manifest if e["kind"] == "page" and e.get("expected", {}).get("date")]
    now = datetime.now(UTC)
    # as in the pipeline: the outlet's zone (registry, else a guess from the domain) reads
    # naive times and tells the local day of UTC ones
    registry = load_outlets(REPO / "config")
    rows = []
    ours_seconds = ref_seconds = 0.0
    for entry in pages:
        html = (args.corpus / entry["file"]).read_bytes()
        url = entry.get("url") or ""
        started = time.perf_counter()
        zone = registry.outlet_for_url(url).timezone if url else None
        article = extract_article(html, url, now=now, timezone=zone)
        ours_seconds += time.perf_counter() - started
        ref = None
        if not args.no_htmldate:
            started = time.perf_counter()
            ref = htmldate_day(html, url or None)
            ref_seconds += time.perf_counter() - started
        rows.append(
            {
                "file": entry["file"],
                "news": entry.get("news_outlet", True) is not False,
                "markup": bool(MARKUP_DATE.search(html)),
                "expected": entry["expected"]["date"],
                "ours": article.published_day,
                "source": article.date_source,
                "reason": article.date_reason,
                "ref": ref,
            }
        )

    def line(label: str, subset: list[dict]) -> str:
        n = len(subset)
        ours = sum(r["ours"] == r["expected"] for r in subset)
        ref = sum(r["ref"] == r["expected"] for r in subset)
        text = f"{label:<44} n={n:>3}  peacewatch {ours:>3} ({100 * ours / max(n, 1):5.1f}%)"
        if not args.no_htmldate:
            text += f"  htmldate {ref:>3} ({100 * ref / max(n, 1):5.1f}%)"
        return text

    def disagreement(label: str, subset: list[dict]) -> str:
        differ = [r for r in subset if r["ours"] != r["ref"]]
        ours = sum(r["ours"] == r["expected"] for r in differ)
        ref = sum(r["ref"] == r["expected"] for r in differ)
        either = sum(r["expected"] in (r["ours"], r["ref"]) for r in subset)
        return (
            f"{label:<44} differ on {len(differ):>3}: peacewatch right {ours:>2}, htmldate right "
            f"{ref:>2}, neither {len(differ) - ours - ref:>2}; either right "
            f"{100 * either / max(len(subset), 1):5.1f}%"
        )

    news = [r for r in rows if r["news"]]
    subsets = [
        ("news pages with a date in their markup", [r for r in news if r["markup"]]),
        ("news pages (all)", news),
        ("all pages with a date in their markup", [r for r in rows if r["markup"]]),
        ("all pages", rows),
    ]
    print(f"corpus: {args.corpus}  pages with an expected day: {len(rows)}")
    for label, subset in subsets:
        print(line(label, subset))
    if not args.no_htmldate:
        print("where peacewatch and htmldate give different days:")
        for label, subset in subsets:
            print(disagreement(label, subset))
    sources = Counter(r["source"] for r in rows)
    print("peacewatch date sources:", ", ".join(f"{k}={v}" for k, v in sources.most_common()))
    print(f"time: peacewatch {ours_seconds:.2f}s", end="")
    print("" if args.no_htmldate else f", htmldate {ref_seconds:.2f}s")
    if args.misses:
        for r in rows:
            if r["ours"] != r["expected"]:
                flag = ("news" if r["news"] else "----") + ("+m" if r["markup"] else "  ")
                print(f"MISS {flag} {r['expected']} ours={r['ours']} ({r['source']}) "
                      f"ref={r['ref']} {r['file']}\n     {r['reason']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
