"""What the PostgreSQL channel and singleton tests share: an inbox to wait on, SQL."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

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
