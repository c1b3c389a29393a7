"""Run-once jobs among the servers sharing one PostgreSQL: ``Singleton`` (advisory lock).

The outbox worker and the reminder clock must run on exactly one server. Each server
runs a ``Singleton`` per job: a task with a connection of its own that tries
``pg_try_advisory_lock`` every ``retry_s``; the server that gets it is the leader and
starts the job. The lock lives as long as that connection's session, so when the
leader dies (kill -9, a crash, a lost network) PostgreSQL ends the session, the lock is
free, and another server's next try takes it: within ``retry_s`` of the session's end.

The leader watches its connection (waiting on its socket, and a ping every
``heartbeat_s`` when quiet). When the connection is lost it stops the job at once:
once the session is gone another server may already be running it. It then connects
again (bounded backoff) and contends like any other server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from tlh.store.pg.connecting import CONNECT, first_line, where

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock key of job ``name`` (a signed 64-bit int, stable across
    servers and versions)."""
    digest = hashlib.sha256(f"tlh.singleton:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Singleton:
    """Runs ``start()``/``stop()`` of one job on one server at a time; ``open()``, then
    ``close()``. ``is_leader``: whether this server runs it now."""

    def __init__(
        self,
        url: str,
        name: str,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        *,
        retry_s: float = 1.0,
        heartbeat_s: float = 2.0,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        count_takes: bool = False,
        taken: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.key = lock_key(name)
        self._start, self._stop = start, stop
        self.retry_s = retry_s
        self.heartbeat_s = heartbeat_s
        self.backoff_s = backoff_s
        self._leader = False
        self._task: asyncio.Task[None] | None = None
        #: The backend pid of the connection holding (or trying for) the lock.
        self.pid: int | None = None
        #: Tries for the lock so far.
        self.attempts = 0
        #: How many times any server has taken this lock, as of this server's last take
        #: (kept in ``tlh_meta``): a server taking it back can tell whether another held
        #: it in between (the number moved by more than one).
        self.epoch = 0
        #: Keep ``epoch`` (needs the store's ``tlh_meta``: a ``PgStore`` opened first).
        self.count_takes = count_takes
        #: Told once (with ``count_takes``) when this server, having held the lock, finds
        #: it taken by another server since: what it ran is another's now.
        self._taken = taken
        self._connected = False

    @property
    def is_leader(self) -> bool:
        """Whether this server holds the lock and runs the job now."""
        return self._leader

    @property
    def connected(self) -> bool:
        """Whether this server is in the running for the job (its connection is up):
        leading it, or ready to take it over."""
        return self._connected

    async def open(self) -> None:
        """Connect and start contending (``ConnectionError``, one clear line, if
        PostgreSQL cannot be reached); the job starts once the lock is ours."""
        if self._task is not None:
            raise RuntimeError(f"the {self.name} singleton is already open")
        try:
            conn = await self._connect()
        except (psycopg.Error, OSError) as exc:
            raise ConnectionError(
                f"PostgreSQL at {where(self.url)} unreachable: {first_line(exc)}"
            ) from None
        self._task = asyncio.create_task(self._run(conn), name=f"tlh-singleton-{self.name}")

    async def close(self) -> None:
        """Stop the job if it runs here, and let the lock go (the connection closes)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.url, application_name=f"tlh {self.name}", **CONNECT
        )
        self.pid = conn.info.backend_pid
        self._connected = True
        return conn

    async def _run(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        delay = self.backoff_s[0]
        while True:
            try:
                if conn is None:
                    conn = await self._connect()
                    delay = self.backoff_s[0]
                await self._lead(conn)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("%s: PostgreSQL at %s: %s", self.name, where(self.url), first_line(exc))
            finally:
                # At once, on a lost connection as on close: the lock may be another's.
                self._connected = False
                await self._step_down()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_s[1])

    async def _lead(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Take the lock when it is free and run the job while the connection holds;
        returns only by raising (the connection is gone)."""
        while True:
            self.attempts += 1
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            row = await cur.fetchone()
            if row is None or not row[0]:
                if (
                    self._taken is not None
                    and self.epoch
                    and await _takes(conn, self.name) > self.epoch
                ):
                    taken, self._taken = self._taken, None
                    await taken()
                await asyncio.sleep(self.retry_s)  # another server's connection holds it
                continue
            if self.count_takes:
                self.epoch = await _count_take(conn, self.name)
            self._leader = True
            log.info("%s: this server runs it now", self.name)
            try:
                await self._start()
            except Exception:
                log.exception("%s: starting failed; stepping down", self.name)
                await self._step_down()
                await conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                await asyncio.sleep(self.retry_s)
                continue
            while True:
                await self._watch(conn)

    async def _watch(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """``heartbeat_s`` on the connection's socket (a connection the server closes
        raises at once), then a ping (a half-open one raises within ``heartbeat_s``)."""
        async for _ in conn.notifies(timeout=self.heartbeat_s):
            pass
        async with asyncio.timeout(self.heartbeat_s):
            await conn.execute("SELECT 1")

    async def _step_down(self) -> None:
        if not self._leader:
            return
        self._leader = False
        log.info("%s: this server stops running it", self.name)
        try:
            await self._stop()
        except Exception:
            log.exception("%s: stopping failed", self.name)


async def _takes(conn: psycopg.AsyncConnection[Any], name: str) -> int:
    """How many times any server has taken the lock ``name`` so far."""
    cur = await conn.execute("SELECT value FROM tlh_meta WHERE key = %s", (f"takes:{name}",))
    row = await cur.fetchone()
    return int(str(row[0])) if row else 0


async def _count_take(conn: psycopg.AsyncConnection[Any], name: str) -> int:
    """Count one more take of the lock ``name``; the count now."""
    cur = await conn.execute(
        "INSERT INTO tlh_meta (key, value) VALUES (%s, '1') ON CONFLICT (key) "
        "DO UPDATE SET value = (tlh_meta.value::bigint + 1)::text RETURNING value",
        (f"takes:{name}",),
    )
    row = await cur.fetchone()
    return int(str(row[0])) if row else 0
