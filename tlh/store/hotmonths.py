"""The part of ``TinyStore`` that deals with months left on disk, for every table split
by month (``tlh.store.partitions``): which months a change or a read reaches, and taking
a month into memory (``tlh.store.coldmonths`` reads them; ``tlh.store.monthindex`` finds
what they hold)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import msgspec

from tlh.domain.models import Appointment
from tlh.errors import StoreError, os_error_reason
from tlh.store import heap, idset
from tlh.store.bodies import packed_part, unpack_all
from tlh.store.busy import epoch
from tlh.store.calendar import AppointmentIndex
from tlh.store.coldmonths import ColdMonths
from tlh.store.layout import APPOINTMENTS, Change, Manifest
from tlh.store.monthindex import IdFilter, MonthInfo, months_back
from tlh.store.partitions import PARTITIONED, still_live
from tlh.store.seal import Codec, label_of
from tlh.store.sharing import Pool

log = logging.getLogger(__name__)

#: A table's months in memory: month -> id -> record.
Months = dict[str, dict[str, msgspec.Struct]]
T = TypeVar("T")


def index_keys(value: object) -> tuple[object, ...]:
    """The index keys of a field's value: itself, each element of a tuple, none for None."""
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


class MonthsOnDisk:
    """Mixed into ``TinyStore``, whose state it shares."""

    _tables: dict[str, dict[str, msgspec.Struct]]
    #: The months in memory of each table split by month (the hot ones, and cold ones a
    #: commit took in).
    _parts: dict[str, Months]
    _cold: dict[str, ColdMonths]
    #: Every id ever stored in each split table (``tlh.store.monthindex``).
    _ids: dict[str, IdFilter]
    #: Ids found in two months at load, by table (an interrupted checkpoint).
    _duplicates: dict[str, set[str]]

    hot_months: int
    _clock: Callable[[], datetime]
    _manifest: Manifest
    _index: dict[str, dict[str, dict[Any, idset.Ids]]]
    _calendar: AppointmentIndex
    _dirty: set[str]
    _unindexed: set[tuple[str, str]]
    _busy: int
    _warming: asyncio.Task[None] | None
    _to_warm: list[tuple[str, str]]
    _pool: Pool | None
    _lock: asyncio.Lock
    data_dir: Path

    def _index_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        raise NotImplementedError

    def _unindex_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        raise NotImplementedError

    def _settle_duplicates(self, table: str, duplicates: set[str]) -> None:
        raise NotImplementedError

    @property
    def cold_months(self) -> list[str]:
        """The appointment months left on disk (read on demand), oldest first."""
        return self.months_on_disk(APPOINTMENTS)

    def months_on_disk(self, table: str) -> list[str]:
        """The months of a split table left on disk, oldest first."""
        return sorted(self._cold[table].months)

    def months_indexed(self, table: str) -> list[str]:
        """The months of a split table on disk whose key index is held in memory."""
        return self._cold[table].indexed()

    def _has_cold(self, table: str) -> bool:
        cold = self._cold.get(table)
        return cold is not None and bool(cold.months)

    def _may_be_cold(self, table: str, rid: str) -> bool:
        return self._has_cold(table) and self._ids[table].may_hold(rid)

    async def month_by_month(self, table: str) -> AsyncIterator[list[msgspec.Struct]]:
        """Every record of a split table, a month at a time: the months in memory, then
        each month on disk, read in a thread (a copy of the whole table, as ``tlh store
        migrate`` makes, never holds more than a month of it). For a store no commit
        writes to meanwhile."""
        await self.warmed()  # (else a month could move from disk to memory in between)
        parts = self._parts[table]
        for month in sorted(parts):
            if parts.get(month):
                yield unpack_all(table, parts[month].values())
        cold = self._cold[table]
        for month in sorted(cold.months):
            part = await asyncio.to_thread(cold.read, month)
            if part:
                yield unpack_all(table, part.values())

    async def _cold_reaching(self, start: datetime, end: datetime) -> list[msgspec.Struct]:
        """Appointments of the months on disk that may overlap [start, end); the caller
        filters them with ``_still_cold`` once it has read memory."""
        cold = self._cold[APPOINTMENTS]
        return await self._cold_read(cold.reaching, epoch(start), epoch(end))

    async def _cold_read(self, read: Callable[..., T], *args: object) -> T:
        """``read(*args)`` of months on disk, in a thread. Meanwhile no month goes back
        to disk (``_age_out``): the caller merges what it read with memory as soon as
        this returns, before anything else runs, so a record is in one or the other."""
        with self._using_months():
            return await asyncio.to_thread(read, *args)

    @contextlib.contextmanager
    def _using_months(self) -> Iterator[None]:
        """Hold months where they are (in memory or on disk) for a read or a change."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1

    def hot_cut(self, table: str) -> str:
        """The first month of ``table`` kept in memory (``YYYY-MM``): the months before
        stay on disk (``hot_months`` back; fewer for a visit's trail)."""
        split = PARTITIONED[table]
        back = self.hot_months if split.hot_back is None else min(self.hot_months, split.hot_back)
        return months_back(self._clock(), back)

    async def _age_out(self) -> None:
        """Put back on disk the months in memory that fell before the cut while the
        server ran (the month turned): once written and indexed, with nothing in flight
        that reads or writes months. The remaining records' indexes are rebuilt in a
        thread (commits wait meanwhile; reads use the old ones, still true)."""
        for table in PARTITIONED:
            async with self._lock:
                if self._busy:
                    return  # another checkpoint's turn
                leaving = self._leaving(table)
                if not leaving:
                    continue
                gone = {rid for month in leaving for rid in self._parts[table][month]}
                staying = [(i, r) for i, r in self._tables[table].items() if i not in gone]
                built = await asyncio.to_thread(self._built_indexes, table, staying)
                if self._busy or leaving != self._leaving(table):
                    return
                entries = self._manifest.months_of(table)
                tab = self._tables[table]
                for month in leaving:
                    for rid in self._parts[table].pop(month):
                        tab.pop(rid, None)
                    self._cold[table].add(month, entries[month])
                self._index[table], calendar = built
                if calendar is not None:
                    self._calendar = calendar
                log.info("%d month(s) of %s left in their files", len(leaving), table)

    def _may_stay_on_disk(self, table: str, month: str, info: MonthInfo, cut: str) -> bool:
        """Whether a month of ``table`` (its manifest entry ``info``) may be left in its
        file, at start-up or when the month turns: before the cut, with no record still
        live, its key index written."""
        return month < cut and self._finished_on_disk(table, month, info)

    def _may_wait_on_disk(self, table: str, month: str, info: MonthInfo) -> bool:
        """Whether a month of ``table`` kept in memory may be taken in once the store is
        open rather than before (``Partitioning.warm_later``)."""
        return PARTITIONED[table].warm_later and self._finished_on_disk(table, month, info)

    def _finished_on_disk(self, table: str, month: str, info: MonthInfo) -> bool:
        """Whether a month holds no record still live and has its key index written."""
        return (
            not still_live(info.last_end)
            and (self.data_dir / "db" / PARTITIONED[table].index_file(month)).exists()
        )

    def _leaving(self, table: str) -> list[str]:
        """The months of ``table`` in memory that may go back to disk, written and
        indexed."""
        cut, entries = self.hot_cut(table), self._manifest.months_of(table)
        return [
            month
            for month in sorted(self._parts[table])
            if month in entries
            and f"{table}/{month}" not in self._dirty
            and (table, month) not in self._unindexed
            and self._may_stay_on_disk(table, month, entries[month], cut)
        ]

    def _built_fields(
        self, table: str, records: Collection[tuple[str, msgspec.Struct]]
    ) -> dict[str, dict[Any, idset.Ids]]:
        """A table's in-memory indexes over ``records`` (id, record), built in one pass
        per field."""
        return {field: idset.build_field(records, field) for field in self._index.get(table, {})}

    def _built_indexes(
        self, table: str, records: list[tuple[str, msgspec.Struct]]
    ) -> tuple[dict[str, dict[Any, idset.Ids]], AppointmentIndex | None]:
        """A table's indexes (and the calendar, of appointments) over ``records``."""
        calendar = None
        if table == APPOINTMENTS:
            calendar = AppointmentIndex()
            calendar.build(cast(Appointment, rec) for _, rec in records)
        return self._built_fields(table, records), calendar

    def _still_cold(self, table: str, found: Sequence[msgspec.Struct]) -> list[msgspec.Struct]:
        """Records read from months on disk, as they were given (``tlh.store.bodies``),
        less those of a month a commit took into memory while the read ran (memory holds
        that month's current records)."""
        return unpack_all(table, self._not_taken_in(table, found))

    def _not_taken_in(self, table: str, found: Sequence[msgspec.Struct]) -> list[msgspec.Struct]:
        """``_still_cold`` as stored: for counting them."""
        parts, month_of = self._parts[table], PARTITIONED[table].month_of
        return [rec for rec in found if month_of(rec) not in parts]

    def _cold_months_of(self, changes: Iterable[Change], locate: bool) -> set[tuple[str, str]]:
        """The (table, month) on disk that ``changes`` write to: the month a put goes
        to, and (with ``locate``) the month holding an id not in memory. Synchronous
        file reads."""
        months: set[tuple[str, str]] = set()
        for table, rid, rec in changes:
            cold = self._cold.get(table)
            if cold is None or not cold.months:
                continue
            if rec is not None and (month := cold.split.month_of(rec)) in cold:
                months.add((table, month))
            if locate and rid not in self._tables[table] and self._ids[table].may_hold(rid):
                found = cold.locate(rid)
                if found is not None:
                    months.add((table, found[0]))
        return months

    async def _take_in(self, changes: list[Change]) -> None:
        """Bring into memory every month on disk that ``changes`` write to (before they
        are journaled): from then on it is an ordinary month, written at checkpoints."""
        if not any(self._has_cold(t) for t, _, _ in changes):
            return
        # Most commits write only new records and this year's: decided without a thread.
        months = self._cold_months_of(changes, False)
        if any(rid not in self._tables[t] and self._may_be_cold(t, rid) for t, rid, _ in changes):
            months = await asyncio.to_thread(self._cold_months_of, changes, True)
        pool = Pool()
        for table, month in sorted(months):
            cold = self._cold[table]
            if month in self._parts[table] or month not in cold:
                continue
            part = await asyncio.to_thread(cold.read, month)
            if month in self._parts[table] or month not in cold:
                continue
            self._install(table, month, dict(part), index=True, pool=pool)

    def _install(
        self,
        table: str,
        month: str,
        part: dict[str, msgspec.Struct],
        *,
        index: bool,
        pool: Pool,
    ) -> None:
        """Make a month read from disk one of the months in memory (no await inside:
        reads see it either cold or in memory, never neither), its records sharing the
        values of others the same load met (``pool``)."""
        self._cold[table].forget(month)
        part = packed_part(table, part)
        pool.share(table, list(part.values()))
        self._parts[table][month] = part
        tab = self._tables[table]
        if not index and tab.keys().isdisjoint(part):  # a start-up: months hold their own
            tab.update(part)
            return
        duplicates = set()
        for rid, rec in part.items():
            old = tab.get(rid)
            if old is not None:
                duplicates.add(rid)
                if not _newer(rec, old):
                    continue
                if index:
                    self._unindex_record(table, rid, old)
            tab[rid] = rec
            if index:
                self._index_record(table, rid, rec)
        if index:
            self._settle_duplicates(table, duplicates)
        else:
            self._duplicates.setdefault(table, set()).update(duplicates)

    def warm_up(self) -> None:
        """Start taking into memory, in the background, the months start-up left in their
        files though they are kept in memory (``Partitioning.warm_later``): the server
        calls it once it listens. Reads are answered from the files meanwhile."""
        months, self._to_warm = self._to_warm, []
        pool, self._pool = self._pool, None
        if months and pool is not None and self._warming is None:
            self._warming = asyncio.create_task(self._warm_up(months, pool))

    async def warmed(self) -> None:
        """``warm_up``, and wait until it is done."""
        self.warm_up()
        if self._warming is not None:
            await asyncio.shield(self._warming)

    async def _warm_up(self, months: list[tuple[str, str]], pool: Pool) -> None:
        """Take ``months`` (table, month) into memory, sharing values with what start-up
        loaded (``pool``): each read, shared and indexed in a thread, then installed at
        once (one a commit took in meanwhile is left as it is)."""
        started, count = time.perf_counter(), 0
        for table, month in months:
            try:
                count += await self._warm_month(table, month, pool)
            except (OSError, StoreError) as exc:
                # Nothing is lost: the month is read from its file, as it was meanwhile.
                reason = exc.message if isinstance(exc, StoreError) else os_error_reason(exc)
                log.error("store: %s/%s stays on disk, not taken in: %s", table, month, reason)
        del pool  # before the trim: what the values it kept alone took is given back
        await asyncio.to_thread(heap.trim)
        log.info(
            "store: %d record(s) of this month's finished trail taken in %.0f ms after"
            " the server started listening",
            count,
            (time.perf_counter() - started) * 1000,
        )

    async def _warm_month(self, table: str, month: str, pool: Pool) -> int:
        """``_warm_up`` of one month: how many records it took in."""
        cold = self._cold[table]
        if month not in cold:
            return 0
        with self._using_months():
            part, built = await asyncio.to_thread(self._prepared, table, month, pool)
        if month not in cold or month in self._parts[table]:
            return 0
        self._install_prepared(table, month, part, built)
        return len(part)

    def _prepared(
        self, table: str, month: str, pool: Pool
    ) -> tuple[dict[str, msgspec.Struct], dict[str, dict[Any, idset.Ids]]]:
        """A month on disk as ``_install`` makes it, and its indexes (in a worker thread)."""
        part = packed_part(table, self._cold[table].read(month))
        pool.share(table, list(part.values()))
        return part, self._built_fields(table, part.items())

    def _install_prepared(
        self,
        table: str,
        month: str,
        part: dict[str, msgspec.Struct],
        built: dict[str, dict[Any, idset.Ids]],
    ) -> None:
        """``_install`` of a ``_prepared`` month (no await inside)."""
        tab = self._tables[table]
        if table == APPOINTMENTS or not tab.keys().isdisjoint(part):
            # (never so far: appointments wait for nothing, and months hold their own ids)
            self._install(table, month, part, index=True, pool=Pool())
            return
        self._cold[table].forget(month)
        self._parts[table][month] = part
        tab.update(part)
        indexes = self._index[table]
        for field, keys in built.items():
            if indexes[field]:
                idset.merge(indexes[field], keys)
            else:
                indexes[field] = keys  # (as a start-up builds it)

    def _read_id_filter(self, db: Path, codec: Codec, table: str) -> IdFilter | None:
        """A table's id filter as the last checkpoint wrote it, or ``None`` (none, or
        unreadable: it is rebuilt from the months, all loaded)."""
        name = PARTITIONED[table].id_filter
        path = db / name
        if not path.exists():
            return None
        try:
            data = codec.open(path.read_bytes(), label_of(f"db/{name}"), path)
            return IdFilter.unpacked(data, PARTITIONED[table].filter_size)
        except (StoreError, ValueError):
            log.warning("%s is unreadable; loading every month of %s to rebuild it", path, table)
            return None

    def _take_in_replayed(self, changes: list[Change], pool: Pool) -> None:
        """Before replaying the journal, load the months on disk it writes to: the month
        of each put, and any month holding an id it writes (with a stale copy an
        interrupted checkpoint may have left there: found and settled like a duplicate)."""
        if not any(self._has_cold(t) for t in self._cold):
            return
        months = self._cold_months_of(changes, locate=False)
        for table, cold in self._cold.items():
            rids = {rid for t, rid, _ in changes if t == table and self._ids[table].may_hold(rid)}
            months |= {(table, m) for m in cold.months_holding(rids)}
        for table, month in sorted(months):
            cold = self._cold[table]
            if month in cold:
                self._install(table, month, dict(cold.read(month)), index=False, pool=pool)


def _newer(rec: msgspec.Struct, than: msgspec.Struct) -> bool:
    """Of two copies of one record found in two months (an interrupted checkpoint),
    whether ``rec`` is the later (by ``updated_at``, where the record has one)."""
    at, other = getattr(rec, "updated_at", None), getattr(than, "updated_at", None)
    return isinstance(at, datetime) and isinstance(other, datetime) and at > other
