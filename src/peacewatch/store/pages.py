"""Storage for outlets, reading-list entries and what article pages say about their items.
The article-page queue itself (what is due, backoff) is `store.page_queue`, re-exported here.

Every function runs raw SQL inside the caller's transaction (see store.transaction); none
commits. Items themselves are created through store.save_items so deduplication stays in one
place; this module adds what lists and pages know on top.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from peacewatch import store
from peacewatch.ingest.outlets import Outlet, OutletRegistry
from peacewatch.ingest.urls import canonicalize_url
from peacewatch.models import ParsedItem, SaveReport
from peacewatch.store.page_queue import (
    MAX_ATTEMPTS,
    REDIRECTOR_HOSTS,
    due_pages,
    mark_page_failed,
    page_error,
    page_reason,
    queue_page,
    queue_pages_for_items,
)
from peacewatch.text import title_key

if TYPE_CHECKING:  # articles reads HTML (bs4, htmldate): loaded only when a page is read
    from peacewatch.ingest.articles import Article
    from peacewatch.ingest.readinglist import ListEntry  # its parser: only when a list is read

__all__ = [
    "MAX_ATTEMPTS",
    "REDIRECTOR_HOSTS",
    "STRONG_DATE_SOURCES",
    "UNKNOWN_OUTLET",
    "apply_article",
    "due_pages",
    "ensure_outlet_row",
    "mark_page_failed",
    "page_error",
    "page_reason",
    "queue_page",
    "queue_pages_for_items",
    "save_list_entries",
    "sync_outlets",
    "unknown_outlets",
]

# Page dates that come from markup meant for machines: they may overrule a list's date.
STRONG_DATE_SOURCES = {"jsonld", "opengraph", "meta", "itemprop", "time"}
UNKNOWN_OUTLET = Outlet(id="unknown", name="(unknown outlet)", registered=False)


def _dicts(db: store.Database, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- outlets -------------------------------------------------------------------------------


def sync_outlets(db: store.Database, registry: OutletRegistry) -> list[tuple[str, str]]:
    """Write every registered outlet, and fold derived outlets the registry now knows (by
    name, alias or domain) into the registered one. Returns the (derived, registered) merges."""
    for outlet in registry.outlets.values():
        db.execute(
            """INSERT INTO outlets (id, name, domains, country, langs, timezone, aliases,
               registered) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, domains = excluded.domains,
               country = excluded.country, langs = excluded.langs,
               timezone = excluded.timezone, aliases = excluded.aliases, registered = 1""",
            [outlet.id, outlet.name, json.dumps(list(outlet.domains)), outlet.country,
             json.dumps(list(outlet.langs)), outlet.timezone,
             json.dumps(list(outlet.aliases), ensure_ascii=False)],
        )  # fmt: skip
    merges: list[tuple[str, str]] = []
    for row in _dicts(db, "SELECT id, name, domains FROM outlets WHERE registered = 0"):
        target = registry.resolve(row["name"])
        for domain in json.loads(row["domains"] or "[]") if target is None else []:
            target = target or registry.by_domain(domain)
        if target is None or target.id == row["id"]:
            continue
        _merge_outlet(db, row["id"], target.id)
        merges.append((row["id"], target.id))
    return merges


def _merge_outlet(db: store.Database, derived: str, registered: str) -> None:
    for table in ("items", "sources"):
        db.execute(f"UPDATE {table} SET outlet_id = ? WHERE outlet_id = ?", [registered, derived])
    # list entries are keyed by outlet: re-key them, dropping any the registered one already has
    db.execute(
        """UPDATE OR IGNORE list_entries SET outlet_id = ?,
           entry_key = ? || substr(entry_key, length(?) + 1) WHERE outlet_id = ?""",
        [registered, registered, derived, derived],
    )
    db.execute("DELETE FROM list_entries WHERE outlet_id = ?", [derived])
    db.execute("DELETE FROM outlets WHERE id = ?", [derived])


def ensure_outlet_row(db: store.Database, outlet: Outlet, derived_from: str | None = None) -> None:
    """Make sure an outlet row exists; derived outlets are stored as registered = 0."""
    db.execute(
        """INSERT OR IGNORE INTO outlets (id, name, domains, timezone, registered, derived_from)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [outlet.id, outlet.name, json.dumps(list(outlet.domains)), outlet.timezone,
         int(outlet.registered), derived_from],
    )  # fmt: skip


def unknown_outlets(db: store.Database) -> list[dict[str, Any]]:
    """Outlets not described in outlets.toml, with how much points at them."""
    return _dicts(
        db,
        """SELECT o.id, o.name, o.domains, o.derived_from,
              (SELECT count(*) FROM items i WHERE i.outlet_id = o.id) AS items,
              (SELECT count(*) FROM sources s WHERE s.outlet_id = o.id) AS sources,
              (SELECT count(*) FROM list_entries e WHERE e.outlet_id = o.id) AS list_entries
           FROM outlets o WHERE o.registered = 0 ORDER BY items DESC, o.id""",
    )


# -- reading lists -------------------------------------------------------------------------


def entry_key(entry: ListEntry, outlet_id: str) -> str:
    return "|".join((outlet_id, title_key(entry.title), entry.date or ""))


def _entry_outlet(entry: ListEntry, registry: OutletRegistry) -> tuple[Outlet, str | None]:
    """The outlet an entry names; a link's registered domain beats an unknown name."""
    named = registry.resolve(entry.outlet) if entry.outlet else None
    if named is not None:
        return named, None
    by_link = registry.by_domain(entry.url) if entry.url else None
    if by_link is not None:
        return by_link, None
    if entry.outlet:
        return registry.outlet_for_name(entry.outlet), entry.outlet
    if entry.url:
        return registry.outlet_for_url(entry.url), entry.url
    return UNKNOWN_OUTLET, None


def _find_linkless(
    db: store.Database, outlet_id: str, entry: ListEntry, published: str | None
) -> int | None:
    """Link-less entries are the same story when outlet, headline and date agree (a headline
    cut short with an ellipsis matches the full one it starts)."""
    key = title_key(entry.title)
    day_clause = "substr(published, 1, 10) = ?" if published else "published IS NULL"
    params: list[Any] = [outlet_id]
    if entry.truncated:
        title_clause = "(title_key = ? OR substr(title_key, 1, ?) = ?)"
        params += [key, len(key), key]
    else:
        title_clause = "title_key = ?"
        params.append(key)
    if published:
        params.append(published[:10])
    row = db.execute(
        f"SELECT id FROM items WHERE outlet_id = ? AND {title_clause} AND {day_clause} "
        "ORDER BY id LIMIT 1",
        params,
    ).fetchone()
    return int(row[0]) if row else None


def save_list_entries(
    db: store.Database,
    entries: Iterable[ListEntry],
    *,
    list_ref: str,
    source_id: str | None,
    registry: OutletRegistry,
    now: str,
    queue_pages: bool = True,
) -> SaveReport:
    """Store a list's entries as items (deduplicated) and queue their pages (unless
    `queue_pages` is false); call inside a transaction. Re-reading the same list changes
    nothing but last_seen."""
    new: list[int] = []
    changed: list[int] = []
    seen = 0
    for entry in entries:
        outlet, derived_from = _entry_outlet(entry, registry)
        ensure_outlet_row(db, outlet, None if outlet.registered else derived_from)
        key = entry_key(entry, outlet.id)
        existing = db.execute(
            "SELECT id, item_id FROM list_entries WHERE list_ref = ? AND entry_key = ?",
            [list_ref, key],
        ).fetchone()
        if existing is not None and existing[1] is not None:
            db.execute(
                "UPDATE list_entries SET last_seen = ?, line = ?, url = COALESCE(?, url) "
                "WHERE id = ?",
                [now, entry.line, entry.url, existing[0]],
            )
            seen += 1
            continue
        # month-only dates are not a publication day: the page (if any) will tell
        published = entry.published if entry.date_precision == "day" else None
        item_id: int | None = None
        if entry.url is None:
            item_id = _find_linkless(db, outlet.id, entry, published)
            if item_id is not None:
                seen += 1
        if item_id is None:
            item = ParsedItem(
                title=entry.title,
                url=entry.url,
                canonical_url=canonicalize_url(entry.url) if entry.url else None,
                published=published,
                published_local=published[:10] if published else None,
                author=entry.author,
            )
            saved = store.save_items(db, [item], source_id=source_id, outlet_id=outlet.id, now=now)
            if saved.new:
                item_id = saved.new[0]
                new.append(item_id)
                db.execute(
                    "UPDATE items SET linkless = ?, date_source = ? WHERE id = ?",
                    [int(entry.url is None), "list" if published else None, item_id],
                )
            else:
                item_id = _item_for(db, item, outlet.id)
                changed.extend(i for i in saved.changed if i not in changed)
                seen += saved.seen
        if queue_pages and entry.url and item_id is not None:
            queue_page(db, item_id, entry.url, source_id=source_id, reason="list", now=now)
        db.execute(
            """INSERT INTO list_entries (list_ref, source_id, entry_key, line, title,
               outlet_written, outlet_id, author, date, url, kind, note, reference, truncated,
               item_id, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (list_ref, entry_key) DO UPDATE SET item_id = excluded.item_id,
               last_seen = excluded.last_seen, line = excluded.line""",
            [list_ref, source_id, key, entry.line, entry.title, entry.outlet, outlet.id,
             entry.author, entry.date, entry.url, entry.kind, entry.note, entry.reference,
             int(entry.truncated), item_id, now, now],
        )  # fmt: skip
    return SaveReport(new=new, changed=changed, seen=seen)


def _item_for(db: store.Database, item: ParsedItem, outlet_id: str) -> int | None:
    """The stored item save_items matched `item` to (by URL, else by headline)."""
    if item.canonical_url:
        row = db.execute(
            "SELECT item_id FROM item_urls WHERE url = ?", [item.canonical_url]
        ).fetchone()
        if row:
            return int(row[0])
    row = db.execute(
        "SELECT id FROM items WHERE outlet_id = ? AND title_key = ? ORDER BY id DESC LIMIT 1",
        [outlet_id, title_key(item.title)],
    ).fetchone()
    return int(row[0]) if row else None


# -- article pages -------------------------------------------------------------------------


def _revise(db: store.Database, item_id: int, field: str, old: Any, new: Any, now: str) -> None:
    db.execute(
        """INSERT INTO item_revisions (item_id, field, old_value, new_value, changed_at)
           VALUES (?, ?, ?, ?, ?)""",
        [item_id, field, old, new, now],
    )


def apply_article(
    db: store.Database, item_id: int, article: Article, *, now: str, http_status: int = 200
) -> bool:
    """Fold what an article page says into its item; True when its headline, summary or date
    changed (the item is then tagged again: rules may have date windows).

    The page's date fills a missing one, overrules a list's date when it comes from
    machine-readable markup, and overrules a feed's date that is the fetch time or a day or
    more away (recorded in `date_disagreement` and counted on the source). Every page keeps
    its date witnesses in `date_candidates`. Its canonical URL joins the item's URLs for
    deduplication; a headline the list cut short is completed.
    """
    from peacewatch.ingest.date_verdict import feed_page_disagreement  # pages only

    rows = _dicts(db, "SELECT * FROM items WHERE id = ?", [item_id])
    if not rows:
        return False
    row = rows[0]
    fields: dict[str, Any] = {"page_fetched_at": now}
    changed_text = False
    if article.date_candidates:
        fields["date_candidates"] = article.date_candidates
    from_feed = row["published"] is not None and row["date_source"] in (None, "feed")
    disagreement = (
        feed_page_disagreement(
            row["published"], row["first_seen"], article.published, article.published_local
        )
        if from_feed and article.published
        else None
    )
    if article.published and (
        row["published"] is None
        or (row["date_source"] == "list" and article.date_source in STRONG_DATE_SOURCES)
        or disagreement is not None
    ):
        if row["published"] and row["published"][:10] != article.published[:10]:
            _revise(db, item_id, "published", row["published"], article.published, now)
        fields.update(
            published=article.published,
            published_local=article.published_local,
            date_source=article.date_source,
        )
        if disagreement is not None and row["date_disagreement"] is None:
            fields["date_disagreement"] = json.dumps(disagreement)
            _count_disagreement(db, item_id)
    elif row["date_source"] is None and row["published"] is not None:
        fields["date_source"] = "feed"
    if (
        row["published_local"] is None
        and "published_local" not in fields
        and article.published == (fields.get("published") or row["published"])
    ):
        fields["published_local"] = article.published_local  # the page dates the same moment
    if article.modified and article.modified != row["modified"]:
        fields["modified"] = article.modified
    if article.title and _completes(row["title"], article.title, db, item_id):
        _revise(db, item_id, "title", row["title"], article.title, now)
        fields.update(title=article.title, title_key=title_key(article.title))
        changed_text = True
    if article.lead and not row["summary"]:
        fields["summary"] = article.lead
        changed_text = True
    if article.author and not row["author"]:
        fields["author"] = article.author
    # the page's declared language beats none, a detected one, and the source's default
    if article.lang and (not row["lang"] or row["lang_source"] in ("detected", "source")):
        fields.update(lang=article.lang, lang_source="page", lang_confidence=None)
    if article.canonical_url:
        canonical = canonicalize_url(article.canonical_url)
        db.execute("INSERT OR IGNORE INTO item_urls (url, item_id) VALUES (?, ?)",
                   [canonical, item_id])  # fmt: skip
        if row["canonical_url"] is None:
            fields["canonical_url"] = canonical
    if changed_text:
        fields["last_changed"] = now
    redated = "published" in fields and fields["published"] != row["published"]
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*fields.values(), item_id])
    db.execute(
        """UPDATE page_fetches SET state = 'done', attempts = attempts + 1, last_attempt_at = ?,
           next_attempt_at = NULL, http_status = ?, error = NULL WHERE item_id = ?""",
        [now, http_status, item_id],
    )
    return changed_text or redated


def _count_disagreement(db: store.Database, item_id: int) -> None:
    """One more feed item of the source that queued this page whose feed date lost."""
    db.execute(
        """UPDATE sources SET date_disagreements = date_disagreements + 1
           WHERE id = (SELECT source_id FROM page_fetches WHERE item_id = ?)""",
        [item_id],
    )


def _completes(stored: str, page_title: str, db: store.Database, item_id: int) -> bool:
    """The page's headline replaces one a list cut short (an ellipsis prefix of it)."""
    if stored == page_title:
        return False
    truncated = db.execute(
        "SELECT 1 FROM list_entries WHERE item_id = ? AND truncated = 1 LIMIT 1", [item_id]
    ).fetchone()
    if truncated is None:
        return False
    return title_key(page_title).startswith(title_key(stored))
