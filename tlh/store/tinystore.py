"""The TinyDB-format store: memory-resident tables, a journal, atomic checkpoints.

Layout of a data dir::

    meta.json                      {"schema_version": N}
    db/manifest.json               the files the dir must hold, the last folded commit,
                                   each appointment month's count and latest end
    db/<table>.json                small tables, TinyDB's format (record id = doc id)
    db/appointments/<YYYY-MM>.json appointments by UTC month of ``start``
    db/appointments/<YYYY-MM>.idx  that month's key index (``tlh.store.monthindex``)
    db/appointments.bloom          a filter of every appointment id stored
    db/<table>/<YYYY-MM>.json ...  the same for the other tables that grow with history
                                   (messages, links, ...: ``tlh.store.partitions``)
    journal/NNNNNN.wal             commits not yet folded into the files
    audit/audit.jsonl              the audit log (``tlh.store.auditlog``), owned by the store
    keys.json                      the wrapped data keys of an encrypted dir (``tlh.store.keys``)
    tlh.lock                       one server per dir

In an encrypted dir (the default of ``tlh init``) the manifest, every table file and
every journal record are sealed (``tlh.store.seal``); ``meta.json`` holds the schema
version only and stays clear.

A commit is one fsynced journal line holding both the ops and their audit notes, then
applied to memory; its audit entries (numbered with the commit) are queued at once and
are durable before the commit returns. A checkpoint rotates the journal, snapshots the
dirty files (records are immutable, so copying the dicts is enough), writes them
atomically in a worker thread, and drops the folded journal files only once every
audit entry of their commits is on disk. Open replays every journal record over the
files (ops are absolute puts and deletes, so replaying one already folded is
harmless), then adds to the audit log whatever entries of those commits a crash kept
out of it: a change and its audit entries are stored together or not at all.

Months before ``hot_months`` back of the tables split by month (appointments, messages,
links, confirm/cancel links, session segments) are not loaded: they stay in their files
(``tlh.store.coldmonths``), found through their key indexes and the manifest's month
entries and read in a thread when a query reaches them, so memory and start-up do not
grow with the practice's history. A commit that writes to such a month loads it first;
from then on it is an ordinary month in memory (until the next start). Other tables
(staff, clients, settings, live records) are loaded whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import msgspec

from tlh.domain.conflicts import holds_time
from tlh.domain.models import Appointment, Policy
from tlh.errors import InvalidInput, StoreError, os_error_reason
from tlh.files import write_atomic
from tlh.store import auditverify, heap, idset, migrations
from tlh.store.atomic import checked, corrupt
from tlh.store.auditlog import AuditLog
from tlh.store.auditverify import StoredChanges, VerifyResult
from tlh.store.base import (
    INDEXED,
    POLICY_ID,
    TABLE_OF,
    TABLES,
    AuditNote,
    Delete,
    Op,
    Put,
    S,
    check_audited,
    record_key,
)
from tlh.store.bodies import pack, unpack, unpack_all
from tlh.store.busy import epoch
from tlh.store.calendar import AppointmentIndex, overlaps
from tlh.store.capabilities import TableFile
from tlh.store.coldmonths import ColdMonths, write_index
from tlh.store.given import keep_given
from tlh.store.hotmonths import MonthsOnDisk, index_keys
from tlh.store.journal import JOURNAL_HINT, Journal
from tlh.store.keys import KeySource, codec_for
from tlh.store.layout import (
    APPOINTMENTS,
    Change,
    JournalCodec,
    Manifest,
    check_files,
    init_data_dir,
    read_manifest,
    read_meta,
    read_table_file,
    record_id,
    write_manifest,
    write_meta,
    write_table_file,
)
from tlh.store.lock import DataDirLock
from tlh.store.monthindex import IdFilter, MonthInfo, build_index, month_info
from tlh.store.partitions import DEFAULT_HOT_MONTHS, PARTITIONED, filter_key
from tlh.store.seal import PLAIN, Codec, label_of
from tlh.store.sharing import Pool

log = logging.getLogger(__name__)

__all__ = ["TinyStore", "init_data_dir"]


class TinyStore(MonthsOnDisk):
    """The ``Repository`` over one data dir. ``await open()`` before use, ``close()`` after."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        checkpoint_ops: int = 2000,
        checkpoint_bytes: int = 16 << 20,
        audit_clock: Callable[[], datetime] | None = None,
        keys: KeySource | None = None,
        codec: Codec | None = None,
        hot_months: int = DEFAULT_HOT_MONTHS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        #: Appointment months from this many months before the current one (and every
        #: later month) are kept in memory with their indexes; older ones stay on disk
        #: (``tlh.store.coldmonths``) and are read when a query reaches them.
        self.hot_months = hot_months
        self._clock = clock or (lambda: datetime.now(UTC))
        #: Where an encrypted dir's key comes from (unused by a ``--no-encrypt`` dir).
        self._key_source = keys
        #: The dir's codec: given, or found by ``open()`` from ``keys`` before anything
        #: is written (a wrong key leaves the dir untouched).
        self.codec = codec
        #: The audit log of this data dir: commits write their entries to it, and the
        #: services append reads to it (``Context.audit``).
        self.audit = (
            AuditLog(self.data_dir) if audit_clock is None else AuditLog(self.data_dir, audit_clock)
        )
        self.checkpoint_ops = checkpoint_ops
        self.checkpoint_bytes = checkpoint_bytes
        self._tables: dict[str, dict[str, msgspec.Struct]] = {t: {} for t in TABLES}
        self._index: dict[str, dict[str, dict[Any, idset.Ids]]] = {
            t: {f: {} for f in fields} for t, fields in INDEXED.items()
        }
        #: The months in memory of each table split by month (the hot ones, and cold ones
        #: a commit took in).
        self._parts: dict[str, dict[str, dict[str, msgspec.Struct]]] = {t: {} for t in PARTITIONED}
        self._cold = {
            t: ColdMonths(self.data_dir / "db", PLAIN, p, {}) for t, p in PARTITIONED.items()
        }
        #: Every id ever stored in each split table (a Bloom filter; ``tlh.store.monthindex``).
        self._ids = {t: IdFilter(size=p.filter_size) for t, p in PARTITIONED.items()}
        #: Months in memory whose key index and manifest entry the next checkpoint writes.
        self._unindexed: set[tuple[str, str]] = set()
        #: Ids found in two months at load, by table (an interrupted checkpoint; the
        #: journal settles).
        self._duplicates: dict[str, set[str]] = {}
        self._calendar = AppointmentIndex()
        #: Reads of months on disk and commits in flight: no month goes back to disk
        #: meanwhile (``_age_out``).
        self._busy = 0
        self._dirty: set[str] = set()
        self._codec = JournalCodec()
        self._journal = Journal(self.data_dir / "journal")
        self._dir_lock = DataDirLock(self.data_dir)
        self._lock = asyncio.Lock()
        self._checkpoint_lock = asyncio.Lock()
        #: Per-record locks of ``update`` and the keys of ``locked`` (with how many hold
        #: or wait for each).
        self._record_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._manifest = Manifest()
        #: Commits replayed from the journal with their audit notes, until open() has
        #: made sure the audit log holds their entries.
        self._unconfirmed: list[tuple[int, str, tuple[AuditNote, ...]]] = []
        #: How many audit entries the last ``open()`` had to add from the journal (the
        #: commits a crash caught between their journal write and their audit write).
        self.recovered_entries = 0
        self._commits: set[asyncio.Task[None]] = set()
        self._checkpoint_task: asyncio.Task[None] | None = None
        #: Months start-up left in their files to take in once the server listens
        #: (``warm_up``), with the values its records share (kept until then), and the
        #: task taking them in.
        self._to_warm: list[tuple[str, str]] = []
        self._pool: Pool | None = None
        self._warming: asyncio.Task[None] | None = None
        self._seq = 0
        self._ops_since_checkpoint = 0
        self._is_open = False

    # -- reads (from memory: async only to match the Repository protocol) ------------

    def _table(self, kind: type[msgspec.Struct]) -> dict[str, msgspec.Struct]:
        try:
            return self._tables[TABLE_OF[kind]]
        except KeyError:
            raise InvalidInput(f"no table holds {kind.__name__} records") from None

    @property
    def is_open(self) -> bool:
        """Whether the store is open for reads and commits (``/readyz``)."""
        return self._is_open

    def policy(self) -> Policy | None:
        """The practice's policy record, or ``None`` before ``tlh init``."""
        return cast("Policy | None", self._tables["policy"].get(POLICY_ID))

    async def get(self, kind: type[S], id: str) -> S | None:
        """The record of type ``kind`` with ``id``, or ``None`` (a record of a month on
        disk is read from it, in a thread)."""
        rec = self._table(kind).get(id)
        table = TABLE_OF[kind]
        if rec is None and self._may_be_cold(table, id):
            found = await self._cold_read(self._cold[table].locate, id)
            # A commit may have taken its month into memory meanwhile: memory first.
            rec = self._table(kind).get(id)
            if rec is None and found is not None:
                return cast("S | None", next(iter(self._still_cold(table, [found[1]])), None))
        return cast("S | None", rec if rec is None else unpack(rec))

    def reading_once(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to do: every read is from memory already."""
        return contextlib.nullcontext()

    async def all(self, kind: type[S]) -> list[S]:
        """Every record of a table (a copy: safe to hold across awaits). A table split by
        month includes every month on disk: use the indexed and range queries instead."""
        table = TABLE_OF.get(kind, "")
        cold: list[msgspec.Struct] = []
        if self._has_cold(table):
            cold = await self._cold_read(lambda: list(self._cold[table].scan()))
        # Memory read after the files (no await between it and the filter): a month a
        # commit took in meanwhile is counted once, as it is now.
        still = self._still_cold(table, cold) if cold else []
        return cast("list[S]", [*unpack_all(table, self._table(kind).values()), *still])

    async def count(self, kind: type[S], field: str | None = None, value: object = None) -> int:
        """How many records a table holds (with ``field``: whose indexed ``field`` is
        ``value``; a tallied field of months on disk is counted without reading them)."""
        table = self._indexed(kind, field) if field is not None else TABLE_OF.get(kind, "")
        if field is None:
            extra = self._cold[table].count() if table in self._cold else 0
            return len(self._table(kind)) + extra
        if value is None:
            raise InvalidInput("count counts a value, not None")
        tallied = 0
        if self._has_cold(table):
            cold = self._cold[table]
            known = cold.tally(field, value)
            if known is None:
                found = await self._cold_read(cold.find, field, value, None)
                known = len(self._not_taken_in(table, found))
            tallied = known
        # Memory after the files (no await in between): a month taken in meanwhile is
        # counted here, once.
        return len(idset.members(self._index[table][field].get(value))) + tallied

    async def find(
        self, kind: type[S], field: str, value: object, *, ending_after: datetime | None = None
    ) -> list[S]:
        """Records whose indexed ``field`` equals ``value`` (``ending_after``: cold months
        that end before it are not read)."""
        table = self._indexed(kind, field)
        cold = None
        if self._has_cold(table) and self._may_be_on_disk(table, field, value):
            after = None if ending_after is None else int(ending_after.timestamp())
            cold = await self._cold_read(self._cold[table].find, field, value, after)
        if value is None:  # None is not indexed: scan (rare, small)
            found = unpack_all(
                table, (r for r in self._tables[table].values() if getattr(r, field) is None)
            )
        else:
            found = self._found(table, field, value, None)
        if cold:
            found = sorted([*found, *self._still_cold(table, cold)], key=_record_id)
        return cast("list[S]", found)

    async def find_many(
        self,
        kind: type[S],
        field: str,
        values: Sequence[object],
        *,
        ending_after: datetime | None = None,
    ) -> dict[object, list[S]]:
        """``find`` of each value (see ``Repository.find_many``): the months on disk read
        in one thread hop, memory in one pass (an import looks up 10,000 external ids)."""
        if any(v is None for v in values):
            raise InvalidInput("find_many looks up values, not None")
        table = self._indexed(kind, field)
        cold: dict[object, list[msgspec.Struct]] = {}
        wanted = [v for v in values if self._may_be_on_disk(table, field, v)]
        if self._has_cold(table) and wanted:
            months = self._cold[table]
            after = None if ending_after is None else int(ending_after.timestamp())
            cold = await self._cold_read(
                lambda: {v: found for v in wanted if (found := months.find(field, v, after))}
            )
        return cast(
            "dict[object, list[S]]",
            {v: self._found(table, field, v, cold.get(v)) for v in values},
        )

    def _may_be_on_disk(self, table: str, field: str, value: object) -> bool:
        """Whether a record with ``field == value`` may be in a month on disk: ``False``
        when the field is one the table's id filter holds and it never held the value."""
        split = PARTITIONED.get(table)
        if split is None:
            return False
        if value is None or field not in split.filtered:
            return True
        return self._ids[table].may_hold(filter_key(field, value))

    def _indexed(self, kind: type[msgspec.Struct], field: str) -> str:
        """The table of ``kind``, if ``field`` is one of its indexed fields."""
        table = TABLE_OF.get(kind)
        if table is None:
            raise InvalidInput(f"no table holds {kind.__name__} records")
        if field not in INDEXED.get(table, ()):
            raise InvalidInput(f"{table}.{field} is not indexed")
        return table

    def _found(
        self, table: str, field: str, value: object, cold: list[msgspec.Struct] | None
    ) -> list[msgspec.Struct]:
        """The records in memory whose ``field`` is ``value``, and those of ``cold`` (read
        from disk) whose month is still on disk, by id."""
        ids = self._index[table][field].get(value)
        if ids is None and not cold:
            return []  # most values an import looks up are new
        tab = self._tables[table]
        found = unpack_all(table, (tab[i] for i in sorted(idset.members(ids))))
        if cold:
            found = sorted([*found, *self._still_cold(table, cold)], key=_record_id)
        return found

    async def get_many(self, kind: type[S], ids: Sequence[str]) -> dict[str, S]:
        """The records among ``ids`` that exist, by id (those of months on disk read in
        one thread hop)."""
        tab = self._table(kind)
        found = {i: cast("S", unpack(tab[i])) for i in ids if i in tab}
        table = TABLE_OF[kind]
        missing = [i for i in ids if i not in found and self._may_be_cold(table, i)]
        if missing:
            cold = self._cold[table]
            located = await self._cold_read(lambda: [cold.locate(i) for i in missing])
            for rec in self._still_cold(table, [hit[1] for hit in located if hit is not None]):
                found[_record_id(rec)] = cast("S", rec)
            found.update((i, cast("S", unpack(tab[i]))) for i in missing if i in tab)
        return found

    async def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        """Appointments overlapping [start, end), optionally of one clinician, by start."""
        tab = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        if start.utcoffset() is None or end.utcoffset() is None or end <= start:
            return self._calendar.between(tab, start, end, clinician_id)  # refuses naive
        has_cold = self._has_cold(APPOINTMENTS)
        reached = await self._cold_reaching(start, end) if has_cold else []
        found = self._calendar.between(tab, start, end, clinician_id)
        cold = [
            apt
            for apt in cast(list[Appointment], self._still_cold(APPOINTMENTS, reached))
            if overlaps(apt, start, end)
            and (clinician_id is None or clinician_id in apt.clinician_ids)
        ]
        if not cold:
            return found
        return sorted([*found, *cold], key=lambda apt: (apt.start, apt.id))

    async def busy_between(
        self, start: datetime, end: datetime, clinician_id: str
    ) -> list[tuple[int, int]]:
        """Epoch-second spans of the clinician's entries holding time overlapping
        [start, end), by start (``tlh.store.busy``)."""
        lo, hi = epoch(start), epoch(end)
        if hi <= lo or not self._has_cold(APPOINTMENTS):
            return self._calendar.busy.between(start, end, clinician_id)
        reached = await self._cold_reaching(start, end)
        found = self._calendar.busy.between(start, end, clinician_id)
        cold = []
        for apt in cast(list[Appointment], self._still_cold(APPOINTMENTS, reached)):
            if clinician_id in apt.clinician_ids and holds_time(apt):
                s = epoch(apt.start)
                span = (s, s + apt.duration_min * 60)
                if span[0] < hi and (span[1] > lo or span[0] == span[1] >= lo):
                    cold.append(span)
        return sorted([*found, *cold]) if cold else found

    async def clinicians_seen(self, client_id: str, since: datetime) -> set[str]:
        """Staff on the client's appointments from ``since`` on (``Repository``): those
        in memory read, those of months on disk from their key indexes' pairings, among
        the practice's staff (``ColdMonths.paired``)."""
        cold: dict[str, set[str]] | None = {}
        if self._has_cold(APPOINTMENTS):
            staff, since_s = list(self._tables["staff"]), epoch(since)
            months = self._cold[APPOINTMENTS]
            # Once the year's key indexes are read, no file is: answered here, with no
            # thread hop (a clinician's list of clients asks once per client).
            cold = months.paired(client_id, staff, since_s, reading=False)
            if cold is None:
                cold = await self._cold_read(months.paired, client_id, staff, since_s)
        # Memory after the files (no await in between): a month a commit took in
        # meanwhile is answered from memory.
        tab = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        found = {
            staff_id
            for rid in idset.members(self._index[APPOINTMENTS]["client_ids"].get(client_id))
            if (apt := tab[rid]).start >= since
            for staff_id in apt.clinician_ids
        }
        parts = self._parts[APPOINTMENTS]
        for month, seen in (cold or {}).items():
            if month not in parts:
                found |= seen
        return found

    async def verify_audit(self) -> VerifyResult:
        """Check the audit log's chain, its head and that every stored change has its
        entries (``tlh.store.auditverify``); file reads in a thread."""
        stored = await self.stored_changes()
        return await asyncio.to_thread(auditverify.verify, self.data_dir, stored, self.audit.codec)

    # -- open / close -----------------------------------------------------------------

    async def open(self) -> None:
        """Lock the data dir, load the files and replay the journal (in a thread), then
        open the audit log and give it the entries of any commit a crash kept out."""
        await asyncio.to_thread(self.load)
        try:
            await self.audit.start()
            await self._recover_audit()
        except BaseException as exc:
            self._is_open = False
            await self.audit.close()
            self._journal.close()
            self._dir_lock.release()
            if isinstance(exc, OSError):
                raise _cannot_open(self.data_dir, exc) from None
            raise

    @property
    def seq(self) -> int:
        """The number of the last commit (commits are numbered 1, 2, … for the dir's life)."""
        return self._seq

    @property
    def audit_complete(self) -> bool:
        """Whether every record was written with numbered audit entries (see ``Manifest``)."""
        return self._manifest.audit_complete

    async def _recover_audit(self) -> None:
        """Append the audit entries of replayed commits that the log does not hold yet.

        A commit's entries are queued together and in commit order, so a crash can only
        have kept out a suffix of the last commits' entries; what is there is counted and
        the rest appended, with the time the commit was made.
        """
        since = self._unconfirmed[0][0] if self._unconfirmed else self._seq + 1
        counts = await asyncio.to_thread(self.audit.commit_counts, min(since, self._seq + 1))
        waits: list[Awaitable[None]] = []
        for seq, at, notes in self._unconfirmed:
            have = counts.get(seq, 0)
            missing = _suffix(notes, have)
            if missing:
                log.warning("audit log: recovering %d entries of commit %d", _count(missing), seq)
                self.recovered_entries += _count(missing)
                waits.append(self.audit.enqueue_commit(seq, at, missing))
        self._unconfirmed = []
        # A dir restored from a backup may have an audit log that saw later commits:
        # number new ones after them, so no two commits share a number.
        self._seq = max([self._seq, *counts])
        await asyncio.gather(*waits)

    def load(self) -> None:
        """The synchronous body of ``open()``."""
        try:
            if self.codec is None:
                self.codec = codec_for(self.data_dir, self._key_source)
            self._journal.codec = self.audit.codec = self.codec
            check_permissions(self.data_dir)
            self._dir_lock.acquire()
        except OSError as exc:
            raise _cannot_open(self.data_dir, exc) from None
        # Loading creates ~10 objects per record; with the cyclic GC on, its repeated
        # full passes over the growing heap cost about as much as the decoding itself.
        # Start-up runs nothing else, so pause it for the duration.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._load()
        except BaseException as exc:
            self._journal.close()
            self._dir_lock.release()
            if isinstance(exc, OSError):
                raise _cannot_open(self.data_dir, exc) from None
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        # Each month file's text and the values records now share
        # (``tlh.store.sharing``) were freed as loading went on: give those pages back.
        heap.trim()
        self._is_open = True

    async def close(self) -> None:
        """Finish in-flight commits, fold the journal into the files, close the audit log,
        unlock."""
        if not self._is_open:
            return
        self._is_open = False
        self._to_warm, self._pool = [], None
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
        if self._checkpoint_task is not None:
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        try:
            await self._checkpoint()
        finally:
            try:
                await self.audit.close()
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
        self._manifest = read_manifest(self.data_dir, self._sealing)
        check_files(self.data_dir, self._manifest)
        # The values the records loaded share (``tlh.store.sharing``): the pool goes
        # with this call (or once the months left to take in after opening are in),
        # what it shared stays shared.
        pool = Pool()
        self._load_files(pool)
        self._pool = pool if self._to_warm else None
        last = 0
        replayed: list[tuple[Any, list[Change]]] = []
        for path, offset, payload in self._journal.replay():
            try:
                record = self._codec.record.decode(payload)
                changes = self._codec.changes(record.ops)
            except (msgspec.DecodeError, InvalidInput) as exc:
                raise corrupt(
                    path, f"undecodable journal record at offset {offset}: {exc}", JOURNAL_HINT
                ) from None
            if record.seq <= last:
                raise corrupt(
                    path, f"journal seq {record.seq} out of order at offset {offset}", JOURNAL_HINT
                )
            last = record.seq
            replayed.append((record, changes))
        self._take_in_replayed([c for _, changes in replayed for c in changes], pool)
        for record, changes in replayed:
            if record.audit is not None:
                self._unconfirmed.append((record.seq, record.audit.at, record.audit.notes))
            self._apply(changes, index=False)
            self._ops_since_checkpoint += len(changes)
        # Journal files a crash kept after their checkpoint hold commits already folded.
        self._seq = max(last, self._manifest.seq)
        for table, duplicates in self._duplicates.items():
            self._settle_duplicates(table, duplicates)
        self._duplicates = {}
        self._rebuild_indexes()
        self._journal.open_for_append()

    def _migrate(self, version: int) -> None:
        if any(True for _ in self._journal.replay()):
            raise StoreError(
                f"data dir {self.data_dir} (schema {version}) was not closed cleanly; "
                "start the older tlh once to fold its journal, then upgrade"
            )
        missing = [
            v for v in range(version + 1, migrations.CURRENT_VERSION + 1)
            if v not in migrations.MIGRATIONS
        ]  # fmt: skip
        if missing:
            raise StoreError(f"no migration to schema version {missing[0]}")
        saved = migrations.backup_before(self.data_dir, version)  # before any step
        for target in range(version + 1, migrations.CURRENT_VERSION + 1):
            step = migrations.MIGRATIONS.get(target)
            if step is None:
                raise StoreError(f"no migration to schema version {target}")
            step(self.data_dir, self._sealing)
            write_meta(self.data_dir, target)
        log.warning(
            "data dir %s upgraded from schema %d to %d; as it was before: %s"
            " (`tlh restore` takes it back, with the older tlh)",
            self.data_dir,
            version,
            migrations.CURRENT_VERSION,
            saved,
        )

    @property
    def _sealing(self) -> Codec:
        if self.codec is None:
            raise StoreError(f"the store at {self.data_dir} is not open")
        return self.codec

    def _load_files(self, pool: Pool) -> None:
        db = self.data_dir / "db"
        codec = self._sealing
        # The id filters (12 MB of bits, zlib-packed) are unpacked in a thread while the
        # months are decoded here: zlib lets go of the interpreter, 60 ms at 150,000
        # appointments that a start-up no longer waits for on a second core.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tlh-id-filters") as reader:
            filters = {t: reader.submit(self._read_id_filter, db, codec, t) for t in PARTITIONED}
            for table in TABLES:
                path = db / f"{table}.json"
                if table not in PARTITIONED and path.exists():
                    self._tables[table] = read_table_file(path, path.name, table, codec)
            for table in PARTITIONED:
                self._load_months(db, codec, table, pool, filters[table].result())

    def _load_months(
        self, db: Path, codec: Codec, table: str, pool: Pool, ids: IdFilter | None
    ) -> None:
        """Load a split table's months from the cut on (and any month without its key
        index); leave the older ones on disk. ``ids``: the table's id filter as the last
        checkpoint wrote it (``None``: none, or unreadable)."""
        split = PARTITIONED[table]
        # Months before the cut stay on disk when the last checkpoint indexed them; with
        # no id filter (a dir from before, a restore) every month is loaded, as before.
        cut = self.hot_cut(table)
        entries = self._manifest.months_of(table)
        cold = {
            month: info
            for month, info in entries.items()
            if ids is not None
            and (
                self._may_stay_on_disk(table, month, info, cut)
                or self._may_wait_on_disk(table, month, info)
            )
            and (db / split.file(month)).exists()
        }
        self._to_warm += [(table, m) for m in sorted(cold) if m >= cut]
        self._ids[table] = ids or IdFilter(size=split.filter_size)
        self._cold[table] = ColdMonths(db, codec, split, cold)
        for path in sorted((db / split.directory).glob("*.json")):
            month = path.stem
            if month in cold:
                continue
            part = read_table_file(path, split.file(month), table, codec)
            # Only an interrupted checkpoint leaves an id in two months; the journal
            # (still there) settles it, else the newer copy wins.
            self._install(table, month, part, index=False, pool=pool)
            indexed = month in entries and (db / split.index_file(month)).exists()
            if not indexed:
                self._unindexed.add((table, month))
            # The filter written with a month's index holds its ids (those of commits
            # since are the journal's, added back by its replay).
            if ids is None or not indexed:
                self._ids[table].add_many(
                    key for rid, rec in part.items() for key in split.filter_keys(rid, rec)
                )

    def _settle_duplicates(self, table: str, duplicates: set[str]) -> None:
        if not duplicates:
            return
        tab = self._tables[table]
        month_of = PARTITIONED[table].month_of
        for rid in duplicates:
            current = tab.get(rid)
            home = month_of(current) if current is not None else None
            for month, part in self._parts[table].items():
                if rid in part and month != home:
                    del part[rid]
                    self._dirty.add(f"{table}/{month}")

    def _rebuild_indexes(self) -> None:
        for table in self._index:
            self._index[table] = self._built_fields(table, self._tables[table].items())
        self._calendar.build(cast(dict[str, Appointment], self._tables[APPOINTMENTS]).values())

    # -- writes -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._is_open:
            raise StoreError(f"the store at {self.data_dir} is not open")

    async def commit(self, ops: Sequence[Op], *, audit: Sequence[AuditNote]) -> None:
        """Apply ``ops`` and record ``audit`` durably and atomically; reads see the ops
        once this returns (see ``Repository.commit``)."""
        self._check_open()
        if not ops:
            return
        check_audited(ops, audit)
        body = self._encode_ops(ops)
        # Decode what replay will decode: a record that cannot come back is refused now,
        # not at the next start-up, and memory holds exactly what a restart would.
        try:
            changes = self._codec.changes(self._codec.ops.decode(body))
        except msgspec.ValidationError as exc:
            raise InvalidInput(f"a record does not match its table: {exc}") from None
        # A live entry's record is the rooms' own entry: one copy, not two (``given``).
        changes = keep_given(ops, changes)
        # From the months it takes in to its apply, no month goes back to disk.
        holds = any(table in PARTITIONED for table, _, _ in changes)
        self._busy += holds
        try:
            await self._take_in(changes)
            notes = tuple(audit)
            at = self.audit.now()
            audit_body = self._codec.encode_audit(at, notes)
        except BaseException:
            self._busy -= holds
            raise
        # Shielded: once the journal write has started, it, the in-memory apply and the
        # audit entries finish even if the caller is cancelled, so memory never lags the
        # disk and no change is left without its entries.
        task = asyncio.ensure_future(self._commit_task(body, audit_body, changes, at, notes))
        self._commits.add(task)
        task.add_done_callback(functools.partial(self._commit_done, holds))
        await asyncio.shield(task)
        self._maybe_checkpoint()

    async def update(
        self,
        kind: type[S],
        id: str,
        change: Callable[[S | None], S | None],
        *,
        audit: Sequence[AuditNote],
    ) -> S | None:
        """Read-modify-write one record with no other ``update`` of it in between (see
        ``Repository.update``)."""
        async with self._holding([record_key(kind, id)]):
            with self._using_months():
                table = TABLE_OF[kind]
                if table in PARTITIONED and id not in self._tables[table]:
                    await self._take_in([(table, id, None)])
                stored = self._table(kind).get(id)
                current = cast("S | None", stored if stored is None else unpack(stored))
                new = change(current)
                if new is None or new is current:
                    return current
                commit = asyncio.ensure_future(self.commit([Put(new)], audit=audit))
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

    @contextlib.asynccontextmanager
    async def locked(self, *keys: str) -> AsyncIterator[None]:
        """Hold ``keys`` for a check and the commit that depends on it (see
        ``Repository.locked``)."""
        async with self._holding(list(keys)):
            yield

    @contextlib.asynccontextmanager
    async def _holding(self, keys: list[str]) -> AsyncIterator[None]:
        """Take the locks of ``keys`` in one global order (no two holders can deadlock),
        dropping each lock's entry when nobody holds or waits for it any more."""
        wanted = sorted(set(keys))
        for key in wanted:
            lock, users = self._record_locks.get(key, (asyncio.Lock(), 0))
            self._record_locks[key] = (lock, users + 1)
        taken: list[asyncio.Lock] = []
        try:
            for key in wanted:
                lock = self._record_locks[key][0]
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()
            for key in wanted:
                lock, users = self._record_locks[key]
                if users <= 1:
                    del self._record_locks[key]
                else:
                    self._record_locks[key] = (lock, users - 1)

    def _commit_done(self, held_months: bool, task: asyncio.Task[None]) -> None:
        self._commits.discard(task)
        self._busy -= held_months
        if not task.cancelled():
            task.exception()  # retrieved here too, in case the caller was cancelled

    async def _commit_task(
        self,
        body: bytes,
        audit_body: bytes,
        changes: list[Change],
        at: str,
        notes: tuple[AuditNote, ...],
    ) -> None:
        async with self._lock:
            seq = self._seq + 1
            payload = b'{"seq":%d,"ops":%b,"audit":%b}' % (seq, body, audit_body)
            await asyncio.to_thread(self._journal.append, payload)
            self._seq = seq
            self._apply(changes)
            self._ops_since_checkpoint += len(changes)
            # Queued under the lock, so the log holds commits in order (recovery and
            # ``commit_counts`` rely on it); written outside it, in the log's next batch.
            try:
                durable = self.audit.enqueue_commit(seq, at, notes)
            except StoreError as exc:
                _audit_behind(seq, exc)
                return
        try:
            await durable
        except StoreError as exc:
            _audit_behind(seq, exc)

    def _encode_ops(self, ops: Sequence[Op]) -> bytes:
        out: list[dict[str, Any]] = []
        for n, op in enumerate(ops):
            if isinstance(op, Put):
                if type(op.record) not in TABLE_OF:
                    raise InvalidInput(f"op {n}: no table holds {type(op.record).__name__}")
                record_id(op.table, op.record)
                if isinstance(op.record, Appointment) and op.record.start.utcoffset() is None:
                    raise InvalidInput(f"op {n}: appointment {op.record.id} has a naive start")
                out.append({"t": op.table, "put": op.record})
            elif isinstance(op, Delete):
                if op.kind not in TABLE_OF:
                    raise InvalidInput(f"op {n}: no table holds {op.kind.__name__} records")
                out.append({"t": op.table, "del": op.id})
            else:
                raise InvalidInput(f"op {n}: not a Put or Delete")
        try:
            return msgspec.json.encode(out)
        except (TypeError, msgspec.EncodeError) as exc:
            raise InvalidInput(f"a record cannot be encoded: {exc}") from None

    def _apply(self, changes: Iterable[Change], *, index: bool = True) -> None:
        # New versions are indexed together at the end (a 10,000-row import puts hundreds
        # of ids under each busy day: one tuple copy per key, not one per record); a
        # record written twice in one commit flushes them first, so its unindex finds it.
        added: dict[tuple[str, str], msgspec.Struct] = {}
        ids: dict[str, list[str]] = {}
        months: set[str] = set()
        for table, rid, given in changes:
            rec = given if given is None else pack(table, given)
            tab = self._tables[table]
            if (table, rid) in added:
                self._index_many(added)
                added = {}
            old = tab.pop(rid, None)
            if old is not None and index:
                self._unindex_record(table, rid, old)
            split = PARTITIONED.get(table)
            if split is not None:
                parts = self._parts[table]
                if old is not None:
                    month = split.month_of(old)
                    parts.get(month, {}).pop(rid, None)
                    months.add(f"{table}/{month}")
                if rec is not None:
                    month = split.month_of(rec)
                    part = parts.get(month)
                    if part is None:
                        part = parts[month] = {}
                    part[rid] = rec
                    months.add(f"{table}/{month}")
                    ids.setdefault(table, []).extend(split.filter_keys(rid, rec))
            else:
                self._dirty.add(table)
            if rec is not None:
                tab[rid] = rec
                if index:
                    added[table, rid] = rec
        self._dirty |= months
        for table, new in ids.items():
            self._ids[table].add_many(new)
        self._index_many(added)

    def _index_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        self._index_many({(table, rid): rec})

    def _index_many(self, records: dict[tuple[str, str], msgspec.Struct]) -> None:
        """Index new record versions (none of them indexed yet), in bulk."""
        by_table: dict[str, list[tuple[str, msgspec.Struct]]] = {}
        for (table, rid), rec in records.items():
            by_table.setdefault(table, []).append((rid, rec))
        for table, recs in by_table.items():
            for field, values in self._index.get(table, {}).items():
                idset.add_many(
                    values,
                    (
                        (value, rid)
                        for rid, rec in recs
                        for value in index_keys(getattr(rec, field))
                    ),
                )
        self._calendar.add_many(
            rec for _, rec in by_table.get(APPOINTMENTS, ()) if isinstance(rec, Appointment)
        )

    def _unindex_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        for field, values in self._index.get(table, {}).items():
            for value in index_keys(getattr(rec, field)):
                idset.discard(values, value, rid)
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
            # Nothing is lost: the journal stays until a checkpoint succeeds. The reason
            # names files and the OS's error only (no record content).
            if isinstance(exc, OSError):
                reason = os_error_reason(exc)
            else:
                reason = exc.message if isinstance(exc, StoreError) else type(exc).__name__
            log.error("checkpoint of %s failed, will retry: %s", self.data_dir, reason)

    async def checkpoint(self) -> None:
        """Fold the journal into the table files now."""
        self._check_open()
        await self._checkpoint()

    async def _checkpoint(self) -> None:
        async with self._checkpoint_lock:
            async with self._lock:
                changed_ids = [t for t, f in self._ids.items() if f.changed]
                stale = {t: months for t, c in self._cold.items() if (months := c.take_stale())}
                if not (
                    self._dirty
                    or self._ops_since_checkpoint
                    or self._unindexed
                    or changed_ids
                    or stale
                ):
                    return
                folded = await asyncio.to_thread(self._journal.rotate)
                snapshot = {key: self._snapshot(key) for key in self._dirty}
                # Months in memory still without a key index get one (not rewritten).
                reindex = {
                    (table, m): self._parts[table][m].copy()
                    for table, m in self._unindexed
                    if m in self._parts[table] and f"{table}/{m}" not in snapshot
                }
                unindexed, self._unindexed = self._unindexed, set()
                ids = {t: self._ids[t].snapshot() for t in changed_ids}
                self._dirty = set()
                self._ops_since_checkpoint = 0
                files = sorted({*self._manifest.files, *(f"{key}.json" for key in snapshot)})
                manifest = msgspec.structs.replace(self._manifest, seq=self._seq, files=files)
            try:
                # The folded commits' audit entries were queued under the lock: once they
                # are durable, the journal is no longer needed to recover them.
                await self.audit.barrier()
                manifest = await asyncio.to_thread(
                    self._write_snapshot, snapshot, manifest, folded, reindex, ids
                )
                await asyncio.to_thread(self._reindex_stale, stale)
            except BaseException:
                self._dirty |= snapshot.keys()
                self._unindexed |= unindexed
                for table, months in stale.items():
                    self._cold[table].mark_stale(months)
                for table in ids:
                    self._ids[table].changed = True
                raise
            self._manifest = manifest
            await self._age_out()
            await asyncio.to_thread(heap.trim)  # what the encoding took, given back

    def _snapshot(self, key: str) -> tuple[str, dict[str, msgspec.Struct]]:
        table, _, month = key.partition("/")
        if month:
            return table, self._parts[table].get(month, {}).copy()
        return key, self._tables[key].copy()

    def _file_keys(self) -> list[str]:
        """The table files the store's state is written to now (``db/<key>.json``): whole
        tables, and the months of split tables that hold records, in memory or on disk."""
        keys = [t for t in TABLES if t not in PARTITIONED]
        for table, parts in self._parts.items():
            keys += [f"{table}/{m}" for m, part in parts.items() if part]
            keys += [f"{table}/{m}" for m, info in self._cold[table].months.items() if info.count]
        return keys

    def export_files(self) -> dict[str, TableFile]:
        """Every table file's content (``db/...`` path -> table file), for backups.

        Tables in memory are copied now. Months on disk are opened now and read later, in
        the backup's thread (at a million appointments reading them on the loop paused
        the server for seconds): a commit that takes such a month in meanwhile writes a
        new file in its place (``write_atomic``), and the open one still reads as it was.
        """
        files: dict[str, TableFile] = {}
        for key in self._file_keys():
            table, _, month = key.partition("/")
            if month and month in self._cold[table]:
                name = f"{key}.json"
                files[f"db/{name}"] = _opened(self.data_dir / "db" / name, name, self._sealing)
            else:
                files[f"db/{key}.json"] = self._snapshot(key)
        return files

    def _write_snapshot(
        self,
        snapshot: dict[str, tuple[str, dict[str, msgspec.Struct]]],
        manifest: Manifest,
        folded: list[Path],
        reindex: dict[tuple[str, str], dict[str, msgspec.Struct]],
        ids: dict[str, bytes],
    ) -> Manifest:
        """Write a checkpoint: the table files, then each written month's key index and
        the id filters, then the manifest (naming each month's ``MonthInfo``).

        In that order a crash leaves no index that hides a record: a month file newer
        than its index holds what the index lists (a record gone from it is a harmless
        false hit) plus puts still in the journal, whose replay loads the month they go
        to; an index newer than the manifest is the month file's own. Ids still missing
        from a filter are the journal's, added back by its replay."""
        db = self.data_dir / "db"
        codec = self._sealing
        for table in PARTITIONED:
            (db / table).mkdir(mode=0o700, parents=True, exist_ok=True)
        for key, (table, docs) in snapshot.items():
            write_table_file(db, f"{key}.json", table, docs, codec)
        indexed = dict(reindex)
        for key, (table, docs) in snapshot.items():
            _, _, month = key.partition("/")
            if month:
                indexed[table, month] = docs
        entries: dict[str, dict[str, MonthInfo]] = {}
        for (table, month), part in indexed.items():
            split = PARTITIONED[table]
            write_index(db, split.index_file(month), build_index(part.values(), split), codec)
            if table not in entries:
                entries[table] = dict(manifest.months_of(table))
            entries[table][month] = month_info(part.values(), split)
        for table, bits in ids.items():
            name = PARTITIONED[table].id_filter
            packed = IdFilter.packed(bits)
            write_atomic(db / name, codec.seal(packed, label_of(f"db/{name}")))
        for table, months in entries.items():
            manifest = manifest.with_months(table, months)
        write_manifest(self.data_dir, manifest, codec)
        self._journal.drop(folded)
        return manifest

    def _reindex_stale(self, stale: dict[str, set[str]]) -> None:
        """Give months on disk whose key index predates pairings a new one (a dir made by
        an older tlh: ``ColdMonths.reindex``), those found since the last checkpoint."""
        for table, months in stale.items():
            cold = self._cold[table]
            for month in sorted(months):
                cold.reindex(month)

    async def stored_changes(self) -> StoredChanges:
        """What ``tlh audit verify`` checks the log against: the last commit's number and
        (in a dir made by this version) every record's id. Taken once every entry queued
        so far is durable, so every commit it counts has had the chance to be logged."""
        seq = self._seq
        ids = {t: list(tab) for t, tab in self._tables.items()} if self.audit_complete else None
        if ids is not None:
            for table, cold in self._cold.items():
                if not cold.months:
                    continue
                on_disk = await self._cold_read(_ids_of, cold)
                here = self._tables[table]
                ids[table] += [rid for rid in on_disk if rid not in here]
        await self.audit.barrier()
        return StoredChanges(seq=seq, record_ids=ids)

    def manifest(self) -> Manifest:
        """A manifest of what ``export_files`` gives now (for backups)."""
        files = sorted(f"{key}.json" for key in self._file_keys())
        # No month entries: a restored dir has no key indexes, so it loads every month
        # once and indexes them at its first checkpoint.
        return msgspec.structs.replace(
            self._manifest, seq=self._seq, files=files, months={}, partitions={}
        )


def _record_id(rec: msgspec.Struct) -> str:
    return str(getattr(rec, "id", ""))


def _ids_of(cold: ColdMonths) -> list[str]:
    """The ids of every record of the months on disk (in a worker thread)."""
    return [_record_id(rec) for rec in cold.scan()]


def _audit_behind(seq: int, exc: StoreError) -> None:
    """The change is stored with its audit notes in the journal, so the commit stands:
    the log writes the entries once it can (or the next start-up adds them), and no
    checkpoint drops that journal before. Reads, which cannot be logged meanwhile, fail."""
    log.error("audit entries of commit %d not written yet (%s); will retry", seq, exc.message)


def check_permissions(data_dir: Path) -> None:
    """Refuse a data dir every user of the machine may write to (anyone could replace
    a table file or the audit log); warn when others may read it (patients' data)."""
    if not data_dir.exists():
        return
    mode = data_dir.stat().st_mode
    if mode & stat.S_IWOTH:
        raise StoreError(
            f"data dir {data_dir} is writable by every user of this machine; "
            f"run `chmod 700 {data_dir}` (or chown it to the server's user)"
        )
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("data dir %s is readable by other users; consider chmod 700", data_dir)


def _cannot_open(data_dir: Path, exc: OSError) -> StoreError:
    """A one-line reason the data dir cannot be used (read-only, no permission, full)."""
    return StoreError(f"cannot open the data dir {data_dir}: {os_error_reason(exc)}")


def _suffix(notes: Sequence[AuditNote], skip: int) -> tuple[AuditNote, ...]:
    """``notes`` without their first ``skip`` entries (one entry per target, in order)."""
    out: list[AuditNote] = []
    for n in notes:
        if skip >= len(n.targets):
            skip -= len(n.targets)
            continue
        out.append(msgspec.structs.replace(n, targets=n.targets[skip:]))
        skip = 0
    return tuple(out)


def _count(notes: Sequence[AuditNote]) -> int:
    return sum(len(n.targets) for n in notes)


def _opened(path: Path, name: str, codec: Codec) -> Callable[[], bytes]:
    """A reader of the table file ``db/<name>`` as it is now: opened here, read (and
    unsealed, never decoded) when called, once."""
    file = path.open("rb")

    def read() -> bytes:
        with file:
            data = checked(file.read(), path)
        return codec.open(data, label_of(f"db/{name}"), path)

    return read
