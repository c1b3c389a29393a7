"""Which servers on one PostgreSQL are alive (``tlh.services.server_watch.ServerWatch``).

A server holds the advisory lock ``tlh:server:<its id>`` (a ``Singleton`` whose job is
"be alive") for as long as its session lives. Watching another server is contending for
that server's lock: PostgreSQL frees it when that server's session ends (kill -9 closes
its socket at once), and the one watcher that takes it runs ``gone`` and keeps the lock,
so a second watcher never takes the same entries over again.

Every take is counted (``tlh_meta``): a server whose own session dropped (a network blip)
and that takes its lock back carries on only if nobody took it in between; if another
did, or holds it now, ``lost`` tells it its entries are another's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tlh.store.pg.singleton import Singleton

log = logging.getLogger(__name__)


def _name(server_id: str) -> str:
    return f"tlh:server:{server_id}"


class PgServerWatch:
    """Servers' lives as advisory locks, one connection each (a handful of servers)."""

    def __init__(self, url: str, *, retry_s: float = 0.5) -> None:
        self.url, self.retry_s = url, retry_s
        self._own: Singleton | None = None
        self._watched: dict[str, Singleton] = {}
        self._opening: set[asyncio.Task[None]] = set()

    async def hold(self, server_id: str, lost: Callable[[], Awaitable[None]]) -> None:
        held = asyncio.Event()
        epoch = 0

        async def alive() -> None:
            nonlocal epoch
            assert self._own is not None
            took, last = self._own.epoch, epoch
            epoch = took
            if not held.is_set():
                held.set()
            elif took != last + 1:  # taken back, but another held it in between
                await lost()

        async def dropped() -> None:
            return None  # ``held`` is false until it is taken back

        self._own = Singleton(
            self.url,
            _name(server_id),
            alive,
            dropped,
            retry_s=self.retry_s,
            count_takes=True,
            taken=lost,
        )
        await self._own.open()
        # Alive before serving: a page must not join a server others may think dead.
        async with asyncio.timeout(30):
            await held.wait()

    @property
    def held(self) -> bool:
        return self._own is not None and self._own.is_leader

    def watch(self, server_id: str, gone: Callable[[], Awaitable[None]]) -> None:
        if server_id in self._watched:
            return

        async def nothing() -> None:
            return None

        singleton = Singleton(
            self.url, _name(server_id), gone, nothing, retry_s=self.retry_s, count_takes=True
        )
        self._watched[server_id] = singleton
        task = asyncio.get_running_loop().create_task(self._open(singleton))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open(self, singleton: Singleton) -> None:
        try:
            await singleton.open()
        except ConnectionError as exc:
            log.warning("cannot watch %s: %s", singleton.name, exc)

    async def unwatch(self, server_id: str) -> None:
        singleton = self._watched.pop(server_id, None)
        if singleton is not None and not singleton.is_leader:
            await singleton.close()
        elif singleton is not None:
            self._watched[server_id] = singleton  # ours: held, so nobody adopts it again

    async def close(self) -> None:
        for task in list(self._opening):
            await task
        for singleton in self._watched.values():
            await singleton.close()
        self._watched.clear()
        if self._own is not None:
            await self._own.close()
