"""What the PostgreSQL channel, singleton and failover tests share: an inbox to wait on,
SQL, and a role of its own for one client that the database can refuse alone."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg


class Inbox:
    """What a channel handed over (payloads, gaps); ``until`` waits, with a timeout."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.gaps = 0
        self._changed = asyncio.Event()

    def __call__(self, payload: bytes) -> None:
        self.got.append(payload)
        self._changed.set()

    def gap(self) -> None:
        self.gaps += 1
        self._changed.set()

    async def until(self, done: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``done()`` holds; ``TimeoutError`` after ``within`` seconds."""
        async with asyncio.timeout(within):
            while not done():
                self._changed.clear()
                await self._changed.wait()


async def query(url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(statement, params or None)
        return await cur.fetchall() if cur.description else []


async def eventually(
    check: Callable[[], object], within: float = 10.0, every: float = 0.02
) -> None:
    """Wait until ``check()`` (or what it awaits) is true: a state with nothing to wait
    on but asking (a row in the database, a counter); fails after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(every)


async def new_role(url: str) -> str:
    """A new role that may log in to ``url``'s cluster as its owner does (superuser);
    roles belong to the whole cluster, so the name is a fresh one."""
    role = f"tlh_cut_{secrets.token_hex(4)}"
    await query(url, f"CREATE ROLE {role} LOGIN SUPERUSER")
    return role


def as_role(url: str, role: str) -> str:
    """``url`` with ``role`` as its user (same server, same database)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@contextlib.asynccontextmanager
async def cut_off(url: str, role: str) -> AsyncIterator[None]:
    """While the block runs, the database refuses ``role``: its sessions are ended
    (``pg_terminate_backend``) and it may not log in again until the block ends. What a
    server connecting as ``role`` sees of a network cut, but no others are cut."""
    await query(url, f"ALTER ROLE {role} NOLOGIN")
    await query(
        url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", role
    )
    try:
        yield
    finally:
        await query(url, f"ALTER ROLE {role} LOGIN")
