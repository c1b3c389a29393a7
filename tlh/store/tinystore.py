"""The TinyDB-format store: memory-resident tables, a journal, atomic checkpoints.

Layout of a data dir::

    meta.json                      {"schema_version": N}
    db/<table>.json                small tables, TinyDB's format (record id = doc id)
    db/appointments/<YYYY-MM>.json appointments by UTC month of ``start``
    journal/NNNNNN.wal             commits not yet folded into the files
    tlh.lock                       one server per dir

A commit is one fsynced journal line, then applied to memory. A checkpoint rotates
the journal, snapshots the dirty files (records are immutable, so copying the dicts
is enough), writes them atomically in a worker thread and then drops the folded
journal files. Open replays every journal record over the files; ops are absolute
puts and deletes, so replaying one already folded into a file is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import msgspec

from tlh.domain.models import Appointment
from tlh.errors import InvalidInput, StoreError
from tlh.store import migrations
from tlh.store.atomic import corrupt, read_bytes_checked, write_atomic
from tlh.store.base import INDEXED, TABLES, Delete, Op, Put
from tlh.store.calendar import AppointmentIndex, month_key
from tlh.store.journal import JOURNAL_HINT, Journal
from tlh.store.layout import (
    APPOINTMENTS,
    Change,
    JournalCodec,
    decode_table_file,
    encode_table_file,
    init_data_dir,
    read_meta,
    record_id,
    write_meta,
)
from tlh.store.lock import DataDirLock

log = logging.getLogger(__name__)

__all__ = ["TinyStore", "init_data_dir"]


class TinyStore:
    """The ``Repository`` over one data dir. ``await open()`` before use, ``close()`` after."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        checkpoint_ops: int = 2000,
        checkpoint_bytes: int = 16 << 20,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.checkpoint_ops = checkpoint_ops
        self.checkpoint_bytes = checkpoint_bytes
        self._tables: dict[str, dict[str, msgspec.Struct]] = {t: {} for t in TABLES}
        self._index: dict[str, dict[str, dict[Any, set[str]]]] = {
            t: {f: {} for f in fields} for t, fields in INDEXED.items()
        }
        self._parts: dict[str, dict[str, Appointment]] = {}
        self._calendar = AppointmentIndex()
        self._dirty: set[str] = set()
        self._codec = JournalCodec()
        self._journal = Journal(self.data_dir / "journal")
        self._dir_lock = DataDirLock(self.data_dir)
        self._lock = asyncio.Lock()
        self._checkpoint_lock = asyncio.Lock()
        #: Per-record locks of ``update`` (with how many hold or wait for each).
        self._record_locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        self._commits: set[asyncio.Task[None]] = set()
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._seq = 0
        self._ops_since_checkpoint = 0
        self._is_open = False

    # -- reads (synchronous, from memory) ---------------------------------------------

    def _table(self, table: str) -> dict[str, msgspec.Struct]:
        try:
            return self._tables[table]
        except KeyError:
            raise InvalidInput(f"unknown table {table!r}") from None

    def get(self, table: str, id: str) -> msgspec.Struct | None:
        """The record with ``id``, or ``None``."""
        return self._table(table).get(id)

    def all(self, table: str) -> list[msgspec.Struct]:
        """Every record of a table (a copy: safe to hold across awaits)."""
        return list(self._table(table).values())

    def count(self, table: str) -> int:
        """How many records a table holds."""
        return len(self._table(table))

    def find(self, table: str, field: str, value: object) -> list[msgspec.Struct]:
        """Records whose indexed ``field`` equals ``value``."""
        tab = self._table(table)
        if field not in INDEXED.get(table, ()):
            raise InvalidInput(f"{table}.{field} is not indexed")
        if value is None:  # None is not indexed: scan (rare, small)
            return [r for r in tab.values() if getattr(r, field) is None]
        ids = self._index[table][field].get(value, ())
        return [tab[i] for i in sorted(ids)]

    def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        """Appointments overlapping [start, end), optionally of one clinician, by start."""
        tab = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        return self._calendar.between(tab, start, end, clinician_id)

    # -- open / close -----------------------------------------------------------------

    async def open(self) -> None:
        """Lock the data dir, load the files and replay the journal (in a thread)."""
        await asyncio.to_thread(self.load)

    def load(self) -> None:
        """The synchronous body of ``open()``."""
        self._dir_lock.acquire()
        # Loading creates ~10 objects per record; with the cyclic GC on, its repeated
        # full passes over the growing heap cost about as much as the decoding itself.
        # Start-up runs nothing else, so pause it for the duration.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._load()
        except BaseException:
            self._journal.close()
            self._dir_lock.release()
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        self._is_open = True

    async def close(self) -> None:
        """Finish in-flight commits, fold the journal into the files, unlock."""
        if not self._is_open:
            return
        self._is_open = False
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
        if self._checkpoint_task is not None:
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        try:
            await self._checkpoint()
        finally:
            self._journal.close()
            self._dir_lock.release()

    async def __aenter__(self) -> TinyStore:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _load(self) -> None:
        meta = read_meta(self.data_dir)
        if meta.schema_version > migrations.CURRENT_VERSION:
            raise StoreError(
                f"data dir {self.data_dir} has schema version {meta.schema_version}, newer "
                f"than this tlh understands ({migrations.CURRENT_VERSION}); upgrade tlh"
            )
        self._journal.directory.mkdir(exist_ok=True)
        if meta.schema_version < migrations.CURRENT_VERSION:
            self._migrate(meta.schema_version)
        duplicates = self._load_files()
        for path, offset, payload in self._journal.replay():
            try:
                record = self._codec.record.decode(payload)
                changes = self._codec.changes(record.ops)
            except (msgspec.DecodeError, InvalidInput) as exc:
                raise corrupt(
                    path, f"undecodable journal record at offset {offset}: {exc}", JOURNAL_HINT
                ) from None
            if record.seq <= self._seq:
                raise corrupt(
                    path, f"journal seq {record.seq} out of order at offset {offset}", JOURNAL_HINT
                )
            self._seq = record.seq
            self._apply(changes, index=False)
            self._ops_since_checkpoint += len(changes)
        self._settle_duplicates(duplicates)
        self._rebuild_indexes()
        self._journal.open_for_append()

    def _migrate(self, version: int) -> None:
        if any(True for _ in self._journal.replay()):
            raise StoreError(
                f"data dir {self.data_dir} (schema {version}) was not closed cleanly; "
                "start the older tlh once to fold its journal, then upgrade"
            )
        for target in range(version + 1, migrations.CURRENT_VERSION + 1):
            step = migrations.MIGRATIONS.get(target)
            if step is None:
                raise StoreError(f"no migration to schema version {target}")
            step(self.data_dir)
            write_meta(self.data_dir, target)

    def _read_table_file(self, path: Path, table: str) -> dict[str, msgspec.Struct]:
        try:
            return decode_table_file(read_bytes_checked(path), table)
        except msgspec.DecodeError as exc:
            raise corrupt(path, str(exc)) from None

    def _load_files(self) -> set[str]:
        db = self.data_dir / "db"
        for table in TABLES:
            path = db / f"{table}.json"
            if table != APPOINTMENTS and path.exists():
                self._tables[table] = self._read_table_file(path, table)
        apts = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        duplicates: set[str] = set()
        for path in sorted((db / APPOINTMENTS).glob("*.json")):
            part = cast(dict[str, Appointment], self._read_table_file(path, APPOINTMENTS))
            self._parts[path.stem] = part
            for rid, apt in part.items():
                old = apts.get(rid)
                if old is not None:
                    # Only an interrupted checkpoint leaves an id in two months; the
                    # journal (still there) settles it, else the newer copy wins.
                    duplicates.add(rid)
                    if old.updated_at >= apt.updated_at:
                        continue
                apts[rid] = apt
        return duplicates

    def _settle_duplicates(self, duplicates: set[str]) -> None:
        apts = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        for rid in duplicates:
            current = apts.get(rid)
            home = month_key(current.start) if current is not None else None
            for month, part in self._parts.items():
                if rid in part and month != home:
                    del part[rid]
                    self._dirty.add(f"{APPOINTMENTS}/{month}")

    def _rebuild_indexes(self) -> None:
        self._calendar.clear()
        for table, fields in self._index.items():
            for field in fields:
                fields[field] = {}
            for rid, rec in self._tables[table].items():
                self._index_record(table, rid, rec)

    # -- writes -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._is_open:
            raise StoreError(f"the store at {self.data_dir} is not open")

    async def commit(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` durably and atomically; reads see them once this returns."""
        self._check_open()
        if not ops:
            return
        body = self._encode_ops(ops)
        # Decode what replay will decode: a record that cannot come back is refused now,
        # not at the next start-up, and memory holds exactly what a restart would.
        try:
            changes = self._codec.changes(self._codec.ops.decode(body))
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"a record does not match its table: {exc}") from None
        # Shielded: once the journal write has started, it and the in-memory apply
        # finish even if the caller is cancelled, so memory never lags the disk.
        task = asyncio.ensure_future(self._commit_locked(body, changes))
        self._commits.add(task)
        task.add_done_callback(self._commit_done)
        await asyncio.shield(task)
        self._maybe_checkpoint()

    async def update(
        self, table: str, id: str, change: Callable[[msgspec.Struct | None], msgspec.Struct | None]
    ) -> msgspec.Struct | None:
        """Read-modify-write one record with no other ``update`` of it in between (see
        ``Repository.update``)."""
        key = (table, id)
        lock, users = self._record_locks.get(key, (asyncio.Lock(), 0))
        self._record_locks[key] = (lock, users + 1)
        try:
            async with lock:
                current = self.get(table, id)
                new = change(current)
                if new is None or new is current:
                    return current
                commit = asyncio.ensure_future(self.commit([Put(table, new)]))
                try:
                    await asyncio.shield(commit)
                except asyncio.CancelledError:
                    # The write lands anyway (commits are shielded): hold the record
                    # until it has, or the next update would read the old one and undo it.
                    while not commit.done():
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.shield(commit)
                    raise
                return new
        finally:
            lock, users = self._record_locks[key]
            if users <= 1:
                del self._record_locks[key]
            else:
                self._record_locks[key] = (lock, users - 1)

    def _commit_done(self, task: asyncio.Task[None]) -> None:
        self._commits.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case the caller was cancelled

    async def _commit_locked(self, body: bytes, changes: list[Change]) -> None:
        async with self._lock:
            seq = self._seq + 1
            payload = b'{"seq":%d,"ops":%b}' % (seq, body)
            await asyncio.to_thread(self._journal.append, payload)
            self._seq = seq
            self._apply(changes)
            self._ops_since_checkpoint += len(changes)

    def _encode_ops(self, ops: Sequence[Op]) -> bytes:
        out: list[dict[str, Any]] = []
        for n, op in enumerate(ops):
            if isinstance(op, Put):
                cls = TABLES.get(op.table)
                if cls is None:
                    raise InvalidInput(f"op {n}: unknown table {op.table!r}")
                if type(op.record) is not cls:
                    raise InvalidInput(
                        f"op {n}: table {op.table} holds {cls.__name__}, "
                        f"not {type(op.record).__name__}"
                    )
                record_id(op.table, op.record)
                if isinstance(op.record, Appointment) and op.record.start.utcoffset() is None:
                    raise InvalidInput(f"op {n}: appointment {op.record.id} has a naive start")
                out.append({"t": op.table, "put": op.record})
            elif isinstance(op, Delete):
                if op.table not in TABLES:
                    raise InvalidInput(f"op {n}: unknown table {op.table!r}")
                out.append({"t": op.table, "del": op.id})
            else:
                raise InvalidInput(f"op {n}: not a Put or Delete")
        try:
            return msgspec.json.encode(out)
        except (TypeError, msgspec.EncodeError) as exc:
            raise InvalidInput(f"a record cannot be encoded: {exc}") from None

    def _apply(self, changes: Iterable[Change], *, index: bool = True) -> None:
        for table, rid, rec in changes:
            tab = self._tables[table]
            old = tab.pop(rid, None)
            if old is not None and index:
                self._unindex_record(table, rid, old)
            if table == APPOINTMENTS:
                if isinstance(old, Appointment):
                    month = month_key(old.start)
                    self._parts.get(month, {}).pop(rid, None)
                    self._dirty.add(f"{APPOINTMENTS}/{month}")
                if isinstance(rec, Appointment):
                    month = month_key(rec.start)
                    self._parts.setdefault(month, {})[rid] = rec
                    self._dirty.add(f"{APPOINTMENTS}/{month}")
            else:
                self._dirty.add(table)
            if rec is not None:
                tab[rid] = rec
                if index:
                    self._index_record(table, rid, rec)

    def _index_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        for field, values in self._index.get(table, {}).items():
            value = getattr(rec, field)
            if value is not None:
                ids = values.get(value)
                if ids is None:
                    values[value] = {rid}
                else:
                    ids.add(rid)
        if table == APPOINTMENTS and isinstance(rec, Appointment):
            self._calendar.add(rec)

    def _unindex_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        for field, values in self._index.get(table, {}).items():
            value = getattr(rec, field)
            ids = values.get(value)
            if ids is not None:
                ids.discard(rid)
                if not ids:
                    del values[value]
        if table == APPOINTMENTS and isinstance(rec, Appointment):
            self._calendar.remove(rec)

    # -- checkpoints ------------------------------------------------------------------

    def _maybe_checkpoint(self) -> None:
        due = (
            self._ops_since_checkpoint >= self.checkpoint_ops
            or self._journal.bytes_written >= self.checkpoint_bytes
        )
        if (
            due
            and self._is_open
            and (self._checkpoint_task is None or self._checkpoint_task.done())
        ):
            self._checkpoint_task = asyncio.create_task(self._background_checkpoint())

    async def _background_checkpoint(self) -> None:
        try:
            await self._checkpoint()
        except Exception as exc:
            # Nothing is lost: the journal stays until a checkpoint succeeds.
            log.error("checkpoint of %s failed, will retry: %s", self.data_dir, exc)

    async def checkpoint(self) -> None:
        """Fold the journal into the table files now."""
        self._check_open()
        await self._checkpoint()

    async def _checkpoint(self) -> None:
        async with self._checkpoint_lock:
            async with self._lock:
                if not self._dirty and not self._ops_since_checkpoint:
                    return
                folded = await asyncio.to_thread(self._journal.rotate)
                snapshot = {key: self._snapshot(key) for key in self._dirty}
                self._dirty = set()
                self._ops_since_checkpoint = 0
            try:
                await asyncio.to_thread(self._write_snapshot, snapshot, folded)
            except BaseException:
                self._dirty |= snapshot.keys()
                raise

    def _snapshot(self, key: str) -> tuple[str, dict[str, msgspec.Struct]]:
        if key.startswith(f"{APPOINTMENTS}/"):
            part = self._parts.get(key.partition("/")[2], {})
            return APPOINTMENTS, cast(dict[str, msgspec.Struct], part.copy())
        return key, self._tables[key].copy()

    def export_files(self) -> dict[str, tuple[str, dict[str, msgspec.Struct]]]:
        """Every table file's content (``db/...`` path -> table, records), for backups."""
        keys = [t for t in TABLES if t != APPOINTMENTS]
        keys += [f"{APPOINTMENTS}/{m}" for m, part in self._parts.items() if part]
        return {f"db/{key}.json": self._snapshot(key) for key in keys}

    def _write_snapshot(
        self, snapshot: dict[str, tuple[str, dict[str, msgspec.Struct]]], folded: list[Path]
    ) -> None:
        db = self.data_dir / "db"
        (db / APPOINTMENTS).mkdir(parents=True, exist_ok=True)
        for key, (table, docs) in snapshot.items():
            write_atomic(db / f"{key}.json", encode_table_file(table, docs))
        self._journal.drop(folded)
