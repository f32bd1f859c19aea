"""The digest folds a story cluster into one entry: its outlets, the count of the others and
its languages ("and 3 more outlets, 3 languages"), whatever their headlines."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from peacewatch import store
from peacewatch.config import load_config
from peacewatch.models import ParsedItem
from peacewatch.pipeline import process_items
from peacewatch.surfaces.digest import build_digest
from peacewatch.surfaces.digest_config import DigestConfig
from peacewatch.surfaces.digest_render import render_parts

ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-05-16T20:00:00+00:00"
LEAD_EN = "Rustem Umerov and Vladimir Medinsky agreed in Istanbul to exchange 1,000 prisoners."
REPORTS = [
    ("o1", "en", "Russia and Ukraine agree to swap 1,000 prisoners after Istanbul talks", LEAD_EN),
    ("o2", "en", "Ukraine, Russia agree 1,000-for-1,000 prisoner swap at Istanbul talks", LEAD_EN),
    ("o3", "en", "Istanbul talks end with deal on 1,000 prisoner swap, no ceasefire", LEAD_EN),
    ("o4", "en", "Istanbul peace talks: 1,000 prisoners each to be swapped, Umerov says", LEAD_EN),
    ("o5", "en", "Prisoner swap of 1,000 agreed at Istanbul talks between Ukraine and Russia",
     LEAD_EN),
    ("o6", "uk", "Україна і Росія обміняються 1000 полонених після переговорів у Стамбулі",
     "Умєров і Мединський домовилися про обмін полоненими 1000 на 1000 у Стамбулі."),
    ("o7", "ru", "Россия и Украина договорились об обмене 1000 на 1000 в Стамбуле",
     "Мединский и Умеров договорились в Стамбуле об обмене пленными 1000 на 1000."),
    ("o8", "ru", "Мединский: в Стамбуле договорились об обмене пленными 1000 на 1000",
     "Мединский и Умеров договорились в Стамбуле об обмене пленными 1000 на 1000."),
    ("o9", "en", "Istanbul talks agree 1,000-for-1,000 prisoner swap, says Medinsky", LEAD_EN),
]  # fmt: skip


def build(tmp_path: Path) -> Any:
    db = store.open_db(tmp_path / "digest.db")
    with store.transaction(db):
        ids = []
        for n, (outlet, lang, title, lead) in enumerate(REPORTS):
            store.ensure_outlet(db, outlet, f"Outlet {outlet[1:]}")
            item = ParsedItem(
                title=title, url=f"https://{outlet}.example/{n}", canonical_url=None,
                published=f"2025-05-16T{10 + n:02d}:00:00+00:00", summary=lead, lang=lang,
                lang_source="feed",
            )  # fmt: skip
            ids += store.save_items(db, [item], source_id=None, outlet_id=outlet, now=NOW).new
        process_items(db, load_config(ROOT / "config"), ids, NOW)
    return db


def test_a_story_is_one_entry_with_its_outlets_and_languages(tmp_path: Path) -> None:
    db = build(tmp_path)
    assert db.execute("SELECT count(DISTINCT story_id) FROM story_members").fetchone()[0] == 1
    digest = build_digest(db, date(2025, 5, 16), None, "UTC")
    entries = [e for s in digest.sections for e in s.entries] + list(digest.general)
    folded = [e for e in entries if e.also]
    assert folded, "the story folds into one entry"
    entry = max(folded, key=lambda e: len(e.also))
    assert entry.title == REPORTS[0][2] and len(entry.also) == len(REPORTS) - 1
    assert entry.languages == ("en", "ru", "uk")
    assert len(entry.also_shown) == 5 and entry.more_outlets == 3
    text, html = render_parts(digest, DigestConfig(), "analyst@example.org")
    assert "and 3 more outlets, 3 languages" in text
    assert "and 3 more outlets, 3 languages" in html
    db.conn.close()
