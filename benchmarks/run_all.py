"""`make bench`: every benchmark script in this folder, one after another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
# (script, why it is here)
BENCHMARKS = [
    ("bench_ingest.py", "ingestion core: cold ingest, revalidation, peak RSS"),
    ("bench_tagging.py", "tagging: classify throughput, retag of 1M stored items"),
    ("bench_articles.py", "article pages/s on the shared corpus, reading-list lines/s"),
    ("bench_surfaces.py", "analyst surfaces: canned queries on 1M items, a 5,000-item digest"),
    ("bench_export.py", "export of 1M items to Parquet, CSV and JSON Lines"),
    ("bench_dashboard_page.py", "the coverage dashboard in Chromium on bench_surfaces' 1M items"),
    ("bench_stories.py", "story clustering: 100,000 items over a month in arrival order"),
]

if __name__ == "__main__":
    failed = 0
    for script, about in BENCHMARKS:
        print(f"== {script}: {about}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script)]).returncode != 0
    sys.exit(1 if failed else 0)
