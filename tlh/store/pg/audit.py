"""The audit log of ``PgStore``: the same hash-chained entries as the file log
(``tlh.store.auditentry``), as rows of ``tlh_audit``.

Every writer takes the one ``tlh_audit_head`` row ``FOR UPDATE``, numbers and chains its
entries after it, inserts them and moves the head, in its transaction: a store commit
does this in the commit's own transaction (the change and its entries are stored
together or not at all), so the chain has no gaps and follows commit order across
every server. Reads the services log (``append``) are grouped: while one batch is
written, the next queues, and is written as one transaction after it.

The head carries, under a data key, the MAC of ``tlh.store.audithead``: rows deleted at
the end of the chain cannot be hidden by rewriting the head without the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from tlh.errors import StoreError
from tlh.store.auditentry import (
    ZERO_HASH,
    ActorLike,
    ActorRef,
    Entry,
    EntryBody,
    actor_ref,
    body_of,
    check_entries,
    encoder,
    entry_hash,
    format_at,
)
from tlh.store.audithead import Head, signature_problem, signed
from tlh.store.auditverify import MAX_PROBLEMS, Problem, VerifyResult
from tlh.store.base import AuditNote
from tlh.store.pg.bulk import insert
from tlh.store.pg.db import Conn, Database, transaction
from tlh.store.seal import PLAIN, Codec

#: One entry before it is numbered and chained: at, actor, source, action, target.
Part = tuple[str, ActorRef, str, str, str]

_COLUMNS: Final = (
    "seq, at, actor_kind, actor_id, actor_role, source, action, target, prev, hash, commit_seq"
)
_TYPES: Final = ("int8", *("text",) * 9, "int8")
#: Bytes per chunk of an export.
EXPORT_CHUNK: Final = 1 << 16


def _utcnow() -> datetime:
    return datetime.now(UTC)


def entry_of(row: Sequence[Any]) -> Entry:
    """The entry a ``tlh_audit`` row (``_COLUMNS``) holds."""
    seq, at, kind, aid, role, source, action, target, prev, h, commit = row
    return Entry(seq, at, ActorRef(kind, aid, role), source, action, target, prev, h, commit)


def parts_of(at: str, notes: Sequence[AuditNote]) -> list[Part]:
    """The entries of a commit's notes: one per target."""
    return [(at, n.actor, n.source, n.action, t) for n in notes for t in n.targets]


class _Pending(msgspec.Struct):
    parts: list[Part]
    done: asyncio.Future[None]


class PgAudit:
    """The ``AuditStore`` of a ``PgStore`` (``tlh.store.base.AuditStore``)."""

    def __init__(
        self, db: Database, codec: Codec = PLAIN, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._db = db
        #: The practice's codec: the head is signed with its data key.
        self.codec = codec
        self._clock = clock
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    def now(self) -> str:
        """The log's clock, formatted as an entry's ``at``."""
        return format_at(self._clock())

    # -- writing ----------------------------------------------------------------------

    async def chain(self, conn: Conn, parts: Sequence[Part], *, commit: bool) -> None:
        """Number, chain and insert ``parts`` in ``conn``'s open transaction, after the
        head (locked until that transaction ends); ``commit``: they record the next store
        commit, whose number they carry."""
        cur = await conn.execute("SELECT seq, hash, commits FROM tlh_audit_head FOR UPDATE")
        row = await cur.fetchone()
        if row is None:
            raise StoreError("the database's audit head is missing; run `tlh audit verify`")
        seq, prev, commits = int(row[0]), str(row[1]), int(row[2])
        number = commits + 1 if commit else None
        rows: list[tuple[Any, ...]] = []
        for at, ref, source, action, target in parts:
            seq += 1
            h = entry_hash(EntryBody(seq, at, ref, source, action, target, prev, number))
            rows.append(
                (seq, at, ref.kind, ref.id, ref.role, source, action, target, prev, h, number)
            )
            prev = h
        await insert(conn, "tlh_audit", _COLUMNS.split(", "), _TYPES, rows)
        await self._move_head(conn, Head(seq, prev), commits + 1 if commit else commits)

    async def _move_head(self, conn: Conn, head: Head, commits: int) -> None:
        head = signed(head, self.codec)
        await conn.execute(
            "UPDATE tlh_audit_head SET seq = %s, hash = %s, commits = %s, key_id = %s, mac = %s",
            (head.seq, head.hash, commits, head.key, head.mac),
        )

    async def import_entries(self, conn: Conn, entries: Sequence[Entry]) -> None:
        """Store ``entries`` of another log as they are (numbered, chained and hashed
        there), in ``conn``'s open transaction; an entry whose ``seq`` is stored already
        is skipped, so an interrupted import can run again (``tlh store migrate``). The
        head is left alone: ``import_head`` moves it once every entry is in."""
        if not entries:
            return
        rows = [
            (
                e.seq,
                e.at,
                e.actor.kind,
                e.actor.id,
                e.actor.role,
                e.source,
                e.action,
                e.target,
                e.prev,
                e.hash,
                e.commit,
            )
            for e in entries
        ]
        arrays = ", ".join(f"%b::{t}[]" for t in _TYPES)
        await conn.execute(
            f"INSERT INTO tlh_audit ({_COLUMNS}) SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (seq) DO NOTHING".encode(),
            [[row[n] for row in rows] for n in range(len(_TYPES))],
        )

    async def import_head(self, conn: Conn, head: Head, commits: int) -> None:
        """Anchor an imported chain: the head at its last entry, signed with this log's
        data key, after ``commits`` numbered store commits."""
        await self._move_head(conn, head, commits)

    async def sign_head(self) -> None:
        """Sign the head of a new chain with the data key (a sealed practice's first
        open), so ``verify`` can tell a rewritten head from the genuine one."""
        if not self.codec.sealed:
            return
        async with self._db.connection("sign the audit head") as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT seq, hash, commits, mac FROM tlh_audit_head FOR UPDATE"
            )
            row = await cur.fetchone()
            if row is not None and int(row[0]) == 0 and row[3] is None:
                await self._move_head(conn, Head(0, ZERO_HASH), int(row[2]))

    async def append(self, actor: ActorLike, action: str, target: str) -> None:
        """Durably record that ``actor`` did ``action`` to record id ``target``."""
        await self.append_many(actor, action, [target])

    async def append_many(self, actor: ActorLike, action: str, targets: Sequence[str]) -> None:
        """One entry per target, written as one batch (with whatever else is queued)."""
        check_entries(action, targets)
        ref = actor_ref(actor)
        if not targets:
            return
        at, source = self.now(), actor.source or ""
        await self._enqueue([(at, ref, source, action, t) for t in targets])

    async def barrier(self) -> None:
        """Return once every entry appended before the call is durable (or failed)."""
        await self._enqueue([])

    def _enqueue(self, parts: list[Part]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(parts, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="pg-audit-writer")
        return done

    async def _drain(self) -> None:
        """Write whatever has queued as one transaction, until nothing is left."""
        while self._pending:
            batch, self._pending = self._pending, []
            parts = [p for pending in batch for p in pending.parts]
            error: StoreError | None = None
            if parts:
                try:
                    async with (
                        self._db.connection("write the audit log") as conn,
                        transaction(conn),
                    ):
                        await self.chain(conn, parts, commit=False)
                except StoreError as exc:
                    error = exc
            for pending in batch:
                if pending.done.done():
                    continue
                if error is None:
                    pending.done.set_result(None)
                else:
                    pending.done.set_exception(error)

    async def close(self) -> None:
        """Finish writing what is queued."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    # -- reading ----------------------------------------------------------------------

    async def read(
        self, since: datetime | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Entries as stored, oldest first (``AuditLog.read``): with ``since``, the first
        ``limit`` at or after it; without, the most recent ``limit``."""
        if limit is not None and limit <= 0:
            return []

        async def query(conn: Conn) -> list[Any]:
            if since is not None:
                cur = await conn.execute(
                    f"SELECT {_COLUMNS} FROM tlh_audit WHERE at >= %s ORDER BY seq LIMIT %s",
                    (format_at(since), limit),
                )
                return await cur.fetchall()
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM tlh_audit ORDER BY seq DESC LIMIT %s",
                (limit,),
            )
            return list(reversed(await cur.fetchall()))

        rows = await self._db.read("read the audit log", query)
        return [msgspec.to_builtins(entry_of(row)) for row in rows]

    async def export(self) -> AsyncIterator[bytes]:
        """The whole log as JSON lines (the file log's format), in chunks."""
        async with self._db.connection("export the audit log") as conn:
            chunk: list[bytes] = []
            size = 0
            async with conn.cursor() as cur:
                async for row in cur.stream(f"SELECT {_COLUMNS} FROM tlh_audit ORDER BY seq"):
                    line = encoder.encode(entry_of(row)) + b"\n"
                    chunk.append(line)
                    size += len(line)
                    if size >= EXPORT_CHUNK:
                        yield b"".join(chunk)
                        chunk, size = [], 0
            if chunk:
                yield b"".join(chunk)

    # -- verifying --------------------------------------------------------------------

    async def verify(self) -> VerifyResult:
        """Check the chain, its head, that every commit has entries and every stored
        record is named by one, in one snapshot of the database."""
        async with self._db.connection("verify the audit log") as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await conn.execute("SELECT seq, hash, commits, key_id, mac FROM tlh_audit_head")
            head_row = await cur.fetchone()
            problems: list[Problem] = []
            lines, last = await self._check_chain(conn, problems)
            if head_row is None:
                problems.append(Problem(lines, "the audit head is missing (the end is unanchored)"))
                commits = 0
            else:
                head = Head(int(head_row[0]), str(head_row[1]), head_row[3], head_row[4])
                commits = int(head_row[2])
                problems.extend(Problem(lines, r) for r in self._head_problems(head, last))
            problems.extend(Problem(lines, r) for r in await _unaudited(conn, commits))
        return VerifyResult(ok=not problems, entries=lines, problems=problems)

    async def _check_chain(
        self, conn: Conn, problems: list[Problem]
    ) -> tuple[int, tuple[int, str]]:
        """Walk the entries in order; (how many, (last seq, last hash))."""
        lines, expected, prev = 0, 1, ZERO_HASH
        async with conn.cursor() as cur:
            async for row in cur.stream(f"SELECT {_COLUMNS} FROM tlh_audit ORDER BY seq"):
                lines += 1
                if len(problems) >= MAX_PROBLEMS:
                    continue
                e = entry_of(row)
                if entry_hash(body_of(e)) != e.hash:
                    problems.append(Problem(lines, "hash does not match its contents (edited?)"))
                if e.seq != expected:
                    what = "the log starts" if expected == 1 else f"seq {e.seq} follows"
                    problems.append(
                        Problem(lines, f"{what} at seq {e.seq}, expected {expected} (deleted?)")
                    )
                elif e.prev != prev:
                    problems.append(
                        Problem(lines, "prev does not match the previous entry's hash (replaced?)")
                    )
                expected, prev = e.seq + 1, e.hash
        if len(problems) >= MAX_PROBLEMS:
            problems.append(Problem(lines, f"stopped checking after {MAX_PROBLEMS} problems"))
        return lines, (expected - 1, prev)

    def _head_problems(self, head: Head, last: tuple[int, str]) -> list[str]:
        forged = signature_problem(head, self.codec)
        if forged is not None:
            return [f"{forged}: the end is unanchored"]
        if head.seq != last[0]:
            return [f"the log ends at seq {last[0]} but the head says {head.seq}"]
        if head.hash != last[1]:
            return [f"seq {head.seq} does not match the head's hash"]
        return []


async def _unaudited(conn: Conn, commits: int) -> list[str]:
    """Why the database holds changes the log does not record (capped)."""
    reasons: list[str] = []
    cur = await conn.execute(
        "SELECT n FROM generate_series(1, %s::bigint) AS n WHERE NOT EXISTS "
        "(SELECT 1 FROM tlh_audit a WHERE a.commit_seq = n) ORDER BY n LIMIT %s",
        (commits, MAX_PROBLEMS + 1),
    )
    missing = [int(r[0]) for r in await cur.fetchall()]
    reasons += [f"commit {n} is stored but has no audit entry" for n in missing[:MAX_PROBLEMS]]
    if len(missing) > MAX_PROBLEMS:
        reasons.append("and more commits without entries")
    cur = await conn.execute(
        "SELECT kind, id FROM tlh_records r WHERE NOT EXISTS (SELECT 1 FROM tlh_audit a "
        "WHERE a.target = r.id AND a.commit_seq IS NOT NULL) ORDER BY kind, id LIMIT %s",
        (MAX_PROBLEMS + 1,),
    )
    bare = await cur.fetchall()
    reasons += [
        f"{kind} record {rid} is stored but no audit entry names it"
        for kind, rid in bare[:MAX_PROBLEMS]
    ]
    if len(bare) > MAX_PROBLEMS:
        reasons.append("and more records without entries")
    return reasons
