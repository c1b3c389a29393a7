"""Inserting many rows at once: ``COPY`` (binary) past ``COPY_MIN`` rows, else one
``INSERT ... SELECT * FROM unnest(...)`` of array parameters.

Both are a round trip or two whatever the number of rows; ``COPY`` formats rows in
psycopg's C code and skips the executor, which makes a 10,000-appointment import several
times cheaper on the client than array parameters (dumped in Python), while a commit of
one record stays a single ``INSERT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import psycopg

from tlh.store.pg.db import Conn, pipelined

#: From this many rows on, ``COPY``.
COPY_MIN: Final = 64

#: The staging table of large upserts (``COPY`` cannot upsert): per session, emptied at
#: every commit.
STAGE: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS tlh_stage (n integer, kind text, id text, doc bytea) "
    "ON COMMIT DELETE ROWS"
)


async def insert(
    conn: Conn,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert ``rows`` (values in ``columns`` order, of PostgreSQL ``types``) into
    ``table`` in ``conn``'s transaction."""
    if not rows:
        return
    names = ", ".join(columns)
    if len(rows) >= COPY_MIN and not pipelined(conn):
        async with conn.cursor() as cur:
            copy_sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
            async with cur.copy(copy_sql.encode()) as copy:
                copy.set_types(list(types))
                for row in rows:
                    await copy.write_row(row)
        return
    arrays = ", ".join(f"%b::{t}[]" for t in types)
    query = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"
    await conn.execute(query.encode(), [[row[n] for row in rows] for n in range(len(types))])


async def upsert_records(
    conn: Conn, kinds: Sequence[str], ids: Sequence[str], docs: Sequence[bytes]
) -> bool:
    """Insert or replace ``tlh_records`` rows, locking them in the order given; whether
    every row was new (then no index or calendar row of theirs can exist).

    Many rows are first tried as new (an import): one ``COPY`` straight into the table,
    in a savepoint; a key that exists (or that a concurrent commit inserts meanwhile)
    fails it, and they go through the staging table's upsert instead."""
    upsert = " ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc"
    if len(ids) < COPY_MIN:
        await conn.execute(
            "INSERT INTO tlh_records (kind, id, doc) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[])" + upsert,
            (list(kinds), list(ids), list(docs)),
        )
        return False
    try:
        async with conn.transaction():
            await insert(
                conn,
                "tlh_records",
                ("kind", "id", "doc"),
                ("text", "text", "bytea"),
                list(zip(kinds, ids, docs, strict=True)),
            )
        return True
    except psycopg.errors.UniqueViolation:
        pass
    await conn.execute(STAGE)
    rows = [(n, k, i, d) for n, (k, i, d) in enumerate(zip(kinds, ids, docs, strict=True))]
    await insert(
        conn, "tlh_stage", ("n", "kind", "id", "doc"), ("int4", "text", "text", "bytea"), rows
    )
    await conn.execute(
        "INSERT INTO tlh_records (kind, id, doc) SELECT kind, id, doc FROM tlh_stage ORDER BY n"
        + upsert
    )
    return False
