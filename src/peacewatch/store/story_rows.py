"""What an item's story features are made of, read from the store, and the features made of
it: in this process, or beforehand in a worker process (`run --once`'s story round has the
parse worker make the next batch's while it clusters the current one: `stories.cluster_missing`).

A row is plain values, so another process can make its features, and the row read again
tells whether features made from it are still the item's: `read_features` takes features
made beforehand only for items whose rows read the same, and makes every other item's.
`extract` gives the same features in any process (shingles are hashed with blake2b).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from peacewatch.store.database import Database
from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.features import Features, extract
from peacewatch.timeutil import parse_iso

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger("peacewatch.stories")

_CHUNK = 500
ITEM_TIME = "coalesce(items.published, items.first_seen)"  # SQL: an item's time


def epoch(iso: str) -> float:
    return parse_iso(iso).timestamp()


def chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# What an item's features are made of, as read from the store: id, title, summary, language,
# outlet, time (seconds) and initiative tags. Plain values: another process can make the
# features (`features_of`), and a row read again tells whether they are still the item's.
Row = tuple[int, str, str | None, str | None, str, float, frozenset[str]]


def read_rows(db: Database, item_ids: Sequence[int]) -> list[Row]:
    """What the features of stored items are made of, with their initiative tags."""
    found: list[Row] = []
    for chunk in chunks(list(item_ids)):
        marks = ",".join("?" * len(chunk))
        tags: dict[int, set[str]] = {}
        if "item_initiatives" in db.table_names():
            for item_id, initiative in db.execute(
                f"SELECT item_id, initiative_id FROM item_initiatives WHERE item_id IN ({marks})",
                list(chunk),
            ):
                tags.setdefault(item_id, set()).add(initiative)
        rows = db.execute(
            f"SELECT id, title, summary, lang, outlet_id, {ITEM_TIME} FROM items"
            f" WHERE id IN ({marks})",
            list(chunk),
        ).fetchall()
        found += [
            (item_id, title, summary, lang, outlet, epoch(when), frozenset(tags.get(item_id, ())))
            for item_id, title, summary, lang, outlet, when in rows
        ]
    return found


def features_of(rows: Iterable[Row], aliases: AliasTable) -> list[Features]:
    """The features of rows read by `read_rows`: pure, so it may run in a worker process
    (`extract` gives the same features in any process: shingles are hashed with blake2b)."""
    return [
        extract(item_id, title=title, summary=summary, lang=lang, outlet=outlet, time=time,
                initiatives=tags, aliases=aliases)
        for item_id, title, summary, lang, outlet, time, tags in rows
    ]  # fmt: skip


_FIELDS = tuple(f.name for f in fields(Features))


def features_in_worker(rows: Iterable[Row], aliases: AliasTable) -> bytes:
    """`features_of` for a worker process, pickled: each item's features as the plain tuple
    of their fields (`Features(*fields)` again; a dataclass with slots unpickles at a
    quarter of the speed, and unpickling is the receiving process's work). Bytes, unpickled
    only at their batch's turn (`collect`): a batch's features take some 3-4 MB, and the
    next batch's would otherwise sit beside the current one's for the whole batch."""
    made = [tuple(getattr(f, name) for name in _FIELDS) for f in features_of(rows, aliases)]
    return pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL)


# Features made beforehand (in a worker process), by item id, with the row they were made of
Made = dict[int, tuple[Row, Features]]


def read_features(
    db: Database, item_ids: Sequence[int], aliases: AliasTable, made: Made | None = None
) -> list[Features]:
    """The comparable features of stored items, with their initiative tags. An item in
    `made` whose row reads as it did when they were made takes those features; every other
    item's are made here."""
    rows = read_rows(db, item_ids)
    if not made:
        return features_of(rows, aliases)
    found: list[Features] = []
    todo: list[Row] = []
    for row in rows:
        before = made.get(row[0])
        if before is not None and before[0] == row:
            found.append(before[1])
        else:
            todo.append(row)
    return found + features_of(todo, aliases)


# Runs a function in another process: `offload(features_in_worker, rows, aliases)` gives a future
Offload = Callable[..., "Future[bytes]"]


def collect(ahead: tuple[list[Row], Future[bytes]]) -> Made | None:
    """The features a worker made, if they are ready (this process never waits for them:
    a batch whose features are late has them made here, as fast as the worker would)."""
    rows, future = ahead
    if not future.done():
        future.cancel()  # when it has not started yet
        return None
    try:
        features = pickle.loads(future.result())
    except Exception as error:  # the worker died or failed: made here instead
        log.warning("story features from a worker failed: %s", error)
        return None
    return {row[0]: (row, Features(*made)) for row, made in zip(rows, features, strict=True)}
