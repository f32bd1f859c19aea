"""The daemon: APScheduler 3.x drives polls; the only apscheduler user. No pipeline logic here.

Each enabled source has one date-triggered job, rescheduled to the source's next due time after
every poll (so intervals, jitter, backoff and Retry-After all come from the pipeline), which also
means two polls of one source never overlap. SIGINT/SIGTERM stop new polls, let in-flight writes
finish (a poll's writes are one transaction), and exit. A lock file keeps a second daemon off the
same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from peacewatch import store
from peacewatch.config import Config
from peacewatch.errors import StoreError
from peacewatch.ingest.fetch import Fetcher
from peacewatch.pipeline import (
    cluster_stories,
    poll_source,
    read_article_pages,
    sync_sources,
)
from peacewatch.runtime import Runtime, make_page_fetcher, make_parse_pool, make_story_index
from peacewatch.store import languages, retagging
from peacewatch.store import stories as story_store
from peacewatch.timeutil import parse_iso

log = logging.getLogger("peacewatch.daemon")

STORY_DELAY = 1.0  # seconds from a poll that stored items to the story round

# Background work (retag, digests) runs in a thread with its own database connection:
# a function of (config, database path).
JobFunc = Callable[[Config, Path], Any]
# A daily job: (job id, hour, minute, timezone name, function).
DailyJob = tuple[str, int, int, str, JobFunc]
# A job repeated every so many seconds: (job id, seconds, function).
PeriodicJob = tuple[str, float, JobFunc]


def digest_jobs(config: Config) -> tuple[list[DailyJob], list[PeriodicJob]]:
    """The daily digest at its configured local time, and every 5 minutes after: sending is
    a no-op once the day's digests are out, so this retries failures and catches up after
    downtime."""
    from peacewatch.surfaces.mailer import digest_job

    digest = config.settings.raw.get("digest")
    if digest is None or not digest.enabled:
        return [], []
    send: JobFunc = digest_job
    daily: list[DailyJob] = [
        ("digest", digest.send_at.hour, digest.send_at.minute, digest.timezone, send)
    ]
    return daily, [("digest-catch-up", 300.0, send)]


@contextlib.contextmanager
def daemon_lock(db_path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database for the daemon's lifetime.

    flock is released by the kernel when the process dies, so a killed daemon never leaves a
    stale lock behind.
    """
    lock_path = Path(f"{db_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreError(
            f"another peacewatch daemon is already running on {db_path} (pid {holder}); "
            "stop it first or use another --db"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


class Daemon:
    def __init__(
        self,
        config: Config,
        db: store.Database,
        fetcher: Fetcher,
        *,
        db_path: Path,
        daily_jobs: list[DailyJob] | None = None,
        periodic_jobs: list[PeriodicJob] | None = None,
        startup: list[JobFunc] | None = None,
    ) -> None:
        self.periodic_jobs = periodic_jobs or []
        # Polls leave the story step to story rounds (Runtime.defer_stories): one round
        # a moment after polls stored items clusters all of them, oldest first.
        self.rt = Runtime(
            config, db, fetcher, parse_pool=make_parse_pool(config),
            page_fetcher=make_page_fetcher(config), defer_stories=True,
        )  # fmt: skip
        self.story_round: asyncio.Task[None] | None = None
        self.db_path = db_path
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()
        self.daily_jobs = daily_jobs or []
        self.startup = startup or []

    def _schedule_source(self, source_id: str, due: str | None) -> None:
        when = max(parse_iso(due), self.rt.clock()) if due else self.rt.clock()
        self.scheduler.add_job(
            self._poll, DateTrigger(run_date=when), args=[source_id], id=f"source:{source_id}",
            replace_existing=True, misfire_grace_time=None,
        )  # fmt: skip

    async def _poll(self, source_id: str) -> None:
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        if task:
            self.in_flight.add(task)
        try:
            report = await poll_source(self.rt, source_id)
            log.info(
                "polled %s: %s, %d new, %d seen",
                source_id, report.outcome, report.items_new, report.items_seen,
                extra={"source": source_id, "outcome": report.outcome},
            )  # fmt: skip
        except Exception:  # one broken source must never stop the others
            log.exception("poll of %s crashed", source_id)
        finally:
            if task:
                self.in_flight.discard(task)
        if not self.stopping.is_set():
            row = store.source_row(self.rt.db, source_id)
            if row and row["enabled"]:
                self._schedule_source(source_id, row["next_due_at"])
            if self.rt.unclustered and (self.story_round is None or self.story_round.done()):
                self.story_round = asyncio.ensure_future(self._cluster_stories(STORY_DELAY))

    async def _cluster_stories(self, delay: float) -> None:
        # polls that finish within `delay` of each other share one round
        await asyncio.sleep(delay)
        try:
            count = await cluster_stories(self.rt)
            log.info("stories given to %d items", count)
        except Exception:  # the items stay without a story; the next start clusters them
            log.exception("story clustering failed")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        sync_sources(self.rt, self.rt.now())
        for row in store.source_rows(self.rt.db):
            if row["enabled"]:
                self._schedule_source(row["id"], row["next_due_at"])
        for job_id, hour, minute, tz, func in self.daily_jobs:
            self.scheduler.add_job(
                self._run_sync, CronTrigger(hour=hour, minute=minute, timezone=tz), args=[func],
                id=job_id, replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=3600,
            )  # fmt: skip
        # Article pages have their own queue: polls only ask for them, a round reads them.
        pages = self.rt.config.settings.pages
        if pages.enabled:
            self.scheduler.add_job(
                self._read_pages, "interval", seconds=pages.every, id="article-pages",
                next_run_time=self.rt.clock(), coalesce=True, max_instances=1,
            )  # fmt: skip
        for job_id, seconds, func in self.periodic_jobs:
            self.scheduler.add_job(
                self._run_sync, "interval", seconds=seconds, args=[func], id=job_id,
                next_run_time=self.rt.clock(), coalesce=True, max_instances=1,
            )  # fmt: skip
        for func in self.startup:
            self.scheduler.add_job(self._run_sync, args=[func], id=f"startup:{func.__name__}")
        self.scheduler.start()
        log.info("daemon started: %d sources", len(self.rt.config.sources))
        retag_stop = threading.Event()
        retag_thread = None
        if self.rt.config.ruleset is not None:
            # Changed rules: recompute old tags in the background while polling goes on.
            pool = self.rt.parse_pool
            retag_thread = retagging.retag_in_background(
                self.db_path, self.rt.config.ruleset, stop=retag_stop,
                busy_timeout=self.rt.config.settings.busy_timeout,
                submit=pool.submit if pool is not None else None,
                ahead=pool.workers + 1 if pool is not None else 2,
            )  # fmt: skip
        # Items stored without a language (before detection existed): detect them meanwhile.
        detecting = languages.detect_in_background(
            self.db_path, stop=retag_stop, busy_timeout=self.rt.config.settings.busy_timeout
        )
        # Items stored without a story (before stories existed): cluster them meanwhile.
        clustering = story_store.cluster_missing_in_background(
            self.db_path, lambda: make_story_index(self.rt.config), stop=retag_stop,
            now=self.rt.now, busy_timeout=self.rt.config.settings.busy_timeout,
        )  # fmt: skip
        # Polls that finish close together share commits (store.group_commit): a kill loses
        # at most the last 50 ms of whole polls, whose sources are then still due.
        with store.group_commit(self.rt.db):
            await self.stopping.wait()
            log.info("stopping: waiting for %d polls in flight", len(self.in_flight))
            self.scheduler.shutdown(wait=False)
            retag_stop.set()
            grace = self.rt.config.settings.schedule.shutdown_grace
            pending = [t for t in self.in_flight if not t.done()]
            if pending:
                _, still = await asyncio.wait(pending, timeout=grace)
                # Cancelled polls stop at an await, never inside their (synchronous)
                # transaction.
                for task in still:
                    task.cancel()
                if still:
                    await asyncio.wait(still, timeout=1.0)
            # the last polls' items get their stories now rather than at the next start
            if self.story_round is not None:
                self.story_round.cancel()
                await asyncio.wait([self.story_round])
            if self.rt.unclustered:
                await self._cluster_stories(0)
        if self.rt.parse_pool is not None:
            self.rt.parse_pool.close()
        if self.rt.page_fetcher is not None:
            await self.rt.page_fetcher.aclose()
        for thread in (retag_thread, detecting, clustering):
            if thread is not None:
                # the batch in progress commits or rolls back; the next start resumes
                await asyncio.to_thread(thread.join, grace)
        log.info("stopped cleanly")

    async def _read_pages(self) -> None:
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        if task:
            self.in_flight.add(task)
        try:
            # a round logs one line per source with pages
            await read_article_pages(self.rt)
        except Exception:  # never let one bad page stop the scheduler
            log.exception("reading article pages failed")
        finally:
            if task:
                self.in_flight.discard(task)

    async def _run_sync(self, func: JobFunc) -> None:
        # Long jobs (retag, digests) run in a thread so polling continues meanwhile.
        try:
            await asyncio.to_thread(func, self.rt.config, self.db_path)
        except Exception:
            log.exception("job %s failed", getattr(func, "__name__", func))


def run_daemon(
    config: Config,
    db_path: Path,
    *,
    daily_jobs: list[DailyJob] | None = None,
    periodic_jobs: list[PeriodicJob] | None = None,
    startup: list[JobFunc] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM. Raises StoreError when another daemon holds the database.
    Without explicit jobs, the configured daily digest is scheduled."""
    if daily_jobs is None and periodic_jobs is None:
        daily_jobs, periodic_jobs = digest_jobs(config)

    def stop_early(signum: int, frame: object) -> None:
        # A stop during start-up (opening, migrating) is a clean exit too: every write there
        # is a transaction that rolls back. Once running, the event loop's handlers take over.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_early)
    with daemon_lock(db_path):
        db = store.open_db(db_path, busy_timeout=config.settings.busy_timeout)

        async def main() -> None:
            async with Fetcher(config.settings.http) as fetcher:
                daemon = Daemon(config, db, fetcher, db_path=db_path, daily_jobs=daily_jobs,
                                periodic_jobs=periodic_jobs, startup=startup)  # fmt: skip
                await daemon.run()

        try:
            asyncio.run(main())
        finally:
            db.conn.close()
