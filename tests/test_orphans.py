"""A daemon killed with kill -9 leaves no process behind: not its parse workers, not the
multiprocessing resource tracker, however early in its life the kill comes (issue #14.1)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from httpserver import FixtureServer
from support import write_config

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def session_members(sid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes of a session, with their command lines."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the fields follow the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state not in ("Z", "X"):
            found.append((int(entry), cmdline.decode(errors="replace")))
    return found


def kill_after_start(config: Path, db: Path, delay: float) -> list[tuple[int, str]]:
    """Start a daemon in its own session, kill -9 it `delay` seconds after it logs "daemon
    started", and return what is still alive in its session 5 seconds later."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--config", str(config), "--db", str(db), "daemon"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    started = threading.Event()

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "daemon started" in line:
                started.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        assert started.wait(30), "the daemon never started"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while (left := session_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)
        assert proc.stderr is not None
        proc.stderr.close()
        for pid, _ in session_members(proc.pid):  # never leave our own mess on the machine
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_kill_9_in_the_first_two_seconds_leaves_no_process(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    body = (FEEDS / "rss2-basic.xml").read_bytes()
    sources = []
    for n in range(6):
        http_server.route(f"/f{n}.xml", body=body, delay=0.05 * n)
        sources.append({"id": f"f{n}", "url": http_server.url(f"/f{n}.xml")})
    # one parse worker even on a single core: the pool is what can be orphaned
    config = write_config(tmp_path / "config", sources, parse={"workers": 1, "inline_bytes": 0})
    rng = random.Random()
    # ten moments spread over the first two seconds, one in each fifth of a second (random
    # within it, so runs over time cover every moment)
    delays = [(slot + rng.random()) * 0.2 for slot in range(10)]
    rng.shuffle(delays)
    for n, delay in enumerate(delays):
        left = kill_after_start(config, tmp_path / f"d{n}.db", delay)
        assert left == [], f"kill -9 {delay:.2f} s after start left {left}"
