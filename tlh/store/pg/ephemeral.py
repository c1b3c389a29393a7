"""Short-lived security state in PostgreSQL, shared by every server on the database:
attempts (rate and failure limits, identity-check tries), one-time code entries and
single-use values (passkey challenges).

The services speak to ``tlh.services.ephemeral``'s ``Attempts``, ``CodeStore`` and
``OnceStore``; these are their shared implementations (``PgEphemeral.attempts``,
``.codes``, ``.once``), so a code sent by one server is taken on another, a passkey
ceremony begun on one ends on another, and tries spread over the servers add up.

- ``tlh_attempts(id, key, at, expires)``: one row per attempt, ``at`` in seconds on the
  callers' wall clock; a row counts until ``expires`` (its window's end). A reservation
  counts the key's rows and inserts its own in one transaction under an advisory lock
  of the key (``_ATTEMPT_LOCK``, the digest's first four bytes), so of any number at once,
  on any servers, exactly the ones within the limit succeed.
- ``tlh_codes(id, subject, ttl_s, code, expires, opened)``: one row per open entry,
  at most one per subject; ``code`` is the digest of the current code (``NULL``: none
  made, or it died). A right code is taken by ``DELETE … RETURNING``: of two servers
  checking one code at once, exactly one gets the row.
- ``tlh_once(key, value, expires)``: a value taken (deleted) once; ``value`` sealed
  with the practice's data key.

Nothing here is readable: keys and subjects (hashed addresses, network addresses, link
ids) and codes are stored as HMAC-SHA256 under a key derived from the practice's data
key (a database stored clear: a random secret kept in ``tlh_meta``), so the database
holds no address and no code, and a 6-digit code's digest cannot be reversed by trying
the million codes without the key. The tables are made at ``open`` if missing (like
``tlh_notify_spill``) and swept of expired rows every ``sweep_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tlh.errors import StoreError
from tlh.store.pg.db import Conn, Database
from tlh.store.seal import Codec, Sealer

log = logging.getLogger(__name__)

TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS tlh_attempts (
        id bigserial PRIMARY KEY,
        key bytea NOT NULL,
        at double precision NOT NULL,
        expires double precision NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS tlh_attempts_key ON tlh_attempts (key, at)",
    "CREATE INDEX IF NOT EXISTS tlh_attempts_expires ON tlh_attempts (expires)",
    """CREATE TABLE IF NOT EXISTS tlh_codes (
        id text PRIMARY KEY,
        subject bytea NOT NULL UNIQUE,
        ttl_s double precision NOT NULL,
        code bytea,
        expires timestamptz,
        opened timestamptz NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tlh_once (
        key bytea PRIMARY KEY,
        value bytea NOT NULL,
        expires timestamptz NOT NULL
    )""",
)
#: Taken while creating the tables: two servers starting at once would otherwise race
#: in the catalogue (CREATE ... IF NOT EXISTS is not atomic there).
_SCHEMA_LOCK: Final = 0x746C685F657068  # "tlh_eph"
#: The first key of the (two-key) advisory locks that serialise reservations per key;
#: PostgreSQL keeps two-key locks apart from the one-key locks the store takes.
_ATTEMPT_LOCK: Final = 0x746C6861  # "tlha"
#: The ``tlh_meta`` row of the digest secret of a database stored clear.
SECRET_ROW: Final = "ephemeral_secret"
#: Seconds between sweeps of expired rows.
SWEEP_S: Final = 60.0
#: An entry whose code was never made (an unknown address, a message never sent) is
#: forgotten this long after it was opened.
ENTRY_KEEP: Final = timedelta(days=1)

_OPEN: Final = (
    "INSERT INTO tlh_codes (id, subject, ttl_s, code, expires, opened) "
    "VALUES (%s, %s, %s, NULL, NULL, %s) "
    "ON CONFLICT (subject) DO UPDATE SET id = excluded.id, ttl_s = excluded.ttl_s, "
    "code = NULL, expires = NULL, opened = excluded.opened"
)
_ISSUE: Final = (
    "UPDATE tlh_codes SET code = %s, expires = %s + ttl_s * interval '1 second' "
    "WHERE id = %s AND subject = %s RETURNING id"
)
_TAKE: Final = (
    "DELETE FROM tlh_codes WHERE subject = %s AND code = %s AND expires > %s RETURNING id"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PgEphemeral:
    """The shared ``Attempts`` and ``CodeStore`` on ``db`` (an open store's pools);
    ``await open()`` (tables, digest key, sweeper), ``close()`` before the store closes."""

    def __init__(self, db: Database, codec: Codec, *, sweep_s: float = SWEEP_S) -> None:
        self._db = db
        self.codec = codec
        self._key = b""
        self._sweep_s = sweep_s
        self._sweeper: asyncio.Task[None] | None = None
        self.attempts = PgAttempts(self)
        self.codes = PgCodes(self)
        self.once = PgOnce(self)

    async def open(self) -> None:
        """Make the tables if missing, find the digest key, start sweeping."""
        doing = "make the shared limit tables"
        async with self._db.connection(doing) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in TABLES:
                await conn.execute(statement)
            self._key = await _digest_key(conn, self.codec)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="tlh-ephemeral-sweep")

    async def close(self) -> None:
        """Stop sweeping (the rows stay for the other servers)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def digest(self, kind: str, value: str) -> bytes:
        """The stored form of ``value`` (a key, a subject, a code): keyed, one-way."""
        return hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    async def run(self, doing: str, statement: str, params: tuple[Any, ...]) -> list[Any]:
        """One statement on a pooled connection; the rows it returned."""
        async with self._db.connection(doing) as conn:
            cur = await conn.execute(statement, params)
            return await cur.fetchall() if cur.description is not None else []

    @contextlib.asynccontextmanager
    async def transaction(self, doing: str) -> AsyncIterator[Conn]:
        """A pooled connection in a transaction (committed when the block ends)."""
        async with self._db.connection(doing) as conn, conn.transaction():
            yield conn

    async def read(self, doing: str, statement: str, params: tuple[Any, ...]) -> list[Any]:
        """One reading statement (tried again on another connection if the first was
        dropped); its rows."""

        async def query(conn: Conn) -> list[Any]:
            cur = await conn.execute(statement, params)
            return await cur.fetchall()

        return await self._db.read(doing, query)

    async def sweep(self, now: datetime | None = None) -> None:
        """Delete what has expired: attempts past their window, codes past their life,
        entries never given a code after ``ENTRY_KEEP``."""
        at = now or _utcnow()
        await self.run(
            "sweep attempts", "DELETE FROM tlh_attempts WHERE expires <= %s", (at.timestamp(),)
        )
        await self.run(
            "sweep codes",
            "DELETE FROM tlh_codes WHERE expires <= %s OR (expires IS NULL AND opened <= %s)",
            (at, at - ENTRY_KEEP),
        )
        await self.run("sweep single-use values", "DELETE FROM tlh_once WHERE expires <= %s", (at,))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_s)
            try:
                await self.sweep()
            except StoreError as exc:  # an outage: the next sweep catches up
                log.warning("shared limits not swept: %s", exc)


async def _digest_key(conn: Conn, codec: Codec) -> bytes:
    """The key of the digests: derived from the data key, or (a database stored clear)
    a random secret made once and kept in ``tlh_meta``."""
    if isinstance(codec, Sealer):
        data_key = codec.key(codec.current)
        assert data_key is not None
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tlh pg ephemeral")
        return hkdf.derive(data_key)
    await conn.execute(
        "INSERT INTO tlh_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
        (SECRET_ROW, secrets.token_hex(32)),
    )
    cur = await conn.execute("SELECT value FROM tlh_meta WHERE key = %s", (SECRET_ROW,))
    row = await cur.fetchone()
    assert row is not None
    return bytes.fromhex(str(row[0]))


class PgAttempts:
    """``tlh.services.ephemeral.Attempts`` in ``tlh_attempts``."""

    def __init__(self, shared: PgEphemeral) -> None:
        self._shared = shared

    async def recent(self, key: str, now: float, window_s: float, keep: int) -> list[float]:
        rows = await self._shared.read(
            "count attempts",
            "SELECT at FROM tlh_attempts WHERE key = %s AND at > %s ORDER BY at DESC LIMIT %s",
            (self._shared.digest("attempt", key), now - window_s, keep),
        )
        return sorted(float(r[0]) for r in rows)

    async def add(self, key: str, now: float, window_s: float, keep: int) -> None:
        await self._shared.run(
            "count an attempt",
            "INSERT INTO tlh_attempts (key, at, expires) VALUES (%s, %s, %s)",
            (self._shared.digest("attempt", key), now, now + window_s),
        )

    async def clear(self, key: str) -> None:
        await self._shared.run(
            "forget attempts",
            "DELETE FROM tlh_attempts WHERE key = %s",
            (self._shared.digest("attempt", key),),
        )

    async def reserve(self, key: str, now: float, window_s: float, limit: int) -> str | None:
        digest = self._shared.digest("attempt", key)
        # Per key, one reservation at a time (across servers): the count and the insert
        # under a transaction's advisory lock, so a burst gets exactly ``limit``.
        lock = int.from_bytes(digest[:4], "big", signed=True)
        async with self._shared.transaction("count an attempt") as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_ATTEMPT_LOCK, lock))
            cur = await conn.execute(
                "SELECT count(*) FROM tlh_attempts WHERE key = %s AND at > %s",
                (digest, now - window_s),
            )
            row = await cur.fetchone()
            if row is None or row[0] >= limit:
                return None
            cur = await conn.execute(
                "INSERT INTO tlh_attempts (key, at, expires) VALUES (%s, %s, %s) RETURNING id",
                (digest, now, now + window_s),
            )
            made = await cur.fetchone()
            assert made is not None
            return str(made[0])

    async def release(self, key: str, token: str) -> None:
        await self._shared.run(
            "take back an attempt", "DELETE FROM tlh_attempts WHERE id = %s", (int(token),)
        )


class PgCodes:
    """``tlh.services.ephemeral.CodeStore`` in ``tlh_codes``. A code's life starts when
    it is made, on the making server's clock (the ``clock`` given to ``open`` belongs to
    the asking server's process, so it cannot travel with the entry)."""

    def __init__(self, shared: PgEphemeral) -> None:
        self._shared = shared

    async def open(self, subject: str, ttl: timedelta, clock: Callable[[], datetime]) -> str:
        entry_id = f"otc_{secrets.token_urlsafe(9)}"
        subject_key = self._shared.digest("subject", subject)
        await self._shared.run(
            "open a code entry", _OPEN, (entry_id, subject_key, ttl.total_seconds(), _utcnow())
        )
        return entry_id

    async def pending(self, entry_id: str) -> bool:
        rows = await self._shared.read(
            "look up a code entry", "SELECT 1 FROM tlh_codes WHERE id = %s", (entry_id,)
        )
        return bool(rows)

    async def issue(self, entry_id: str) -> str | None:
        rows = await self._shared.read(
            "look up a code entry", "SELECT subject FROM tlh_codes WHERE id = %s", (entry_id,)
        )
        if not rows:
            return None
        subject_key = bytes(rows[0][0])
        code = f"{secrets.randbelow(1_000_000):06d}"
        digest = self._code_digest(subject_key, code)
        made = await self._shared.run(
            "make a code", _ISSUE, (digest, _utcnow(), entry_id, subject_key)
        )
        return code if made else None  # replaced meanwhile: the new entry's message goes

    async def void(self, entry_id: str) -> None:
        await self._shared.run(
            "void a code",
            "UPDATE tlh_codes SET code = NULL, expires = NULL WHERE id = %s",
            (entry_id,),
        )

    async def check(self, subject: str, code: str, now: datetime) -> bool:
        subject_key = self._shared.digest("subject", subject)
        # Bound to the subject, so one address's or link's code never opens another's.
        rows = await self._shared.run(
            "check a code", _TAKE, (subject_key, self._code_digest(subject_key, code), now)
        )
        return bool(rows)

    def _code_digest(self, subject_key: bytes, code: str) -> bytes:
        return self._shared.digest("code", f"{subject_key.hex()}:{code}")


class PgOnce:
    """``tlh.services.ephemeral.OnceStore`` in ``tlh_once``: keys as digests, values
    sealed (a database stored clear: as they are)."""

    _LABEL: Final = b"tlh once"

    def __init__(self, shared: PgEphemeral) -> None:
        self._shared = shared

    async def put(self, key: str, value: bytes, expires: datetime) -> None:
        sealed = self._shared.codec.seal(value, self._LABEL)
        await self._shared.run(
            "keep a single-use value",
            "INSERT INTO tlh_once (key, value, expires) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (self._shared.digest("once", key), sealed, expires),
        )

    async def take(self, key: str, now: datetime) -> bytes | None:
        rows = await self._shared.run(
            "take a single-use value",
            "DELETE FROM tlh_once WHERE key = %s RETURNING value, expires",
            (self._shared.digest("once", key),),
        )
        if not rows or now >= rows[0][1]:
            return None
        return self._shared.codec.open(bytes(rows[0][0]), self._LABEL, "tlh_once")
