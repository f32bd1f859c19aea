"""The garbage collector's pace while many items are clustered: the stories in memory are
long-lived and form no reference cycles, so collecting them again and again only costs time.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The garbage collector's threshold for its youngest generation while items are clustered
# (`fewer_collections`; Python's default is 700). The stories, the index and the word caches
# are some 300,000 containers that live for days and form no reference cycles: over
# bench_stories' 100,000 items the collector freed 14 objects in all, yet it spent about 5 s
# of 50 on them, each collection of the older generations walking them all again (16 full
# collections). At 50,000, about 1 s (2 full collections; 10,000: 2 s). Cycles made
# meanwhile elsewhere in the process are freed a little later, not never.
YOUNG_THRESHOLD = 50_000
_collections = threading.Lock()
_inside = 0  # blocks of `fewer_collections` running, in any thread
_thresholds = gc.get_threshold()  # the process's own, restored when the last block ends


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Run the block with the collector's youngest generation at `young` allocations (when
    that is higher than the process's own), for clustering many items. Blocks may run in
    several threads at once (the daemon's start clusters stored items in one): the first to
    enter raises the threshold, the last to leave restores it."""
    global _inside, _thresholds
    with _collections:
        if _inside == 0:
            _thresholds = gc.get_threshold()
            if 0 < _thresholds[0] < young:  # 0: automatic collection is off, left off
                gc.set_threshold(young, *_thresholds[1:])
        _inside += 1
    try:
        yield
    finally:
        with _collections:
            _inside -= 1
            if _inside == 0:
                gc.set_threshold(*_thresholds)
