"""Parsing in worker processes, so that on a multi-core server feedparser's CPU work runs
beside the fetching and storing of other sources instead of taking turns with them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from peacewatch.errors import ParseError

T = TypeVar("T")

__all__ = ["ParsePool", "resolve_workers"]


def resolve_workers(setting: int | str) -> int:
    """Worker processes for a `workers` setting: a number, or "auto" (one per core beyond
    the first, since the main process fetches and stores; 0 on a single core)."""
    if setting == "auto":
        return max(0, (os.cpu_count() or 1) - 1)
    return int(setting)


def _exit_with_parent(parent: int) -> None:
    # A killed main process (kill -9, OOM) cannot shut the pool down: leave with it.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _init_worker() -> None:
    # The daemon decides when to stop: a SIGTERM sent to the whole process group must not
    # kill a worker in the middle of a parse the main process is waiting for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


class ParsePool:
    """A process pool that replaces itself when a worker dies (say, killed for memory)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None

    def _make(self) -> Executor:
        # spawn: never fork a process that runs an event loop and threads; and the workers
        # stay direct children, so they notice when the main process is gone
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        import asyncio

        if self._executor is None:
            self._executor = self._make()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, func, *args)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            raise ParseError(
                "parse_error", "the parser process died while reading this body"
            ) from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
