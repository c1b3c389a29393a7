"""Filling an empty database with a practice stored elsewhere (``tlh store migrate``):
its keyring, its records as they are and its audit chain as it is, none of it through a
store commit (which would log new entries of its own).

Every step is idempotent, so a copy killed half-way is finished by running it again:
records are upserts by (table, id), audit entries are skipped by ``seq``. While a copy
runs, ``tlh_meta`` row ``migration`` names the practice being copied and says
``running``; ``PgStore.open`` refuses such a database (a server would serve half a
practice), and a copy of another practice into it is refused. Once verified it says
``done``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from tlh.errors import Conflict
from tlh.store.auditentry import Entry
from tlh.store.audithead import Head
from tlh.store.keys import Keyring, encode_keyring
from tlh.store.pg.audit import PgAudit
from tlh.store.pg.db import Conn, Database
from tlh.store.pg.keyring import KEYRING, read_ring
from tlh.store.pg.records import Change, IndexKey
from tlh.store.pg.write import prepare, write
from tlh.store.seal import Codec

#: The ``tlh_meta`` key of a copy's state: ``<practice> running`` or ``<practice> done``.
MIGRATION: Final = "migration"
RUNNING: Final = "running"
DONE: Final = "done"


async def migration_state(db: Database) -> tuple[str, str] | None:
    """``(practice, running|done)`` of the copy into ``db``, or ``None`` if none was made."""
    async with db.connection("read the migration state") as conn:
        cur = await conn.execute("SELECT value FROM tlh_meta WHERE key = %s", (MIGRATION,))
        row = await cur.fetchone()
    if row is None:
        return None
    practice, _, state = str(row[0]).rpartition(" ")
    return practice, state


async def begin(db: Database, practice: str, ring: Keyring | None) -> bool:
    """Claim ``db`` for a copy of ``practice`` (an identity of the source: its first audit
    entry's hash), storing its keyring; whether an earlier copy of it is being resumed.
    ``Conflict`` (nothing written) for a database that holds another practice, or this one
    copied already."""
    state = await migration_state(db)
    where = f"the database at {db.where}"
    if state is not None:
        if state[0] != practice:
            raise Conflict(f"{where} holds a copy of another practice; use an empty database")
        if state[1] == DONE:
            raise Conflict(f"{where} holds this practice already (copied earlier)")
        stored = await read_ring(db)
        same = (stored is None and ring is None) or (
            stored is not None
            and ring is not None
            and encode_keyring(stored) == encode_keyring(ring)
        )
        if not same:
            raise Conflict(f"{where} holds another practice's keys; use an empty database")
        return True
    async with db.connection("claim the database") as conn, conn.transaction():
        await conn.execute("LOCK TABLE tlh_meta, tlh_records, tlh_audit_head")
        if not await _empty(conn):
            raise Conflict(f"{where} holds a practice already; use an empty database")
        await conn.execute(
            "INSERT INTO tlh_meta (key, value) VALUES (%s, %s)",
            (MIGRATION, f"{practice} {RUNNING}"),
        )
        if ring is not None:
            await conn.execute(
                "INSERT INTO tlh_meta (key, value) VALUES (%s, %s)",
                (KEYRING, encode_keyring(ring).decode()),
            )
    return False


async def _empty(conn: Conn) -> bool:
    cur = await conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM tlh_records) "
        "AND NOT EXISTS (SELECT 1 FROM tlh_meta WHERE key = %s) "
        "AND (SELECT seq = 0 FROM tlh_audit_head)",
        (KEYRING,),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def finish(db: Database, practice: str) -> None:
    """Mark the copy of ``practice`` verified: servers may open the database."""
    async with db.connection("finish the migration") as conn:
        await conn.execute(
            "UPDATE tlh_meta SET value = %s WHERE key = %s", (f"{practice} {DONE}", MIGRATION)
        )


async def put_records(
    db: Database, codec: Codec, index: IndexKey, records: Sequence[tuple[str, str, msgspec.Struct]]
) -> None:
    """Upsert ``(table, id, record)`` with their index and calendar rows, in one
    transaction, sealed with ``codec``."""
    changes: list[Change] = sorted(records, key=lambda c: (c[0], c[1]))
    if not changes:
        return
    docs, back = prepare(changes, codec)
    async with db.connection("copy records") as conn, conn.transaction():
        await write(conn, changes, docs, back, index)


async def put_entries(db: Database, audit: PgAudit, entries: Sequence[Entry]) -> None:
    """Store audit entries verbatim (skipping those stored already), in one transaction."""
    async with db.connection("copy the audit log") as conn, conn.transaction():
        await audit.import_entries(conn, entries)


async def put_head(db: Database, audit: PgAudit, head: Head, commits: int) -> None:
    """Anchor the copied chain at ``head`` (signed with the practice's key)."""
    async with db.connection("anchor the audit log") as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM tlh_audit_head FOR UPDATE")
        await audit.import_head(conn, head, commits)


async def counts(db: Database) -> dict[str, int]:
    """How many records each table of the database holds."""
    async with db.connection("count records") as conn:
        cur = await conn.execute("SELECT kind, count(*) FROM tlh_records GROUP BY kind")
        rows = await cur.fetchall()
        cur = await conn.execute("SELECT count(*) FROM tlh_audit")
        entries = await cur.fetchone()
    found = {str(kind): int(n) for kind, n in rows}
    found["audit entries"] = int(entries[0]) if entries else 0
    return found
