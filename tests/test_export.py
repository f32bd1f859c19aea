"""`peacewatch export`: monthly files of items with their tags, themes, outlet and sources,
read back by DuckDB (and pyarrow) exactly as written, in every format; the README's DuckDB
query runs on a real export.

The database is the surfaces story (tests/surfaces_data.py) built through the pipeline.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.cli import cli
from peacewatch.surfaces.export import export_store
from surfaces_data import ITEMS, SCRIPT_TITLE, build_story

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    server = FixtureServer().start()
    try:
        config, db_path, ids = build_story(tmp_path_factory.mktemp("export"), server)
    finally:
        server.stop()
    return config.config_dir, db_path, ids


def _read(directory: Path, fmt: str, sql: str) -> list[tuple[Any, ...]]:
    reader = {
        "parquet": "read_parquet('{}')",
        "csv": "read_csv('{}', header=true)",
        "jsonl": "read_json('{}', format='newline_delimited')",
    }[fmt].format(directory / f"items-*.{fmt}")
    with duckdb.connect() as con:
        return con.execute(sql.replace("ITEMS", reader)).fetchall()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_writes_monthly_files_duckdb_reads(
    tmp_path: Path, story: tuple[Path, Path, dict[str, int]], fmt: str
) -> None:
    _, db_path, ids = story
    db = store.open_db(db_path)
    try:
        report = export_store(db, tmp_path, fmt=fmt)
    finally:
        db.conn.close()
    assert report.items == len(ITEMS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"items-2025-11.{fmt}"] + [f"{n}.{fmt}" for n in ("initiatives", "themes", "outlets",
                                                            "sources")]
    )  # fmt: skip
    assert _read(tmp_path, fmt, "SELECT count(*), count(DISTINCT id) FROM ITEMS") == [
        (len(ITEMS), len(ITEMS))
    ]
    rows = _read(
        tmp_path, fmt,
        f"SELECT title, outlet, day, lang, relevant, sources, initiatives, themes FROM ITEMS"
        f" WHERE id = {ids['both']}",
    )  # fmt: skip
    title, outlet, day, lang, relevant, sources, initiatives, themes = rows[0]
    if fmt == "csv":  # lists are JSON text in CSV
        sources, initiatives, themes = (json.loads(x) for x in (sources, initiatives, themes))
    assert (title, outlet, str(day), lang, relevant) == (
        "Zelensky weighs 28-point plan and coalition guarantees", "Kyiv Independent",
        "2025-11-21", "en", True,
    )  # fmt: skip
    assert (list(sources), list(initiatives), list(themes)) == (
        ["kyivindependent-en"], ["coalition-of-willing", "us-28pt-plan"], [],
    )  # fmt: skip
    # markup in a headline is text, exactly as stored; an unknown date stays empty
    script = _read(tmp_path, fmt, f"SELECT title FROM ITEMS WHERE id = {ids['script']}")
    assert script == [(SCRIPT_TITLE,)]
    undated = _read(tmp_path, fmt, f"SELECT published, day FROM ITEMS WHERE id = {ids['undated']}")
    assert undated[0][0] is None and str(undated[0][1]) == "2025-11-21"


def test_parquet_types(tmp_path: Path, story: tuple[Path, Path, dict[str, int]]) -> None:
    _, db_path, ids = story
    db = store.open_db(db_path)
    try:
        export_store(db, tmp_path)
    finally:
        db.conn.close()
    table = pq.read_table(tmp_path / "items-2025-11.parquet")
    assert str(table.schema.field("published").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("initiatives").type.value_type) == "string"
    (row,) = [r for r in table.to_pylist() if r["id"] == ids["plan-aj"]]
    assert row["published"] == datetime(2025, 11, 21, 8, 55, tzinfo=UTC)
    assert row["lang_source"] == "feed"
    names = pq.read_table(tmp_path / "initiatives.parquet").to_pylist()
    assert {r["id"]: r["name"] for r in names}["us-28pt-plan"] == "US 28-point peace plan"


def test_months_and_since(tmp_path: Path, story: tuple[Path, Path, dict[str, int]]) -> None:
    _, db_path, ids = story
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute(
            "UPDATE items SET published = '2025-10-30T12:00:00+00:00' WHERE id = ?",
            [ids["prev-week"]],
        )
    db = store.open_db(copy)
    try:
        everything = export_store(db, tmp_path / "all", fmt="jsonl")
        recent = export_store(db, tmp_path / "recent", fmt="jsonl", since="2025-11-20")
    finally:
        db.conn.close()
    assert sorted(p.name for p in everything.files if p.name.startswith("items")) == [
        "items-2025-10.jsonl", "items-2025-11.jsonl",
    ]  # fmt: skip
    october = (tmp_path / "all" / "items-2025-10.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in october] == [ids["prev-week"]]
    # --since exports whole months from that date's month on: all of November
    assert recent.items == len(ITEMS) - 1
    assert [p.name for p in recent.files if p.name.startswith("items")] == ["items-2025-11.jsonl"]
    assert not list((tmp_path / "recent").glob(".*.tmp"))


def test_export_command(tmp_path: Path, story: tuple[Path, Path, dict[str, int]]) -> None:
    config_dir, db_path, _ = story
    out = tmp_path / "export"
    args = ["--config", str(config_dir), "--db", str(db_path), "export", str(out)]
    result = CliRunner().invoke(cli, [*args, "--format", "csv", "--since", "2025-11-01"])
    assert result.exit_code == 0, result.output
    assert f"exported {len(ITEMS)} items in 1 monthly csv files to {out}" in result.output
    bad = CliRunner().invoke(cli, [*args, "--format", "xlsx"])
    assert bad.exit_code == 2 and "'xlsx' is not one of" in bad.output


def test_readme_duckdb_query_runs(tmp_path: Path, story: tuple[Path, Path, dict[str, int]]) -> None:
    _, db_path, _ = story
    db = store.open_db(db_path)
    try:
        export_store(db, tmp_path / "export")
    finally:
        db.conn.close()
    readme = (ROOT / "README.md").read_text()
    (query,) = re.findall(r"```sql\n(.*?)```", readme, re.S)
    with duckdb.connect() as con:
        rows = con.execute(query.replace("'export/", f"'{tmp_path}/export/")).fetchall()
    assert ("us-28pt-plan", "Al Jazeera", 2) in rows
    assert all(len(row) == 3 for row in rows)
