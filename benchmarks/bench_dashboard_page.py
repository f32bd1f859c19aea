"""Time the coverage dashboard in a real browser on a large database.

Serves bench_surfaces' database (built first if missing: 1,000,000 items) with
`peacewatch datasette` on 127.0.0.1, opens /-/dashboards/coverage in headless Chromium (other
hosts unresolvable) and reads Chromium's net log: the time from the page's request to the end
of the last chart's data, per period. The charts draw after that in tens of milliseconds;
Chromium's own start-up is not counted. Target: < 1 s.

    .venv/bin/python benchmarks/bench_dashboard_page.py [--db benchmarks/out/surfaces.db]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshot import free_port, wait_for  # noqa: E402  (one copy of the server helpers)

from bench_surfaces import build  # noqa: E402

TARGET_MS = 1000.0
PAGE = "/-/dashboards/coverage"


def load_ms(chromium: str, url: str, workdir: Path) -> tuple[float, int]:
    """Milliseconds from the page's request to the last chart data received, and how many
    data requests there were (from Chromium's net log)."""
    netlog = workdir / "netlog.json"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={workdir / 'profile'}", f"--log-net-log={netlog}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", "--dump-dom", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    log = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    urls: dict[int, str] = {}
    last: dict[int, int] = {}
    started: dict[int, int] = {}
    for event in log["events"]:
        source, moment = event["source"]["id"], int(event["time"])
        last[source] = max(last.get(source, moment), moment)
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in event.get("params", {}):
            urls[source] = event["params"]["url"]
            started.setdefault(source, moment)
    page = min(started[s] for s, u in urls.items() if u == url)
    data = [s for s, u in urls.items() if urllib.parse.urlsplit(u).path.endswith(".json")]
    return float(max(last[s] for s in data) - page), len(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=ROOT / "benchmarks" / "out" / "surfaces.db")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found: run scripts/install-system-deps.sh as root")
    if not args.db.exists():
        args.db.parent.mkdir(parents=True, exist_ok=True)
        build(args.db, args.items)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--config", str(ROOT / "config"), "--db",
         str(args.db), "datasette", "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    failures = 0
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/-/versions.json", seconds=60)
        with tempfile.TemporaryDirectory(prefix="peacewatch-bench-page-") as tmp:
            for period in ("26 weeks", "all"):
                query = urllib.parse.urlencode({"initiative": "us-28pt-plan", "period": period})
                url = f"{base}{PAGE}?{query}"
                runs = [
                    load_ms(chromium, url, Path(tmp) / f"{period}-{n}")
                    for n in range(args.repeat + 1)
                ][1:]  # the first warms Datasette and the page cache
                best = sorted(ms for ms, _ in runs)[len(runs) // 2]
                flag = "" if best < TARGET_MS else "  OVER TARGET"
                failures += bool(flag)
                print(f"dashboard in Chromium ({period}, {runs[0][1]} chart queries): "
                      f"page request to last chart data {best:.0f} ms (median){flag}")  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
