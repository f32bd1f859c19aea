"""Sending digests: to a real SMTP server (aiosmtpd) on loopback, exactly once.

The database is the surfaces story (tests/surfaces_data.py) built through the pipeline; the
digest day is 2025-11-21 in Kyiv, sent at 07:00 on the 22nd.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.config import Config
from peacewatch.surfaces.digest_config import DigestConfig, Recipient
from peacewatch.surfaces.mailer import deliver_digest, due_day, send_due_digests
from support import free_port
from surfaces_data import SCRIPT_TITLE, build_story

DAY = date(2025, 11, 21)
SEND_TIME = datetime(2025, 11, 22, 5, 30, tzinfo=UTC)  # 07:30 in Kyiv


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.on_data: Callable[[], None] | None = None
        self.refuse_rcpt: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # the message is in our hands (delivered) before any hook runs
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.on_data:
            self.on_data()
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        out = []
        for _, _, content in self.messages:
            message = message_from_bytes(content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            out.append(message)
        return out


class SmtpServer:
    def __init__(self, port: int, **kwargs: Any) -> None:
        self.inbox = Inbox()
        self.port = port
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def digest_toml(port: int, *, empty_day: str = "skip", extra_smtp: str = "") -> str:
    return f"""
[digest]
enabled = true
send_at = "07:00"
timezone = "Europe/Kyiv"
empty_day = "{empty_day}"
list_id = "digest.peacewatch.test"
from = "peacewatch <pw@example.org>"

[digest.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
timeout = 5
retries = 2
backoff = 0.05
retry_after = 900
{extra_smtp}

[[digest.recipients]]
address = "all@example.org"

[[digest.recipients]]
address = "coalition@example.org"
initiatives = ["coalition-of-willing"]
"""


@pytest.fixture(scope="module")
def story_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The story built once; each test gets its own copy of the database."""
    server = FixtureServer().start()
    try:
        _, db_path, ids = build_story(tmp_path_factory.mktemp("mail"), server)
    finally:
        server.stop()
    return db_path, ids


@pytest.fixture
def env(tmp_path: Path, story_template: tuple[Path, dict[str, int]]) -> Iterator[dict[str, Any]]:
    """A fresh copy of the story database, a config dir and a free SMTP port."""
    source, _ = story_template
    db_path = tmp_path / "peacewatch.db"
    with sqlite3.connect(source) as src, sqlite3.connect(db_path) as dst:
        src.backup(dst)
    port = free_port()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "peacewatch.toml").write_text(digest_toml(port))
    (config_dir / "sources.toml").write_text("")
    db = store.open_db(db_path)
    yield {"db": db, "db_path": db_path, "port": port, "config_dir": config_dir}
    db.conn.close()


def load(config_dir: Path) -> DigestConfig:
    from peacewatch.config import load_config

    config: Config = load_config(config_dir)
    digest = config.settings.raw["digest"]
    assert isinstance(digest, DigestConfig)
    return digest


def ledger(db: store.Database) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM digests ORDER BY recipient")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def no_sleep(seconds: float) -> None:
    pass


def test_sends_each_recipient_once(env: dict[str, Any]) -> None:
    config = load(env["config_dir"])
    with SmtpServer(env["port"]) as server:
        results = send_due_digests(env["db"], config, SEND_TIME, sleep=no_sleep)
        assert [(r.recipient, r.outcome) for r in results] == [
            ("all@example.org", "sent"),
            ("coalition@example.org", "sent"),
        ]
        again = send_due_digests(env["db"], config, SEND_TIME + timedelta(hours=3))
        assert [r.outcome for r in again] == ["already-sent", "already-sent"]
        messages = server.inbox.parsed()
    assert len(messages) == 2
    full = next(m for m in messages if m["To"] == "all@example.org")
    assert full["Subject"] == (
        "peacewatch Fri 21 Nov 2025: 7 new items, 2 initiatives, top: US 28-point peace plan (5)"
    )
    assert full["List-Id"] == "peacewatch digest <digest.peacewatch.test>"
    text = full.get_body(("plain",))
    html = full.get_body(("html",))
    assert text is not None and html is not None
    text_body, html_body = text.get_content(), html.get_content()
    # groups, most covered first, with counts against the day and week before
    assert text_body.index("== US 28-point peace plan ==") < text_body.index(
        "== Coalition of the Willing =="
    )
    assert "5 new today; 1 the day before; 6 in 7 days against 0 the week before." in text_body
    assert "2 new today; 0 the day before; 2 in 7 days against 1 the week before." in text_body
    # escaping: the headline with a script tag is text in both parts
    assert SCRIPT_TITLE in text_body
    assert "<script>" not in html_body
    assert "&lt;script&gt;" in html_body
    assert "Ceasefire talk grows in Europe" in html_body
    filtered = next(m for m in messages if m["To"] == "coalition@example.org")
    filtered_text = filtered.get_body(("plain",))
    assert filtered_text is not None
    assert "US 28-point peace plan" not in filtered_text.get_content()
    rows = ledger(env["db"])
    assert [(r["recipient"], r["status"], r["attempts"], r["item_count"]) for r in rows] == [
        ("all@example.org", "sent", 1, 7),
        ("coalition@example.org", "sent", 1, 2),
    ]
    assert rows[0]["message_id"] == full["Message-ID"]


def test_smtp_down_is_retried_recorded_and_nothing_lost(env: dict[str, Any]) -> None:
    config = load(env["config_dir"])
    config = replace(config, recipients=config.recipients[:1])
    waits: list[float] = []
    results = send_due_digests(env["db"], config, SEND_TIME, sleep=waits.append)
    assert [r.outcome for r in results] == ["failed"]
    assert waits == [0.05, 0.1]  # backoff doubles between attempts
    (row,) = ledger(env["db"])
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "cannot connect to 127.0.0.1" in row["last_error"]
    assert row["next_attempt_at"] is not None and row["sent_at"] is None
    # before the retry time nothing is tried
    assert [r.outcome for r in send_due_digests(env["db"], config, SEND_TIME)] == ["later"]
    with SmtpServer(env["port"]) as server:
        retry_time = datetime.fromisoformat(row["next_attempt_at"])
        results = send_due_digests(env["db"], config, retry_time, sleep=no_sleep)
        assert [r.outcome for r in results] == ["sent"]
        send_due_digests(env["db"], config, retry_time + timedelta(hours=1), sleep=no_sleep)
        assert len(server.inbox.messages) == 1
    (row,) = ledger(env["db"])
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 4, None)


def test_permanent_refusal_is_final(env: dict[str, Any]) -> None:
    config = load(env["config_dir"])
    with SmtpServer(env["port"]) as server:
        server.inbox.refuse_rcpt = "550 5.1.1 no such mailbox"
        result = deliver_digest(env["db"], config, DAY, config.recipients[0], now=SEND_TIME,
                                sleep=no_sleep)  # fmt: skip
        assert result.outcome == "failed"
        later = deliver_digest(env["db"], config, DAY, config.recipients[0],
                               now=SEND_TIME + timedelta(days=1), sleep=no_sleep)  # fmt: skip
        assert later.outcome == "failed" and later.detail.startswith("gave up")
        assert server.inbox.messages == []
    (row,) = ledger(env["db"])
    assert row["attempts"] == 1 and row["next_attempt_at"] is None
    assert "550" in row["last_error"]


def test_empty_day_policy(env: dict[str, Any]) -> None:
    config = load(env["config_dir"])
    quiet = date(2025, 11, 10)
    with SmtpServer(env["port"]) as server:
        skipped = deliver_digest(env["db"], config, quiet, config.recipients[0], now=SEND_TIME)
        assert skipped.outcome == "skipped" and server.inbox.messages == []
        polite = replace(config, empty_day="nothing-new")
        other = Recipient("other@example.org")
        sent = deliver_digest(env["db"], polite, quiet, other, now=SEND_TIME)
        assert sent.outcome == "sent"
        (message,) = server.inbox.parsed()
    assert message["Subject"] == "peacewatch Mon 10 Nov 2025: nothing new"
    assert [(r["recipient"], r["status"]) for r in ledger(env["db"])] == [
        ("all@example.org", "skipped"),
        ("other@example.org", "sent"),
    ]


class _Authenticator:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:  # fmt: skip
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.seen.append((login, password))
        return AuthResult(success=(login, password) == ("pw", "s3cret-from-env"))


def test_password_comes_from_the_environment_and_is_never_recorded(
    env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    extra = 'username = "pw"\npassword_env = "PW_TEST_SMTP_PASSWORD"'
    (env["config_dir"] / "peacewatch.toml").write_text(digest_toml(env["port"], extra_smtp=extra))
    config = load(env["config_dir"])
    auth = _Authenticator()
    server = SmtpServer(env["port"], authenticator=auth, auth_require_tls=False)
    caplog.set_level(logging.DEBUG)
    with server:
        missing = deliver_digest(env["db"], config, DAY, config.recipients[0], now=SEND_TIME,
                                 environ={}, sleep=no_sleep)  # fmt: skip
        assert missing.outcome == "failed"
        assert "PW_TEST_SMTP_PASSWORD" in missing.detail
        result = deliver_digest(env["db"], config, DAY, config.recipients[1], now=SEND_TIME,
                                environ={"PW_TEST_SMTP_PASSWORD": "s3cret-from-env"})  # fmt: skip
        assert result.outcome == "sent"
        assert len(server.inbox.messages) == 1
    assert auth.seen == [("pw", "s3cret-from-env")]
    dump = "\n".join(env["db"].conn.iterdump())
    assert "s3cret" not in dump and "s3cret" not in caplog.text


def test_a_stale_claim_that_never_reached_the_server_is_taken_over(env: dict[str, Any]) -> None:
    config = load(env["config_dir"])
    env["db"].execute(
        "INSERT INTO digests (day, recipient, status, attempts, created_at, claimed_at)"
        " VALUES ('2025-11-21', 'all@example.org', 'sending', 1, ?, ?)",
        ["2025-11-22T05:00:00+00:00", "2025-11-22T05:00:00+00:00"],
    )
    with SmtpServer(env["port"]) as server:
        early = deliver_digest(env["db"], config, DAY, config.recipients[0],
                               now=datetime(2025, 11, 22, 5, 1, tzinfo=UTC))  # fmt: skip
        assert early.outcome == "busy"  # another process may still be sending
        late = deliver_digest(env["db"], config, DAY, config.recipients[0],
                              now=datetime(2025, 11, 22, 6, 0, tzinfo=UTC))  # fmt: skip
        assert late.outcome == "sent"
        assert len(server.inbox.messages) == 1


def test_due_day_follows_the_local_send_time() -> None:
    config = DigestConfig(timezone="Europe/Kyiv")
    # 04:59 UTC = 06:59 in Kyiv: the 21st's digest is not due yet
    assert due_day(config, datetime(2025, 11, 22, 4, 59, tzinfo=UTC)) == date(2025, 11, 20)
    assert due_day(config, datetime(2025, 11, 22, 5, 0, tzinfo=UTC)) == date(2025, 11, 21)
    assert due_day(config, datetime(2025, 11, 22, 21, 59, tzinfo=UTC)) == date(2025, 11, 21)
    assert due_day(config, datetime(2025, 11, 22, 22, 0, tzinfo=UTC)) == date(2025, 11, 21)


def _cli(env: dict[str, Any], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "peacewatch", "--config", str(env["config_dir"]),
               "--db", str(env["db_path"]), "digest", "--date", "2025-11-21", *args]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_killed_after_handing_over_the_message_never_sends_twice(env: dict[str, Any]) -> None:
    """The worst window: the server has the message, the sender dies before recording it."""
    process: dict[str, subprocess.Popen[str]] = {}

    def kill_sender() -> None:
        process["p"].send_signal(signal.SIGKILL)
        process["p"].wait(timeout=10)

    with SmtpServer(env["port"]) as server:
        server.inbox.on_data = kill_sender
        process["p"] = _cli(env, "--to", "all@example.org")
        process["p"].communicate(timeout=60)
        assert process["p"].returncode == -signal.SIGKILL
        assert len(server.inbox.messages) == 1
        server.inbox.on_data = None
        (row,) = ledger(env["db"])
        assert row["status"] == "sending" and row["data_started_at"] is not None
        # restarted at once: the claim is still another process's lease
        restarted = _cli(env)
        out, err = restarted.communicate(timeout=60)
        assert "all@example.org: busy" in out, (out, err)
        # much later: marked as an unknown outcome, still not resent
        config = load(env["config_dir"])
        later = deliver_digest(env["db"], config, DAY, config.recipients[0],
                               now=datetime.now(UTC) + timedelta(hours=2))  # fmt: skip
        assert later.outcome == "unknown"
        again = deliver_digest(env["db"], config, DAY, config.recipients[0],
                               now=datetime.now(UTC) + timedelta(hours=3))  # fmt: skip
        assert again.outcome == "failed" and "delivery unknown" in again.detail
        to_all = [m for m in server.inbox.messages if m[1] == ["all@example.org"]]
        assert len(to_all) == 1
        # an operator who checked can send it again, with the same Message-ID
        resend = _cli(env, "--to", "all@example.org", "--resend")
        out, _ = resend.communicate(timeout=60)
        assert "all@example.org: sent" in out
        first, second = [m for m in server.inbox.parsed() if m["To"] == "all@example.org"]
        assert first["Message-ID"] == second["Message-ID"]


@pytest.mark.slow
def test_two_senders_at_once_send_one_mail(env: dict[str, Any]) -> None:
    with SmtpServer(env["port"]) as server:
        server.inbox.on_data = lambda: time.sleep(1.0)
        first, second = _cli(env, "--to", "all@example.org"), _cli(env, "--to", "all@example.org")
        outputs = [p.communicate(timeout=60)[0] for p in (first, second)]
        assert len(server.inbox.messages) == 1
    assert sorted(o.split(": ")[1].split()[0] for o in outputs) == ["busy", "sent"]


def test_dry_run_writes_the_message_and_sends_nothing(env: dict[str, Any], tmp_path: Path) -> None:
    out_file = tmp_path / "digest.eml"
    received: list[bytes] = []
    with SmtpServer(env["port"]) as server:
        done = _cli(env, "--to", "all@example.org", "--out", str(out_file))
        done.communicate(timeout=60)
        assert done.returncode == 0
        printed = _cli(env, "--dry-run")
        text, _ = printed.communicate(timeout=60)
        received = [m[2] for m in server.inbox.messages]
    assert received == []
    assert ledger(env["db"]) == []
    message = message_from_bytes(out_file.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "all@example.org"
    assert message.get_body(("html",)) is not None
    assert "To: coalition@example.org" in text and "== US 28-point peace plan ==" in text


def test_ledger_thread_safety_with_one_database_file(env: dict[str, Any]) -> None:
    """Two connections racing for one claim: exactly one wins."""
    config = load(env["config_dir"])
    results: list[str] = []
    barrier = threading.Barrier(2)

    def race() -> None:
        db = store.open_db(env["db_path"])
        barrier.wait()
        results.append(deliver_digest(db, config, DAY, config.recipients[0], now=SEND_TIME,
                                      sleep=no_sleep).outcome)  # fmt: skip
        db.conn.close()

    with SmtpServer(env["port"]) as server:
        server.inbox.on_data = lambda: time.sleep(0.3)
        threads = [threading.Thread(target=race) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(server.inbox.messages) == 1
    assert sorted(results) == ["busy", "sent"]


def test_daemon_job_uses_its_own_connection_and_the_ledger(env: dict[str, Any]) -> None:
    """digest_job is what the daemon schedules: (Config, database path) -> deliveries."""
    from peacewatch.config import load_config
    from peacewatch.surfaces.mailer import digest_job

    config = load_config(env["config_dir"])
    with SmtpServer(env["port"]) as server:
        first = digest_job(config, env["db_path"])
        second = digest_job(config, env["db_path"])
    # today's due day (yesterday, here and now) has no news in the story: skipped, once
    assert [r.outcome for r in first] == ["skipped", "skipped"]
    assert [r.outcome for r in second] == ["already-skipped", "already-skipped"]
    assert server.inbox.messages == []
    assert {r["status"] for r in ledger(env["db"])} == {"skipped"}


def test_starttls_required_but_not_offered_is_final(env: dict[str, Any]) -> None:
    """tls = "starttls" never falls back to plain text when the server offers no TLS."""
    config = load(env["config_dir"])
    config = replace(config, smtp=replace(config.smtp, tls="starttls"))
    with SmtpServer(env["port"]) as server:
        result = deliver_digest(env["db"], config, DAY, config.recipients[0], now=SEND_TIME,
                                sleep=no_sleep)  # fmt: skip
        assert server.inbox.messages == []
    assert result.outcome == "failed" and "STARTTLS" in result.detail
    (row,) = ledger(env["db"])
    assert row["attempts"] == 1 and row["next_attempt_at"] is None


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_modes_against_a_real_tls_server(
    env: dict[str, Any], certificate: tuple[Path, Path], mode: str
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    if mode == "starttls":
        server = SmtpServer(env["port"], tls_context=server_context, require_starttls=True)
    else:
        server = SmtpServer(env["port"], ssl_context=server_context)
    config = load(env["config_dir"])
    untrusted = replace(config, smtp=replace(config.smtp, tls=mode, retries=0))
    trusted = replace(untrusted, smtp=replace(untrusted.smtp, ca_file=str(cert)))
    with server:
        refused = deliver_digest(env["db"], untrusted, DAY, config.recipients[0], now=SEND_TIME)
        assert refused.outcome == "failed" and "CERTIFICATE_VERIFY_FAILED" in refused.detail
        sent = deliver_digest(env["db"], trusted, DAY, config.recipients[1], now=SEND_TIME)
        assert sent.outcome == "sent", sent.detail
        assert [m[1] for m in server.inbox.messages] == [["coalition@example.org"]]
