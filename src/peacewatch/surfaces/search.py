"""What a person types in a search box -> an SQLite FTS5 query that never fails.

Datasette's search box and the `search` canned query pass the text through `plain_query`
(registered as SQL functions by `surfaces/datasette_app.py`). Every word becomes a quoted FTS5
string, so no character can be FTS5 syntax:

- words are required (AND); `OR` between two words offers alternatives, a dangling `OR` or
  `AND` is ignored;
- `28-point`, `Zelensky's`, `U.S.` (one chunk, several words) match as a phrase;
- `"exact phrase"` matches exactly; an unclosed quote closes at the end;
- `word*` matches a prefix; a lone `*` or punctuation is ignored;
- Cyrillic words match their inflected forms: a case ending is cut and the rest matched as a
  prefix (`Стамбул` finds `Стамбуле`, `Стамбуле` finds `Стамбул`). Latin-script words match
  whole (English barely inflects, and a prefix would make `war` find `Warsaw`).

The index keeps its `unicode61` tokenizer: SQLite ships no Russian or Ukrainian stemmer, and a
custom tokenizer would have to be loaded into every reader (Datasette's read-only connections
included). Prefix queries work on the existing index.

`advanced_query` passes FTS5 syntax through for the `search_advanced` canned query, and
`advanced_problem` explains in plain words why a query cannot be read. Pure: no I/O except an
in-memory SQLite table used to check FTS5 syntax.
"""

from __future__ import annotations

import re
import sqlite3
import threading

__all__ = ["advanced_problem", "advanced_query", "plain_problem", "plain_query"]

MATCH_NOTHING = '""'  # an empty FTS5 phrase: valid, matches no row

# A chunk is a quoted phrase (closed or running to the end) or a run of non-space characters.
_CHUNK = re.compile(r'"([^"]*)(?:"|$)(\*?)|(\S+)')
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# Case endings of Russian and Ukrainian nouns and adjectives, longest first. Cutting one and
# matching the rest as a prefix finds the other forms of the word.
_ENDINGS_TEXT = """ами ями ого его ому ему ими ыми іми ах ях ам ям ом ем ой ей ий ый ій ая яя ое
    ее ые ие ую юю ов ев ів ою єю а я е є и ы і ї о у ю ь"""
_ENDINGS = sorted(_ENDINGS_TEXT.split(), key=len, reverse=True)
_MIN_STEM = 4  # never cut a word shorter than this


def _stem(word: str) -> tuple[str, bool]:
    """(text to match, match as prefix?) for one lower-cased word."""
    if not _CYRILLIC.search(word) or len(word) < 3:
        return word, False
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)], True
    return word, True


def _term(words: list[str], prefix: bool, inflect: bool) -> str:
    """One FTS5 phrase (quoted) for a run of words; the last word may match as a prefix."""
    words = [w.lower() for w in words]
    if inflect:
        words[-1], stemmed = _stem(words[-1])
        prefix = prefix or stemmed
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _groups(text: str) -> list[list[str]]:
    """AND-groups of OR-alternatives, each a quoted FTS5 phrase."""
    groups: list[list[str]] = []
    join_next = False
    for match in _CHUNK.finditer(text):
        quoted, quoted_star, bare = match.groups()
        if bare in ("OR", "AND"):
            join_next = bare == "OR" and bool(groups)
            continue
        if bare is not None:
            words = _WORD.findall(bare)
            term = _term(words, bare.endswith("*"), inflect=True) if words else None
        else:
            words = _WORD.findall(quoted)
            term = _term(words, bool(quoted_star), inflect=False) if words else None
        if term is None:
            continue
        if join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return groups


def plain_query(text: str | None) -> str:
    """An FTS5 query for anything typed; an empty or wordless text matches nothing."""
    groups = _groups(text or "")
    if not groups:
        return MATCH_NOTHING
    parts = [g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups]
    return " AND ".join(parts)


def plain_problem(text: str | None) -> str | None:
    """A plain sentence when a non-empty text has nothing to search for, else None."""
    if not (text or "").strip() or _groups(text or ""):
        return None
    return f"Nothing to search for in {text!r}: type at least one word or number."


_checker = threading.local()


def _syntax_error(query: str) -> str | None:
    conn = getattr(_checker, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, summary, tokenize='unicode61')")
        _checker.conn = conn
    try:
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [query]).fetchall()
    except sqlite3.Error as error:
        return str(error)
    return None


def advanced_query(text: str | None) -> str:
    """The FTS5 query as typed when SQLite can read it; otherwise one that matches nothing."""
    text = (text or "").strip()
    if not text or _syntax_error(text):
        return MATCH_NOTHING
    return text


def advanced_problem(text: str | None) -> str | None:
    """Why SQLite cannot read an FTS5 query, in plain words; None when it can (or is empty)."""
    text = (text or "").strip()
    if not text:
        return None
    error = _syntax_error(text)
    if error is None:
        return None
    hints = []
    if text.count('"') % 2:
        hints.append("close the double quote")
    if re.search(r"(^|\s)(OR|AND|NOT)\s*$|^\s*(OR|AND|NOT)(\s|$)", text):
        hints.append("give OR, AND and NOT a word on each side")
    if re.search(r"[^\w\s\"*()^:+]", text):
        hints.append('put words with punctuation in double quotes ("28-point", "Zelensky\'s")')
    if not hints:
        hints.append("check brackets, quotes and operators")
    advice = "; ".join(hints)
    return (
        f"Advanced search cannot read {text!r} (SQLite says: {error}). "
        f"{advice[0].upper()}{advice[1:]}, or use the plain search, which reads anything."
    )
