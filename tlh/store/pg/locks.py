"""Holding keys: in this process first, then across servers with PostgreSQL advisory locks.

``KeyLocks`` queues the holders of a key inside one server (asyncio locks, as
``TinyStore`` does), so a server's own contention costs no database connection. Only the
one holder per key that got through then waits, on a ``locks`` pool connection, for the
session advisory locks (``pg_advisory_lock(hashtextextended(key, 0))``) against other
servers; every holder takes its keys in sorted order, so no two can deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

import psycopg

from tlh.store.pg.db import Conn

#: The advisory lock id of a key (64-bit, from PostgreSQL's own string hash).
LOCK_ID = "hashtextextended(%s, 0)"


class KeyLocks:
    """In-process locks by key, each dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def holding(self, keys: Iterable[str]) -> AsyncIterator[list[str]]:
        """Hold every key (sorted, each once); the sorted keys."""
        wanted = sorted(set(keys))
        for key in wanted:
            lock, users = self._locks.get(key, (asyncio.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        taken: list[asyncio.Lock] = []
        try:
            for key in wanted:
                lock = self._locks[key][0]
                await lock.acquire()
                taken.append(lock)
            yield wanted
        finally:
            for lock in reversed(taken):
                lock.release()
            for key in wanted:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


async def lock_session(conn: Conn, keys: list[str]) -> None:
    """Take the session advisory lock of each key, in order (waits for other servers).

    One statement for all of them: a function scan of the array yields its elements in
    order and each row's lock is taken before the next row is read, so the order (and
    with it the absence of deadlocks) is that of one statement per key, without a round
    trip per key (an import of 10,000 rows holds about 20,000 keys)."""
    if keys:
        await conn.execute(
            f"SELECT count(pg_advisory_lock({LOCK_ID.replace('%s', 'k')})) "
            "FROM unnest(%s::text[]) AS k",
            (keys,),
        )


async def unlock_session(conn: Conn) -> None:
    """Release every session advisory lock ``conn`` holds; a connection that cannot be
    told to is closed (its session, and with it the locks, ends), never pooled holding them."""
    try:
        await conn.execute("SELECT pg_advisory_unlock_all()")
    except psycopg.Error:
        await conn.close()


async def lock_transaction(conn: Conn, key: str) -> None:
    """Take the transaction advisory lock of ``key`` (released when the transaction ends):
    it excludes, and is excluded by, the session lock of the same key."""
    await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_ID})", (key,))
