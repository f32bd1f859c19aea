"""Stage 3, the store: one SQLite file that keeps each story once.

Takes parsed items (from ingest) and the classifier's tags (from tagging); gives the rows
that the Datasette views, the digest and the CLI read. `from peacewatch import store` is the
database API (open, transaction, sources, items); the page queue (`store.pages`), tag storage
(`store.tags`), analysts' corrections (`store.labels`) and the named migrations
(`store.migrations`) are imported by name.
"""

from peacewatch.store.database import Database, group_commit, open_db, transaction
from peacewatch.store.items import SAME_HEADLINE_DAYS, save_items, stats
from peacewatch.store.sources import (
    due_sources,
    ensure_outlet,
    mark_failure,
    mark_success,
    outlet_id_for,
    recent_polls,
    record_fetch,
    source_row,
    source_rows,
    source_validators,
    sync_sources,
)

__all__ = [
    "SAME_HEADLINE_DAYS",
    "Database",
    "due_sources",
    "ensure_outlet",
    "group_commit",
    "mark_failure",
    "mark_success",
    "open_db",
    "outlet_id_for",
    "recent_polls",
    "record_fetch",
    "save_items",
    "source_row",
    "source_rows",
    "source_validators",
    "stats",
    "sync_sources",
    "transaction",
]
