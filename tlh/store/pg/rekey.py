"""``tlh key rotate --reencrypt`` for a practice in PostgreSQL: every record sealed again
under a new data key, the index digests and the audit head with it.

What the data key reaches in the database: each record's document (sealed under it), the
index rows of personal values (keyed digests, ``records.IndexKey``, from a key derived
from it), the audit head's MAC, and the shared limits' digests and single-use values
(``ephemeral``). The steps, each safe to interrupt:

1. ``tlh_meta`` is marked ``rekeying``: from then on no server opens the database (it says
   to run the rotation again), and the rotation goes on only if no other tlh connection
   is open (a server running with the old key would keep sealing under it and finding
   personal values by the old digests);
2. the keyring gains the new data key (current), wrapped the old way and the new
   (``tlh.store.rotate.plan_rotation``), and the new key file replaces the old one;
3. the records, ``BATCH`` at a time, each batch one transaction: documents sealed again,
   personal index rows replaced by digests under the new key (a record's document and
   digests always change together);
4. the shared limits are emptied (digests of the old key: a sign-in code sent before must
   be asked for again, attempt counts start over), the audit head is signed again;
5. the keyring keeps the new wraps only, and the mark goes, in one transaction.

A run interrupted anywhere leaves the mark, and a keyring both the old and the new secret
open; running the rotation again (with whichever key file is in place) starts a newer key
and takes every record to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from tlh.errors import StoreError
from tlh.store.audithead import Head, signature_problem, signed
from tlh.store.keys import KeySource, Unlocked, encode_keyring
from tlh.store.pg.bulk import insert
from tlh.store.pg.db import Conn, Database
from tlh.store.pg.keyring import KEYRING, unlocked, write_ring
from tlh.store.pg.records import PERSONAL, IndexKey, IndexRow, decode, label
from tlh.store.pg.write import INDEX_COLUMNS, INDEX_TYPES
from tlh.store.rotate import Plan, Rotated, plan_rotation
from tlh.store.seal import Sealer, key_id_of

#: The ``tlh_meta`` row present while a rotation with ``--reencrypt`` is under way.
REKEYING: Final = "rekeying"
#: Seconds an exiting connection may take to leave ``pg_stat_activity``.
SETTLE_S: Final = 2.0
#: Records sealed again per transaction.
BATCH: Final = 1000
#: The shared limits' tables (``tlh.store.pg.ephemeral``): digests under the old key.
_EPHEMERAL: Final = ("tlh_attempts", "tlh_codes", "tlh_once")
#: The tables holding personal index values.
_PERSONAL_KINDS: Final = frozenset(kind for kind, _ in PERSONAL)


async def rotate(
    url: str,
    source: KeySource,
    *,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> Rotated:
    """``tlh key rotate --reencrypt`` for the practice in the database at ``url``."""
    async with Database.briefly(url) as db:
        plan = await reencrypt(
            db,
            await unlocked(db, source),
            new_key_file=new_key_file,
            new_passphrase=new_passphrase,
            step=step,
        )
        return plan.done


async def rekeying(db: Database) -> bool:
    """Whether a rotation with ``--reencrypt`` is half-way (servers refuse to open)."""
    async with db.connection("read the key rotation's state") as conn:
        cur = await conn.execute("SELECT 1 FROM tlh_meta WHERE key = %s", (REKEYING,))
        return await cur.fetchone() is not None


async def reencrypt(
    db: Database,
    old: Unlocked,
    *,
    new_key_file: Path | None = None,
    new_passphrase: str | None = None,
    step: Callable[[str], None] = lambda _: None,
    batch: int = BATCH,
) -> Plan:
    """Take the database ``db`` (opened with ``old``) to a new data key; see the module's
    steps. ``step`` is told each phase (tests stop there). The plan, its ``done`` filled."""
    await _claim(db)
    step("marked")
    plan = plan_rotation(
        old,
        reencrypt=True,
        new_key_file=new_key_file,
        new_passphrase=new_passphrase,
    )
    sealer = plan.sealer
    assert sealer is not None
    await write_ring(db, plan.both)
    plan.write_key_file()
    step("keyring-both")
    plan.done.reencrypted = await _reseal_records(db, sealer, step, batch)
    async with db.connection("seal the audit head again") as conn, conn.transaction():
        for table in _EPHEMERAL:
            if await _exists(conn, table):
                await conn.execute(f"DELETE FROM {table}")
        await _sign_head(conn, sealer)
    step("head")
    async with db.connection("store the keyring") as conn, conn.transaction():
        await conn.execute(
            "UPDATE tlh_meta SET value = %s WHERE key = %s",
            (encode_keyring(plan.final).decode(), KEYRING),
        )
        await conn.execute("DELETE FROM tlh_meta WHERE key = %s", (REKEYING,))
    return plan


async def _claim(db: Database) -> None:
    """Mark the database, then refuse (unmarking it, unless an earlier run had marked it)
    while another tlh connection is open. Marked first: a server connecting after the
    check finds the mark and does not open."""
    async with db.connection("mark the key rotation") as conn:
        cur = await conn.execute(
            "INSERT INTO tlh_meta (key, value) VALUES (%s, 'running') "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            (REKEYING,),
        )
        fresh = await cur.fetchone() is not None
        others = await _other_connections(conn)
        if others:
            if fresh:
                await conn.execute("DELETE FROM tlh_meta WHERE key = %s", (REKEYING,))
            raise StoreError(
                f"stop every tlh server of the practice first: {others} other tlh"
                f" connection(s) to the database at {db.where} are open"
            )


async def _other_connections(conn: Conn) -> int:
    """How many other tlh connections the database has. A connection closed a moment ago
    (this command's own first one) can still be listed while its backend exits: counted
    again for up to ``SETTLE_S`` before the answer stands."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name LIKE 'tlh%%'"
        )
        row = await cur.fetchone()
        others = int(row[0]) if row else 0
        if others == 0 or time.monotonic() >= deadline:
            return others
        await asyncio.sleep(0.1)


async def _reseal_records(
    db: Database, sealer: Sealer, step: Callable[[str], None], batch: int
) -> int:
    """Every record under ``sealer.current``, a batch per transaction; how many changed."""
    index = IndexKey(sealer)
    changed = 0
    kind, rid = "", ""
    while True:
        async with db.connection("seal the records again") as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT kind, id, doc FROM tlh_records WHERE (kind, id) > (%s, %s) "
                "ORDER BY kind, id LIMIT %s FOR UPDATE",
                (kind, rid, batch),
            )
            rows: list[tuple[str, str, bytes]] = [
                (str(k), str(i), bytes(d)) for k, i, d in await cur.fetchall()
            ]
            if not rows:
                return changed
            kind, rid = rows[-1][0], rows[-1][1]
            stale = [r for r in rows if key_id_of(r[2]) != sealer.current]
            await _reseal(conn, sealer, index, stale)
        changed += len(stale)
        step(f"records:{kind}/{rid}")


async def _reseal(
    conn: Conn, sealer: Sealer, index: IndexKey, rows: Sequence[tuple[str, str, bytes]]
) -> None:
    """``rows``' documents sealed under ``sealer.current`` and their personal index rows
    digested under it, in ``conn``'s transaction."""
    if not rows:
        return
    kinds, ids, docs = [], [], []
    digests: list[IndexRow] = []
    for kind, rid, doc in rows:
        where = f"the database's {kind} record {rid}"
        kinds.append(kind)
        ids.append(rid)
        docs.append(sealer.seal(sealer.open(doc, label(kind, rid), where), label(kind, rid)))
        if kind in _PERSONAL_KINDS:
            record = decode(kind, rid, doc, sealer)
            digests += [r for r in index.rows(kind, rid, record) if (r[0], r[1]) in PERSONAL]
    await conn.execute(
        "UPDATE tlh_records r SET doc = d.doc "
        "FROM unnest(%b::text[], %b::text[], %b::bytea[]) AS d(kind, id, doc) "
        "WHERE r.kind = d.kind AND r.id = d.id",
        (kinds, ids, docs),
    )
    personal = [(k, i) for k, i in zip(kinds, ids, strict=True) if k in _PERSONAL_KINDS]
    if not personal:
        return
    fields = sorted(PERSONAL)
    await conn.execute(
        "DELETE FROM tlh_index x USING unnest(%b::text[], %b::text[]) AS d(kind, id) "
        "WHERE x.kind = d.kind AND x.id = d.id AND (x.kind, x.field) IN "
        f"({', '.join(['(%s, %s)'] * len(fields))})",
        ([k for k, _ in personal], [i for _, i in personal], *[v for f in fields for v in f]),
    )
    await insert(conn, "tlh_index", INDEX_COLUMNS, INDEX_TYPES, digests)


async def _sign_head(conn: Conn, sealer: Sealer) -> None:
    """The audit head signed with the new key, once its signature under the old is
    checked (a replaced head is not blessed by a rotation)."""
    cur = await conn.execute("SELECT seq, hash, key_id, mac FROM tlh_audit_head FOR UPDATE")
    row = await cur.fetchone()
    if row is None:
        raise StoreError("the database's audit head is missing; run `tlh audit verify`")
    head = Head(int(row[0]), str(row[1]), row[2] and str(row[2]), row[3] and str(row[3]))
    if head.key == sealer.current.hex():
        return
    problem = signature_problem(head, sealer)
    if problem is not None:
        raise StoreError(f"the database's audit head: {problem}; run `tlh audit verify`")
    new = signed(head, sealer)
    await conn.execute("UPDATE tlh_audit_head SET key_id = %s, mac = %s", (new.key, new.mac))


async def _exists(conn: Conn, table: str) -> bool:
    cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    row = await cur.fetchone()
    return bool(row and row[0])
