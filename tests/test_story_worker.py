"""run --once's story round with the parse worker making the next batch's features: the same
features, and so the same stories, scores and reasons, as features made in the main process,
on real feeds (the shared corpus's, when it is there) and real labelled coverage."""

from __future__ import annotations

import pickle
import shutil
from collections import Counter
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from peacewatch import store
from peacewatch.config import load_config
from peacewatch.errors import ParseError
from peacewatch.ingest.feeds import parse_feed
from peacewatch.ingest.parsepool import ParsePool
from peacewatch.models import ParsedItem
from peacewatch.pipeline import process_items
from peacewatch.runtime import make_story_index
from peacewatch.store import stories as story_store
from peacewatch.store import story_rows
from peacewatch.stories.evaluation import load_rows
from peacewatch.stories.features import Features

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
LABELLED = ROOT / "tests" / "fixtures" / "stories" / "labelled.jsonl"
NOW = "2026-11-27T12:00:00+00:00"
TABLES = {
    "story_members": "SELECT item_id, story_id, similarity, evidence, matched, shared,"
    " gap_hours, settings_version FROM story_members ORDER BY item_id",
    "stories": "SELECT * FROM stories ORDER BY id",
    "story_merges": "SELECT * FROM story_merges ORDER BY id",
}


def corpus_items() -> list[tuple[str, ParsedItem]]:
    """Every item of every real corpus feed, twice (two outlets' copies with their own links,
    as bench_ingest serves them), so that stories have members to join."""
    found = []
    for path in sorted(CORPUS.iterdir()):
        try:
            parsed = parse_feed(path.read_bytes(), url=f"https://{path.stem}.example/feed")
        except ParseError:
            continue  # the corpus's broken feeds: nothing to cluster
        for copy in ("a", "b"):
            found += [
                (f"{copy}-{path.stem[:20]}",
                 replace(item, url=f"https://{copy}.example/{path.stem}/{n}", canonical_url=None,
                         guid=f"{copy}-{path.stem}-{n}"))
                for n, item in enumerate(parsed.items)
            ]  # fmt: skip
    return found


def labelled_items() -> list[tuple[str, ParsedItem]]:
    return [
        (row.outlet, ParsedItem(title=row.title, url=row.url, canonical_url=None,
                                published=f"{row.date}T12:00:00+00:00" if len(row.date) == 10
                                else row.date, summary=row.lead, lang=row.language,
                                lang_source="feed"))
        for row in load_rows(LABELLED)
    ]  # fmt: skip


def stored(path: Path, items: list[tuple[str, ParsedItem]]) -> store.Database:
    """A database of the items, their languages and initiative tags as a poll stores them
    (shipped configuration), and no stories yet."""
    config = load_config(ROOT / "config")
    db = store.open_db(path)
    ids: list[int] = []
    with store.transaction(db):
        for outlet in {o for o, _ in items}:
            store.ensure_outlet(db, outlet, outlet)
        for outlet, item in items:
            ids += store.save_items(db, [item], source_id=None, outlet_id=outlet, now=NOW).new
        process_items(db, config, ids, NOW, cluster=False)
    return db


def dump(db: store.Database) -> dict[str, list[tuple[Any, ...]]]:
    return {name: db.execute(sql).fetchall() for name, sql in TABLES.items()}


def round_with(db_path: Path, pool: ParsePool | None, batch_size: int) -> tuple[dict, int]:
    """The story round of run --once on a copy of the database; with `pool`, every batch's
    features but the first are made in the worker and waited for (the round itself takes
    them only when ready), so each is taken. Returns the tables and the batches offloaded."""
    config = load_config(ROOT / "config")
    submitted: list[int] = []

    def ready(func: Any, rows: list[Any], aliases: Any) -> Future[Any]:
        assert pool is not None
        future = pool.submit(func, rows, aliases)
        future.result(timeout=120)
        submitted.append(len(rows))
        return future

    db = store.open_db(db_path)
    try:
        done = story_store.cluster_missing(
            db, make_story_index(config), now=NOW, batch_size=batch_size,
            offload=ready if pool is not None else None,
        )  # fmt: skip
        assert done == db.execute("SELECT count(*) FROM items").fetchone()[0]
        return dump(db), len(submitted)
    finally:
        db.conn.close()


def same_round_both_ways(tmp_path: Path, items: list[tuple[str, ParsedItem]]) -> dict:
    db = stored(tmp_path / "items.db", items)
    db.conn.close()
    for name in ("here", "worker"):
        shutil.copy(tmp_path / "items.db", tmp_path / f"{name}.db")
    pool = ParsePool(1)
    try:
        here, none = round_with(tmp_path / "here.db", None, batch_size=300)
        worker, offloaded = round_with(tmp_path / "worker.db", pool, batch_size=300)
    finally:
        pool.close()
    assert none == 0 and offloaded == -(-len(items) // 300) - 1  # every batch but the first
    assert worker == here
    return here


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no shared corpus")
def test_features_made_in_the_worker_are_the_features_made_here(tmp_path: Path) -> None:
    # a slice of each: real feeds' items (markup, no lead) and labelled coverage (en/uk/ru)
    db = stored(tmp_path / "items.db", corpus_items()[::4] + labelled_items()[::4])
    ids = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id")]
    rows = story_rows.read_rows(db, ids)
    aliases = make_story_index(load_config(ROOT / "config")).aliases
    pool = ParsePool(1)
    try:
        made = pickle.loads(
            pool.submit(story_rows.features_in_worker, rows, aliases).result(timeout=120)
        )
    finally:
        pool.close()
    assert [Features(*values) for values in made] == story_rows.features_of(rows, aliases)
    assert any(f.names for f in story_rows.features_of(rows[-50:], aliases))  # alias table
    assert db.execute("SELECT count(*) FROM item_initiatives").fetchone()[0] > 0  # tags


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no shared corpus")
def test_a_round_with_the_worker_decides_as_one_without_on_real_feeds(tmp_path: Path) -> None:
    tables = same_round_both_ways(tmp_path, corpus_items())
    members = tables["story_members"]
    assert len({m[1] for m in members}) < len(members)  # the copies joined their originals


def test_a_round_with_the_worker_decides_as_one_without_on_labelled_coverage(
    tmp_path: Path,
) -> None:
    tables = same_round_both_ways(tmp_path, labelled_items())
    sizes = Counter(m[1] for m in tables["story_members"])
    assert max(sizes.values()) >= 10  # stories of many members


def test_features_whose_item_changed_since_are_made_again(tmp_path: Path) -> None:
    # An item edited between the worker's reading and its batch's turn: its row reads
    # otherwise, so its features are made here from what it now says.
    db = stored(tmp_path / "items.db", labelled_items()[:4])
    ids = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id")]
    aliases = make_story_index(load_config(ROOT / "config")).aliases
    rows = story_rows.read_rows(db, ids)
    made = {row[0]: (row, f) for row, f in zip(rows, story_rows.features_of(rows, aliases),
                                                 strict=True)}  # fmt: skip
    db.execute("UPDATE items SET title = 'Another headline altogether' WHERE id = ?", [ids[0]])
    found = {f.item_id: f for f in story_rows.read_features(db, ids, aliases, made)}
    assert found[ids[0]].title == "Another headline altogether"
    assert all(found[i] is made[i][1] for i in ids[1:])


def test_a_worker_that_fails_or_is_late_leaves_the_features_to_this_process(
    tmp_path: Path,
) -> None:
    items = labelled_items()[:40]
    db = stored(tmp_path / "items.db", items)
    db.conn.close()
    expected, _ = round_with(shutil.copy(tmp_path / "items.db", tmp_path / "a.db"), None, 10)

    def failing(*_args: Any) -> Future[Any]:
        failed: Future[Any] = Future()
        failed.set_exception(RuntimeError("the worker died"))
        return failed

    def late(*_args: Any) -> Future[Any]:
        return Future()  # never done: the round does not wait for it

    for offload in (failing, late):
        db = store.open_db(shutil.copy(tmp_path / "items.db", tmp_path / "b.db"))
        config = load_config(ROOT / "config")
        story_store.cluster_missing(db, make_story_index(config), now=NOW, batch_size=10,
                                    offload=offload)  # fmt: skip
        assert dump(db) == expected
        db.conn.close()
