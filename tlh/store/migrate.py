"""``tlh store migrate``: copy an embedded practice (a data dir) into an empty PostgreSQL
database, then check the copy.

The data dir is opened as a server would open it (its lock: a running server refuses
the copy; its key: a wrong one refuses it before anything is written). Then, each step
idempotent (``tlh.store.pg.importing``), so a copy killed half-way finishes when run
again: the keyring (the same key file or passphrase opens the database), every table in
batches (the tables that grow with history a month at a time), the audit log's entries
verbatim and its head, so the chain goes on in the database and verifies. Last, the
counts of every table and of the entries are compared and the database's chain
verified; only then may a server open the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

import msgspec

from tlh.errors import InvalidInput, StoreError
from tlh.store.auditentry import ZERO_HASH, Entry
from tlh.store.audithead import Head
from tlh.store.auditverify import VerifyResult
from tlh.store.base import TABLES
from tlh.store.keys import KeySource, read_keyring
from tlh.store.open import is_database_url
from tlh.store.partitions import PARTITIONED

#: Records per transaction, and audit entries per transaction.
BATCH: Final = 1000
ENTRY_BATCH: Final = 5000

#: ``progress(done, total)``: records and entries copied so far.
Progress = Callable[[int, int], None]
#: Copies one batch of a table's records.
Put = Callable[[str, Sequence[msgspec.Struct]], Awaitable[None]]


class Migrated(msgspec.Struct, kw_only=True):
    """What a copy did and found (``tlh store migrate --json``)."""

    data_dir: str
    database: str
    #: Records per table: (in the data dir, in the database).
    tables: dict[str, tuple[int, int]]
    entries: tuple[int, int]
    #: An earlier, interrupted copy was finished.
    resumed: bool
    verified: bool
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Every count equal and the database's audit chain clean."""
        return self.verified and not self.problems


def _entries(path: Path, batch: int) -> Iterator[list[Entry]]:
    """The audit log's entries, ``batch`` at a time (a torn last line is left out, as the
    store's open leaves it)."""
    decoder = msgspec.json.Decoder(Entry)
    out: list[Entry] = []
    if not path.exists():
        return
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                out.append(decoder.decode(raw))
            except msgspec.DecodeError:
                raise StoreError(
                    f"{path}: a line is not a valid audit entry; run `tlh audit verify`"
                ) from None
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out


def _chunks(items: Sequence[msgspec.Struct], size: int) -> Iterator[Sequence[msgspec.Struct]]:
    for n in range(0, len(items), size):
        yield items[n : n + size]


async def migrate(
    data_dir: Path,
    url: str,
    keys: KeySource,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Migrated:
    """Copy the practice in ``data_dir`` into the database at ``url`` and verify the
    copy (see the module docstring). One-line errors: ``InvalidInput`` for a URL that is
    not PostgreSQL's or a dir without a practice, ``StoreLocked`` for a dir a server
    holds, ``StoreKeyError`` for a wrong key, ``StoreError`` for an unreachable
    database, ``Conflict`` for a database holding another practice."""
    if not is_database_url(url):
        raise InvalidInput("--to must be a postgresql:// URL")
    if not (data_dir / "meta.json").exists():
        raise InvalidInput(f"{data_dir} holds no practice (no meta.json)")
    from tlh.store.pg import importing
    from tlh.store.pg.audit import PgAudit
    from tlh.store.pg.db import Database
    from tlh.store.pg.records import IndexKey, record_id
    from tlh.store.tinystore import TinyStore

    report = progress or (lambda done, total: None)
    source = TinyStore(data_dir, keys=keys)
    await source.open()  # the dir's lock and key: refused here, before any write
    db = Database(url, pool_size=2)
    try:
        await source.audit.barrier()
        codec = source.codec
        assert codec is not None
        first = next(_entries(source.audit.path, 1), [])
        practice = first[0].hash if first else ZERO_HASH
        ring = read_keyring(data_dir)
        await db.open()
        resumed = await importing.begin(db, practice, ring)
        index = IndexKey(codec)
        audit = PgAudit(db, codec)

        want = {t: await source.count(kind) for t, kind in TABLES.items()}
        last = (await source.audit.read(limit=1)) or [{"seq": 0}]
        total_entries = int(last[-1]["seq"])
        total = sum(want.values()) + total_entries
        done = 0
        report(done, total)

        async def put(table: str, recs: Sequence[msgspec.Struct]) -> None:
            nonlocal done
            await importing.put_records(
                db, codec, index, [(table, record_id(table, r), r) for r in recs]
            )
            done += len(recs)
            report(done, total)

        for table, kind in TABLES.items():
            if table in PARTITIONED:  # a month at a time: never the whole history at once
                async for month in source.month_by_month(table):
                    for chunk in _chunks(month, batch):
                        await put(table, chunk)
                continue
            for chunk in _chunks(await source.all(kind), batch):
                await put(table, chunk)

        head, commits = Head(0, ZERO_HASH), 0
        for entries in _entries(source.audit.path, ENTRY_BATCH):
            await importing.put_entries(db, audit, entries)
            head = Head(entries[-1].seq, entries[-1].hash)
            commits = max([commits, *(e.commit or 0 for e in entries)])
            done += len(entries)
            report(done, total)
        await importing.put_head(db, audit, head, commits)

        have = await importing.counts(db)
        result = Migrated(
            data_dir=str(data_dir),
            database=db.where,
            tables={t: (n, have.get(t, 0)) for t, n in want.items()},
            entries=(head.seq, have["audit entries"]),
            resumed=resumed,
            verified=False,
            problems=[],
        )
        checked: VerifyResult = await audit.verify()
        result.verified = checked.ok
        result.problems = [f"audit line {p.line}: {p.reason}" for p in checked.problems]
        result.problems += [
            f"{t}: {a} in the data dir, {b} in the database"
            for t, (a, b) in result.tables.items()
            if a != b
        ]
        if result.entries[0] != result.entries[1]:
            result.problems.append(
                f"audit log: {result.entries[0]} entries in the data dir, "
                f"{result.entries[1]} in the database"
            )
        if result.ok:
            await importing.finish(db, practice)
        return result
    finally:
        await db.close()
        await source.close()
