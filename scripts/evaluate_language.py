"""Accuracy of peacewatch's language detection on real headlines, per language.

Reads the feeds of the shared corpus with peacewatch's own feed parser and detects the
language of every item from its headline alone and from headline + summary (what the
pipeline uses), then compares it with:

- corpus, declared: the language the feed itself declares (<language>, xml:lang);
- corpus, by outlet: oren.ru's feed (Orenburg regional news, in Russian) declares none;
  its label is the outlet's language, not a declaration;
- tagging corpus: the real published headlines and leads of tests/fixtures/tagging/corpus.jsonl
  (977 pages from stored copies of public news sites, a third of them Ukrainian or Russian),
  each with the language its collector read on the page;
- fixtures: the project's own test headlines (tests/fixtures/tagging/headlines.jsonl).
  Cyrillic ones are labelled by letters only one language has (uk: і ї є ґ; ru: ы э ъ ё),
  the rest by hand below.

    .venv/bin/python scripts/evaluate_language.py [--corpus ../shared/corpus] [--misses]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import defaultdict
from pathlib import Path

from peacewatch.errors import ParseError
from peacewatch.ingest.feeds import parse_feed
from peacewatch.tagging.language import detect_language

REPO = Path(__file__).resolve().parent.parent
# oren.ru's feed, plain and gzip-compressed (the same items, counted once)
BY_OUTLET = {"node-feedparser__iconv.xml": "ru", "node-feedparser__compressed.xml": "ru"}
UK_LETTERS = re.compile("[іїєґІЇЄҐ]")
RU_LETTERS = re.compile("[ыэъёЫЭЪЁ]")
CYRILLIC = re.compile("[\u0400-\u04ff]")
# fixture headlines with neither set of letters, labelled by reading them (all others: ru)
HAND_UK = {"Зеленський представив формулу миру на G20"}

Sample = tuple[str, str, str, str | None]  # group, expected language, title, summary


def corpus_samples(corpus: Path) -> list[Sample]:
    samples: list[Sample] = []
    seen: set[str] = set()
    for path in sorted((corpus / "feeds").iterdir()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        try:
            feed = parse_feed(data, url="https://example.org/feed")
        except ParseError:
            continue  # the truncated feed that must fail
        for item in feed.items:
            if item.title in seen:
                continue
            seen.add(item.title)
            if item.lang_source == "feed" and item.lang:
                samples.append(("corpus, declared", item.lang.split("-")[0], item.title,
                                item.summary))  # fmt: skip
            elif path.name in BY_OUTLET:
                samples.append(("corpus, by outlet", BY_OUTLET[path.name], item.title,
                                item.summary))  # fmt: skip
    return samples


def fixture_samples() -> list[Sample]:
    samples: list[Sample] = []
    path = REPO / "tests" / "fixtures" / "tagging" / "headlines.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        title = json.loads(line)["title"]
        if not CYRILLIC.search(title):
            lang = "en"
        elif title in HAND_UK or (UK_LETTERS.search(title) and not RU_LETTERS.search(title)):
            lang = "uk"
        else:
            lang = "ru"
        samples.append(("fixtures", lang, title, None))
    return samples


def tagging_corpus_samples() -> list[Sample]:
    path = REPO / "tests" / "fixtures" / "tagging" / "corpus.jsonl"
    samples: list[Sample] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        samples.append(("tagging corpus", row["language"], row["title"], row["lead"] or None))
    return samples


def bucket(lang: str) -> str:
    return lang if lang in ("en", "uk", "ru") else "others"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--misses", action="store_true", help="list the wrong detections")
    args = parser.parse_args()

    samples = corpus_samples(args.corpus) + tagging_corpus_samples() + fixture_samples()
    detect_language("warm-up: load the model")
    misses = []
    for mode in ("headline", "headline + summary"):
        scores: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        started = time.perf_counter()
        for group, lang, title, summary in samples:
            found = detect_language(title, summary if mode != "headline" else None)
            got = found.lang if found else None
            for key in ((group, bucket(lang)), ("all real (corpus)", bucket(lang))):
                if key[0] == "all real (corpus)" and group in ("fixtures", "tagging corpus"):
                    continue
                scores[key][0] += got == lang
                scores[key][1] += 1
            if got != lang and mode != "headline":
                misses.append((group, lang, got, found.confidence if found else None, title))
        elapsed = time.perf_counter() - started
        print(f"== {mode}: {len(samples)} items, {len(samples) / elapsed:,.0f} items/s")
        print(f"{'GROUP':<20} {'LANGUAGE':<8} {'RIGHT':>6} {'ITEMS':>6} {'ACCURACY':>9}")
        for (group, lang), (right, total) in sorted(scores.items()):
            print(f"{group:<20} {lang:<8} {right:>6} {total:>6} {right / total:>9.3f}")
        declared = sorted({s[1] for s in samples if s[0] == "corpus, declared"})
        print(f"(corpus languages declared: {', '.join(declared)})\n")
    if args.misses:
        for miss in misses:
            print("miss:", miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
