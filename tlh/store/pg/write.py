"""The statements of one commit: records, index rows and calendar rows, in the caller's
transaction, each table in one statement of array parameters (``unnest``), however many
records the commit writes: a 10,000-appointment import is a handful of round trips.

Rows are locked before anything else is read or written: every key the commit writes is
upserted first (a delete upserts an empty tombstone, then deletes it), in the one order
``changes_of`` sorts them in. A concurrent commit of the same record waits there until
this one ends, and then (READ COMMITTED: each statement sees what committed before it)
replaces the index rows this one wrote instead of leaving them beside its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from psycopg.types.range import Range

from tlh.domain.models import Appointment
from tlh.store.pg.bulk import insert, upsert_records
from tlh.store.pg.db import Conn
from tlh.store.pg.records import (
    Change,
    IndexKey,
    IndexRow,
    calendar_rows,
    encode,
    label,
)
from tlh.store.seal import Codec


def prepare(
    changes: Sequence[Change], codec: Codec
) -> tuple[list[bytes], list[msgspec.Struct | None]]:
    """The stored document of each change (``b""`` for a delete) and the record as it
    reads back (``None`` for a delete); ``InvalidInput`` before anything is written."""
    docs: list[bytes] = []
    back: list[msgspec.Struct | None] = []
    for table, rid, rec in changes:
        if rec is None:
            docs.append(b"")
            back.append(None)
            continue
        data, decoded = encode(table, rec)
        docs.append(codec.seal(data, label(table, rid)))
        back.append(decoded)
    return docs, back


#: The columns of a ``tlh_index`` row (``IndexRow``) and their types.
INDEX_COLUMNS = ("kind", "field", "value", "id", "ends")
INDEX_TYPES = ("text", "text", "text", "text", "int8")


async def write(
    conn: Conn,
    changes: Sequence[Change],
    docs: Sequence[bytes],
    records: Sequence[msgspec.Struct | None],
    index: IndexKey,
) -> None:
    """Write ``changes`` (sorted, one per key: ``changes_of``) in ``conn``'s transaction."""
    kinds = [table for table, _, _ in changes]
    ids = [rid for _, rid, _ in changes]
    all_new = await upsert_records(conn, kinds, ids, docs)
    gone = [
        (table, rid) for (table, rid, _), rec in zip(changes, records, strict=True) if rec is None
    ]
    if gone:
        await conn.execute(
            "DELETE FROM tlh_records r USING unnest(%b::text[], %b::text[]) AS d(kind, id) "
            "WHERE r.kind = d.kind AND r.id = d.id",
            ([k for k, _ in gone], [i for _, i in gone]),
        )
    if not all_new:
        await conn.execute(
            "DELETE FROM tlh_index x USING unnest(%b::text[], %b::text[]) AS d(kind, id) "
            "WHERE x.kind = d.kind AND x.id = d.id",
            (kinds, ids),
        )
    rows: list[IndexRow] = []
    for (table, rid, _), rec in zip(changes, records, strict=True):
        if rec is not None:
            rows += index.rows(table, rid, rec)
    await insert(conn, "tlh_index", INDEX_COLUMNS, INDEX_TYPES, rows)
    apts = [rid for table, rid, _ in changes if table == "appointments"]
    if apts:
        await _write_calendar(
            conn, apts, [r for r in records if isinstance(r, Appointment)], all_new=all_new
        )


async def _write_calendar(
    conn: Conn, ids: list[str], appointments: list[Appointment], *, all_new: bool
) -> None:
    if not all_new:
        await conn.execute("DELETE FROM tlh_calendar WHERE id = ANY(%b::text[])", (ids,))
    rows = [
        (r.id, r.clinician_id, Range(r.lower, r.upper, r.bounds), r.holds_time, r.start_s, r.end_s)
        for apt in appointments
        for r in calendar_rows(apt)
    ]
    await insert(
        conn,
        "tlh_calendar",
        ("id", "clinician_id", "span", "holds_time", "start_s", "end_s"),
        ("text", "text", "tstzrange", "bool", "int8", "int8"),
        rows,
    )
