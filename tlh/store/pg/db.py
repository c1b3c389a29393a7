"""The connections of one ``PgStore``: the URL checked, the schema migrated, two pools,
and every database failure turned into a one-line ``StoreError``.

Two pools, so that neither starves the other: ``work`` serves reads, commits and
updates; ``locks`` holds the session advisory locks of ``Repository.locked`` for the
length of a block, while the block's reads and commits take ``work`` connections.

Connections are in autocommit mode (a read is one statement, one round trip); writes
open a transaction explicitly. A connection the server dropped is discarded by the pool
when it comes back, which then connects again in the background: a read that met a
dropped connection is tried once more on another, so after an outage the first read
works as soon as the server is back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from tlh.errors import StoreError, StoreUnavailable
from tlh.store.pg.schema import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]

#: What tlh's connections call themselves (``pg_stat_activity``): a key rotation that
#: seals every record again finds the servers still connected by it (``rekey``).
APPLICATION: Final = "tlh"
#: Seconds to wait for the server when opening, and for a pooled connection after.
CONNECT_TIMEOUT_S: Final = 5
WAIT_S: Final = 10.0
#: Seconds a request waits for a pooled connection while the database is away (a
#: connection was lost and none has worked since): the 503 comes in about a second, not
#: after ``WAIT_S``; the pool meanwhile reconnects by itself.
AWAY_WAIT_S: Final = 1.0
#: Seconds a pool keeps retrying (with a growing delay) to replace a lost connection
#: before it gives up on that attempt; the next read that finds the pool empty starts a
#: new one at once. Short, so that after an outage the pool tries again every few
#: seconds instead of backing off to minutes.
RECONNECT_S: Final = 5.0


def describe(url: str) -> str:
    """The URL without its password, for messages (``host:port/db``)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an invalid database URL)"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


def _reason(exc: BaseException, secret: str | None) -> str:
    """The first line of a driver error, shortened, with no password in it. Only
    connection-level errors are described this way; the text of a statement's error can
    quote the data it refused, and is never shown (``failed``)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    return text[:200]


async def configure(conn: Conn) -> None:
    """Ask for durable commits on every connection: a server configured with
    ``synchronous_commit = off`` would otherwise acknowledge a commit (and its audit
    entries) that a crash of the database then loses."""
    await conn.execute("SET synchronous_commit = on")


@contextlib.asynccontextmanager
async def transaction(conn: Conn, *, pipelined: bool = True) -> AsyncIterator[None]:
    """A transaction on ``conn`` whose statements go out together (psycopg's pipeline
    mode): each wait for a server round trip is only where a statement's result is read
    (``BEGIN`` and a small commit's writes then cost one trip, not one each; with the
    database on another host, a trip is the network's). ``pipelined=False``: one at a
    time, as ``COPY`` (``bulk.insert`` past ``COPY_MIN`` rows) needs."""
    if not pipelined:
        async with conn.transaction():
            yield
        return
    async with conn.pipeline(), conn.transaction():
        yield


def pipelined(conn: Conn) -> bool:
    """Whether ``conn`` is in pipeline mode (no ``COPY`` there)."""
    return conn.pgconn.pipeline_status != 0


class Database:
    """The pools of one store, made by ``open()``; ``run``/``read`` borrow a connection."""

    def __init__(self, url: str, *, pool_size: int = 10, wait_s: float = WAIT_S) -> None:
        self.url = url
        self.where = describe(url)
        self.pool_size = pool_size
        self.wait_s = wait_s
        self._secret: str | None = None
        self.work: psycopg_pool.AsyncConnectionPool[Conn] | None = None
        self.locks: psycopg_pool.AsyncConnectionPool[Conn] | None = None
        #: A connection was lost or refused, and none has worked since: the database is
        #: away, and a request waits ``AWAY_WAIT_S`` for a connection, not ``wait_s``.
        self._away = False

    async def open(self) -> None:
        """Check the URL, connect once (a clear error if the server is unreachable),
        migrate, then open the pools."""
        try:
            params = conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            raise StoreError(
                "the database URL is not valid; expected postgresql://USER@HOST:PORT/DB"
            ) from None
        self._secret = str(params["password"]) if params.get("password") else None
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name=APPLICATION,
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the database at {self.where}: {_reason(exc, self._secret)}"
            ) from None
        try:
            async with conn:
                await configure(conn)
                await migrate(conn)
        except psycopg.Error as exc:
            raise self.failed(exc, "migrate the database") from None
        work = self._pool("tlh-work", min_size=1, configure=configure)
        locks = self._pool("tlh-locks", min_size=0)
        try:
            await work.open(wait=True, timeout=self.wait_s)
            await locks.open()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            await work.close()
            await locks.close()
            raise StoreError(
                f"cannot reach the database at {self.where}: {_reason(exc, self._secret)}"
            ) from None
        self.work, self.locks = work, locks

    def _pool(
        self,
        name: str,
        *,
        min_size: int,
        configure: Callable[[Conn], Awaitable[None]] | None = None,
    ) -> psycopg_pool.AsyncConnectionPool[Conn]:
        """An unopened pool of autocommit connections to the store's database."""
        return psycopg_pool.AsyncConnectionPool(
            self.url,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": APPLICATION,
            },
            min_size=min_size,
            max_size=self.pool_size,
            open=False,
            timeout=self.wait_s,
            reconnect_timeout=RECONNECT_S,
            name=name,
            configure=configure,
        )

    async def close(self) -> None:
        """Close both pools (connections in use are closed when given back)."""
        work, locks, self.work, self.locks = self.work, self.locks, None, None
        for pool in (work, locks):
            if pool is not None:
                await pool.close()

    @classmethod
    @contextlib.asynccontextmanager
    async def briefly(cls, url: str) -> AsyncIterator[Database]:
        """The database opened with one connection for one task (a command, a set-up),
        closed after it."""
        db = cls(url, pool_size=1)
        await db.open()
        try:
            yield db
        finally:
            await db.close()

    def _wait(self) -> float:
        """How long a request waits for a pooled connection now."""
        return min(AWAY_WAIT_S, self.wait_s) if self._away else self.wait_s

    def _saw(self, exc: BaseException) -> None:
        """Note a lost or refused connection (not a pool merely busy: ``PoolTimeout``)."""
        if isinstance(exc, psycopg.OperationalError) and not isinstance(
            exc, psycopg_pool.PoolTimeout
        ):
            self._away = True

    def failed(self, exc: BaseException, doing: str) -> StoreError:
        """The ``StoreError`` for a driver failure while ``doing`` something: the
        server's unreachability described, any other error by its SQLSTATE only."""
        if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
            return StoreUnavailable(
                f"the database at {self.where} is unreachable; could not {doing} "
                f"({_reason(exc, self._secret)})"
            )
        state = getattr(exc, "sqlstate", None) or type(exc).__name__
        return StoreError(f"the database at {self.where} refused to {doing} ({state})")

    @contextlib.asynccontextmanager
    async def connection(
        self, doing: str, pool: psycopg_pool.AsyncConnectionPool[Conn] | None = None
    ) -> AsyncIterator[Conn]:
        """A pooled connection (``work`` by default); driver errors become ``StoreError``."""
        chosen = pool or self.work
        if chosen is None:
            raise StoreError(f"the database store at {self.where} is not open")
        try:
            async with chosen.connection(timeout=self._wait()) as conn:
                yield conn
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            self._saw(exc)
            raise self.failed(exc, doing) from None
        self._away = False

    async def read(self, doing: str, query: Callable[[Conn], Awaitable[T]]) -> T:
        """Run the read ``query`` on a pooled connection; once more on another if the
        first was dropped by the server (reads are safe to repeat). No connection free
        within the wait (``PoolTimeout``) is not tried again: it would wait as long."""
        if self.work is None:
            raise StoreError(f"the database store at {self.where} is not open")
        for attempt in (1, 2):
            try:
                async with self.work.connection(timeout=self._wait()) as conn:
                    found = await query(conn)
                self._away = False
                return found
            except psycopg_pool.PoolTimeout as exc:
                raise self.failed(exc, doing) from None
            except psycopg.OperationalError as exc:
                self._saw(exc)
                if attempt == 2:
                    raise self.failed(exc, doing) from None
                log.info("database read on a dropped connection; trying another")
            except psycopg.Error as exc:
                raise self.failed(exc, doing) from None
        raise AssertionError("unreachable")
