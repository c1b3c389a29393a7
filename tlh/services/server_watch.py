"""Which of the servers sharing one store are alive: what lets one take over another's rooms.

The rooms' entries are owned by the server their page's socket is on
(``tlh.services.room_link``). When that server dies (kill -9, a crash, a lost network),
exactly one surviving server must take its entries over, so nobody waiting is lost and
nobody is dropped twice. The PostgreSQL backend implements this with advisory locks
(``tlh.store.pg.liveness.PgServerWatch``): each server holds a lock named by its own id
for as long as its database session lives; the others try for it, and the one that gets
it (the session ended, so the server is gone) takes the entries over and keeps the lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class ServerWatch(Protocol):
    """This server's life as the others see it, and theirs as this one sees it."""

    async def hold(self, server_id: str, lost: Callable[[], Awaitable[None]]) -> None:
        """Be alive as ``server_id`` from now (returns once this server is). ``lost`` is
        called once if another server took this one's entries over: it was cut off from
        the database (its session ended) and another took its id meanwhile."""
        ...

    @property
    def held(self) -> bool:
        """Whether this server is alive as its id now (false while cut off from the
        database: another may be taking its entries over)."""
        ...

    def watch(self, server_id: str, gone: Callable[[], Awaitable[None]]) -> None:
        """Call ``gone`` once, on one of the servers watching, when ``server_id`` is gone
        (watching a server already watched does nothing)."""
        ...

    async def unwatch(self, server_id: str) -> None:
        """Stop watching ``server_id`` (another server took its entries over)."""
        ...

    async def close(self) -> None:
        """Stop watching and let this server's own hold go."""
        ...
