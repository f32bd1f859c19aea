"""Sources and outlets in the store: the configured sources mirrored with their health,
validators and fetch records, and the outlets items are filed under."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from peacewatch.models import SaveReport, Source, Validators
from peacewatch.store.database import Database, _dicts, transaction

__all__ = [
    "due_sources",
    "ensure_outlet",
    "mark_failure",
    "mark_success",
    "outlet_id_for",
    "recent_polls",
    "record_fetch",
    "source_row",
    "source_rows",
    "source_validators",
    "sync_sources",
]


def outlet_id_for(name: str) -> str:
    """A stable slug for an outlet name: 'Democracy Now!' -> 'democracy-now'."""
    slug = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-")
    return slug or "unknown"


def ensure_outlet(db: Database, outlet_id: str, name: str) -> None:
    db.execute("INSERT OR IGNORE INTO outlets (id, name) VALUES (?, ?)", [outlet_id, name])


# -- sources -------------------------------------------------------------------------------


def sync_sources(db: Database, sources: Iterable[Source], now: str) -> None:
    """Mirror the configured sources into the table, keeping each one's health and validators.

    A source removed from the configuration is disabled, not deleted: its fetches and items
    keep pointing at it. A changed configured URL replaces any URL learnt from redirects.
    """
    with transaction(db):
        seen = []
        for source in sources:
            seen.append(source.id)
            outlet_id = outlet_id_for(source.outlet)
            ensure_outlet(db, outlet_id, source.outlet)
            existing = db.execute(
                "SELECT config_url FROM sources WHERE id = ?", [source.id]
            ).fetchone()
            if existing is None:
                db.execute(
                    """INSERT INTO sources (id, outlet_id, url, config_url, kind, interval, lang,
                       timezone, enabled, added_at, next_due_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [source.id, outlet_id, source.url, source.url, source.kind, source.interval,
                     source.lang, source.timezone, int(source.enabled), now, now],
                )  # fmt: skip
                continue
            url_changed = existing[0] != source.url
            db.execute(
                """UPDATE sources SET outlet_id = ?, kind = ?, interval = ?, lang = ?,
                   timezone = ?, enabled = ?, config_url = ?,
                   url = CASE WHEN ? THEN ? ELSE url END,
                   etag = CASE WHEN ? THEN NULL ELSE etag END,
                   last_modified = CASE WHEN ? THEN NULL ELSE last_modified END,
                   body_hash = CASE WHEN ? THEN NULL ELSE body_hash END,
                   failed_body_hash = CASE WHEN ? THEN NULL ELSE failed_body_hash END
                   WHERE id = ?""",
                [outlet_id, source.kind, source.interval, source.lang, source.timezone,
                 int(source.enabled), source.url, url_changed, source.url, url_changed,
                 url_changed, url_changed, url_changed, source.id],
            )  # fmt: skip
        placeholders = ",".join("?" * len(seen)) or "''"
        db.execute(f"UPDATE sources SET enabled = 0 WHERE id NOT IN ({placeholders})", seen)


def source_row(db: Database, source_id: str) -> dict | None:
    rows = _dicts(db, "SELECT * FROM sources WHERE id = ?", [source_id])
    return rows[0] if rows else None


def source_rows(db: Database) -> list[dict]:
    return _dicts(
        db,
        """SELECT s.*, o.name AS outlet,
              (SELECT count(*) FROM item_sources i WHERE i.source_id = s.id) AS items
           FROM sources s JOIN outlets o ON o.id = s.outlet_id ORDER BY s.id""",
    )


def source_validators(db: Database, source_id: str | dict) -> Validators:
    """Validators stored for a source, given its id or its row."""
    row = source_row(db, source_id) if isinstance(source_id, str) else source_id
    if row is None:
        return Validators()
    return Validators(
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        trust_validators=bool(row["trust_validators"]),
    )


def due_sources(db: Database, now: str) -> list[str]:
    """Ids of enabled sources whose next poll is due, most overdue first."""
    return [
        row[0]
        for row in db.execute(
            """SELECT id FROM sources WHERE enabled = 1
               AND (next_due_at IS NULL OR next_due_at <= ?)
               ORDER BY next_due_at""",
            [now],
        )
    ]


def record_fetch(
    db: Database,
    *,
    source_id: str,
    url: str,
    started_at: str,
    finished_at: str,
    outcome: str,
    status: int | None = None,
    nbytes: int = 0,
    elapsed_ms: int = 0,
    conditional: bool = False,
    error: str | None = None,
    items_total: int = 0,
    report: SaveReport | None = None,
) -> int:
    """Append one attempt to `fetches` (call inside the fetch's transaction)."""
    report = report or SaveReport()
    cursor = db.execute(
        """INSERT INTO fetches (source_id, url, started_at, finished_at, status, bytes,
           elapsed_ms, conditional, outcome, error, items_total, items_new, items_seen,
           items_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [source_id, url, started_at, finished_at, status, nbytes, elapsed_ms, int(conditional),
         outcome, error, items_total, len(report.new), report.seen, len(report.changed)],
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def mark_success(
    db: Database,
    source_id: str,
    *,
    now: str,
    next_due: str,
    status: int | None,
    outcome: str,
    validators: Validators | None = None,
    new_url: str | None = None,
    unconditional: bool = False,
    interval: float | None = None,
    reason: str | None = None,
    feed_floor: tuple[float, str] | None = None,
) -> None:
    """Reset a source's failure count and store what its response told us, the wait its
    next poll comes after (`interval`) and why (`reason`)."""
    fields: dict[str, Any] = {
        "last_fetch_at": now,
        "last_success_at": now,
        "last_status": status,
        "last_outcome": outcome,
        "last_error": None,
        "failing_since": None,
        "consecutive_failures": 0,
        "next_due_at": next_due,
        "failed_body_hash": None,
        "failed_body_outcome": None,
        "failed_body_error": None,
        "failed_body_at": None,
    }
    if validators is not None:
        fields.update(
            etag=validators.etag,
            last_modified=validators.last_modified,
            body_hash=validators.body_hash,
            trust_validators=int(validators.trust_validators),
        )
    if new_url:
        fields["url"] = new_url
    if unconditional:
        fields["last_unconditional_at"] = now
    if interval is not None:
        fields["poll_interval"] = interval
    if reason is not None:
        fields["next_due_reason"] = reason
    if feed_floor is not None:
        fields["feed_floor"], fields["feed_floor_reason"] = feed_floor
    _update_source(db, source_id, fields)


def mark_failure(
    db: Database,
    source_id: str,
    *,
    now: str,
    next_due: str,
    status: int | None,
    outcome: str,
    error: str,
    reason: str | None = None,
    failed_body: str | None = None,
) -> None:
    """Count a failure. `failed_body`: the hash of a body the parser failed on, remembered
    with the outcome and error so that the same bytes are not parsed again (None keeps the
    one remembered before: a timeout says nothing about the body)."""
    db.execute(
        """UPDATE sources SET last_fetch_at = ?, last_status = ?, last_outcome = ?,
           last_error = ?, failing_since = COALESCE(failing_since, ?),
           consecutive_failures = consecutive_failures + 1, next_due_at = ?,
           next_due_reason = COALESCE(?, next_due_reason),
           failed_body_hash = COALESCE(?, failed_body_hash),
           failed_body_outcome = CASE WHEN ? IS NULL THEN failed_body_outcome ELSE ? END,
           failed_body_error = CASE WHEN ? IS NULL THEN failed_body_error ELSE ? END,
           failed_body_at = CASE WHEN ? IS NULL THEN failed_body_at ELSE ? END
           WHERE id = ?""",
        [now, status, outcome, error, now, next_due, reason, failed_body,
         failed_body, outcome, failed_body, error, failed_body, now, source_id],
    )  # fmt: skip


def recent_polls(db: Database, source_id: str, since: str) -> list[tuple[str, int]]:
    """(started_at, items_new) of a source's successful polls since `since`, oldest first."""
    return [
        (str(row[0]), int(row[1] or 0))
        for row in db.execute(
            """SELECT started_at, items_new FROM fetches WHERE source_id = ?
               AND started_at >= ? AND outcome IN ('ok', 'not_modified', 'unchanged')
               ORDER BY started_at""",
            [source_id, since],
        )
    ]


def _update_source(db: Database, source_id: str, fields: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE sources SET {assignments} WHERE id = ?", [*fields.values(), source_id])


# -- items ---------------------------------------------------------------------------------
