"""The clusterer's inverted index from keys to stories, bucketed by time.

Under each key the stories are kept in buckets by their earliest member's time (a third of the
window wide), so an item's lookup yields only the stories whose earliest member can lie within
the window before it: a story is a candidate only when all its members lie within the window of
the item, and its earliest member is never after its latest. A story's keys move to another
bucket when an earlier member joins it. How many stories carry each key, in any bucket, is
kept too (the idf weights and the common-key cut count every story in memory, as before),
also for stories the clusterer has retired (`remove(..., counted=True)`: no longer held, no
longer offered, still counted) until it forgets them (`uncount`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator


class StoryIndex:
    """Keys to the ids of the stories carrying them, in buckets of `width` seconds."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.buckets: dict[str, dict[int, set[int]]] = {}
        self.sizes: dict[str, int] = {}  # stories carrying each key, in every bucket
        self.placed: dict[int, int] = {}  # the bucket each story's keys are under

    def __len__(self) -> int:
        return len(self.sizes)

    def bucket(self, time: float) -> int:
        # floor of a correctly rounded division: never smaller for a later time
        return math.floor(time / self.width)

    def count(self, key: str) -> int:
        """How many stories carry the key."""
        return self.sizes.get(key, 0)

    def add(self, story_id: int, earliest: float, keys: Iterable[str], held: Iterable[str]) -> None:
        """Index a story under `keys`, its keys now filed under the bucket of `earliest` (its
        earliest member's time); `held` gives the keys it is already indexed under, read only
        when that bucket has changed."""
        at = self.bucket(earliest)
        was = self.placed.get(story_id)
        if was is not None and was != at:
            self._move(story_id, set(held), was, at)
        self.placed[story_id] = at
        buckets, sizes = self.buckets, self.sizes
        for k in keys:
            by_time = buckets.get(k)
            if by_time is None:
                buckets[k] = {at: {story_id}}
                sizes[k] = sizes.get(k, 0) + 1  # retired stories may still count it
                continue
            ids = by_time.get(at)
            if ids is None:
                by_time[at] = {story_id}
            elif story_id in ids:
                continue
            else:
                ids.add(story_id)
            sizes[k] += 1

    def _move(self, story_id: int, keys: set[str], was: int, at: int) -> None:
        for k in keys:
            by_time = self.buckets.get(k)
            if by_time is None:
                continue
            ids = by_time.get(was)
            if ids is None or story_id not in ids:
                continue
            ids.discard(story_id)
            if not ids:
                del by_time[was]
            by_time.setdefault(at, set()).add(story_id)

    def remove(self, story_id: int, keys: Iterable[str], *, counted: bool = False) -> None:
        """Forget a story under `keys` (all it is indexed under). With `counted`, it is no
        longer offered (`within`) but still counted (`count`) until `uncount` forgets it."""
        at = self.placed.pop(story_id, None)
        if at is None:
            return
        for k in keys:
            by_time = self.buckets.get(k)
            if by_time is None:
                continue
            ids = by_time.get(at)
            if ids is None or story_id not in ids:
                continue
            ids.discard(story_id)
            if not ids:
                del by_time[at]
                if not by_time:
                    del self.buckets[k]
            if not counted:
                self._less(k)

    def uncount(self, keys: Iterable[str]) -> None:
        """Stop counting a story removed with `counted` under `keys`."""
        for k in keys:
            self._less(k)

    def _less(self, key: str) -> None:
        left = self.sizes[key] - 1
        if left:
            self.sizes[key] = left
        else:
            del self.sizes[key]

    def within(self, key: str, first: int, last: int) -> Iterator[set[int]]:
        """The id sets of the key's stories whose earliest member's bucket lies in
        [first, last]."""
        for at, ids in self.buckets.get(key, {}).items():
            if first <= at <= last:
                yield ids
