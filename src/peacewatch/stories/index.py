"""The clusterer's inverted index from keys to stories, bucketed by time.

Under each key the stories are kept in buckets by their earliest member's time (a third of the
window wide), so an item's lookup yields only the stories whose earliest member can lie within
the window before it: a story is a candidate only when all its members lie within the window of
the item, and its earliest member is never after its latest. A story's keys move to another
bucket when an earlier member joins it. How many stories carry each key, in any bucket, is
kept too (the idf weights and the common-key cut count every story in memory, as before),
also for stories the clusterer has retired (`remove(..., counted=True)`: no longer held, no
longer offered, still counted) until it forgets them (`uncount`).

A key carried by more stories than `limit` is never looked up (the clusterer's common-key
cut), so once it is carried by twice as many its stories are counted but no longer filed: the
largest sets of ids, of the commonest words, are not kept. When its count falls back to
`limit` (stories forgotten), the key is `stale` until the clusterer files its stories again
(`file`), before any lookup. (Between the two, a key stays as it is: a key hovering about
the limit is not filed again after every forgetting.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator


class StoryIndex:
    """Keys to the ids of the stories carrying them, in buckets of `width` seconds; keys of
    more than `limit` stories (None: no limit) only counted."""

    def __init__(self, width: float, limit: int | None = None) -> None:
        self.width = width
        self.limit = limit
        self.buckets: dict[str, dict[int, set[int]]] = {}
        self.sizes: dict[str, int] = {}  # stories carrying each key, in every bucket
        self.placed: dict[int, int] = {}  # the bucket each story's keys are under
        self.unfiled: set[str] = set()  # keys whose stories are counted, not filed
        self.stale: set[str] = set()  # unfiled keys back to `limit` stories or fewer

    def __len__(self) -> int:
        return len(self.sizes)

    def bucket(self, time: float) -> int:
        # floor of a correctly rounded division: never smaller for a later time
        return math.floor(time / self.width)

    def count(self, key: str) -> int:
        """How many stories carry the key."""
        return self.sizes.get(key, 0)

    def add(self, story_id: int, earliest: float, keys: Iterable[str], held: Iterable[str]) -> None:
        """Index a story under `keys`, keys it did not carry before (each is counted once
        more), its keys now filed under the bucket of `earliest` (its earliest member's
        time); `held` gives the keys it already carries, read only when that bucket has
        changed."""
        at = self.bucket(earliest)
        was = self.placed.get(story_id)
        if was is not None and was != at:
            self._move(story_id, set(held), was, at)
        self.placed[story_id] = at
        buckets, sizes, unfiled = self.buckets, self.sizes, self.unfiled
        above = 2 * self.limit if self.limit is not None else None
        for k in keys:
            n = sizes[k] = sizes.get(k, 0) + 1
            if k in unfiled:
                if n > (self.limit or 0):
                    self.stale.discard(k)  # common again: nothing to file
                continue
            by_time = buckets.get(k)
            if above is not None and n > above:
                if by_time is not None:
                    del buckets[k]  # common: never looked up
                unfiled.add(k)
                continue
            if by_time is None:  # no held story carries it yet (retired ones may)
                buckets[k] = {at: {story_id}}
                continue
            ids = by_time.get(at)
            if ids is None:
                by_time[at] = {story_id}
            else:
                ids.add(story_id)

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
        """Forget a story under `keys` (all it carries). With `counted`, it is no longer
        offered (`within`) but still counted (`count`) until `uncount` forgets it."""
        at = self.placed.pop(story_id, None)
        if at is None:
            return
        for k in keys:
            by_time = self.buckets.get(k)
            if by_time is not None:
                ids = by_time.get(at)
                if ids is not None:
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
        if not left:
            del self.sizes[key]
            self.unfiled.discard(key)
            self.stale.discard(key)
            return
        self.sizes[key] = left
        if self.limit is not None and left <= self.limit and key in self.unfiled:
            self.stale.add(key)  # looked up again: its held stories are to be filed

    def file(self, key: str, story_ids: Iterable[int]) -> None:
        """File a stale key's held stories (all of them) again."""
        self.stale.discard(key)
        self.unfiled.discard(key)
        by_time: dict[int, set[int]] = {}
        for story_id in story_ids:
            by_time.setdefault(self.placed[story_id], set()).add(story_id)
        if by_time:
            self.buckets[key] = by_time

    def within(self, key: str, first: int, last: int) -> Iterator[set[int]]:
        """The id sets of the key's stories whose earliest member's bucket lies in
        [first, last]."""
        for at, ids in self.buckets.get(key, {}).items():
            if first <= at <= last:
                yield ids
