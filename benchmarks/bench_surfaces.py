"""Benchmark the analyst surfaces on a large database.

Builds a database of N items (default 1,000,000) with raw SQL in one transaction: outlets,
sources, initiatives, themes, items (FTS maintained by the schema's triggers), tags with
evidence, classification, syndicated copies, failing sources. The last day holds exactly
DIGEST_ITEMS new items. Then it times every canned query of config/datasette.yml (directly
in SQLite and through Datasette's JSON API) and building + rendering that day's digest.

Then the coverage dashboard (datasette-dashboards, /-/dashboards/coverage): each chart's query
directly and through Datasette's JSON API, and the whole page as a browser loads it (the HTML,
then every chart's JSON at once), for the most covered initiative over 26 weeks and all time.

Targets: each canned query < 100 ms; a digest for a day with 5,000 new items < 2 s; the
dashboard page with all its chart data < 1 s.

    .venv/bin/python benchmarks/bench_surfaces.py              # 1M items, ~2-3 minutes
    .venv/bin/python benchmarks/bench_surfaces.py --items 100000 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from peacewatch import store  # noqa: E402
from peacewatch.surfaces.datasette_app import (  # noqa: E402
    load_metadata,
    make_datasette,
    prepare_connection,
)
from peacewatch.surfaces.digest import build_digest  # noqa: E402
from peacewatch.surfaces.digest_config import DigestConfig  # noqa: E402
from peacewatch.surfaces.digest_render import render_email  # noqa: E402

CONFIG = ROOT / "config" / "datasette.yml"
DIGEST_DAY = date(2026, 3, 10)
DIGEST_ITEMS = 5000
DAYS = 400
TARGET_QUERY_MS = 100.0
TARGET_DIGEST_S = 2.0
TARGET_DASHBOARD_S = 1.0
DASHBOARD = "coverage"

INITIATIVES = [
    "us-28pt-plan", "us-ua-20pt-framework", "trilateral-talks-2026", "coalition-of-willing",
    "alaska-summit-2025", "saudi-talks-2025", "partial-truces", "istanbul-talks-2025",
    "ua-peace-formula", "burgenstock-summit-2024", "putin-terms-2024", "china-12pt",
    "brazil-china-6pt", "indonesia-prabowo-2023", "jeddah-meeting-2023",
    "african-peace-mission-2023", "vatican-zuppi-mission", "belarus-talks-2022",
    "antalya-meeting-2022", "istanbul-communique-2022", "black-sea-grain-initiative",
    "minsk-agreements", "qatar-children-mediation",
]  # fmt: skip
THEMES = ["TERR", "SECG", "ARMY", "ZNPP", "ELEC", "POW", "CEASE", "SANC", "SEA", "JUST", "NATO"]
WORDS = [
    "peace",
    "plan",
    "talks",
    "ceasefire",
    "envoy",
    "summit",
    "deal",
    "kremlin",
    "kyiv",
    "washington",
    "moscow",
    "europe",
    "security",
    "guarantees",
    "territory",
    "donbas",
    "crimea",
    "prisoners",
    "swap",
    "sanctions",
    "frozen",
    "assets",
    "army",
    "nato",
    "referendum",
    "elections",
    "truce",
    "energy",
    "grain",
    "corridor",
    "zaporizhzhia",
    "nuclear",
    "plant",
    "drones",
    "strike",
    "front",
    "line",
    "offensive",
    "diplomats",
    "negotiators",
    "delegation",
    "draft",
    "points",
    "framework",
    "memorandum",
    "meeting",
    "leaders",
    "minister",
    "president",
    "adviser",
    "coalition",
    "reassurance",
    "force",
    "monitoring",
    "mission",
    "humanitarian",
    "children",
    "deported",
    "exchange",
    "agreement",
    "proposal",
    "counter",
    "witkoff",
    "kushner",
    "umerov",
    "dmitriev",
    "medinsky",
    "zelensky",
    "putin",
    "trump",
    "macron",
    "starmer",
    "erdogan",
]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def open_database(path: Path) -> Any:
    return store.open_db(path)


def timestamps(count: int, rng: random.Random, digest_items: int = DIGEST_ITEMS) -> list[datetime]:
    """first_seen times: digest_items on the digest day, the rest spread over DAYS before."""
    end = datetime(DIGEST_DAY.year, DIGEST_DAY.month, DIGEST_DAY.day, tzinfo=UTC)
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    before = sorted(
        start + timedelta(seconds=rng.random() * span) for _ in range(count - digest_items)
    )
    today = sorted(end + timedelta(seconds=rng.random() * 86399) for _ in range(digest_items))
    return before + today


def build(
    path: Path, count: int, seed: int = 7, digest_items: int = DIGEST_ITEMS
) -> dict[str, float]:
    rng = random.Random(seed)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_database(path)
    conn: sqlite3.Connection = db.conn
    began = time.perf_counter()
    outlets = [(f"outlet-{n:02d}", f"Outlet {n:02d}") for n in range(60)]
    sources = [(f"source-{n:03d}", outlets[n % 60][0]) for n in range(120)]
    zipf = [1 / (rank + 1) for rank in range(len(INITIATIVES))]
    theme_weights = [1 / (rank + 1) for rank in range(len(THEMES))]
    times = timestamps(count, rng, digest_items)
    now = iso(times[-1])
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("PRAGMA cache_size = -262144")
    conn.executemany("INSERT INTO outlets (id, name) VALUES (?, ?)", outlets)
    conn.executemany(
        "INSERT INTO sources (id, outlet_id, url, config_url, interval, added_at,"
        " last_success_at, failing_since, consecutive_failures, last_error)"
        " VALUES (?, ?, ?, ?, 1800, ?, ?, ?, ?, ?)",
        [
            (sid, oid, f"https://{oid}.example/{sid}.xml", f"https://{oid}.example/{sid}.xml",
             now, now, iso(times[-1] - timedelta(days=3)) if n % 40 == 0 else None,
             20 if n % 40 == 0 else 0, "HTTP 503" if n % 40 == 0 else None)
            for n, (sid, oid) in enumerate(sources)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO initiatives (id, name) VALUES (?, ?)",
        [(i, i.replace("-", " ").title()) for i in INITIATIVES],
    )
    conn.executemany("INSERT INTO themes (id, name) VALUES (?, ?)", [(t, t) for t in THEMES])
    recent_titles: list[str] = []
    item_rows, initiative_rows, theme_rows, class_rows = [], [], [], []
    for item_id, seen in enumerate(times, start=1):
        source_id, outlet_id = sources[rng.randrange(len(sources))]
        if recent_titles and rng.random() < 0.08:  # a syndicated copy from another outlet
            title = rng.choice(recent_titles[-200:])
        else:
            title = " ".join(rng.choices(WORDS, k=rng.randint(6, 11))).capitalize()
            recent_titles.append(title)
        summary = " ".join(rng.choices(WORDS, k=rng.randint(15, 35))) + "."
        published = (
            None if rng.random() < 0.03 else iso(seen - timedelta(minutes=rng.randint(0, 600)))
        )
        stamp = iso(seen)
        item_rows.append((
            item_id, title, title.lower(), f"https://{outlet_id}.example/{item_id}",
            f"https://{outlet_id}.example/{item_id}", published, summary,
            rng.choice(("en", "en", "en", "uk", "ru", "de", "fr")), outlet_id, source_id,
            stamp, stamp,
        ))  # fmt: skip
        relevant = rng.random() < 0.45
        class_rows.append((item_id, int(relevant), "bench-1", stamp))
        if relevant and rng.random() < 0.6:
            chosen = set(rng.choices(INITIATIVES, weights=zipf, k=2 if rng.random() < 0.1 else 1))
            for initiative in chosen:
                word = title.split()[0]
                evidence = json.dumps([{"rule": initiative, "field": "title", "text": word,
                                        "start": 0, "end": len(word), "weight": 1.5}])  # fmt: skip
                initiative_rows.append((item_id, initiative, 1.5, evidence, "bench-1"))
        if relevant and rng.random() < 0.7:
            for theme in set(rng.choices(THEMES, weights=theme_weights, k=rng.randint(1, 2))):
                evidence = json.dumps([{"rule": theme, "field": "summary", "text": "talks",
                                        "start": 0, "end": 5, "weight": 1.0}])  # fmt: skip
                theme_rows.append((item_id, theme, 1.0, evidence, "bench-1"))
        if len(item_rows) >= 20000:
            _flush(conn, item_rows, initiative_rows, theme_rows, class_rows)
    _flush(conn, item_rows, initiative_rows, theme_rows, class_rows)
    conn.execute("COMMIT")
    inserted = time.perf_counter() - began
    conn.execute("ANALYZE")
    db.conn.close()
    return {"insert_s": inserted, "total_s": time.perf_counter() - began}


def _flush(
    conn: sqlite3.Connection,
    items: list[Any],
    initiatives: list[Any],
    themes: list[Any],
    classes: list[Any],
) -> None:
    conn.executemany(
        "INSERT INTO items (id, title, title_key, url, canonical_url, published, summary, lang,"
        " outlet_id, source_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        items,
    )
    conn.executemany("INSERT INTO item_initiatives VALUES (?, ?, ?, ?, ?)", initiatives)
    conn.executemany("INSERT INTO item_themes VALUES (?, ?, ?, ?, ?)", themes)
    conn.executemany("INSERT INTO item_classification VALUES (?, ?, ?, ?)", classes)
    for batch in (items, initiatives, themes, classes):
        batch.clear()


def parameters(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Worst-case arguments: the most covered initiatives and theme, a common search word."""
    top = [r[0] for r in conn.execute(
        "SELECT initiative_id FROM item_initiatives GROUP BY initiative_id"
        " ORDER BY count(*) DESC LIMIT 2")]  # fmt: skip
    theme = conn.execute(
        "SELECT theme_id FROM item_themes GROUP BY theme_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    tagged = conn.execute("SELECT max(item_id) FROM item_themes").fetchone()[0]
    return {
        "initiative_latest": {"initiative": top[0]},
        "initiative_feed": {"initiative": top[0], "language": ""},
        "initiative_weekly": {"initiative": top[0]},
        "initiative_outlets": {"initiative": top[0]},
        "initiatives_together": {"a": top[0], "b": top[1]},
        "items_per_theme": {},
        "theme_latest": {"theme": theme},
        "search": {"q": "ceasefire"},
        "search_advanced": {"q": "ceasefire OR envoy"},
        "failing_sources": {},
        "undated_items": {},
        "redated_items": {},
        "item_evidence": {"item_id": tagged},
        "disagreements": {},
    }


def time_it(run: Any, repeat: int = 5) -> tuple[float, float]:
    run()  # warm the page cache once, as a live server would be
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def bench_queries(path: Path) -> list[tuple[str, float, float, float]]:
    queries = load_metadata(CONFIG, path.stem)["databases"][path.stem]["queries"]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    prepare_connection(conn)  # the search functions Datasette's connections have
    params = parameters(conn)
    datasette = make_datasette(path, CONFIG)
    results = []
    for name, query in queries.items():
        args = params[name]

        def direct(sql: str = query["sql"], args: dict[str, Any] = args) -> None:
            conn.execute(sql, args).fetchall()

        def through_datasette(name: str = name, args: dict[str, Any] = args) -> None:
            qs = "&".join(f"{k}={v}" for k, v in args.items())

            async def go() -> None:
                response = await datasette.client.get(f"/{path.stem}/{name}.json?{qs}&_shape=array")
                assert response.status_code == 200, response.text[:300]

            asyncio.run(go())

        median, worst = time_it(direct)
        via, _ = time_it(through_datasette)
        results.append((name, median, worst, via))
    conn.close()
    return results


PAGES = ["tagged_items", "item_details", "items", "items?_search=ceasefire",
         "initiative_coverage_weekly", "source_health"]  # fmt: skip


def bench_pages(path: Path) -> list[tuple[str, float]]:
    """Whole HTML pages with their default facets and counts (no target: facets and counts
    that take too long are left out by Datasette's time limits)."""
    datasette = make_datasette(path, CONFIG)
    results = []
    for page in PAGES:

        def load(page: str = page) -> None:
            async def go() -> None:
                response = await datasette.client.get(f"/{path.stem}/{page}")
                assert response.status_code == 200, (page, response.status_code)

            asyncio.run(go())

        median, _ = time_it(load, repeat=3)
        results.append((page, median))
    return results


def bench_dashboard(path: Path) -> tuple[list[tuple[str, str, float, float]], dict[str, float]]:
    """Each chart's query (direct, through Datasette) and the whole page per period."""
    metadata = load_metadata(CONFIG, path.stem)
    charts = metadata["plugins"]["datasette-dashboards"][DASHBOARD]["charts"]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    prepare_connection(conn)
    initiative = parameters(conn)["initiative_latest"]["initiative"]
    datasette = make_datasette(path, CONFIG)
    per_chart, pages = [], {}
    for period in ("26 weeks", "all"):
        args = {"initiative": initiative, "period": period}
        qs = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in args.items())
        for name, chart in charts.items():

            def direct(sql: str = chart["query"], args: dict[str, str] = args) -> None:
                conn.execute(sql, args).fetchall()

            def through_datasette(sql: str = chart["query"], args: dict[str, str] = args) -> None:
                async def go() -> None:
                    response = await datasette.client.get(
                        f"/{path.stem}.json", params={"sql": sql, "_shape": "objects", **args}
                    )
                    assert response.status_code == 200, response.text[:300]

                asyncio.run(go())

            median, _ = time_it(direct)
            via, _ = time_it(through_datasette)
            per_chart.append((period, name, median, via))

        def page(qs: str = qs, args: dict[str, str] = args) -> None:
            async def go() -> None:
                html = await datasette.client.get(f"/-/dashboards/{DASHBOARD}?{qs}")
                assert html.status_code == 200, html.status_code
                responses = await asyncio.gather(*(
                    datasette.client.get(f"/{path.stem}.json",
                                         params={"sql": c["query"], "_shape": "objects", **args})
                    for c in charts.values()
                ))  # fmt: skip
                assert all(r.status_code == 200 for r in responses)

            asyncio.run(go())

        pages[period], _ = time_it(page, repeat=3)
    conn.close()
    return per_chart, pages


def bench_digest(path: Path) -> tuple[float, float, int]:
    db = store.open_db(path, readonly=True)
    config = DigestConfig(timezone="UTC")
    timings = []
    digest = None
    for _ in range(3):
        began = time.perf_counter()
        digest = build_digest(db, DIGEST_DAY, None, "UTC")
        built = time.perf_counter() - began
        render_email(digest, config, "bench@example.org").as_bytes()
        timings.append((built, time.perf_counter() - began))
    db.conn.close()
    assert digest is not None
    return min(t[0] for t in timings), min(t[1] for t in timings), digest.item_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=ROOT / "benchmarks" / "out" / "surfaces.db")
    parser.add_argument("--keep", action="store_true", help="reuse the database if it exists")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if not (args.keep and args.db.exists()):
        built = build(args.db, args.items)
        print(f"built {args.items:,} items in {built['total_s']:.1f} s "
              f"(insert {built['insert_s']:.1f} s) -> {args.db}")  # fmt: skip
    with sqlite3.connect(args.db) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("items", "item_initiatives", "item_themes")}  # fmt: skip
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print(f"\n{'canned query':24} {'median ms':>10} {'max ms':>8} {'datasette ms':>13}")
    failures = 0
    for name, median, worst, via in bench_queries(args.db):
        flag = "" if median < TARGET_QUERY_MS else "  OVER TARGET"
        failures += bool(flag)
        print(f"{name:24} {median:10.1f} {worst:8.1f} {via:13.1f}{flag}")
    print(f"\n{'HTML page (with facets)':40} {'median ms':>10}")
    for page, median in bench_pages(args.db):
        print(f"{page:40} {median:10.0f}")
    per_chart, pages = bench_dashboard(args.db)
    print(f"\n{'dashboard chart':30} {'median ms':>10} {'datasette ms':>13}")
    for period, name, median, via in per_chart:
        print(f"{name + ' (' + period + ')':30} {median:10.1f} {via:13.1f}")
    for period, median in pages.items():
        flag = "" if median < TARGET_DASHBOARD_S * 1000 else "  OVER TARGET"
        failures += bool(flag)
        print(f"dashboard page + chart data ({period}): {median:.0f} ms{flag}")
    build_s, total_s, items = bench_digest(args.db)
    flag = "" if total_s < TARGET_DIGEST_S else "  OVER TARGET"
    failures += bool(flag)
    print(f"\ndigest for {DIGEST_DAY} ({items:,} items in it): build {build_s:.2f} s, "
          f"build + render {total_s:.2f} s{flag}")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
