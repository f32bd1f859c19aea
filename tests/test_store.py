"""The store on a real SQLite file: migrations, WAL with a concurrent reader, dedup rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from peacewatch import store
from peacewatch.models import ParsedItem
from peacewatch.store.migrations import MIGRATIONS, applied, migrate


def item(title: str, url: str | None = None, **kw: object) -> ParsedItem:
    return ParsedItem(title=title, url=url, canonical_url=None, **kw)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> store.Database:
    db = store.open_db(tmp_path / "s.db")
    with store.transaction(db):
        store.ensure_outlet(db, "ex", "Example")
    return db


def save(db: store.Database, items: list[ParsedItem], now: str = "2025-11-21T12:00:00+00:00",
         outlet: str = "ex"):  # type: ignore[no-untyped-def]  # fmt: skip
    with store.transaction(db):
        store.ensure_outlet(db, outlet, outlet)
        return store.save_items(db, items, source_id=None, outlet_id=outlet, now=now)


def test_migrations_are_named_recorded_and_idempotent(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "m.db")
    assert applied(db) == [name for name, _ in MIGRATIONS]
    assert migrate(db) == []
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = store.open_db(tmp_path / "m.db")
    assert applied(reopened) == applied(db)


def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "m.db")

    def broken(d: store.Database) -> None:
        d.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(db, [*MIGRATIONS, ("0999_broken", broken)])
    assert "half" not in db.table_names()
    assert "0999_broken" not in applied(db)


def test_a_stop_landing_just_after_a_migrations_commit_stays_a_clean_stop(tmp_path: Path) -> None:
    # The daemon turns SIGTERM during start-up into SystemExit(0), which can land between
    # COMMIT and the end of its block: the stop must come through, not a failing ROLLBACK.
    class StopAfterCommit(sqlite3.Connection):
        armed = True

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:  # type: ignore[override]
            cursor = super().execute(sql, *args)
            if sql == "COMMIT" and StopAfterCommit.armed:
                StopAfterCommit.armed = False
                raise SystemExit(0)
            return cursor

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None, factory=StopAfterCommit)
    with pytest.raises(SystemExit):
        migrate(store.Database(conn))
    conn.close()
    db = store.open_db(tmp_path / "m.db")  # the restart finishes the migrations
    assert applied(db) == [name for name, _ in MIGRATIONS]


def test_reader_sees_committed_data_while_a_writer_holds_a_transaction(
    db: store.Database, tmp_path: Path
) -> None:
    save(db, [item("First", "https://e.example/1")])
    reader = sqlite3.connect(f"file:{tmp_path / 's.db'}?mode=ro", uri=True)
    with store.transaction(db):
        store.save_items(db, [item("Second", "https://e.example/2")], source_id=None, outlet_id="ex",
                         now="2025-11-21T12:00:00+00:00")  # fmt: skip
        assert reader.execute("SELECT count(*) FROM items").fetchone() == (1,)
    assert reader.execute("SELECT count(*) FROM items").fetchone() == (2,)


def test_rollback_on_error_inside_a_transaction(db: store.Database) -> None:
    with pytest.raises(ZeroDivisionError), store.transaction(db):
        store.save_items(db, [item("Lost", "https://e.example/lost")], source_id=None, outlet_id="ex",
                         now="2025-11-21T12:00:00+00:00")  # fmt: skip
        1 / 0  # noqa: B018
    assert db.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_headline_dedup_window_and_outlet(db: store.Database) -> None:
    first = save(
        db, [item("Talks in Riyadh", "https://a.example/1", published="2025-11-01T10:00:00+00:00")]
    )
    near = save(
        db, [item("Talks in Riyadh", "https://b.example/1", published="2025-11-03T10:00:00+00:00")]
    )
    far = save(
        db, [item("Talks in Riyadh", "https://c.example/1", published="2025-11-20T10:00:00+00:00")]
    )
    other = save(db, [item("Talks in Riyadh", "https://d.example/1", published="2025-11-01T10:00:00+00:00")],
                 outlet="other")  # fmt: skip
    assert (len(first.new), len(near.new), len(far.new), len(other.new)) == (1, 0, 1, 1)


def test_later_sighting_fills_missing_fields_without_counting_as_a_change(
    db: store.Database,
) -> None:
    save(db, [item("Undated story", "https://e.example/u")])
    report = save(db, [item("Undated story", "https://e.example/u?utm_source=x",
                            published="2025-11-21T08:00:00+00:00", author="A. Writer")])  # fmt: skip
    assert report.changed == [] and report.seen == 1
    row = db.execute("SELECT published, author FROM items").fetchone()
    assert row == ("2025-11-21T08:00:00+00:00", "A. Writer")


def test_outlet_slug() -> None:
    assert store.outlet_id_for("Democracy Now!") == "democracy-now"
    assert store.outlet_id_for("Українська правда") == "українська-правда"
