"""Export the store as monthly files that DuckDB, pandas or a spreadsheet read directly.

`export_store(db, directory, fmt=..., since=...)` writes one file of items per month
(`items-2025-11.parquet`, by the item's day: its publication day in UTC, or the day
peacewatch first saw it when the date is unknown), each item with its outlet, the sources
that carried it, its initiatives, themes and relevance; and the small tables that name them
(`initiatives`, `themes`, `outlets`, `sources`). Formats: Parquet (typed: timestamps in UTC,
lists of ids as lists; through pyarrow, the only module that imports it), CSV (lists as JSON
text) and JSON Lines.

One pass over the items in id order, each row going to its month's writer; every 50,000
rows all buffers are written out, so memory stays flat on millions of items. Each file is
written under a temporary name and renamed when complete: a reader never sees half a file.
`since` exports whole months from that date's month on, so a nightly `--since` run keeps
every file complete.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from peacewatch.store.database import Database

__all__ = ["FORMATS", "ExportReport", "export_store"]

FORMATS = ("parquet", "csv", "jsonl")
_SEP = "\x1f"  # joins ids inside SQLite; no id contains it
_FLUSH_ROWS = 50_000

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_LIST = pa.list_(pa.string())
ITEM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("id", pa.int64()),
    ("day", pa.string()),
    ("published", _TIMESTAMP),
    ("first_seen", _TIMESTAMP),
    ("last_seen", _TIMESTAMP),
    ("title", pa.string()),
    ("summary", pa.string()),
    ("url", pa.string()),
    ("canonical_url", pa.string()),
    ("author", pa.string()),
    ("lang", pa.string()),
    ("lang_source", pa.string()),
    ("lang_confidence", pa.float64()),
    ("outlet_id", pa.string()),
    ("outlet", pa.string()),
    ("source_id", pa.string()),
    ("sources", _LIST),
    ("initiatives", _LIST),
    ("themes", _LIST),
    ("relevant", pa.bool_()),
    ("date_source", pa.string()),
]
_LIST_COLUMNS = {name for name, kind in ITEM_COLUMNS if kind == _LIST}
_TIME_COLUMNS = {name for name, kind in ITEM_COLUMNS if kind == _TIMESTAMP}

_ITEMS_SQL = f"""
SELECT i.id, substr(coalesce(i.published, i.first_seen), 1, 10),
       i.published, i.first_seen, i.last_seen, i.title, i.summary,
       coalesce(i.url, i.canonical_url), i.canonical_url, i.author,
       i.lang, i.lang_source, i.lang_confidence, i.outlet_id, o.name, i.source_id,
       (SELECT group_concat(source_id, '{_SEP}') FROM item_sources WHERE item_id = i.id),
       (SELECT group_concat(initiative_id, '{_SEP}') FROM item_initiatives
         WHERE item_id = i.id),
       (SELECT group_concat(theme_id, '{_SEP}') FROM item_themes WHERE item_id = i.id),
       (SELECT relevant FROM item_classification WHERE item_id = i.id),
       i.date_source
FROM items i LEFT JOIN outlets o ON o.id = i.outlet_id
"""
_SINCE_SQL = " WHERE (i.published >= :since OR (i.published IS NULL AND i.first_seen >= :since))"

# the tables that name what the items refer to: file name -> (columns, query)
_DIMENSIONS: dict[str, tuple[list[tuple[str, pa.DataType]], str]] = {
    "initiatives": (
        [("id", pa.string()), ("name", pa.string()), ("start_date", pa.string()),
         ("end_date", pa.string())],
        "SELECT id, name, start_date, end_date FROM initiatives ORDER BY id",
    ),
    "themes": (
        [("id", pa.string()), ("name", pa.string())],
        "SELECT id, name FROM themes ORDER BY id",
    ),
    "outlets": (
        [("id", pa.string()), ("name", pa.string()), ("country", pa.string())],
        "SELECT id, name, country FROM outlets ORDER BY id",
    ),
    "sources": (
        [("id", pa.string()), ("outlet_id", pa.string()), ("url", pa.string()),
         ("kind", pa.string()), ("lang", pa.string())],
        "SELECT id, outlet_id, url, kind, lang FROM sources ORDER BY id",
    ),
}  # fmt: skip


@dataclass
class ExportReport:
    items: int = 0
    files: list[Path] = field(default_factory=list)


def _split(joined: str | None) -> list[str]:
    return sorted(joined.split(_SEP)) if joined else []


def _timestamps(values: Sequence[str | None]) -> pa.Array:
    """ISO-8601 text -> UTC timestamps; a value Arrow cannot read is parsed one by one."""
    try:
        return pa.array(values, pa.string()).cast(_TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = []
        for value in values:
            try:
                parsed.append(datetime.fromisoformat(value) if value else None)
            except ValueError:
                parsed.append(None)
        return pa.array(parsed, _TIMESTAMP)


class _Writer:
    """One output file in one format; rows come in as tuples in `columns` order."""

    def __init__(self, path: Path, fmt: str, columns: list[tuple[str, pa.DataType]]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.rows: list[tuple[Any, ...]] = []
        self.schema = pa.schema(columns)
        self._parquet: Any = None
        self._handle: Any = None
        self._csv: Any = None
        if fmt == "parquet":
            self._parquet = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        else:
            self._handle = self.tmp.open("w", encoding="utf-8", newline="")
            if fmt == "csv":
                self._csv = csv.writer(self._handle)
                self._csv.writerow([name for name, _ in columns])

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        names = [name for name, _ in self.columns]
        if self.fmt == "parquet":
            arrays = []
            for (name, kind), values in zip(self.columns, zip(*rows, strict=True), strict=True):
                if name in _TIME_COLUMNS:
                    arrays.append(_timestamps(values))
                else:
                    arrays.append(pa.array(values, kind))
            self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        elif self.fmt == "csv":
            lists = [i for i, name in enumerate(names) if name in _LIST_COLUMNS]
            for row in rows:
                if lists:
                    cells = list(row)
                    for i in lists:
                        cells[i] = json.dumps(cells[i], ensure_ascii=False)
                    row = tuple(cells)
                self._csv.writerow(row)
        else:
            write = self._handle.write
            for row in rows:
                write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False))
                write("\n")

    def discard(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self._handle is not None:
            self._handle.close()
        self.tmp.unlink(missing_ok=True)

    def close(self) -> Path:
        self.flush()
        if self._parquet is not None:
            self._parquet.close()
        else:
            self._handle.close()
        os.replace(self.tmp, self.path)
        return self.path


def _month_start(since: date | str | None) -> str | None:
    if since is None:
        return None
    text = since.isoformat() if isinstance(since, date) else str(since)
    return text[:7] + "-01"


def export_store(
    db: Database,
    directory: Path,
    *,
    fmt: str = "parquet",
    since: date | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write the items (by month) and the tables naming their tags into `directory`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    start = _month_start(since)
    sql = _ITEMS_SQL + (_SINCE_SQL if start else "") + " ORDER BY i.id"
    writers: dict[str, _Writer] = {}
    buffered = 0
    try:
        cursor = db.conn.execute(sql, {"since": start} if start else {})
        while batch := cursor.fetchmany(10_000):
            for row in batch:
                month = row[1][:7]
                writer = writers.get(month)
                if writer is None:
                    path = directory / f"items-{month}.{fmt}"
                    writer = writers[month] = _Writer(path, fmt, ITEM_COLUMNS)
                relevant = None if row[19] is None else bool(row[19])
                writer.add((*row[:16], _split(row[16]), _split(row[17]), _split(row[18]),
                            relevant, row[20]))  # fmt: skip
            report.items += len(batch)
            buffered += len(batch)
            if buffered >= _FLUSH_ROWS:  # bounded memory however the months interleave
                for writer in writers.values():
                    writer.flush()
                buffered = 0
            if progress is not None:
                progress(report.items)
        for name, (columns, query) in _DIMENSIONS.items():
            writer = writers[name] = _Writer(directory / f"{name}.{fmt}", fmt, columns)
            for row in db.conn.execute(query):
                writer.add(tuple(row))
        for key in sorted(writers):  # items-* files first, then the named tables
            report.files.append(writers.pop(key).close())
    finally:
        for writer in writers.values():  # an error midway: leave no temporary files
            writer.discard()
    return report
