"""Stories in a real SQLite file: the pipeline step after tagging, every member's reason,
backfills that cluster as live arrival does, logged merges and their undo, recluster, a
restarted index that finds the window's stories, and the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from peacewatch import store
from peacewatch.cli import cli
from peacewatch.config import load_config
from peacewatch.models import ParsedItem
from peacewatch.pipeline import process_items
from peacewatch.runtime import make_story_index
from peacewatch.store import stories as story_store
from peacewatch.store import story_writes
from peacewatch.stories.aliases import load_aliases
from peacewatch.stories.cluster import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
NOW = "2025-05-20T12:00:00+00:00"
ALIASES = load_aliases(CONFIG)

# (outlet, language, published, headline, lead, event)
REPORTS = [
    ("aa", "en", "2025-05-16T14:00:00+00:00",
     "Russia and Ukraine agree to swap 1,000 prisoners after Istanbul talks",
     "Delegations led by Rustem Umerov and Vladimir Medinsky met in Istanbul on Friday.", "ist"),
    ("bb", "en", "2025-05-16T15:00:00+00:00",
     "Ukraine, Russia agree 1,000-for-1,000 prisoner swap at Istanbul talks",
     "Umerov said after the Istanbul meeting that each side will free 1,000 prisoners.", "ist"),
    ("cc", "uk", "2025-05-16T16:00:00+00:00",
     "Україна і Росія обміняються 1000 полонених після переговорів у Стамбулі",
     "Умєров і Мединський домовилися про обмін полоненими у Стамбулі.", "ist"),
    ("dd", "ru", "2025-05-16T17:00:00+00:00",
     "Россия и Украина договорились об обмене 1000 на 1000 в Стамбуле",
     "Мединский и Умеров договорились в Стамбуле об обмене пленными 1000 на 1000.", "ist"),
    ("ee", "en", "2025-05-16T18:00:00+00:00",
     "Istanbul talks end with deal on 1,000 prisoner swap, no ceasefire",
     "Medinsky and Umerov agreed in Istanbul to exchange 1,000 prisoners each.", "ist"),
    ("aa", "en", "2025-05-17T09:00:00+00:00",
     "Zelensky meets Macron in Paris on air defence",
     "Volodymyr Zelensky and Emmanuel Macron discussed air defence in Paris.", "paris"),
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = store.open_db(tmp_path / "pw.db")
    for outlet in {r[0] for r in REPORTS}:
        store.ensure_outlet(database, outlet, outlet.upper())
    yield database
    database.conn.close()


def save(db: Any, reports: list[tuple[str, ...]], *, prefix: str = "r") -> list[int]:
    ids = []
    with store.transaction(db):
        for n, (outlet, lang, published, title, lead, _) in enumerate(reports):
            item = ParsedItem(title=title, url=f"https://{outlet}.example/{prefix}{n}",
                              canonical_url=None, published=published, summary=lead,
                              lang=lang, lang_source="feed")  # fmt: skip
            ids += store.save_items(db, [item], source_id=None, outlet_id=outlet, now=NOW).new
    return ids


def story_id(db: Any, item_id: int) -> int:
    return int(
        db.execute("SELECT story_id FROM story_members WHERE item_id = ?", [item_id]).fetchone()[0]
    )


def index() -> story_store.StoryIndex:
    return story_store.StoryIndex(ALIASES, Settings())


def cluster(db: Any, ids: list[int], idx: story_store.StoryIndex | None = None) -> None:
    with store.transaction(db):
        (idx or index()).cluster_items(db, ids, NOW)


def partition(db: Any) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for story_id, url in db.execute(
        "SELECT story_id, items.url FROM story_members JOIN items ON items.id = item_id"
    ):
        groups.setdefault(story_id, set()).add(url.rsplit("/", 1)[-1][1:])
    return {frozenset(g) for g in groups.values()}


def test_every_item_gets_a_story_and_every_member_a_reason(db: Any) -> None:
    ids = save(db, REPORTS)
    cluster(db, ids)
    assert db.execute("SELECT count(*) FROM story_members").fetchone()[0] == len(REPORTS)
    assert partition(db) == {frozenset("01234"), frozenset("5")}
    (story,) = story_store.stories_on(db, day="2025-05-16")
    assert story["size"] == 5 and story["outlet_count"] == 5
    assert story["languages"] == ["en", "ru", "uk"]
    assert story["headline"] == REPORTS[0][3]  # the earliest English member
    founder, *joined = story["members"]
    assert founder["evidence"] == [] and founder["matched"] is None
    for member in joined:
        assert len(member["evidence"]) >= 2
        assert member["settings_version"] == Settings().version(ALIASES.digest)
        assert "1000" in member["shared"]["numbers"]
    ukrainian = next(m for m in joined if m["language"] == "uk")
    assert ukrainian["shared"]["places"] == ["istanbul"]
    assert ukrainian["gap_hours"] == 1.0


def test_the_pipeline_step_runs_after_tagging(db: Any) -> None:
    config = load_config(CONFIG)
    ids = save(db, REPORTS)
    with store.transaction(db):
        process_items(db, config, ids, NOW)
    assert db.execute("SELECT count(*) FROM story_members").fetchone()[0] == len(REPORTS)
    (story,) = story_store.stories_on(db, day="2025-05-16")
    tags = {
        r[0]
        for r in db.execute(
            f"SELECT initiative_id FROM item_initiatives WHERE item_id IN ({','.join('?' * 5)})",
            ids[:5],
        )
    }
    assert set(story["initiatives"]) == tags  # the story carries its members' initiatives


def test_a_backfill_in_any_order_clusters_as_live_arrival_does(db: Any, tmp_path: Path) -> None:
    live = save(db, REPORTS)
    for item_id in live:  # one item per poll
        cluster(db, [item_id])
    other = store.open_db(tmp_path / "backfill.db")
    for outlet in {r[0] for r in REPORTS}:
        store.ensure_outlet(other, outlet, outlet.upper())
    backfill = save(other, list(reversed(REPORTS)))
    cluster(other, backfill)  # one batch, stored newest first: taken in time order
    assert partition(db) == {frozenset("01234"), frozenset("5")}
    assert {frozenset(str(5 - int(c)) for c in g) for g in partition(other)} == partition(db)
    other.conn.close()


def test_a_restarted_index_finds_the_window_in_the_database(db: Any) -> None:
    ids = save(db, REPORTS[:2])
    cluster(db, ids)
    later = save(db, REPORTS[4:5], prefix="late")
    cluster(db, later, index())  # a fresh index, as after a daemon restart
    (story,) = story_store.stories_on(db, day="2025-05-16")
    assert story["size"] == 3


def test_an_item_already_in_a_story_keeps_it(db: Any) -> None:
    ids = save(db, REPORTS)
    idx = index()
    cluster(db, ids, idx)
    before = db.execute("SELECT * FROM story_members ORDER BY item_id").fetchall()
    cluster(db, ids, idx)
    assert db.execute("SELECT * FROM story_members ORDER BY item_id").fetchall() == before


def test_a_report_left_on_its_own_and_brought_in_later_keeps_its_reason(db: Any) -> None:
    # as in test_stories: judged against the English founder alone, the Russian report stays
    # on its own; once a Russian report has joined, it joins too, the merge logged
    reports = [
        ("aa", "en", "2025-05-16T09:00:00+00:00", "Zelensky visits troops near Kharkiv",
         "Zelensky met soldiers.", "other"),
        ("bb", "en", "2025-05-16T14:00:00+00:00",
         "Ukraine and Russia swap 185 prisoners of war each",
         "The exchange was mediated by the UAE, Zelensky said on Sunday.", "swap"),
        ("cc", "ru", "2025-05-16T15:00:00+00:00",
         "Зеленский: из плена домой вернулись защитники Мариуполя",
         "Об этом сообщили в Офисе президента.", "swap"),
        ("dd", "ru", "2025-05-16T16:00:00+00:00",
         "Зеленский: Россия и Украина провели обмен, из плена вернулись 185 защитников Мариуполя",
         "Обмен прошел при посредничестве ОАЭ.", "swap"),
    ]  # fmt: skip
    ids = save(db, reports)
    cluster(db, ids)
    assert partition(db) == {frozenset("0"), frozenset("123")}
    ((by, kept, members),) = db.execute(
        "SELECT item_id, kept_story, members FROM story_merges"
    ).fetchall()
    assert by == ids[3] and kept == story_id(db, ids[1]) and json.loads(members) == [ids[2]]
    evidence, shared = db.execute(
        "SELECT evidence, shared FROM story_members WHERE item_id = ?", [ids[2]]
    ).fetchone()
    assert {"terms", "names", "topics"} <= set(json.loads(evidence))
    assert json.loads(shared)["weights"]  # each feature's part, as for any member


def test_a_merge_is_logged_and_can_be_undone(db: Any) -> None:
    ids = save(db, REPORTS[:3])
    idx = index()
    # two stories of one event, stored apart (as an older settings version could leave them)
    with store.transaction(db):
        idx.clusterer._new_id = idx._new_story_id(db, NOW)
        first, second = idx._new_story_id(db, NOW)(), idx._new_story_id(db, NOW)()
        for item_id, story_id in ((ids[0], first), (ids[1], second)):
            db.execute(
                "INSERT INTO story_members (item_id, story_id, evidence, shared,"
                " settings_version, joined_at) VALUES (?, ?, '[]', '{}', 'old', ?)",
                [item_id, story_id, NOW],
            )
        story_writes.refresh_stories(db, [first, second], "old", NOW)
    late = save(db, REPORTS[4:5], prefix="late")
    cluster(db, late, idx)
    (merge,) = [
        dict(zip(("id", "kept", "absorbed", "item", "members"), r, strict=True))
        for r in db.execute(
            "SELECT id, kept_story, absorbed_story, item_id, members FROM story_merges"
        )
    ]
    assert merge["item"] == late[0]
    assert db.execute("SELECT count(DISTINCT story_id) FROM story_members").fetchone()[0] == 1
    kept, absorbed = story_writes.undo_merge(db, merge["id"], NOW)
    assert (kept, absorbed) == (merge["kept"], merge["absorbed"])
    back = {r[0] for r in db.execute(
        "SELECT item_id FROM story_members WHERE story_id = ?", [absorbed]
    )}  # fmt: skip
    assert back == set(json.loads(merge["members"]))
    assert db.execute("SELECT size FROM stories WHERE id = ?", [absorbed]).fetchone()[0] == 1
    with pytest.raises(LookupError):
        story_writes.undo_merge(db, merge["id"], NOW)
    # the running index notices (generation) and reloads instead of using stale memory
    more = save(db, REPORTS[3:4], prefix="more")
    cluster(db, more, idx)
    assert idx.generation is not None


def test_recluster_rebuilds_after_a_settings_change(db: Any) -> None:
    ids = save(db, REPORTS)
    cluster(db, ids)
    strict = story_store.StoryIndex(ALIASES, Settings(min_kinds=5))
    seen: list[int] = []
    done = story_store.recluster(db, strict, since="2025-05-01", now=NOW, batch_size=2,
                                 progress=seen.append)  # fmt: skip
    assert done == len(REPORTS) and sum(seen) == len(REPORTS) and max(seen) <= 2
    versions = {r[0] for r in db.execute("SELECT DISTINCT settings_version FROM story_members")}
    assert versions == {strict.version}
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] > 2  # stricter: more
    story_store.recluster(db, index(), since=None, now=NOW)
    assert partition(db) == {frozenset("01234"), frozenset("5")}


def test_memory_follows_the_window_not_the_history(db: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(story_store, "MAX_STORIES_IN_MEMORY", 5)  # forget beyond a few
    monkeypatch.setattr(story_store, "HOLD_STORIES", 2)  # and retire beyond fewer
    reports = [
        ("aa", "en", f"2025-03-{day:02d}T12:00:00+00:00", f"Unrelated headline number {day}",
         f"Lead {day}.", str(day))
        for day in range(1, 29)
    ]  # fmt: skip
    ids = save(db, reports)
    idx = index()
    for item_id in ids:
        cluster(db, [item_id], idx)
    assert len(idx.clusterer.stories) <= 3 + 2  # held: a window of 72 h, one a day
    assert idx.clusterer.counted <= 3 * 3 + 2  # counted: three windows


def invoke(db_path: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["--config", str(CONFIG), "--db", str(db_path), *args], catch_exceptions=False
    )


def test_commands_show_stories_and_recluster(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    db = store.open_db(path)
    for outlet in {r[0] for r in REPORTS}:
        store.ensure_outlet(db, outlet, outlet.upper())
    ids = save(db, REPORTS)
    with store.transaction(db):
        make_story_index(load_config(CONFIG)).cluster_items(db, ids, NOW)
    db.conn.close()
    shown = invoke(path, "stories", "--date", "2025-05-16", "--json")
    assert shown.exit_code == 0
    (story,) = [json.loads(line) for line in shown.output.splitlines()]
    assert story["size"] == 5 and len(story["members"]) == 5
    text = invoke(path, "stories", "--date", "2025-05-16").output
    assert "5 items, 5 outlets, languages en, ru, uk" in text and "founded the story" in text
    rebuilt = invoke(path, "recluster", "--since", "2025-05-01", "--quiet")
    assert rebuilt.exit_code == 0 and rebuilt.output.startswith("reclustered 6 items")
    bad = invoke(path, "stories", "--date", "16 May")
    assert bad.exit_code == 2 and "--date: expected YYYY-MM-DD" in bad.output
    missing = invoke(path, "unmerge", "99")
    assert missing.exit_code == 2 and "no merge 99" in missing.output


def test_the_canned_queries_answer(db: Any) -> None:
    from peacewatch.surfaces.datasette_app import load_metadata

    ids = save(db, REPORTS)
    with store.transaction(db):
        process_items(db, load_config(CONFIG), ids, NOW)
    queries = load_metadata(CONFIG / "datasette.yml", "peacewatch")["databases"]["peacewatch"][
        "queries"
    ]
    largest = db.execute(queries["largest_stories"]["sql"], {"day": "2025-05-16"}).fetchall()
    assert [row[3] for row in largest] == [5]  # size
    story_id = largest[0][0]
    why = db.execute(queries["story_members_why"]["sql"], {"story": story_id}).fetchall()
    assert len(why) == 5 and json.loads(why[1][5])  # every joined member has evidence
    per = db.execute(
        queries["stories_per_initiative"]["sql"], {"from": "2025-05-01", "to": "2025-05-31"}
    ).fetchall()
    tagged = {r[0] for r in db.execute("SELECT DISTINCT initiative_id FROM item_initiatives")}
    assert {row[0] for row in per} == tagged


def test_items_stored_before_stories_get_theirs_in_the_background(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "old.db"
    db = store.open_db(path)
    for outlet in {r[0] for r in REPORTS}:
        store.ensure_outlet(db, outlet, outlet.upper())
    save(db, REPORTS)  # stored without the story step, as before stories existed
    assert story_store.unclustered(db) == len(REPORTS)
    daemon_index = index()
    with store.transaction(db):
        daemon_index.cluster_items(db, [], NOW)
    thread = story_store.cluster_missing_in_background(
        path, index, stop=threading.Event(), now=lambda: NOW
    )
    assert thread is not None
    thread.join(30)
    assert story_store.unclustered(db) == 0
    assert partition(db) == {frozenset("01234"), frozenset("5")}
    # nothing left: no thread the next time
    assert (
        story_store.cluster_missing_in_background(
            path, index, stop=threading.Event(), now=lambda: NOW
        )
        is None
    )
    db.conn.close()


# Two reports of the 2022 Istanbul round, clustered after the 2025 stories of REPORTS
ISTANBUL_2022 = [
    ("aa", "en", "2022-03-29T10:00:00+00:00", "Talks in Istanbul: Ukraine offers neutral status",
     "Delegations met at Dolmabahce.", "x"),
    ("bb", "en", "2022-03-29T12:00:00+00:00",
     "Ukraine offers neutral status at Istanbul talks at Dolmabahce",
     "Delegations met at Dolmabahce in Istanbul.", "x"),
]  # fmt: skip


def test_old_stories_are_retired_reloaded_when_needed_and_forgotten_beyond_the_cap(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first cycle over feeds of different years: a 2022 story clustered after 2025 ones is
    # held while few stories are (HOLD_STORIES); beyond, it is retired (no longer held, still
    # counted), and the next 2022 feed loads it again.
    later = save(db, REPORTS[:2])
    older = save(db, [ISTANBUL_2022[0]], prefix="o")
    idx = index()
    cluster(db, later, idx)
    cluster(db, older, idx)
    story = story_id(db, older[0])
    assert story in idx.clusterer.stories and not idx.clusterer.retired
    monkeypatch.setattr(story_store, "HOLD_STORIES", 1)
    cluster(db, save(db, [REPORTS[2]], prefix="q"), idx)
    assert story in idx.clusterer.retired and story not in idx.clusterer.stories
    assert {story_id(db, i) for i in later} <= set(idx.clusterer.stories)
    assert idx.clusterer.counted == 2
    again = save(db, [ISTANBUL_2022[1]], prefix="p")
    cluster(db, again, idx)
    assert story_id(db, again[0]) == story  # loaded again, and joined
    assert idx.clusterer.counted == 2  # counted once
    # beyond the cap, stories three windows behind the newest item are forgotten
    monkeypatch.setattr(story_store, "MAX_STORIES_IN_MEMORY", 1)
    newest = save(db, [REPORTS[5]], prefix="n")
    cluster(db, newest, idx)
    assert story not in idx.clusterer.retired and story not in idx.clusterer.stories
    assert idx.clusterer.story_of[newest[0]] in idx.clusterer.stories


def test_a_forgotten_story_is_loaded_again_for_an_older_item(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forgotten beyond the cap while few stories are held (none retired), not lost: another
    # 2022 item loads the 2022 story again from the database and joins it.
    later = save(db, REPORTS[:2])
    older = save(db, [ISTANBUL_2022[0]], prefix="o")
    idx = index()
    cluster(db, later, idx)
    cluster(db, older, idx)
    monkeypatch.setattr(story_store, "MAX_STORIES_IN_MEMORY", 1)
    cluster(db, save(db, [REPORTS[5]], prefix="n"), idx)
    story = story_id(db, older[0])
    assert story not in idx.clusterer.stories and not idx.clusterer.retired
    again = save(db, [ISTANBUL_2022[1]], prefix="p")
    cluster(db, again, idx)
    assert story_id(db, again[0]) == story
