"""``PgStore``: the ``Repository`` over a PostgreSQL database several tlh servers share.

Reads go to the database, one statement (one round trip) each, and decode the stored
documents with msgspec. A commit is one transaction: its records, their index and
calendar rows, and its audit entries (``tlh.store.pg.audit``) are stored together or not
at all. ``update`` reads the record and commits its change in one transaction holding
the record's key (``record_key``) as a transaction advisory lock; ``locked`` holds its
keys as session advisory locks for the block. Both exclude holders on every server.

The policy is kept in memory (``policy()`` is synchronous): read at open, replaced by
this server's commits of it, and reloaded when another server's commit of it is heard
of (``policy_changed``; a commit of the policy sends ``NOTIFY tlh_policy``).

The schema is in ``tlh.store.pg.schema``; what a record's rows hold in
``tlh.store.pg.records``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar, cast

from tlh.domain.models import Appointment, Policy
from tlh.errors import InvalidInput, StoreError
from tlh.store.auditverify import VerifyResult
from tlh.store.base import (
    INDEXED,
    POLICY_ID,
    AuditNote,
    Op,
    Put,
    S,
    check_audited,
    record_key,
    table_of,
)
from tlh.store.busy import from_epoch
from tlh.store.keys import KeySource
from tlh.store.pg import memo
from tlh.store.pg.audit import PgAudit, parts_of
from tlh.store.pg.bulk import COPY_MIN
from tlh.store.pg.db import WAIT_S, Conn, Database, transaction
from tlh.store.pg.ephemeral import PgEphemeral
from tlh.store.pg.importing import RUNNING, migration_state
from tlh.store.pg.keyring import codec_of
from tlh.store.pg.locks import KeyLocks, lock_session, lock_transaction, unlock_session
from tlh.store.pg.records import Change, IndexKey, changes_of, decode
from tlh.store.pg.rekey import rekeying
from tlh.store.pg.write import INDEX_COLUMNS, INDEX_TYPES, prepare, write
from tlh.store.seal import PLAIN, Codec

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The channel a commit of the policy notifies (``tlh.store.pg.notify`` listens).
POLICY_CHANNEL: Final = "tlh_policy"

_APPOINTMENTS_IN = (
    "SELECT r.id, r.doc FROM tlh_records r WHERE r.kind = 'appointments' AND r.id IN "
    "(SELECT c.id FROM tlh_calendar c WHERE {where} c.span && tstzrange(%s, %s, '[)'))"
)


#: Fields indexed since the schema's first version: ``(table, field)``, whose rows the
#: records stored before are given at the first open (``PgStore._index_added_fields``).
ADDED_INDEXES: Final = (("sessions", "open_clinician_id"), ("messages", "link_id"))
#: Records read per transaction when giving them a new index's rows.
BACKFILL_BATCH: Final = 5000


class PgStore:
    """The ``Repository`` over the PostgreSQL database at ``url``; ``await open()``
    before use (migrates the schema), ``close()`` after.

    ``codec`` seals every stored document with the practice's data key (``PLAIN``:
    stored clear); ``pool_size`` bounds each of the two pools (``tlh.store.pg.db``).
    """

    def __init__(
        self,
        url: str,
        *,
        codec: Codec | None = None,
        keys: KeySource | None = None,
        pool_size: int = 10,
        wait_s: float = WAIT_S,
        audit_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.codec: Codec = codec or PLAIN
        #: Without a ``codec``: the key that opens the database's keyring at ``open()``
        #: (``tlh.store.pg.keyring``); a database without one is stored clear.
        self._key_source = keys if codec is None else None
        self._find_codec = codec is None
        self._db = Database(url, pool_size=pool_size, wait_s=wait_s)
        self._audit = (
            PgAudit(self._db, self.codec)
            if audit_clock is None
            else PgAudit(self._db, self.codec, audit_clock)
        )
        self._index = IndexKey(self.codec)
        self._keys = KeyLocks()
        self._policy: Policy | None = None
        #: Bumped by every change of the cached policy: a reload that started before a
        #: newer change must not overwrite it.
        self._policy_gen = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._is_open = False

    @property
    def audit(self) -> PgAudit:
        """The audit log (``tlh_audit``): commits write to it; the services append reads."""
        return self._audit

    @property
    def is_open(self) -> bool:
        """Whether the store is open for reads and commits (``/readyz``)."""
        return self._is_open

    @property
    def where(self) -> str:
        """The database, for messages: ``host:port/db`` (never the password)."""
        return self._db.where

    def ephemeral(self) -> PgEphemeral:
        """The short-lived security state the servers on this database share (attempts,
        one-time codes: ``tlh.store.pg.ephemeral``), on this store's pools; unopened."""
        return PgEphemeral(self._db, self.codec)

    # -- open / close -----------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate the schema, load the policy. A one-line ``StoreError`` if the
        URL is bad or the server unreachable."""
        if self._is_open:
            return
        await self._db.open()
        try:
            copying = await migration_state(self._db)
            if copying is not None and copying[1] == RUNNING:
                raise StoreError(
                    f"the database at {self.where} is half-way through `tlh store migrate`;"
                    " run it again to finish the copy"
                )
            if await rekeying(self._db):
                raise StoreError(
                    f"the database at {self.where} is half-way through `tlh key rotate"
                    " --reencrypt`; run it again to finish"
                )
            if self._find_codec:
                self._use_codec(await codec_of(self._db, self._key_source))
            await self._audit.sign_head()
            await self.reload_policy()
            await self._index_added_fields()
        except BaseException:
            await self._db.close()
            raise
        self._is_open = True

    async def _index_added_fields(self) -> None:
        """Make the index rows of a field indexed since the schema's first version
        (``ADDED_INDEXES``) for the records stored before it, once: at the first open
        by a version that knows it (``tlh_meta`` says it is done; several servers
        opening at once make the same rows, and a row made twice is one)."""
        names = ", ".join(INDEX_COLUMNS)
        arrays = ", ".join(f"%b::{t}[]" for t in INDEX_TYPES)
        insert = f"INSERT INTO tlh_index ({names}) SELECT * FROM unnest({arrays}) "
        insert += "ON CONFLICT DO NOTHING"
        for table, field in ADDED_INDEXES:
            key = f"indexed:{table}.{field}"
            rows = await self._rows(
                "index a table", "SELECT 1 FROM tlh_meta WHERE key = %s", (key,)
            )
            if rows:
                continue
            # A batch of records at a time: years of messages are never held at once.
            last = ""
            while True:
                async with self._db.connection("index a table") as conn, conn.transaction():
                    cur = await conn.execute(
                        "SELECT id, doc FROM tlh_records WHERE kind = %s AND id > %s "
                        "ORDER BY id LIMIT %s",
                        (table, last, BACKFILL_BATCH),
                    )
                    stored = await cur.fetchall()
                    if not stored:
                        break
                    records = self._decode(table, stored)
                    made = [
                        row
                        for (rid, _), record in zip(stored, records, strict=True)
                        for row in self._index.rows(table, rid, record)
                        if row[1] == field
                    ]
                    if made:
                        columns = [list(column) for column in zip(*made, strict=True)]
                        await conn.execute(insert.encode(), columns)
                last = str(stored[-1][0])
            async with self._db.connection("index a table") as conn:
                await conn.execute(
                    "INSERT INTO tlh_meta (key, value) VALUES (%s, 'done') ON CONFLICT DO NOTHING",
                    (key,),
                )

    def _use_codec(self, codec: Codec) -> None:
        """Seal with ``codec`` from now on (found at open, before any read or write)."""
        self.codec = self._audit.codec = codec
        self._index = IndexKey(codec)

    async def close(self) -> None:
        """Let in-flight writes finish, then close the pools."""
        if not self._is_open:
            return
        self._is_open = False
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._audit.close()
        await self._db.close()

    async def __aenter__(self) -> PgStore:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- the policy -------------------------------------------------------------------

    def policy(self) -> Policy | None:
        """The practice's policy (from memory), or ``None`` before ``tlh init``."""
        return self._policy

    async def reload_policy(self) -> Policy | None:
        """Read the policy from the database into memory (another server changed it)."""
        gen = self._policy_gen
        found = await self.get(Policy, POLICY_ID)
        if gen == self._policy_gen:
            self._policy = found
        return self._policy

    def policy_changed(self) -> None:
        """Another server committed the policy (its ``NOTIFY tlh_policy`` arrived):
        reload it in the background."""
        if self._is_open:
            self._spawn(self._reload_quietly())

    async def _reload_quietly(self) -> None:
        try:
            await self.reload_policy()
        except StoreError as exc:
            log.warning("policy not reloaded: %s", exc.message)

    def _set_policy(self, changes: Sequence[Change], records: Sequence[Any]) -> None:
        for (table, _, _), rec in zip(changes, records, strict=True):
            if table == "policy":
                self._policy_gen += 1
                self._policy = cast("Policy | None", rec)

    # -- reads ------------------------------------------------------------------------

    async def _rows(self, doing: str, query: str, params: Sequence[object]) -> list[Any]:
        async def run(conn: Conn) -> list[Any]:
            cur = await conn.execute(query.encode(), params, binary=True)
            return await cur.fetchall()

        return await self._db.read(doing, run)

    def _decode(self, table: str, rows: Sequence[Any]) -> list[Any]:
        return [decode(table, rid, bytes(doc), self.codec) for rid, doc in rows]

    async def get(self, kind: type[S], id: str) -> S | None:
        """The record of type ``kind`` with ``id``, or ``None``."""
        table = table_of(kind)

        async def read() -> Any:
            rows = await self._rows(
                "read a record",
                "SELECT id, doc FROM tlh_records WHERE kind = %s AND id = %s",
                (table, id),
            )
            return self._decode(table, rows)[0] if rows else None

        return cast("S | None", await memo.remembered(("get", table, id), read))

    def reading_once(self) -> contextlib.AbstractContextManager[None]:
        """Within the block, this task reads each record and each find once
        (``tlh.store.pg.memo``)."""
        return memo.reading_once()

    async def all(self, kind: type[S]) -> list[S]:
        """Every record of a table, by id."""
        table = table_of(kind)
        rows = await self._rows(
            "read a table", "SELECT id, doc FROM tlh_records WHERE kind = %s ORDER BY id", (table,)
        )
        return cast("list[S]", self._decode(table, rows))

    async def count(self, kind: type[S], field: str | None = None, value: object = None) -> int:
        """How many records a table holds (with ``field``: whose indexed ``field`` holds
        ``value``, counted in the index)."""
        table = table_of(kind)
        if field is None:
            rows = await self._rows(
                "count a table", "SELECT count(*) FROM tlh_records WHERE kind = %s", (table,)
            )
            return int(rows[0][0])
        if field not in INDEXED.get(table, ()):
            raise InvalidInput(f"{table}.{field} is not indexed")
        if value is None:
            raise InvalidInput("count counts a value, not None")
        rows = await self._rows(
            "count records",
            "SELECT count(*) FROM tlh_index WHERE kind = %s AND field = %s AND value = %s",
            (table, field, self._index.value(table, field, value)),
        )
        return int(rows[0][0])

    async def find(
        self, kind: type[S], field: str, value: object, *, ending_after: datetime | None = None
    ) -> list[S]:
        """Records whose indexed ``field`` equals ``value`` (a tuple field: holds it), by
        id; ``None``: the records whose field is ``None``. ``ending_after``: index rows
        that say their record ended by then are passed over before any record is read
        (rows written before the schema knew ends say nothing, and are read)."""
        table = table_of(kind)
        if field not in INDEXED.get(table, ()):
            raise InvalidInput(f"{table}.{field} is not indexed")
        if value is None:
            rows = await self._rows(
                "find records",
                "SELECT r.id, r.doc FROM tlh_records r WHERE r.kind = %s AND NOT EXISTS "
                "(SELECT 1 FROM tlh_index i WHERE i.kind = r.kind AND i.field = %s "
                "AND i.id = r.id) ORDER BY r.id",
                (table, field),
            )
            found = self._decode(table, rows)
            return [r for r in found if getattr(r, field) is None]
        after = None if ending_after is None else int(ending_after.timestamp())
        text = self._index.value(table, field, value)

        async def read() -> tuple[Any, ...]:
            rows = await self._rows(
                "find records",
                "SELECT r.id, r.doc FROM tlh_index i JOIN tlh_records r "
                "ON r.kind = i.kind AND r.id = i.id "
                "WHERE i.kind = %s AND i.field = %s AND i.value = %s "
                "AND (%s::int8 IS NULL OR i.ends IS NULL OR i.ends > %s::int8) ORDER BY i.id",
                (table, field, text, after, after),
            )
            return tuple(self._decode(table, rows))

        matching: tuple[Any, ...] = await memo.remembered(("find", table, field, text, after), read)
        return cast("list[S]", list(matching))

    async def find_many(
        self,
        kind: type[S],
        field: str,
        values: Sequence[object],
        *,
        ending_after: datetime | None = None,
    ) -> dict[object, list[S]]:
        """``find`` of each value in one query (see ``Repository.find_many``)."""
        table = table_of(kind)
        if field not in INDEXED.get(table, ()):
            raise InvalidInput(f"{table}.{field} is not indexed")
        if any(v is None for v in values):
            raise InvalidInput("find_many looks up values, not None")
        found: dict[object, list[S]] = {v: [] for v in values}
        stored = {self._index.value(table, field, v): v for v in found}
        after = None if ending_after is None else int(ending_after.timestamp())
        if not stored:
            return found
        rows = await self._rows(
            "find records",
            "SELECT i.value, r.id, r.doc FROM tlh_index i JOIN tlh_records r "
            "ON r.kind = i.kind AND r.id = i.id "
            "WHERE i.kind = %s AND i.field = %s AND i.value = ANY(%s) "
            "AND (%s::int8 IS NULL OR i.ends IS NULL OR i.ends > %s::int8) ORDER BY i.id",
            (table, field, list(stored), after, after),
        )
        for value, rid, doc in rows:
            found[stored[value]].append(cast("S", self._decode(table, [(rid, doc)])[0]))
        return found

    async def get_many(self, kind: type[S], ids: Sequence[str]) -> dict[str, S]:
        """The records among ``ids`` that exist, by id, in one query."""
        table = table_of(kind)
        if not ids:
            return {}
        rows = await self._rows(
            "read records",
            "SELECT id, doc FROM tlh_records WHERE kind = %s AND id = ANY(%s)",
            (table, list(ids)),
        )
        records = self._decode(table, rows)
        return {str(row[0]): cast("S", rec) for row, rec in zip(rows, records, strict=True)}

    async def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        """Appointments overlapping UTC [start, end), optionally of one clinician, by
        start then id (a zero-length one: if its start is in the range)."""
        if start.utcoffset() is None or end.utcoffset() is None:
            raise InvalidInput("appointments_between needs timezone-aware datetimes")
        if end <= start:
            return []
        if clinician_id is None:
            query, params = _APPOINTMENTS_IN.format(where=""), (start, end)
        else:
            query = _APPOINTMENTS_IN.format(where="c.clinician_id = %s AND")
            params = (clinician_id, start, end)  # type: ignore[assignment]
        rows = await self._rows("read the calendar", query, params)
        found = cast("list[Appointment]", self._decode("appointments", rows))
        found.sort(key=lambda apt: (apt.start, apt.id))
        return found

    async def busy_between(
        self, start: datetime, end: datetime, clinician_id: str
    ) -> list[tuple[int, int]]:
        """``(start, end)`` epoch seconds of the clinician's entries holding time that
        overlap [start, end), by start (``tlh.store.busy``)."""
        lo, hi = int(start.timestamp()), int(end.timestamp())
        if hi <= lo:
            return []
        rows = await self._rows(
            "read the calendar",
            "SELECT start_s, end_s FROM tlh_calendar WHERE clinician_id = %s AND holds_time "
            "AND span && tstzrange(%s, %s, '[)') ORDER BY start_s, end_s",
            (clinician_id, from_epoch(lo), from_epoch(hi)),
        )
        return [(int(s), int(e)) for s, e in rows]

    async def clinicians_seen(self, client_id: str, since: datetime) -> set[str]:
        """Staff on the client's appointments from ``since`` on (``Repository``), through
        the client's index rows."""
        found = await self.find(Appointment, "client_ids", client_id, ending_after=since)
        return {staff for apt in found if apt.start >= since for staff in apt.clinician_ids}

    async def verify_audit(self) -> VerifyResult:
        """Check the audit log: its chain, its head, and that every commit and every
        stored record has its entries (``tlh audit verify``)."""
        self._check_open()
        return await self._audit.verify()

    # -- writes -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._is_open:
            raise StoreError(f"the database store at {self.where} is not open")

    async def commit(self, ops: Sequence[Op], *, audit: Sequence[AuditNote]) -> None:
        """Apply ``ops`` and record ``audit`` in one transaction (see ``check_audited``);
        reads on any server see them once this returns."""
        self._check_open()
        if not ops:
            return
        check_audited(ops, audit)
        changes = changes_of(ops)
        docs, records = prepare(changes, self.codec)
        notes = tuple(audit)

        async def run() -> None:
            # A commit past COPY_MIN records (an import) copies its rows in: not pipelined.
            small = len(changes) < COPY_MIN
            async with (
                self._db.connection("commit") as conn,
                transaction(conn, pipelined=small),
            ):
                await self._write(conn, changes, docs, records, notes)
            memo.committing()  # and once more now that it is seen
            self._set_policy(changes, records)

        await self._shielded(run())

    async def _write(
        self,
        conn: Conn,
        changes: Sequence[Change],
        docs: Sequence[bytes],
        records: Sequence[Any],
        notes: Sequence[AuditNote],
    ) -> None:
        # Reads of this server's memos stand no more: what they read may change now.
        memo.committing()
        await write(conn, changes, docs, records, self._index)
        await self._audit.chain(conn, parts_of(self._audit.now(), notes), commit=True)
        if any(table == "policy" for table, _, _ in changes):
            await conn.execute("SELECT pg_notify(%s, '')", (POLICY_CHANNEL,))

    async def update(
        self,
        kind: type[S],
        id: str,
        change: Callable[[S | None], S | None],
        *,
        audit: Sequence[AuditNote],
    ) -> S | None:
        """Read-modify-write one record, holding its ``record_key`` (on every server)
        from the read to the commit (see ``Repository.update``)."""
        self._check_open()
        table = table_of(kind)
        key = record_key(kind, id)

        async def run() -> S | None:
            async with self._db.connection("update a record") as conn, transaction(conn):
                await lock_transaction(conn, key)
                cur = await conn.execute(
                    b"SELECT id, doc FROM tlh_records WHERE kind = %s AND id = %s",
                    (table, id),
                    binary=True,
                )
                rows = await cur.fetchall()
                current = cast("S | None", self._decode(table, rows)[0] if rows else None)
                new = change(current)
                if new is None or new is current:
                    return current
                ops = [Put(new)]
                check_audited(ops, audit)
                changes = changes_of(ops)
                docs, records = prepare(changes, self.codec)
                await self._write(conn, changes, docs, records, tuple(audit))
            memo.committing()  # and once more now that it is seen
            self._set_policy(changes, records)
            return new

        async with self._keys.holding([key]):
            return await self._shielded(run())

    @contextlib.asynccontextmanager
    async def locked(self, *keys: str) -> AsyncIterator[None]:
        """Hold ``keys`` until the block ends, against holders on every server (see
        ``Repository.locked``); reads inside see every earlier holder's commits."""
        self._check_open()
        async with (
            self._keys.holding(keys) as wanted,
            self._db.connection("hold a lock", self._db.locks) as conn,
        ):
            try:
                await lock_session(conn, wanted)
                yield
            finally:
                await unlock_session(conn)

    # -- tasks ------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _shielded(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a write to its end even if the caller is cancelled: a transaction cut off
        while committing would leave the caller not knowing whether it landed, and a
        record held by ``update`` must stay held until its write has."""
        task = self._spawn(coro)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            while not task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(task)
            raise
