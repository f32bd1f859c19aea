"""Datasette on the peacewatch database: metadata, canned queries and search highlighting.

The only module that imports datasette. `make_datasette` builds an in-process instance (tests,
screenshots); `serve` runs `datasette serve` with the same configuration and passes extra
arguments through (e.g. `--port 8002`).

Read-only while the daemon writes: Datasette opens a file it may see change ("mutable") with
`?mode=ro` connections for every query, and our configuration defines no writable canned
query, so nothing served here can write. The database is in WAL mode, so readers never block
the daemon's writer and always see the last committed state.
"""

from __future__ import annotations

import html
import json
import signal
import tempfile
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import Any

from datasette import hookimpl
from datasette.app import Datasette
from datasette.cli import cli as datasette_cli
from datasette.plugins import pm
from datasette.utils import parse_metadata

from peacewatch.errors import ConfigError
from peacewatch.surfaces import links, search

CONFIG_NAME = "datasette.yml"
CONFIG_DB_KEY = "peacewatch"  # the database's key in config/datasette.yml
DASHBOARDS_PLUGIN = "datasette-dashboards"  # its charts are set up in config/datasette.yml
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"  # highlight()/snippet() markers in the search query

# Pages must stay quick on millions of rows: a count or facet that takes too long is left out
# (Datasette says so) rather than holding the page; facet suggestions scan every column, so
# they are off. Ad-hoc SQL that needs longer: `peacewatch datasette --setting
# sql_time_limit_ms 10000`.
SETTINGS = {
    "sql_time_limit_ms": 1000,
    "facet_time_limit_ms": 300,
    "max_returned_rows": 1000,
    "suggest_facets": False,
}


class _SafeHtml(str):
    """A string Datasette's templates insert without escaping (it was escaped here)."""

    def __html__(self) -> str:
        return str(self)


@hookimpl
def render_cell(value: Any) -> _SafeHtml | None:
    """Show search matches marked by the search query as <mark>, everything else escaped."""
    if not isinstance(value, str) or MARK_OPEN not in value:
        return None
    escaped = html.escape(value)
    return _SafeHtml(escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>"))


@hookimpl(trylast=True)
def prepare_connection(conn: Any) -> None:
    """SQL functions that turn typed text into FTS5 queries (see surfaces/search.py).

    `escape_fts` is Datasette's own function behind the table search box (`?_search=`); ours
    runs after Datasette's and replaces it, so the table search reads anything a person types
    and finds inflected Cyrillic words. `?_searchmode=raw` still passes FTS5 syntax through.
    """
    conn.create_function("escape_fts", 1, search.plain_query, deterministic=True)
    conn.create_function("peacewatch_search", 1, search.plain_query, deterministic=True)
    conn.create_function("peacewatch_search_problem", 1, search.plain_problem)
    conn.create_function("peacewatch_search_advanced", 1, search.advanced_query)
    conn.create_function("peacewatch_search_advanced_problem", 1, search.advanced_problem)
    conn.create_function("peacewatch_html", 1, html_text, deterministic=True)
    conn.create_function("peacewatch_link", 2, html_link, deterministic=True)


def html_text(value: Any) -> str:
    """A value as HTML text: the dashboard's table chart inserts its cells as HTML."""
    return "" if value is None else html.escape(str(value))


def html_link(url: Any, text: Any) -> str:
    """An escaped link to an http(s) URL; any other URL (javascript:, data:...) gives the text
    alone."""
    label = html_text(text)
    if not isinstance(url, str):
        return label
    try:
        scheme = urllib.parse.urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return label
    if scheme not in ("http", "https"):
        return label
    return f'<a href="{html.escape(url.strip())}">{label}</a>'


def _register_plugin() -> None:
    import peacewatch.surfaces.datasette_app as this

    if not pm.is_registered(this):
        pm.register(this, name="peacewatch")


def _fill(value: Any, database_url: str) -> Any:
    """Replace the {database_url} placeholder in every string of the metadata but SQL."""
    if isinstance(value, str):
        return value.replace(links.DATABASE_URL, database_url)
    if isinstance(value, list):
        return [_fill(v, database_url) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "sql" else _fill(v, database_url) for k, v in value.items()}
    return value


def load_metadata(config_path: Path, db_name: str, base_url: str = "/") -> dict[str, Any]:
    """Read config/datasette.yml, key its database section by the served database's name and
    point its links ({database_url}) at that database's pages."""
    try:
        metadata: Any = parse_metadata(config_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{config_path}: cannot read: {error.strerror}") from error
    except Exception as error:  # datasette raises its own BadMetadataError
        raise ConfigError(f"{config_path}: not valid YAML: {error}") from error
    if not isinstance(metadata, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")
    databases = metadata.get("databases")
    if not isinstance(databases, dict) or CONFIG_DB_KEY not in databases:
        raise ConfigError(f"{config_path}: databases: '{CONFIG_DB_KEY}': missing")
    metadata["databases"] = {db_name: databases[CONFIG_DB_KEY]}
    filled: dict[str, Any] = _fill(metadata, links.database_path(db_name, base_url))
    _point_dashboards_at(filled, db_name)
    return filled


def _point_dashboards_at(metadata: dict[str, Any], db_name: str) -> None:
    """Every dashboard chart and filter that runs SQL queries the served database."""
    dashboards = metadata.get("plugins", {}).get(DASHBOARDS_PLUGIN) or {}
    for dashboard in dashboards.values():
        for part in [*dashboard.get("charts", {}).values(), *dashboard.get("filters", {}).values()]:
            if "query" in part:
                part["db"] = db_name


def database_name(db_path: Path) -> str:
    return links.file_database_name(db_path)


def _base_url(args: list[str]) -> str:
    """Datasette's base_url setting among `datasette serve` arguments ("/" when not set)."""
    base = "/"
    for i, arg in enumerate(args[:-2]):
        if arg == "--setting" and args[i + 1] == "base_url":
            base = args[i + 2]
    return base


def make_datasette(db_path: Path, config_path: Path) -> Datasette:
    """An in-process Datasette over one database file, configured like `serve`."""
    _register_plugin()
    metadata = load_metadata(config_path, database_name(db_path))
    return Datasette(files=[str(db_path)], metadata=metadata, settings=SETTINGS)


def serve_args(db_path: Path, metadata_path: Path, extra_args: list[str]) -> list[str]:
    """Arguments for `datasette serve`; the caller's extra arguments come last and win."""
    args = ["serve", str(db_path), "--metadata", str(metadata_path)]
    for name, value in SETTINGS.items():
        args += ["--setting", name, str(value)]
    return args + list(extra_args)


def serve(db_path: Path, config_path: Path, extra_args: list[str]) -> None:
    """Run Datasette in this process until interrupted."""
    if not db_path.exists():
        raise ConfigError(f"{db_path}: database does not exist; run `peacewatch run --once` first")
    metadata = load_metadata(config_path, database_name(db_path), _base_url(extra_args))
    _register_plugin()
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again under the
    # handler it found; with the default one the process dies there and the metadata's
    # directory stays behind in /tmp, one for every restart of the service
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with tempfile.TemporaryDirectory(prefix="peacewatch-datasette-") as tmp:
            metadata_path = Path(tmp) / "metadata.json"
            metadata_path.write_text(json.dumps(metadata), encoding="utf-8")
            datasette_cli.main(
                args=serve_args(db_path, metadata_path, extra_args),
                prog_name="peacewatch datasette",
                standalone_mode=True,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """Leave through SystemExit, so `with` blocks clean up, with the status a kill reports."""
    raise SystemExit(128 + signum)
