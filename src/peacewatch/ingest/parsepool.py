"""Parsing in worker processes, so that on a multi-core server feedparser's CPU work runs
beside the fetching and storing of other sources instead of taking turns with them.

multiprocessing and the feed parser are imported when first used: a poll whose feeds all
answer 304 loads neither."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from peacewatch.errors import ParseError

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from multiprocessing.connection import Connection

    from peacewatch.models import ParsedFeed

T = TypeVar("T")

# Bodies per worker in flight beyond which the main process parses a body itself. Measured
# on bench_ingest's 600 real-feed copies (2 cores, 1 worker): the polls took 5.9 s with every
# large body handed over, 5.1-5.5 s with 12 to 24 (the main process doing about a fifth of the
# parsing, by CPU time), and the main process became the one waited for with 2 to 8 (6.8 s
# with 2).
BACKLOG = 16

__all__ = ["ParsePool", "parse_feed_call", "resolve_workers"]


def parse_feed_call(arguments: dict[str, Any]) -> ParsedFeed:
    """feeds.parse_feed with its arguments in one picklable dict, for a worker: the worker
    imports the parser, the process that hands it the body never does."""
    from peacewatch.ingest.feeds import parse_feed

    return parse_feed(**arguments)


def resolve_workers(setting: int | str) -> int:
    """Worker processes for a `workers` setting: a number, or "auto" (one per core beyond
    the first, since the main process fetches and stores; 0 on a single core)."""
    if setting == "auto":
        return max(0, (os.cpu_count() or 1) - 1)
    return int(setting)


def _exit_with_parent(parent: int, lifeline: Connection) -> None:
    # A killed main process (kill -9, OOM) cannot shut the pool down: leave with it. The
    # parent never writes to the lifeline, so it turns readable only at EOF, when the
    # parent's end closed, that is when the parent died; the pid check is a second witness.
    while os.getppid() == parent:
        try:
            if lifeline.poll(0.5):
                break
        except OSError:
            break
    os._exit(0)


def _init_worker(parent: int, lifeline: Connection) -> None:
    # The daemon decides when to stop: a SIGTERM sent to the whole process group must not
    # kill a worker in the middle of a parse the main process is waiting for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # `parent` was decided when the worker was spawned, not now: if the parent died while
    # this worker was starting, os.getppid() already names the reaper (pid 1), and
    # watching for a change away from it would wait forever.
    threading.Thread(target=_exit_with_parent, args=(parent, lifeline), daemon=True).start()


class ParsePool:
    """A process pool that replaces itself when a worker dies (say, killed for memory)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None
        self._lifeline: Connection | None = None  # our end of the workers' lifeline
        self._running = 0  # bodies handed to the workers by `run` and not back yet
        self._closed = False  # after close(), `submit` starts no new pool (a stopping daemon)

    @property
    def has_room(self) -> bool:
        """Whether a body handed over now is parsed soon: fewer than BACKLOG bodies per
        worker in flight. Beyond that the caller parses it itself: the workers are far
        behind, and the main process, which fetches and stores, would otherwise wait for
        them at the end of a large cycle."""
        return self._running < BACKLOG * self.workers

    def _make(self) -> Executor:
        # spawn: never fork a process that runs an event loop and threads; and the workers
        # stay direct children, so they notice when the main process is gone. Each worker
        # gets this process's pid and the read end of a pipe whose only write end stays
        # here (spawn passes a child only the descriptors it is given), so a worker sees
        # EOF the moment this process dies, however early in the worker's start that is.
        # Once the workers are gone, the resource tracker sees EOF on its own pipe and exits.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        reader, self._lifeline = context.Pipe(duplex=False)
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker,
            initargs=(os.getpid(), reader),
        )  # fmt: skip

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        import asyncio
        from concurrent.futures.process import BrokenProcessPool

        if self._executor is None:
            self._executor = self._make()
        executor = self._executor
        loop = asyncio.get_running_loop()
        self._running += 1
        try:
            return await loop.run_in_executor(executor, func, *args)
        except BrokenProcessPool:
            # every body in flight fails with the dead worker: the first to learn of it
            # replaces the pool, the others find it replaced
            self._replace(executor)
            raise ParseError(
                "parse_error", "the parser process died while reading this body"
            ) from None
        finally:
            self._running -= 1

    def submit(self, func: Callable[..., T], *args: Any) -> Future[T]:
        """Run `func(*args)` in a worker, from code that is not a coroutine (the story round
        of `run --once` makes its next batch's features there): a future, whose result
        raises BrokenProcessPool if the worker died (the caller makes them itself). A pool
        whose worker died before is replaced first. A closed pool refuses (RuntimeError): a
        retag thread still running while the daemon stops must not start new workers."""
        from concurrent.futures.process import BrokenProcessPool

        if self._closed:
            raise RuntimeError("the worker pool is closed")
        if self._executor is None:
            self._executor = self._make()
        try:
            return self._executor.submit(func, *args)
        except BrokenProcessPool:
            self._replace(self._executor)
            self._executor = self._make()
            return self._executor.submit(func, *args)

    def _replace(self, executor: Executor) -> None:
        """Drop a pool whose worker died (the next use makes a new one)."""
        if self._executor is executor:
            executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            if self._lifeline is not None:
                self._lifeline.close()  # the next pool gets a lifeline of its own
                self._lifeline = None

    def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._lifeline is not None:
            self._lifeline.close()
            self._lifeline = None
