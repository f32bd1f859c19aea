"""The daemon as a real process: polls, stops cleanly on SIGTERM, refuses a second instance,
and a kill -9 at any moment leaves a consistent database that a restart completes."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import time
from pathlib import Path

from httpserver import FixtureServer
from support import count, free_port, start, wait_for, write_config

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def test_daemon_polls_refuses_a_second_instance_and_stops_on_sigterm(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-basic.xml").read_bytes())
    config = write_config(tmp_path / "config", [{"id": "f", "url": http_server.url("/f.xml")}])
    db = tmp_path / "d.db"
    first = start(config, db, "daemon")
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM fetches") >= 1)
        second = start(config, db, "daemon")
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert f"another peacewatch daemon is already running on {db} (pid {first.pid})" in err
        first.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        _, log = first.communicate(timeout=15)
        assert time.monotonic() - t0 < 10
        assert first.returncode == 0, log
        assert "stopped cleanly" in log
    finally:
        if first.poll() is None:
            first.kill()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3,)
        assert conn.execute("SELECT outcome FROM fetches").fetchall() == [("ok",)]
        # a story round gave the polled items their stories
        assert conn.execute("SELECT count(*) FROM story_members").fetchone() == (3,)


def test_sigterm_right_after_a_poll_still_gives_its_items_their_stories(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-basic.xml").read_bytes())
    config = write_config(tmp_path / "config", [{"id": "f", "url": http_server.url("/f.xml")}])
    db = tmp_path / "d.db"
    proc = start(config, db, "daemon")
    try:
        # before the story round that follows a poll: the shutdown runs it
        wait_for(lambda: count(db, "SELECT count(*) FROM fetches") >= 1)
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=15)
        assert proc.returncode == 0, log
    finally:
        if proc.poll() is None:
            proc.kill()
    assert count(db, "SELECT count(*) FROM items") == 3
    assert count(db, "SELECT count(*) FROM story_members") == 3


def test_sigterm_during_slow_polls_exits_within_the_grace_period(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/slow.xml", body=(FEEDS / "rss2-basic.xml").read_bytes(), stall=30)
    config = write_config(tmp_path / "config", [{"id": "slow", "url": http_server.url("/slow.xml")}],
                          http={"read_timeout": 60, "total_timeout": 60},
                          schedule={"shutdown_grace": 1})  # fmt: skip
    db = tmp_path / "d.db"
    proc = start(config, db, "daemon")
    try:
        wait_for(lambda: len(http_server.hits("/slow.xml")) >= 1)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        proc.communicate(timeout=15)
        assert time.monotonic() - t0 < 5
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert count(db, "SELECT count(*) FROM items") == 0


def test_kill_9_mid_run_leaves_whole_fetches_and_a_restart_finishes(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    sources = []
    for n in range(40):
        items = "".join(
            f"<item><title>Story {n}-{k}</title><link>https://k.example/{n}/{k}</link>"
            f"<guid>{n}-{k}</guid></item>"
            for k in range(50)
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        http_server.route(f"/k{n}.xml", body=body.encode(), delay=0.1 * (n % 5))
        sources.append({"id": f"k{n:02d}", "url": http_server.url(f"/k{n}.xml")})
    # timeouts far above the feeds' delays: a fetch that timed out on a loaded machine would be
    # in its backoff at the restart, and the restart rightly leave it for later
    config = write_config(
        tmp_path / "config",
        sources,
        http={"concurrency": 4, "read_timeout": 30, "total_timeout": 30},
    )
    db = tmp_path / "k.db"
    proc = start(config, db, "run", "--once")
    wait_for(lambda: count(db, "SELECT count(*) FROM fetches") >= 5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # every recorded fetch has all its items, and no items exist without their fetch (a
        # fetch that failed, e.g. timed out on a loaded machine, is recorded with none)
        done = conn.execute(
            "SELECT source_id, items_new FROM fetches WHERE outcome = 'ok'"
        ).fetchall()
        failed = conn.execute("SELECT items_new FROM fetches WHERE outcome != 'ok'").fetchall()
        assert all(new == 0 for (new,) in failed)
        assert all(new == 50 for _, new in done)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (50 * len(done),)
        assert len(done) < 40
    restart = start(config, db, "run", "--once")
    _out, err = restart.communicate(timeout=60)
    assert restart.returncode == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2000,)
        assert conn.execute("SELECT count(DISTINCT source_id) FROM fetches").fetchone() == (40,)


def test_daemon_retags_stored_items_in_the_background_when_rules_change(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-basic.xml").read_bytes(), etag='"1"')
    config = write_config(tmp_path / "config", [{"id": "f", "url": http_server.url("/f.xml")}])
    db = tmp_path / "r.db"
    once = start(config, db, "run", "--once")
    once.communicate(timeout=60)
    assert count(db, "SELECT count(*) FROM items") == 3
    assert count(db, "SELECT count(*) FROM item_classification") == 0
    # rules appear (or change): the daemon recomputes the stored items' tags on start
    shutil.copy(Path(__file__).parent.parent / "config" / "initiatives.toml", config)
    shutil.copy(Path(__file__).parent.parent / "config" / "tagging-model.npz", config)
    proc = start(config, db, "daemon")
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM item_classification") == 3)
        wait_for(
            lambda: (
                count(
                    db, "SELECT count(*) FROM item_initiatives WHERE initiative_id = 'us-28pt-plan'"
                )
                == 1
            )
        )
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(db) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'rules_version'").fetchone()[0]
        assert conn.execute(
            "SELECT DISTINCT rules_version FROM item_classification"
        ).fetchall() == [(version,)]


def test_daemon_reads_pages_queued_by_import_list(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    config = write_config(tmp_path / "config", [])
    listing = tmp_path / "list.html"
    # a link from pasted content to a loopback address: the daemon's page job must refuse it
    listing.write_text(
        f'<ul><li><a href="{http_server.url("/a.html")}">Envoys meet in Riyadh</a> - Al Jazeera 05.08.23</li></ul>'
    )
    db = tmp_path / "p.db"
    imported = start(config, db, "import-list", str(listing), "--no-fetch")
    _, err = imported.communicate(timeout=60)
    assert imported.returncode == 0, err
    assert count(db, "SELECT count(*) FROM page_fetches WHERE state = 'pending'") == 1
    proc = start(config, db, "daemon")
    try:
        wait_for(
            lambda: count(db, "SELECT count(*) FROM page_fetches WHERE state = 'refused'") == 1
        )
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert http_server.hits("/a.html") == []


def test_daemon_sends_the_due_digest_once_across_restarts(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Inbox:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = write_config(tmp_path / "config", [])
        with (config / "peacewatch.toml").open("a") as handle:
            handle.write(
                '\n[digest]\nenabled = true\nsend_at = "00:00"\ntimezone = "UTC"\n'
                'empty_day = "nothing-new"\nfrom = "pw <pw@localhost>"\n'
                f'[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
                '[[digest.recipients]]\naddress = "analyst@localhost"\n'
            )
        db = tmp_path / "g.db"
        for _ in range(2):  # the second daemon finds the day's digest already sent
            proc = start(config, db, "daemon")
            lock = Path(f"{db}.lock")
            try:
                # running (holding the database), not still starting up
                wait_for(lambda: lock.exists() and lock.read_text().strip() == str(proc.pid))  # noqa: B023
                wait_for(
                    lambda: count(db, "SELECT count(*) FROM digests WHERE status = 'sent'") == 1
                )
                time.sleep(0.5)
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=15)
                assert proc.returncode == 0, err
            finally:
                if proc.poll() is None:
                    proc.kill()
    finally:
        controller.stop()
    assert len(received) == 1
    assert b"analyst@localhost" in received[0]


def test_sigterm_during_start_up_is_a_clean_exit(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-basic.xml").read_bytes())
    config = write_config(tmp_path / "config", [{"id": "f", "url": http_server.url("/f.xml")}])
    db = tmp_path / "s.db"
    lock = Path(f"{db}.lock")
    proc = start(config, db, "daemon")
    try:
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(proc.pid))
        proc.send_signal(signal.SIGTERM)  # while it opens and migrates the database
        proc.communicate(timeout=15)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
