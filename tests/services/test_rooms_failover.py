"""kill -9 of a server while people wait on it (``tlh.services.room_link``,
``tlh.store.pg.liveness``): exactly one other server takes its entries over within the
reconnect grace, and the pages reconnecting there keep their entries and places.

The killed server is a real process (``tests.services.room_server``); the survivors
are two servers in this one, on the same database.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tlh.domain.models import Role
from tlh.services.context import Actor

from .room_server import (
    GUESTS,
    Page,
    Server,
    close_server,
    open_server,
    seed_practice,
    start_doomed,
)

DOC = Actor(kind="staff", id="stf_doc", role=Role.CLINICIAN)
WAITING = 20
GRACE_S = 60.0


@pytest.fixture
async def survivors(pg_url: str) -> AsyncIterator[list[Server]]:
    await seed_practice(pg_url)
    made: list[Server] = []
    try:
        for name in ("sb", "sc"):
            made.append(await open_server(pg_url, name))
        yield made
    finally:
        for one in made:
            await close_server(one)


async def _start_doomed(url: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """The server that will be killed, with ``WAITING`` people in line on it."""
    return await start_doomed(url, WAITING)


async def _until(check: Callable[[], object], within: float) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


async def test_kill_9_of_a_server_with_people_waiting_loses_nobody(
    survivors: list[Server], pg_url: str
) -> None:
    b, c = survivors
    proc, line = await _start_doomed(pg_url)
    try:
        await _until(lambda: all(len(s.rooms.state.live("stf_doc")) == WAITING for s in (b, c)), 30)
        for server in (b, c):
            assert [e.id for e in server.rooms.state.live("stf_doc")] == line
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        def adopter() -> Server | None:
            for server in (b, c):
                if sorted(e.id for e in server.rooms.state.entries()) == sorted(line):
                    return server
            return None

        await _until(lambda: adopter() is not None, GRACE_S)
        took = time.monotonic() - killed
        new, other = (b, c) if adopter() is b else (c, b)
        await _until(lambda: all(other.rooms.state.owner_of(i) == new.id for i in line), 10)
        assert took < GRACE_S
        # Nobody taken over twice; each place held once, for the grace, on the adopter.
        assert other.rooms.state.entries() == []
        assert other.timer.pending() == []
        assert len(new.timer.pending()) == WAITING

        # The pages reconnect (through the balancer) to the adopter: same entry, place.
        for i, entry_id in enumerate(line):
            back = await new.rooms.participants.hello(GUESTS, f"dev_{i}", Page().connection())
            assert back.id == entry_id
        assert [e.id for e in new.rooms.state.live("stf_doc")] == line
        assert [e.id for e in other.rooms.state.live("stf_doc")] == line
        assert new.timer.pending() == []
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_server_starting_after_the_only_one_died_takes_its_line_from_the_store(
    pg_url: str,
) -> None:
    await seed_practice(pg_url)
    proc, line = await _start_doomed(pg_url)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    later = await open_server(pg_url, "sd", restore=True)
    try:
        await _until(lambda: len(later.rooms.state.entries()) == WAITING, 30)
        assert [e.id for e in later.rooms.state.live("stf_doc")] == line
        assert len(later.timer.pending()) == WAITING
    finally:
        await close_server(later)


async def test_a_server_starting_while_the_owner_lives_leaves_its_entries_there(
    survivors: list[Server], pg_url: str
) -> None:
    b, _ = survivors
    proc, line = await _start_doomed(pg_url)
    try:
        later = await open_server(pg_url, "sd", restore=True)
        try:
            await _until(lambda: len(later.rooms.state.live("stf_doc")) == WAITING, 30)
            assert [e.id for e in later.rooms.state.live("stf_doc")] == line
            assert later.rooms.state.entries() == []
            assert later.timer.pending() == []
            # Replicas: a command on one goes to the living owner.
            admitted = await later.rooms.staff.admit(DOC, line[0])
            assert admitted.id == line[0]
            await _until(lambda: b.rooms.state.call_of(line[0]) is not None, 10)
        finally:
            await close_server(later)
    finally:
        proc.kill()
        await proc.wait()
