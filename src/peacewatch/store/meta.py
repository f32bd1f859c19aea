"""The `meta` table's notes that must be read cheaply, before the heavy modules load.

A `run --once` that finds nothing new must not import the clusterer (most of a revalidation's
import time) nor scan the store for items without a story. So the transaction that stores
items for a later story round also notes that a round is owed; the round that gives every
item its story (`store.stories.cluster_missing`) clears the note. A run killed between the two
leaves the note, and the next `run --once` clusters what it left, new items or not.
"""

from __future__ import annotations

from peacewatch.store.database import Database

STORY_ROUND_OWED = "story_round_owed"


def note_story_round_owed(db: Database) -> None:
    """Inside the transaction that stores items without their stories."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = '1'",
        [STORY_ROUND_OWED],
    )


def story_round_owed(db: Database) -> bool:
    """Whether items were stored for a story round that has not ended (one indexed read)."""
    return db.execute("SELECT 1 FROM meta WHERE key = ?", [STORY_ROUND_OWED]).fetchone() is not None


def clear_story_round_owed(db: Database) -> None:
    """Once every item has its story (inside a transaction)."""
    db.execute("DELETE FROM meta WHERE key = ?", [STORY_ROUND_OWED])
