"""Items in the store: deduplicated saving (canonical URL, guid, same headline from the same
outlet within SAME_HEADLINE_DAYS), revisions of changed headlines and summaries, and counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from peacewatch.ingest.dates import zone
from peacewatch.ingest.urls import canonicalize_url
from peacewatch.models import ParsedItem, SaveReport
from peacewatch.store.database import Database, _dicts, _one
from peacewatch.text import title_key
from peacewatch.timeutil import parse_iso

__all__ = ["SAME_HEADLINE_DAYS", "save_items", "stats"]

# The same headline from the same outlet within this many days is the same story.
SAME_HEADLINE_DAYS = 3


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _BatchIndex:
    """What the database already knows about one batch's guids, URLs and headlines, read
    with a few IN queries instead of three lookups per item, and kept current as the batch
    inserts. Lookup order: guid within the source, canonical URL, then the same headline
    from the same outlet within SAME_HEADLINE_DAYS."""

    def __init__(
        self,
        db: Database,
        rows: list[tuple[ParsedItem, str | None, str]],
        *,
        source_id: str | None,
        outlet_id: str,
    ) -> None:
        self.guids: dict[str, int] = {}
        self.urls: dict[str, int] = {}
        self.titles: dict[str, list[tuple[int, str]]] = {}
        guids = sorted({item.guid for item, _, _ in rows if item.guid})
        urls = sorted({canonical for _, canonical, _ in rows if canonical})
        keys = sorted({key for _, _, key in rows if key})
        if source_id:
            for chunk in _chunks(guids):
                marks = ",".join("?" * len(chunk))
                for guid, item_id in db.execute(
                    f"""SELECT guid, min(item_id) FROM item_sources
                        WHERE source_id = ? AND guid IN ({marks}) GROUP BY guid""",
                    [source_id, *chunk],
                ):
                    self.guids[guid] = item_id
        for chunk in _chunks(urls):
            marks = ",".join("?" * len(chunk))
            for url, item_id in db.execute(
                f"SELECT url, item_id FROM item_urls WHERE url IN ({marks})", chunk
            ):
                self.urls[url] = item_id
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, item_id, when in db.execute(
                f"""SELECT title_key, id, COALESCE(published, first_seen) FROM items
                    WHERE outlet_id = ? AND title_key IN ({marks}) ORDER BY id""",
                [outlet_id, *chunk],
            ):
                self.titles.setdefault(key, []).append((item_id, when))

    def find(self, item: ParsedItem, canonical: str | None, key: str, now: str) -> int | None:
        if item.guid and item.guid in self.guids:
            return self.guids[item.guid]
        if canonical and canonical in self.urls:
            return self.urls[canonical]
        candidates = self.titles.get(key)
        if candidates:
            when = parse_iso(item.published or now)
            window = timedelta(days=SAME_HEADLINE_DAYS)
            for item_id, seen in candidates:
                if abs(parse_iso(seen) - when) <= window:
                    return item_id
        return None

    def add(
        self, item_id: int, item: ParsedItem, canonical: str | None, key: str, now: str
    ) -> None:
        if item.guid:
            self.guids.setdefault(item.guid, item_id)
        if canonical:
            self.urls.setdefault(canonical, item_id)
        if key:
            self.titles.setdefault(key, []).append((item_id, item.published or now))


# Fields a later sighting may fill in when the stored item lacks them. A declared language
# also replaces a detected one.
_FILLABLE = ("url", "canonical_url", "guid", "published", "updated", "author")


def _local_of(
    db: Database, outlet_id: str, source_id: str | None
) -> Callable[[ParsedItem], str | None]:
    """A function giving an item's `published_local`: what the parser said, else the UTC
    instant in the outlet's (else the source's) zone, else the UTC instant itself."""
    row = _one(
        db,
        """SELECT COALESCE((SELECT timezone FROM outlets WHERE id = ?),
                           (SELECT timezone FROM sources WHERE id = ?))""",
        [outlet_id, source_id],
    )
    tz = zone(row[0] if row else None)

    def local(item: ParsedItem) -> str | None:
        if item.published_local or not item.published:
            return item.published_local
        return parse_iso(item.published).astimezone(tz).isoformat() if tz else item.published

    return local


def save_items(
    db: Database,
    items: Iterable[ParsedItem],
    *,
    source_id: str | None,
    outlet_id: str,
    now: str,
) -> SaveReport:
    """Store items once each; call inside a transaction.

    A known story gets its missing fields filled in, a changed headline or summary (the old
    text goes to item_revisions), and a link to this source. Storing the same items again
    changes nothing.
    """
    new: list[int] = []
    changed: list[int] = []
    seen = 0
    rows = [
        (item, item.canonical_url or (canonicalize_url(item.url) if item.url else None),
         title_key(item.title))
        for item in items
    ]  # fmt: skip
    index = _BatchIndex(db, rows, source_id=source_id, outlet_id=outlet_id)
    local_of = _local_of(db, outlet_id, source_id)
    for item, canonical, key in rows:
        item_id = index.find(item, canonical, key, now)
        known = item_id is not None
        known_url = known and canonical is not None and index.urls.get(canonical) == item_id
        linked = known and bool(item.guid) and index.guids.get(item.guid or "") == item_id
        if item_id is None:
            cursor = db.execute(
                """INSERT INTO items (title, title_key, url, canonical_url, guid, published,
                   published_local, date_candidates, updated, summary, author, lang, lang_source,
                   outlet_id, source_id, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [item.title, key, item.url, canonical, item.guid, item.published,
                 local_of(item), item.date_candidates, item.updated, item.summary, item.author,
                 item.lang, item.lang_source if item.lang else None, outlet_id, source_id, now,
                 now],
            )  # fmt: skip
            item_id = int(cursor.lastrowid or 0)
            new.append(item_id)
        elif _merge(db, item_id, item, canonical=canonical, key=key, source_id=source_id,
                    now=now, local=local_of(item)):  # fmt: skip
            if item_id not in changed and item_id not in new:
                changed.append(item_id)
        else:
            seen += 1
        if canonical and not known_url:
            db.execute(
                "INSERT OR IGNORE INTO item_urls (url, item_id) VALUES (?, ?)", [canonical, item_id]
            )
        if source_id and not linked:
            db.execute(
                """INSERT INTO item_sources (item_id, source_id, guid, url, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (item_id, source_id) DO UPDATE SET
                     guid = excluded.guid, url = COALESCE(url, excluded.url)
                   WHERE guid IS NULL AND excluded.guid IS NOT NULL""",
                [item_id, source_id, item.guid, item.url, now, now],
            )
        index.add(item_id, item, canonical, key, now)
    return SaveReport(new=new, changed=changed, seen=seen)


def _superseded(db: Database, item_id: int, name: str, value: str) -> bool:
    """A text we already replaced once: a stale copy of the story, not a new edit. Never
    going back to it keeps re-runs of the same input from flip-flopping the headline."""
    return bool(
        _one(
            db,
            "SELECT 1 FROM item_revisions WHERE item_id = ? AND field = ? AND old_value = ?",
            [item_id, name, value],
        )
    )


def _merge(
    db: Database,
    item_id: int,
    item: ParsedItem,
    *,
    canonical: str | None,
    key: str,
    source_id: str | None,
    now: str,
    local: str | None,
) -> bool:
    """Fold a new sighting into a stored item; True when the item's text changed."""
    row = _dicts(db, "SELECT * FROM items WHERE id = ?", [item_id])[0]
    fields: dict[str, Any] = {}
    changed_text = False
    for name, new in (("title", item.title), ("summary", item.summary)):
        old = row[name]
        if new and new != old and not _superseded(db, item_id, name, new):
            db.execute(
                """INSERT INTO item_revisions (item_id, field, old_value, new_value, changed_at,
                   source_id) VALUES (?, ?, ?, ?, ?, ?)""",
                [item_id, name, old, new, now, source_id],
            )
            fields[name] = new
            changed_text = True
    if "title" in fields:
        fields["title_key"] = key
    values = {
        "url": item.url,
        "canonical_url": canonical,
        "guid": item.guid,
        "published": item.published,
        "updated": item.updated,
        "author": item.author,
    }
    for name in _FILLABLE:
        if row[name] is None and values[name] is not None:
            fields[name] = values[name]
    if "published" in fields:
        fields["published_local"] = local
    if item.lang and (row["lang"] is None or row["lang_source"] == "detected"):
        fields.update(lang=item.lang, lang_source=item.lang_source, lang_confidence=None)
    if item.updated and row["updated"] and item.updated > row["updated"]:
        fields["updated"] = item.updated
    if not fields:
        return False
    fields["last_seen"] = now
    if changed_text:
        fields["last_changed"] = now
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*fields.values(), item_id])
    return changed_text


# -- reports -------------------------------------------------------------------------------


def stats(db: Database, *, days: int = 14) -> list[dict]:
    """Items per outlet and day (by publication day, or first seen when undated)."""
    return _dicts(
        db,
        """SELECT substr(COALESCE(i.published, i.first_seen), 1, 10) AS day, o.name AS outlet,
                  count(*) AS items
           FROM items i JOIN outlets o ON o.id = i.outlet_id
           WHERE COALESCE(i.published, i.first_seen) >= date('now', ?)
           GROUP BY day, outlet ORDER BY day DESC, items DESC, outlet""",
        [f"-{days} days"],
    )
