"""Helpers that build real configuration directories and databases for tests."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from peacewatch import store
from peacewatch.config import Config, load_config
from peacewatch.ingest.fetch import Fetcher
from peacewatch.models import RunReport
from peacewatch.pipeline import read_article_pages, run_cycle, select_sources
from peacewatch.runtime import Runtime

FAST_HTTP = {
    "user_agent": "peacewatch-tests (+https://example.org/contact)",
    "host_gap": 0,
    "connect_timeout": 2,
    "read_timeout": 2,
    "total_timeout": 3,
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(
    directory: Path, sources: list[dict[str, Any]], **sections: dict[str, Any]
) -> Path:
    """Write peacewatch.toml and sources.toml; test servers are on loopback, so every source
    gets allow_private unless it says otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    merged = {"http": dict(FAST_HTTP), "database": {"path": str(directory / "test.db")}}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    lines = []
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    (directory / "peacewatch.toml").write_text("\n".join(lines) + "\n")
    blocks = []
    for source in sources:
        source = {"outlet": "Example News", "allow_private": True, **source}
        blocks.append(
            "[[source]]\n" + "\n".join(f"{k} = {_toml_value(v)}" for k, v in source.items())
        )
    (directory / "sources.toml").write_text("\n\n".join(blocks) + "\n")
    return directory


def poll(config: Config, db: store.Database, *, only: list[str] | None = None,
         clock: Any = None) -> RunReport:  # fmt: skip
    """One cycle through the real pipeline, like `run --once --all`: the polls, then a round
    of the article-page queue."""

    async def go() -> RunReport:
        async with Fetcher(config.settings.http) as fetcher:
            rt = Runtime(config, db, fetcher)
            if clock is not None:
                rt.clock = clock
            store.sync_sources(db, config.sources, rt.now())
            ids = only or select_sources(rt, all_sources=True)
            report = await run_cycle(rt, ids)
            if config.settings.pages.enabled:
                report.pages = await read_article_pages(rt)
            return report

    return asyncio.run(go())


def setup(
    tmp_path: Path, sources: list[dict[str, Any]], **sections: dict[str, Any]
) -> tuple[Config, store.Database]:
    config = load_config(write_config(tmp_path / "config", sources, **sections))
    return config, store.open_db(tmp_path / "test.db")


def rows(db: store.Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_dump(db: store.Database, *tables: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: list(db.execute(f"SELECT * FROM {t} ORDER BY 1, 2")) for t in tables}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for servers that need one up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_served(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Wait for a server started as `process` to answer `url`; fail at once if it exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stderr.read() if process.stderr else ''!r}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


# -- peacewatch as a real process (the daemon, kill -9 tests) --------------------------------


def start(config: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "peacewatch", "--config", str(config), "--db", str(db), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def rules_only(text: str) -> str:
    """initiatives.toml text without its [model] table: what the rules alone say."""
    start = text.index("\n[model]\n")
    end = text.index("\n[", start + 1)
    return text[:start] + text[end:]
