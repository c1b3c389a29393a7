"""One "server" of the shared rooms, for the tests and bench/failover.py: a real
``PgStore``, ``PgChannel`` and ``PgServerWatch`` on one database, its own ``Rooms`` and
``CallHub``, as a ``tlh serve --store`` has them.

Run as a process, it is the server that gets killed (kill -9) with people waiting:

    python -m tests.services.room_server URL NAME COUNT

says hello for ``COUNT`` guests (devices ``dev_0`` ...), prints ``ready`` and their
entry ids (JSON, arrival order), then runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from msgspec.structs import replace

from tests.seeding import seed
from tlh.api.frames import ServerFrame
from tlh.domain.rooms import RoomEntry
from tlh.services.callhub import CallHub
from tlh.services.context import Context
from tlh.services.frame_outbox import Outbox
from tlh.services.waiting import Connection, Rooms
from tlh.store.pg.liveness import PgServerWatch
from tlh.store.pg.notify import PgChannel
from tlh.store.pg.store import PgStore

from .conftest import SEED, RecordingEvents
from .test_waiting import LINK, FakeTimer

#: A reusable guest link: many people wait with it, one entry per device.
GUESTS = replace(LINK, reusable=True)


@dataclass
class Server:
    """One server's rooms over its own store and channel."""

    id: str
    store: PgStore
    channel: PgChannel
    rooms: Rooms
    hub: CallHub
    timer: FakeTimer
    ctx: Context


@dataclass
class Page:
    """A participant page's socket: what it was sent."""

    frames: list[ServerFrame] = field(default_factory=list)

    def connection(self) -> Connection:
        async def close() -> None:
            return None

        return Connection(outbox=Outbox(self._got), close=close)

    async def _got(self, frame: ServerFrame) -> None:
        self.frames.append(frame)


async def start_doomed(
    url: str, waiting: int, within_s: float = 60.0
) -> tuple[asyncio.subprocess.Process, list[str]]:
    """This module run as a process (server ``sx``) with ``waiting`` people in line on
    it, to be killed: the process and the ids of its entries, in line order (it is
    killed if it does not say it is ready within ``within_s``)."""
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.services.room_server", url, "sx", str(waiting),
        stdout=asyncio.subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(within_s):
            line = (await proc.stdout.readline()).decode()
        assert line.startswith("ready "), line
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, json.loads(line.removeprefix("ready "))


async def seed_practice(url: str) -> None:
    """The practice (policy, staff) in a fresh database, before any server opens."""
    practice = PgStore(url, wait_s=3.0)
    await practice.open()
    try:
        await seed(practice, SEED)
    finally:
        await practice.close()


async def open_server(
    url: str, name: str, timeout_s: float = 2.0, *, restore: bool = False
) -> Server:
    """A server named ``name`` sharing the rooms (forwarded commands time out after
    ``timeout_s``; a dead server's lock is tried every 0.1 s); ``restore``: it rebuilds
    the rooms from the store first, as ``tlh serve`` does at start."""
    store = PgStore(url, wait_s=3.0)
    await store.open()
    channel = PgChannel(url, server_id=name)
    await channel.open()
    ctx = Context(store=store, audit=store.audit, events=RecordingEvents())
    hub, timer = CallHub(), FakeTimer()
    rooms = Rooms(ctx, hub, grace_s=60, timer=timer, channel=channel, forward_timeout_s=timeout_s)
    if restore:
        await rooms.restore()
    await rooms.share(PgServerWatch(url, retry_s=0.1))
    return Server(name, store, channel, rooms, hub, timer, ctx)


async def close_server(server: Server) -> None:
    await server.rooms.close()
    await server.hub.close()
    await server.channel.close()
    await server.store.close()


async def wait_in_line(server: Server, count: int) -> list[RoomEntry]:
    """``count`` guests waiting on ``server`` (devices ``dev_0`` ...), in arrival order."""
    return [
        await server.rooms.participants.hello(GUESTS, f"dev_{i}", Page().connection())
        for i in range(count)
    ]


async def _main(url: str, name: str, count: int) -> None:
    server = await open_server(url, name)
    entries = await wait_in_line(server, count)
    print("ready", json.dumps([e.id for e in entries]), flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
