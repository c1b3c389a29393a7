"""``Singleton``: a job runs on exactly one of the servers sharing a real PostgreSQL,
and another server takes it over within seconds when the one running it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.store.pg.support import eventually, query
from tlh.store.pg.singleton import Singleton, lock_key

ROOT = Path(__file__).resolve().parents[3]
#: How soon another server must run the job after the one running it is gone.
TAKEOVER_S = 3.0


class Job:
    """A job's start/stop callbacks that record, and events to wait on."""

    def __init__(self) -> None:
        self.starts = self.stops = 0
        self.started, self.stopped = asyncio.Event(), asyncio.Event()

    async def start(self) -> None:
        self.starts += 1
        self.started.set()

    async def stop(self) -> None:
        self.stops += 1
        self.stopped.set()


async def waited(event: asyncio.Event, within: float) -> float:
    """Seconds until ``event`` is set; ``TimeoutError`` after ``within``."""
    began = time.monotonic()
    async with asyncio.timeout(within):
        await event.wait()
    return time.monotonic() - began


@pytest.fixture
async def contenders(pg_url: str) -> AsyncIterator[list[tuple[Singleton, Job]]]:
    """Two servers' singletons of one job, both open; the first one leads."""
    out: list[tuple[Singleton, Job]] = []
    for _ in range(2):
        job = Job()
        singleton = Singleton(pg_url, "outbox", job.start, job.stop, retry_s=0.1)
        await singleton.open()
        out.append((singleton, job))
        if len(out) == 1:
            await waited(job.started, 10)
    try:
        yield out
    finally:
        for singleton, _ in out:
            await singleton.close()


async def test_exactly_one_of_two_servers_runs_the_job(
    contenders: list[tuple[Singleton, Job]], pg_url: str
) -> None:
    (first, first_job), (second, second_job) = contenders
    # The second has asked for the lock, more than once, and been refused.
    await eventually(lambda: second.attempts >= 3)
    assert first.is_leader
    assert not second.is_leader
    assert (first_job.starts, second_job.starts) == (1, 0)
    held = await query(
        pg_url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    assert held == [(first.pid,)]


async def test_the_other_server_takes_over_when_the_leaders_session_is_killed(
    contenders: list[tuple[Singleton, Job]], pg_url: str
) -> None:
    (first, first_job), (second, second_job) = contenders
    await query(pg_url, "SELECT pg_terminate_backend(%s)", first.pid)
    await waited(first_job.stopped, TAKEOVER_S)  # stopped at once: it may be another's now
    assert not first.is_leader
    await waited(second_job.started, TAKEOVER_S)
    assert second.is_leader
    assert second_job.starts == 1
    # The first comes back as a follower, not a second leader.
    await eventually(lambda: first.attempts >= 3)
    assert not first.is_leader
    assert first_job.starts == 1


async def test_closing_the_leader_hands_the_job_over(
    contenders: list[tuple[Singleton, Job]],
) -> None:
    (first, first_job), (second, second_job) = contenders
    await first.close()
    assert first_job.stops == 1
    await waited(second_job.started, TAKEOVER_S)
    assert second.is_leader


async def test_a_server_killed_with_sigkill_loses_the_job_to_another_within_seconds(
    pg_url: str,
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.store.pg.hold_lock",
        pg_url,
        "reminders",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    job = Job()
    singleton = Singleton(pg_url, "reminders", job.start, job.stop, retry_s=0.1)
    try:
        assert child.stdout is not None
        async with asyncio.timeout(20):
            assert await child.stdout.readline() == b"leader\n"
        await singleton.open()
        await eventually(lambda: singleton.attempts >= 2)
        assert not singleton.is_leader
        child.send_signal(signal.SIGKILL)
        took = await waited(job.started, TAKEOVER_S)
        assert singleton.is_leader
        print(f"took over {took * 1000:.0f} ms after the kill")
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
        await singleton.close()


async def test_a_job_that_fails_to_start_lets_the_lock_go(pg_url: str) -> None:
    tries = 0
    ok = Job()

    async def broken() -> None:
        nonlocal tries
        tries += 1
        raise RuntimeError("transport misconfigured")

    bad = Singleton(pg_url, "clock", broken, ok.stop, retry_s=0.5)
    good = Singleton(pg_url, "clock", ok.start, ok.stop, retry_s=0.05)
    await bad.open()
    try:
        await eventually(lambda: tries >= 1)
        await good.open()
        await waited(ok.started, TAKEOVER_S)
        assert good.is_leader
        assert not bad.is_leader
    finally:
        await bad.close()
        await good.close()


def test_a_jobs_lock_key_is_the_same_on_every_server_and_version() -> None:
    # Two servers of different releases must contend for the same lock: the key is a
    # fixed function of the name, never Python's per-process hash().
    assert lock_key("outbox") == 3416262466131169079
    assert lock_key("reminders") == 3245824065344958981
    assert -(2**63) <= lock_key("x") < 2**63
