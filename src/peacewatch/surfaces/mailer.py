"""Send each day's digest to each recipient exactly once, through smtplib.

The `digests` table is the ledger. Before any SMTP traffic a row for (day, recipient) is
claimed in a transaction (status 'sending'); only the claimant sends; the row becomes 'sent'
when the server accepts the message. So a restart, a second daemon or a second `peacewatch
digest` finds the row and sends nothing.

The one window no ledger can close is between the server accepting the message and our
UPDATE to 'sent' (a crash, or a connection lost while waiting for the server's reply to the
message). We choose AT MOST ONCE: just before the message itself is transmitted (after the
server accepted sender and recipient) the row records `data_started_at`; a claim found later
with `data_started_at` set is never resent automatically: it is marked failed with "delivery
unknown", for an operator to check and resend with `peacewatch digest --date D --to ADDR
--resend`. A duplicate digest erodes trust in the list more than a rare missing one, and
the Message-ID is the same on a resend so mail clients can fold a duplicate. A claim that died
before `data_started_at` (the server never got the message) is taken over once its lease
expires, so a crash while connecting loses nothing.

Failures that are certain non-deliveries (connection refused, timeouts before the message,
4xx replies) are retried with exponential backoff within the run, then recorded with a
`next_attempt_at` for a later run; 5xx rejections and authentication failures are final.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from peacewatch.surfaces.digest import Database, Digest, build_digest
from peacewatch.surfaces.digest_config import DigestConfig, Recipient, SmtpConfig
from peacewatch.surfaces.digest_render import message_id, render_email, sender_address

log = logging.getLogger("peacewatch.digest")

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Delivery:
    """What happened to one (day, recipient) digest in this call."""

    day: date
    recipient: str
    # sent | skipped | already-sent | already-skipped | busy | later | failed | unknown
    outcome: str
    detail: str = ""
    attempts: int = 0


class _Transient(Exception):
    """The message was certainly not delivered and a later attempt may succeed."""


class _Permanent(Exception):
    """The message was certainly not delivered and retrying will not help."""


class _Unknown(Exception):
    """The message may or may not have been delivered."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clock_from(start: datetime) -> Clock:
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def lease_seconds(smtp: SmtpConfig) -> float:
    """How long a 'sending' claim stays another process's: one attempt, generously."""
    return smtp.timeout * 6 + smtp.backoff * 2 ** max(smtp.retries, 0) + 60


def due_day(config: DigestConfig, now: datetime) -> date:
    """The day whose digest is due at `now`: yesterday once today's send time has passed."""
    local = now.astimezone(config.zone)
    days_back = 1 if local.time().replace(tzinfo=None) >= config.send_at else 2
    return local.date() - timedelta(days=days_back)


def default_day(config: DigestConfig, now: datetime) -> date:
    """The most recent complete local day."""
    return now.astimezone(config.zone).date() - timedelta(days=1)


# -- the ledger ------------------------------------------------------------------------------


def _row(conn: Any, day: str, recipient: str) -> dict[str, Any] | None:
    cursor = conn.execute("SELECT * FROM digests WHERE day = ? AND recipient = ?", [day, recipient])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def _claim(
    db: Database, config: DigestConfig, day: str, recipient: str, now: datetime, resend: bool
) -> tuple[str, str]:
    """Take the row for sending; returns ("claimed", "") or (outcome, detail) to stop."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = _claim_locked(conn, config, day, recipient, now, resend)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a stop can land just after COMMIT
            conn.execute("ROLLBACK")
        raise
    return result


def _claim_locked(
    conn: Any, config: DigestConfig, day: str, recipient: str, now: datetime, resend: bool
) -> tuple[str, str]:
    stamp = _iso(now)
    row = _row(conn, day, recipient)
    if row is None:
        conn.execute(
            "INSERT INTO digests (day, recipient, status, message_id, attempts, created_at,"
            " claimed_at) VALUES (?, ?, 'sending', ?, 0, ?, ?)",
            [day, recipient, message_id(day, recipient, config.list_id), stamp, stamp],
        )
        return "claimed", ""
    status = row["status"]
    if status == "sending":
        claimed = datetime.fromisoformat(row["claimed_at"] or row["created_at"])
        if now - claimed < timedelta(seconds=lease_seconds(config.smtp)):
            return "busy", f"being sent by another process since {row['claimed_at']}"
        if row["data_started_at"] and not resend:
            detail = (
                f"interrupted at {row['data_started_at']} after the message was handed to the "
                "SMTP server: delivery unknown, not resent automatically (check the mailbox; "
                "resend with --resend)"
            )
            conn.execute(
                "UPDATE digests SET status = 'failed', last_error = ?, next_attempt_at = NULL"
                " WHERE id = ?",
                [detail, row["id"]],
            )
            return "unknown", detail
        # the claimant died before the server saw the message: take over
    elif not resend:
        if status in ("sent", "skipped"):
            return f"already-{status}", row["sent_at"] or ""
        if status == "failed":
            if row["next_attempt_at"] is None:
                return "failed", f"gave up: {row['last_error']}"
            if row["next_attempt_at"] > stamp:
                return "later", f"next attempt at {row['next_attempt_at']}: {row['last_error']}"
    conn.execute(
        "UPDATE digests SET status = 'sending', claimed_at = ?, data_started_at = NULL,"
        " next_attempt_at = NULL, sent_at = NULL WHERE id = ?",
        [stamp, row["id"]],
    )
    return "claimed", ""


def _update(db: Database, day: str, recipient: str, **fields: Any) -> None:
    names = ", ".join(f"{name} = ?" for name in fields)
    db.conn.execute(
        f"UPDATE digests SET {names} WHERE day = ? AND recipient = ?",
        [*fields.values(), day, recipient],
    )


# -- SMTP ------------------------------------------------------------------------------------


def _password(smtp: SmtpConfig, environ: Mapping[str, str]) -> str | None:
    if not smtp.username:
        return None
    assert smtp.password_env  # the config requires it with a username
    password = environ.get(smtp.password_env)
    if password is None:
        raise _Permanent(f"environment variable {smtp.password_env} (SMTP password) is not set")
    return password


def _open(smtp: SmtpConfig, password: str | None) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=smtp.ca_file)
    client: smtplib.SMTP
    if smtp.tls == "implicit":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        client.ehlo()
        if smtp.tls == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if smtp.username and password is not None:
            client.login(smtp.username, password)
    except BaseException:
        client.close()
        raise
    return client


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message with CRLF line ends: smtplib.data() sends bytes as they are."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _classify(code: int, what: str, reply: Any) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{what}: {code} {text}".strip()
    return _Permanent(message) if 500 <= code < 600 else _Transient(message)


def _transmit(
    db: Database,
    day: str,
    recipient: str,
    sender: str,
    message: EmailMessage,
    smtp: SmtpConfig,
    environ: Mapping[str, str],
    clock: Clock,
) -> None:
    """One SMTP session. Raises _Transient, _Permanent or _Unknown when not accepted."""
    password = _password(smtp, environ)
    try:
        client = _open(smtp, password)
    except smtplib.SMTPAuthenticationError as error:
        raise _Permanent(f"authentication failed: {error.smtp_code}") from None
    except smtplib.SMTPNotSupportedError as error:
        raise _Permanent(f"server does not support it: {error}") from None
    except smtplib.SMTPResponseException as error:
        raise _classify(error.smtp_code, "greeting", error.smtp_error) from None
    except (OSError, smtplib.SMTPException) as error:  # refused, unreachable, timeout, TLS
        raise _Transient(f"cannot connect to {smtp.host}:{smtp.port}: {error}") from None
    try:
        try:
            code, reply = client.mail(sender)
            if code != 250:
                raise _classify(code, "MAIL FROM refused", reply)
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                raise _classify(code, "RCPT TO refused", reply)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            raise _Transient(f"connection lost before the message was sent: {error}") from None
        # From here the server may receive the message: record that before sending it.
        _update(db, day, recipient, data_started_at=_iso(clock()))
        try:
            code, reply = client.data(_wire_bytes(message))
        except smtplib.SMTPDataError as error:  # the server answered: it refused the message
            _update(db, day, recipient, data_started_at=None)
            raise _classify(error.smtp_code, "message refused", error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            raise _Unknown(f"connection lost while sending the message: {error}") from None
        if code != 250:
            _update(db, day, recipient, data_started_at=None)
            raise _classify(code, "message refused", reply)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


# -- delivering ------------------------------------------------------------------------------


def deliver_digest(
    db: Database,
    config: DigestConfig,
    day: date,
    recipient: Recipient,
    *,
    now: datetime | None = None,
    clock: Clock = _utcnow,
    sleep: Sleep = time.sleep,
    environ: Mapping[str, str] | None = None,
    resend: bool = False,
) -> Delivery:
    """Build, claim and send one digest, at most once; record every attempt."""
    environ = os.environ if environ is None else environ
    if now is None:
        now = clock()
    elif clock is _utcnow:
        clock = _clock_from(now)  # every timestamp of this delivery on the caller's timeline
    key = day.isoformat()
    address = recipient.address.lower()
    state, detail = _claim(db, config, key, address, now, resend)
    if state != "claimed":
        log.info("digest %s for %s: %s %s", key, address, state, detail)
        return Delivery(day, address, state, detail)

    digest = build_digest(
        db, day, recipient, config.zone,
        max_items_per_initiative=config.max_items_per_initiative,
        max_general_items=config.max_general_items, now=now,
    )  # fmt: skip
    if digest.empty and config.empty_day == "skip":
        _update(db, key, address, status="skipped", item_count=0, sent_at=None, last_error=None)
        log.info("digest %s for %s: nothing new, skipped", key, address)
        return Delivery(day, address, "skipped", "nothing new")
    message = render_email(digest, config, address, now=clock())
    return _send_with_retries(db, config, digest, address, message, clock, sleep, environ)


def _send_with_retries(
    db: Database,
    config: DigestConfig,
    digest: Digest,
    address: str,
    message: EmailMessage,
    clock: Clock,
    sleep: Sleep,
    environ: Mapping[str, str],
) -> Delivery:
    key, smtp = digest.day.isoformat(), config.smtp
    attempts = int(db.conn.execute(
        "SELECT attempts FROM digests WHERE day = ? AND recipient = ?", [key, address]
    ).fetchone()[0])  # fmt: skip
    error: Exception | None = None
    for attempt in range(smtp.retries + 1):
        if attempt:
            sleep(smtp.backoff * 2 ** (attempt - 1))
        attempts += 1
        _update(db, key, address, attempts=attempts, claimed_at=_iso(clock()))
        try:
            _transmit(db, key, address, sender_address(config), message, smtp, environ, clock)
        except _Transient as transient:
            error = transient
            log.warning("digest %s for %s: attempt %d failed: %s", key, address, attempts, error)
            _update(db, key, address, last_error=str(error))
            if attempts >= smtp.max_attempts:
                break
            continue
        except _Permanent as permanent:
            error = permanent
            break
        except _Unknown as unknown:
            detail = f"{unknown}: delivery unknown, not resent automatically (resend with --resend)"
            _update(db, key, address, status="failed", last_error=detail, next_attempt_at=None)
            log.error("digest %s for %s: %s", key, address, detail)
            return Delivery(digest.day, address, "unknown", detail, attempts)
        _update(
            db, key, address, status="sent", sent_at=_iso(clock()), last_error=None,
            item_count=digest.item_count, next_attempt_at=None,
        )  # fmt: skip
        log.info("digest %s for %s: sent (%d items)", key, address, digest.item_count)
        return Delivery(digest.day, address, "sent", str(message["Message-ID"]), attempts)

    retry_at = None
    if isinstance(error, _Transient) and attempts < smtp.max_attempts:
        runs = max(1, attempts // (smtp.retries + 1))
        retry_at = _iso(clock() + timedelta(seconds=smtp.retry_after * 2 ** (runs - 1)))
    _update(
        db, key, address, status="failed", last_error=str(error), next_attempt_at=retry_at,
        item_count=digest.item_count, data_started_at=None,
    )  # fmt: skip
    detail = f"{error}; " + (f"next attempt at {retry_at}" if retry_at else "giving up")
    log.error("digest %s for %s: %s", key, address, detail)
    return Delivery(digest.day, address, "failed", detail, attempts)


def send_due_digests(
    db: Database,
    config: DigestConfig,
    now: datetime,
    *,
    clock: Clock = _utcnow,
    sleep: Sleep = time.sleep,
    environ: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Send every digest due at `now` that is not sent yet; safe to call as often as liked.

    The daemon calls this at the send time and every few minutes after (it is a no-op once
    the day's digests are sent), so failed sends are retried and a daemon that was down at
    the send time catches up when it starts.
    """
    if not config.enabled or not config.recipients:
        return []
    day = due_day(config, now)
    return [
        deliver_digest(
            db, config, day, recipient, now=now, clock=clock, sleep=sleep, environ=environ
        )
        for recipient in config.recipients
    ]


def recipient_for(config: DigestConfig, address: str) -> Recipient:
    """The configured recipient with this address (and its filters), or one without filters."""
    address = address.strip().lower()
    for recipient in config.recipients:
        if recipient.address == address:
            return recipient
    return Recipient(address=address)


def digest_job(config: Any, db_path: Path) -> list[Delivery]:
    """The daemon's job: (Config, database path) -> deliveries, on its own connection."""
    from peacewatch.store.database import open_db

    digest_config = config.settings.raw.get("digest") or DigestConfig()
    db = open_db(db_path, busy_timeout=config.settings.busy_timeout)
    try:
        return send_due_digests(db, digest_config, _utcnow())
    finally:
        db.conn.close()
