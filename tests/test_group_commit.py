"""Group commit (store.group_commit): the writes of many polls share a few commits, each poll
stays all or nothing, and a kill -9 at any moment of a revalidation leaves a database whose
every fetch record came with its source's update, which a restart then completes."""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from httpserver import FixtureServer
from peacewatch import store
from support import count, start, wait_for, write_config


def other(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=5)


def outlets(path: Path) -> int:
    with other(path) as conn:
        return int(conn.execute("SELECT count(*) FROM outlets").fetchone()[0])


def add_outlet(db: store.Database, n: int) -> None:
    with store.transaction(db):
        store.ensure_outlet(db, f"o{n}", f"Outlet {n}")


def test_units_share_commits_and_a_quiet_group_commits_after_max_delay(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    db = store.open_db(path)

    async def go() -> None:
        with store.group_commit(db, max_delay=0.2, max_units=1000) as group:
            for n in range(50):
                add_outlet(db, n)
            assert outlets(path) == 0  # not committed yet: another connection sees none
            assert db.execute("SELECT count(*) FROM outlets").fetchone()[0] == 50
            await asyncio.sleep(0.4)  # no unit for a while: the timer commits
            assert outlets(path) == 50
            assert group.commits == 1
            for n in range(50, 60):
                add_outlet(db, n)
        assert outlets(path) == 60  # the end of the group commits the rest
        assert group.commits == 2

    asyncio.run(go())


def test_a_group_commits_every_max_units_and_without_a_loop_at_once(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    db = store.open_db(path)

    async def go() -> int:
        with store.group_commit(db, max_delay=60, max_units=10) as group:
            for n in range(25):
                add_outlet(db, n)
            assert outlets(path) == 20
        return group.commits

    assert asyncio.run(go()) == 3
    with store.group_commit(db) as group:  # no event loop to come back on: no waiting
        add_outlet(db, 100)
        assert outlets(path) == 26
    assert group.commits == 1


def test_a_failing_unit_is_undone_alone(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    db = store.open_db(path)

    async def go() -> None:
        with store.group_commit(db, max_delay=60, max_units=1000):
            add_outlet(db, 1)
            with pytest.raises(RuntimeError), store.transaction(db):
                store.ensure_outlet(db, "half", "Half")
                raise RuntimeError("the unit fails halfway")
            add_outlet(db, 2)

    asyncio.run(go())
    with other(path) as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM outlets ORDER BY id")] == ["o1", "o2"]


@pytest.mark.slow
def test_kill_9_during_a_revalidation_leaves_whole_polls_and_a_restart_finishes(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    body = (Path(__file__).parent / "fixtures" / "feeds" / "rss2-basic.xml").read_bytes()
    sources = []
    for n in range(120):
        http_server.route(f"/r{n}.xml", body=body, etag=f'"v{n}"', delay=0.01 * (n % 4))
        sources.append({"id": f"r{n:03d}", "url": http_server.url(f"/r{n}.xml")})
    config = write_config(tmp_path / "config", sources, http={"concurrency": 4, "per_host": 4},
                          pages={"enabled": False})  # fmt: skip
    db = tmp_path / "r.db"
    first = start(config, db, "run", "--once")
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err

    def fetches() -> int:
        return count(db, "SELECT count(*) FROM fetches")

    def consistent() -> None:
        with other(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            # a fetch record and its source's update are committed together, or neither is
            torn = conn.execute(
                """SELECT s.id FROM sources s WHERE s.last_fetch_at IS NOT
                   (SELECT max(f.finished_at) FROM fetches f WHERE f.source_id = s.id)"""
            ).fetchall()
            assert torn == []

    rng = random.Random()
    killed_midway = 0
    for _ in range(8):
        before = fetches()
        proc = start(config, db, "run", "--once", "--all")
        # after its first commit, at a random moment of the next 0.3 s
        wait_for(lambda before=before: fetches() > before, timeout=30)  # type: ignore[misc]
        try:
            proc.wait(timeout=rng.uniform(0.0, 0.3))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        killed_midway += proc.returncode == -signal.SIGKILL and fetches() - before < 120
        consistent()
    assert killed_midway >= 4
    last = count(db, "SELECT max(id) FROM fetches")
    restart = start(config, db, "run", "--once", "--all")
    _out, err = restart.communicate(timeout=60)
    assert restart.returncode == 0, err
    consistent()
    assert count(db, f"SELECT count(DISTINCT source_id) FROM fetches WHERE id > {last}") == 120
