"""The parse worker pool: a worker that dies fails the bodies it was given, as ParseErrors,
and the next body gets a new worker."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from peacewatch.errors import ParseError
from peacewatch.ingest.parsepool import ParsePool


def test_a_dead_worker_fails_every_body_in_flight_and_is_replaced() -> None:
    pool = ParsePool(1)

    async def go() -> list[object]:
        await pool.run(len, b"")  # the worker is up
        # one job kills the worker while others wait behind it
        jobs = [pool.run(time.sleep, 0.2), pool.run(os._exit, 1), pool.run(time.sleep, 0.2)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        outcomes = asyncio.run(go())
        assert outcomes[1:] and all(isinstance(o, ParseError) for o in outcomes[1:]), outcomes
        assert asyncio.run(pool.run(len, b"abc")) == 3  # a new worker
    finally:
        pool.close()


def test_submit_runs_outside_a_coroutine_and_replaces_a_dead_worker() -> None:
    from concurrent.futures.process import BrokenProcessPool

    pool = ParsePool(1)
    try:
        assert pool.submit(len, b"abcd").result(timeout=60) == 4
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 1).result(timeout=60)
        assert pool.submit(len, b"ab").result(timeout=60) == 2  # a new worker
    finally:
        pool.close()
    # a retag thread still submitting while the daemon stops starts no new workers
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(len, b"ab")


def test_a_pool_far_behind_has_no_room_until_it_catches_up() -> None:
    # the poll parses a body itself rather than queue it behind BACKLOG others per worker
    from peacewatch.ingest.parsepool import BACKLOG

    pool = ParsePool(1)

    async def go() -> tuple[bool, bool, bool]:
        await pool.run(len, b"")
        idle = pool.has_room
        jobs = [asyncio.ensure_future(pool.run(time.sleep, 0.01)) for _ in range(BACKLOG)]
        await asyncio.sleep(0)  # every job handed over
        behind = pool.has_room
        await asyncio.gather(*jobs)
        return idle, behind, pool.has_room

    try:
        assert asyncio.run(go()) == (True, False, True)
    finally:
        pool.close()
