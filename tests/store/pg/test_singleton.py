"""``Singleton``: a job runs on exactly one of the servers sharing a real PostgreSQL,
and another server takes it over within seconds when the one running it dies; a holder
back from a cut is told (``taken``, ``PgServerWatch.hold``'s ``lost``) only when another
took the lock in between."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.store.pg.support import as_role, cut_off, eventually, new_role, query
from tlh.store.pg.liveness import PgServerWatch
from tlh.store.pg.singleton import Singleton, lock_key
from tlh.store.pg.store import PgStore

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


@pytest.fixture
async def counted(pg_url: str) -> str:
    """A database with the store's tables: a ``Singleton`` that counts its takes keeps
    the count in ``tlh_meta``."""
    store = PgStore(pg_url, wait_s=3.0)
    await store.open()
    await store.close()
    return pg_url


class Told:
    """A ``taken``/``lost`` callback that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.event = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        self.event.set()


async def test_a_holder_cut_off_while_another_took_the_lock_is_told_once(counted: str) -> None:
    # The holder connects as a role of its own, which the database refuses while another
    # takes the lock: which of the two tries first once the holder is back is no race.
    role = await new_role(counted)
    told, first_job, second_job = Told(), Job(), Job()
    first = Singleton(
        as_role(counted, role), "tlh:server:a", first_job.start, first_job.stop,
        retry_s=0.05, backoff_s=(0.05, 0.2), count_takes=True, taken=told,
    )  # fmt: skip
    second = Singleton(
        counted, "tlh:server:a", second_job.start, second_job.stop,
        retry_s=0.05, count_takes=True,
    )  # fmt: skip
    await first.open()
    try:
        await waited(first_job.started, 10)
        await second.open()
        async with cut_off(counted, role):
            await waited(first_job.stopped, TAKEOVER_S)
            await waited(second_job.started, TAKEOVER_S)
        await waited(told.event, TAKEOVER_S)  # back: refused, and the count moved
        tries = first.attempts
        await eventually(lambda: first.attempts >= tries + 5)  # refused again and again
        assert told.calls == 1
        assert (first_job.starts, second_job.starts) == (1, 1)
        assert second.is_leader
        assert not first.is_leader
    finally:
        await first.close()
        await second.close()


async def test_a_server_that_takes_its_id_back_with_nobody_in_between_is_not_told(
    counted: str,
) -> None:
    lost = Told()
    watch = PgServerWatch(counted, retry_s=0.05)
    await watch.hold("a", lost)
    try:
        pid = await _holder(counted, "tlh:server:a")
        await query(counted, "SELECT pg_terminate_backend(%s)", pid)
        await eventually(lambda: _holder(counted, "tlh:server:a", other_than=pid), within=10)
        await eventually(lambda: watch.held)
        assert await _takes(counted, "tlh:server:a") == 2  # its own first take, then its own
        assert lost.calls == 0
    finally:
        await watch.close()


async def test_a_server_that_takes_its_id_back_after_another_held_it_is_told(
    counted: str,
) -> None:
    """Another took the id (and its entries) over while this server was cut off, then
    let it go: the lock is free when this one comes back, but what it ran is not its
    own any more."""
    role = await new_role(counted)
    lost, other_job = Told(), Job()
    watch = PgServerWatch(as_role(counted, role), retry_s=0.05)
    await watch.hold("a", lost)
    other = Singleton(
        counted, "tlh:server:a", other_job.start, other_job.stop,
        retry_s=0.05, count_takes=True,
    )  # fmt: skip
    try:
        async with cut_off(counted, role):
            await other.open()
            await waited(other_job.started, TAKEOVER_S)
            await other.close()
        await waited(lost.event, TAKEOVER_S)
        assert await _takes(counted, "tlh:server:a") == 3
        assert lost.calls == 1
    finally:
        await other.close()
        await watch.close()


async def _holder(url: str, name: str, other_than: int | None = None) -> int | None:
    """The backend pid holding the lock ``name`` (not ``other_than``), if any."""
    rows = await query(
        url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND (classid::bigint << 32 | objid::bigint) = %s",
        lock_key(name),
    )
    pids = [int(row[0]) for row in rows if row[0] != other_than]
    return pids[0] if pids else None


async def _takes(url: str, name: str) -> int:
    """How many times the lock ``name`` was taken, as counted in ``tlh_meta``."""
    rows = await query(url, "SELECT value FROM tlh_meta WHERE key = %s", f"takes:{name}")
    return int(rows[0][0]) if rows else 0
