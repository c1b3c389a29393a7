"""The tables of ``PgStore`` and the migrations that make them.

``tlh_meta`` holds ``schema_version``; ``migrate`` runs at every open, in one
transaction under an advisory lock, so two servers starting together migrate once (the
second waits, then finds the version current). DDL is transactional in PostgreSQL: a
step that fails leaves the database as it was.

- ``tlh_records(kind, id, doc)``: every record, ``doc`` its sealed JSON
  (``tlh.store.pg.records``); ``kind`` is the table name of ``tlh.store.base.TABLES``.
- ``tlh_index(kind, field, value, id, ends)``: one row per indexed value (``INDEXED``);
  personal values as keyed digests; ``ends``, when the record stops mattering (tables
  that grow with history), so ``find(..., ending_after=...)`` reads only what is current.
- ``tlh_calendar(id, clinician_id, span, holds_time, start_s, end_s)``: one row per
  clinician of each appointment, in one GiST index on (span, clinician_id) that serves
  both the day view (span alone) and one clinician's range (``btree_gist``, a trusted
  contrib extension: a database owner may create it). One index, not one per query:
  GiST inserts are what a bulk import pays most for.
- ``tlh_audit``: the hash-chained audit entries (``tlh.store.auditentry``), numbered by
  ``seq`` without gaps; ``tlh_audit_head`` (one row) the chain's end, the number of the
  last commit and, under a data key, the head's MAC (``tlh.store.audithead``).
"""

from __future__ import annotations

from typing import Final

import psycopg

from tlh.errors import StoreError
from tlh.store.auditentry import ZERO_HASH

#: The schema this version of tlh reads and writes.
CURRENT_VERSION: Final = 2

#: Held (transaction-level) while migrating.
MIGRATION_LOCK: Final = "tlh:schema"

_META = "CREATE TABLE IF NOT EXISTS tlh_meta (key text PRIMARY KEY, value text NOT NULL)"

#: The statements that take a database from version ``n - 1`` to ``n``.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        """CREATE TABLE tlh_records (
            kind text NOT NULL,
            id text NOT NULL,
            doc bytea NOT NULL,
            PRIMARY KEY (kind, id)
        )""",
        """CREATE TABLE tlh_index (
            kind text NOT NULL,
            field text NOT NULL,
            value text NOT NULL,
            id text NOT NULL,
            PRIMARY KEY (kind, field, value, id)
        )""",
        "CREATE INDEX tlh_index_record ON tlh_index (kind, id)",
        """CREATE TABLE tlh_calendar (
            id text NOT NULL,
            clinician_id text NOT NULL,
            span tstzrange NOT NULL,
            holds_time boolean NOT NULL,
            start_s bigint NOT NULL,
            end_s bigint NOT NULL,
            PRIMARY KEY (id, clinician_id)
        )""",
        "CREATE INDEX tlh_calendar_span ON tlh_calendar USING gist (span, clinician_id)",
        """CREATE TABLE tlh_audit (
            seq bigint PRIMARY KEY,
            at text NOT NULL,
            actor_kind text NOT NULL,
            actor_id text NOT NULL,
            actor_role text,
            source text NOT NULL,
            action text NOT NULL,
            target text NOT NULL,
            prev text NOT NULL,
            hash text NOT NULL,
            commit_seq bigint
        )""",
        "CREATE INDEX tlh_audit_at ON tlh_audit (at)",
        """CREATE TABLE tlh_audit_head (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            seq bigint NOT NULL,
            hash text NOT NULL,
            commits bigint NOT NULL,
            key_id text,
            mac text
        )""",
        f"INSERT INTO tlh_audit_head (seq, hash, commits) VALUES (0, '{ZERO_HASH}', 0)",
    ),
    # When a record of a table that grows with history stops mattering (its end: an
    # appointment's, a link's expiry, ``tlh.store.partitions``), on its index rows, so a
    # find for what is current reads no older record. Rows from before say nothing.
    2: ("ALTER TABLE tlh_index ADD COLUMN IF NOT EXISTS ends bigint",),
}


async def migrate(conn: psycopg.AsyncConnection[object]) -> int:
    """Bring the database to ``CURRENT_VERSION``; the version it had. ``StoreError`` for
    a database a newer tlh has migrated."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (MIGRATION_LOCK,)
        )
        await conn.execute(_META)
        cur = await conn.execute("SELECT value FROM tlh_meta WHERE key = 'schema_version'")
        row = await cur.fetchone()
        version = int(str(row[0])) if row else 0  # type: ignore[index]
        if version > CURRENT_VERSION:
            raise StoreError(
                f"the database has schema version {version}, newer than this tlh "
                f"understands ({CURRENT_VERSION}); upgrade tlh"
            )
        for target in range(version + 1, CURRENT_VERSION + 1):
            for statement in MIGRATIONS[target]:
                await conn.execute(statement.encode())
        if version < CURRENT_VERSION:
            await conn.execute(
                "INSERT INTO tlh_meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(CURRENT_VERSION),),
            )
    return version
