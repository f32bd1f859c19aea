"""Take the README screenshots of Datasette: docs/datasette.png and docs/dashboard.png.

Builds the small story database of the test suite (tests/surfaces_data.py: fixture feeds served
on loopback, stored by the real pipeline), or with --synthetic N the benchmark's generated
database of N items over 400 days (benchmarks/bench_surfaces.py; weeks of coverage for the
dashboard's charts), starts `peacewatch datasette` on it and photographs a page with headless
Chromium (scripts/install-system-deps.sh installs it), after its scripts have drawn.

    .venv/bin/python scripts/screenshot.py [--page PATH] [--out docs/datasette.png]
    .venv/bin/python scripts/screenshot.py --dashboard     # docs/dashboard.png
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_surfaces import build as build_synthetic  # noqa: E402
from httpserver import FixtureServer  # noqa: E402
from surfaces_data import build_story  # noqa: E402

DEFAULT_PAGE = "/peacewatch/search?q=plan"
DASHBOARD_PAGE = "/-/dashboards/coverage?initiative=us-28pt-plan&period=52+weeks"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {seconds} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", default=DEFAULT_PAGE, help="path to photograph")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "datasette.png")
    parser.add_argument("--size", default="1280,860", help="window width,height")
    parser.add_argument("--synthetic", type=int, metavar="N", help="generated database of N items")
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="the coverage dashboard on 30,000 generated items -> docs/dashboard.png",
    )
    args = parser.parse_args()
    if args.dashboard:
        args.page, args.size = DASHBOARD_PAGE, "1280,1900"
        args.synthetic = args.synthetic or 30_000
        if args.out == ROOT / "docs" / "datasette.png":
            args.out = ROOT / "docs" / "dashboard.png"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not found: run scripts/install-system-deps.sh as root")
    with tempfile.TemporaryDirectory(prefix="peacewatch-shot-") as tmp_name:
        tmp = Path(tmp_name)
        if args.synthetic:
            # the shipped configuration: the command validates it before serving
            shutil.copytree(ROOT / "config", tmp / "config")
            db_path = tmp / "peacewatch.db"
            build_synthetic(db_path, args.synthetic, digest_items=args.synthetic // 400)
        else:
            server = FixtureServer().start()
            try:
                _, db_path, _ = build_story(tmp, server)
            finally:
                server.stop()
        shutil.copy(ROOT / "config" / "datasette.yml", tmp / "config" / "datasette.yml")
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "peacewatch", "--config", str(tmp / "config"), "--db",
             str(db_path), "datasette", "--port", str(port), "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/-/versions.json")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={tmp / 'profile'}", f"--window-size={args.size}",
                 "--virtual-time-budget=15000",
                 f"--screenshot={args.out.resolve()}", base + args.page],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
