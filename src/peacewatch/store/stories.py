"""Story storage: each item's story and the reason it joined, kept in `stories`,
`story_members` and `story_merges`, and the in-memory index the clusterer works on.

`StoryIndex.cluster_items` is the one pipeline step: it reads the new items with their tags,
loads from the database the stories of their window that are not in memory yet (so a
backfill or an imported list meets the same stories live arrival would), lets
`stories.cluster` decide, and writes the decisions in the caller's transaction. Stories far
behind the newest item are dropped from memory, so memory follows the window, not the
history. `recluster` rebuilds from a day on after a settings change, in short transactions
so fetching goes on; it bumps a generation number that tells running indexes to reload.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peacewatch.errors import PeacewatchError
from peacewatch.store import meta
from peacewatch.store.database import Database, transaction
from peacewatch.store.story_rows import (
    ITEM_TIME,
    Made,
    Offload,
    Row,
    chunks,
    collect,
    features_in_worker,
    read_features,
    read_rows,
)
from peacewatch.store.story_writes import (
    GENERATION,
    bump_generation,
    refresh_stories,
    save_decision,
)
from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cluster import Clusterer, Decision, Settings
from peacewatch.stories.collector import fewer_collections

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger("peacewatch.stories")

_TIME = ITEM_TIME


def _meta(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


MAX_STORIES_IN_MEMORY = 20_000  # beyond it (held or retired), those 3 windows behind are forgotten
# Beyond this many stories held, those a window behind the newest item are retired (their
# keys kept and counted, their members dropped: 3-9 KB each, about 400 bytes retired). Below it
# nothing is retired, so an older item (a new source's backlog) never makes a round load
# again from the database what an earlier round had in memory.
HOLD_STORIES = 5_000


@dataclass
class StoryIndex:
    """The stories of the window around recent items, in memory, over the database's."""

    aliases: AliasTable
    settings: Settings

    def __post_init__(self) -> None:
        self.version = self.settings.version(self.aliases.digest)
        self._reset(None)

    def _reset(self, generation: str | None) -> None:
        self.clusterer = Clusterer(self.settings)
        self.generation = generation
        self.loaded: tuple[float, float] | None = None  # time range whose stories are in memory

    def _load(self, db: Database, lo: float, hi: float) -> None:
        """Bring the stories overlapping [lo, hi] into memory (those not there yet)."""
        if self.loaded is not None and self.loaded[0] <= lo and hi <= self.loaded[1]:
            return
        rows = db.execute(
            "SELECT id FROM stories WHERE window_end >= ? AND window_start <= ?",
            [_iso(lo), _iso(hi)],
        ).fetchall()
        wanted = [r[0] for r in rows if r[0] not in self.clusterer.stories]
        for chunk in chunks(wanted):
            marks = ",".join("?" * len(chunk))
            members = db.execute(
                f"SELECT item_id, story_id FROM story_members WHERE story_id IN ({marks})"
                " ORDER BY story_id, rowid",
                list(chunk),
            ).fetchall()
            story_of = dict(members)
            features = read_features(db, [m[0] for m in members], self.aliases)
            for feature in sorted(features, key=lambda f: (story_of[f.item_id], f.time)):
                self.clusterer.place(feature, story_of[feature.item_id])
        if self.loaded is None:
            self.loaded = (lo, hi)
        else:
            self.loaded = (min(lo, self.loaded[0]), max(hi, self.loaded[1]))

    def _new_story_id(self, db: Database, now: str) -> Callable[[], int]:
        def allocate() -> int:
            cursor = db.execute(
                "INSERT INTO stories (first_seen, window_start, window_end, day, headline, size,"
                " outlet_count, outlets, languages, initiatives, settings_version, updated_at)"
                " VALUES (?, ?, ?, ?, '', 0, 0, '[]', '[]', '[]', ?, ?)",
                [now, now, now, now[:10], self.version, now],
            )
            return int(cursor.lastrowid or 0)

        return allocate

    def cluster_items(
        self, db: Database, item_ids: Iterable[int], now: str, *, made: Made | None = None
    ) -> list[Decision]:
        """Give each new item (not yet in a story) its story, inside the caller's
        transaction; items are taken in time order. `made`: features made beforehand, taken
        for the items whose rows are still those they were made of (`read_features`)."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return []
        generation = _meta(db, GENERATION)
        if generation != self.generation:
            self._reset(generation)
        placed: set[int] = set()
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            placed.update(
                r[0]
                for r in db.execute(
                    f"SELECT item_id FROM story_members WHERE item_id IN ({marks})", list(chunk)
                )
            )
        with fewer_collections():  # the stories in memory are long-lived: collector.py
            wanted = [i for i in ids if i not in placed]
            items = read_features(db, wanted, self.aliases, made)
            if not items:
                return []
            items.sort(key=lambda f: (f.time, f.item_id))
            window = self.settings.window
            self._load(db, items[0].time - window, items[-1].time + window)
            self.clusterer._new_id = self._new_story_id(db, now)
            decisions = [self.clusterer.assign(item) for item in items]
        touched: set[int] = set()
        for decision in decisions:
            touched.add(decision.story_id)
            save_decision(db, decision, self.version, now)
        refresh_stories(db, touched, self.version, now)
        self._forget(window)
        return decisions

    def _forget(self, window: float) -> None:
        """Hold only what the next items can need. Beyond HOLD_STORIES, stories a window
        behind the newest item are retired (`Clusterer.retire`: only their keys are kept,
        still counted, so no decision changes): items mostly come in time order, and the
        batch of an older one loads them again from the database (`_load`), as a new process
        would. Held memory follows the window, not the history. Stories far behind are
        forgotten, from the counts too, only once there are many (MAX_STORIES_IN_MEMORY,
        held or retired), as before retiring existed."""
        clusterer = self.clusterer
        if len(clusterer.stories) > HOLD_STORIES:
            self._shrink(clusterer.retire(clusterer.latest - window), clusterer.latest - window)
        if clusterer.counted > MAX_STORIES_IN_MEMORY:  # retiring does not change the count
            horizon = clusterer.latest - 3 * window
            self._shrink(clusterer.evict(horizon), horizon)

    def _shrink(self, dropped: int, horizon: float) -> None:
        """After stories before `horizon` left memory: those overlapping the rest of the
        loaded range are all still held."""
        if dropped and self.loaded is not None:
            self.loaded = (max(self.loaded[0], horizon), self.loaded[1])


def recluster(
    db: Database,
    index: StoryIndex,
    *,
    since: str | None,
    now: str,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Forget the stories of items from `since` (a day or instant; None: all) and cluster
    those items again in time order, `batch_size` items per transaction. Returns the count."""
    start = since or ""
    with transaction(db):
        affected = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT story_members.story_id FROM story_members JOIN items"
                f" ON items.id = story_members.item_id WHERE {_TIME} >= ?",
                [start],
            )
        ]
        db.execute(
            f"DELETE FROM story_members WHERE item_id IN (SELECT id FROM items WHERE {_TIME} >= ?)",
            [start],
        )
        db.execute(
            f"DELETE FROM story_merges WHERE item_id IN (SELECT id FROM items WHERE {_TIME} >= ?)",
            [start],
        )
        refresh_stories(db, affected, index.version, now)
        bump_generation(db)
    ids = [
        r[0]
        for r in db.execute(
            f"SELECT id FROM items WHERE {_TIME} >= ? ORDER BY {_TIME}, id", [start]
        )
    ]
    for chunk in chunks(ids, batch_size):
        with transaction(db):
            index.cluster_items(db, chunk, now)
        if progress is not None:
            progress(len(chunk))
    with transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('stories_settings_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [index.version],
        )
    return len(ids)


def stories_on(
    db: Database, *, day: str | None = None, initiative: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The largest stories (of a day), each with its members and their reasons."""
    where, params = [], []
    if day:
        where.append("stories.day = ?")
        params.append(day)
    if initiative:
        where.append("EXISTS (SELECT 1 FROM json_each(stories.initiatives) WHERE value = ?)")
        params.append(initiative)
    sql = (
        "SELECT id, day, headline, size, outlet_count, outlets, languages, initiatives,"
        " window_start, window_end, first_seen FROM stories"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY size DESC, outlet_count DESC, window_start DESC LIMIT ?"
    )
    found = []
    for row in db.execute(sql, [*params, limit]).fetchall():
        story = dict(zip(
            ("id", "day", "headline", "size", "outlet_count", "outlets", "languages",
             "initiatives", "window_start", "window_end", "first_seen"), row, strict=True,
        ))  # fmt: skip
        for name in ("outlets", "languages", "initiatives"):
            story[name] = json.loads(story[name])
        story["members"] = [
            {
                "item_id": m[0],
                "title": m[1],
                "outlet": m[2],
                "language": m[3],
                "time": m[4],
                "evidence": json.loads(m[5]),
                "matched": m[6],
                "shared": json.loads(m[7]),
                "similarity": m[8],
                "gap_hours": m[9],
                "settings_version": m[10],
            }
            for m in db.execute(
                "SELECT item_id, title, outlet, language, time, evidence, matched, shared,"
                " similarity, gap_hours, settings_version FROM story_member_reasons"
                " WHERE story_id = ? ORDER BY time, item_id",
                [story["id"]],
            )
        ]
        found.append(story)
    return found


def oldest_first(db: Database, item_ids: Iterable[int]) -> list[int]:
    """Stored items among `item_ids`, in the order the clusterer takes them: time, then id."""
    found: list[tuple[str, int]] = []
    for chunk in chunks(list(item_ids)):
        marks = ",".join("?" * len(chunk))
        found += db.execute(
            f"SELECT {_TIME}, id FROM items WHERE id IN ({marks})", list(chunk)
        ).fetchall()
    return [item_id for _time, item_id in sorted(found)]


def unclustered(db: Database) -> int:
    """Items that have no story yet (stored before stories existed, or by an older version)."""
    return int(
        db.execute(
            "SELECT count(*) FROM items WHERE NOT EXISTS"
            " (SELECT 1 FROM story_members WHERE story_members.item_id = items.id)"
        ).fetchone()[0]
    )


def cluster_missing(
    db: Database,
    index: StoryIndex,
    *,
    now: str,
    batch_size: int = 500,
    stop: threading.Event | None = None,
    offload: Offload | None = None,
) -> int:
    """Give every item without a story its story, oldest first, one short transaction per
    batch; each batch bumps the generation so a running daemon reloads the window. Returns
    how many items were clustered; stopping keeps the finished batches.

    With `offload` (a worker process that is idle meanwhile), the next batch's features are
    made there while this process clusters the current one: they are about a third of a
    round. They are taken only when ready by the batch's turn and only for items whose rows
    still read as they did (`read_features`); any other item's, and all of them when the
    worker fails, are made here, as without a worker: the same features either way."""
    done = 0
    ahead: tuple[list[Row], Future[bytes]] | None = None
    while stop is None or not stop.is_set():
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM items WHERE NOT EXISTS (SELECT 1 FROM story_members"
                f" WHERE story_members.item_id = items.id) ORDER BY {_TIME}, id LIMIT ?",
                [batch_size * (2 if offload is not None else 1)],
            )
        ]
        ids, following = ids[:batch_size], ids[batch_size:]
        if not ids:
            with transaction(db):
                meta.clear_story_round_owed(db)
            break
        made = collect(ahead) if ahead is not None else None
        ahead = None
        if offload is not None and following:
            rows = read_rows(db, following)
            try:
                ahead = (rows, offload(features_in_worker, rows, index.aliases))
            except Exception as error:  # no worker: made here when their turn comes
                log.warning("story features could not go to a worker: %s", error)
        with transaction(db):
            index.cluster_items(db, ids, now, made=made)
            bump_generation(db)
        index.generation = _meta(db, GENERATION)  # its own writes need no reload
        done += len(ids)
    if ahead is not None:
        ahead[1].cancel()  # stopped: not needed
    return done


def cluster_missing_in_background(
    db_path: Path | str,
    make_index: Callable[[], StoryIndex],
    *,
    stop: threading.Event,
    now: Callable[[], str],
    busy_timeout: float = 10.0,
) -> threading.Thread | None:
    """For the daemon's start: stories for items stored without one, in a thread with its own
    connection; None when every item has one. Set `stop` on shutdown: the current batch
    commits and the next start resumes."""
    from peacewatch.store.database import open_db

    db = open_db(db_path, busy_timeout=busy_timeout)
    try:
        if not unclustered(db):
            with transaction(db):
                meta.clear_story_round_owed(db)
            return None
    finally:
        db.conn.close()

    def run() -> None:
        worker = open_db(db_path, busy_timeout=busy_timeout)
        try:
            count = cluster_missing(worker, make_index(), now=now(), stop=stop)
            log.info("stories given to %d items stored without one", count)
        except (PeacewatchError, sqlite3.Error) as error:  # logged; the next start retries
            log.error("story clustering of stored items failed: %s", error)
        finally:
            worker.conn.close()

    thread = threading.Thread(target=run, name="peacewatch-stories", daemon=True)
    thread.start()
    return thread
