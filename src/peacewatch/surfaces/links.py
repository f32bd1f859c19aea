"""Where the served database lives in Datasette's URLs, for every link peacewatch writes.

`peacewatch datasette` serves a database file under its file name without the extension
(`db/peacewatch.db` -> `/peacewatch`, `news-2025.db` -> `/news-2025`), as Datasette names
files. Descriptions in config/datasette.yml write `{database_url}` where a link needs that
path; the digest's "see all" links use the same name. Pure: no Datasette import.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DATABASE_URL", "database_name", "database_path", "file_database_name"]

DATABASE_URL = "{database_url}"  # placeholder in config/datasette.yml
DEFAULT_NAME = "peacewatch"  # an in-memory database has no file name

# Datasette's tilde encoding (datasette.utils.tilde_encode): these bytes stay, a space becomes
# "+", any other byte "~XX".
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def file_database_name(path: Path | str) -> str:
    """The name Datasette serves a database file under."""
    return Path(path).stem or DEFAULT_NAME


def database_name(conn: sqlite3.Connection) -> str:
    """The name Datasette serves the connection's main database file under."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return file_database_name(file)
    return DEFAULT_NAME


def _tilde_encode(name: str) -> str:
    return "".join(
        chr(b) if b in _SAFE else "+" if b == 0x20 else f"~{b:02X}" for b in name.encode()
    )


def database_path(name: str, base_url: str = "/") -> str:
    """The URL path of the database page, e.g. "/peacewatch" (under Datasette's base_url)."""
    return "/" + (base_url.strip("/") + "/" if base_url.strip("/") else "") + _tilde_encode(name)
