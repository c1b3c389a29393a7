"""The part of ``TinyStore`` that deals with appointment months left on disk: which
months a change or a read reaches, and taking a month into memory (``tlh.store.coldmonths``
reads them; ``tlh.store.monthindex`` finds what they hold)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import cast

import msgspec

from tlh.domain.models import Appointment
from tlh.errors import StoreError
from tlh.store.busy import epoch
from tlh.store.calendar import month_key
from tlh.store.coldmonths import ColdMonths
from tlh.store.layout import APPOINTMENTS, Change
from tlh.store.monthindex import IdFilter
from tlh.store.seal import Codec, label_of

log = logging.getLogger(__name__)

#: The id filter's file, relative to ``db/`` (``tlh.store.monthindex``).
ID_FILTER = "appointments.bloom"


class MonthsOnDisk:
    """Mixed into ``TinyStore``, whose state it shares."""

    _tables: dict[str, dict[str, msgspec.Struct]]
    _parts: dict[str, dict[str, Appointment]]
    _cold: ColdMonths
    _ids: IdFilter
    _duplicates: set[str]

    def _index_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        raise NotImplementedError

    def _unindex_record(self, table: str, rid: str, rec: msgspec.Struct) -> None:
        raise NotImplementedError

    def _settle_duplicates(self, duplicates: set[str]) -> None:
        raise NotImplementedError

    @property
    def cold_months(self) -> list[str]:
        """The appointment months left on disk (read on demand), oldest first."""
        return sorted(self._cold.months)

    def _may_be_cold(self, rid: str) -> bool:
        return bool(self._cold.months) and self._ids.may_hold(rid)

    async def _cold_reaching(self, start: datetime, end: datetime) -> list[Appointment]:
        """Records of the months on disk that may overlap [start, end); the caller
        filters them with ``_still_cold`` once it has read memory."""
        return await asyncio.to_thread(self._cold.reaching, epoch(start), epoch(end))

    def _still_cold(self, found: list[Appointment]) -> list[Appointment]:
        """Records read from months on disk, less those of a month a commit took into
        memory while the read ran (memory holds that month's current records)."""
        parts = self._parts
        return [apt for apt in found if month_key(apt.start) not in parts]

    def _cold_months_of(self, changes: Iterable[Change], locate: bool) -> set[str]:
        """The months on disk that ``changes`` write to: the month a put goes to, and
        (with ``locate``) the month holding an id not in memory. Synchronous file reads."""
        months: set[str] = set()
        hot = self._tables[APPOINTMENTS]
        for table, rid, rec in changes:
            if table != APPOINTMENTS:
                continue
            if isinstance(rec, Appointment) and month_key(rec.start) in self._cold:
                months.add(month_key(rec.start))
            if locate and rid not in hot and self._may_be_cold(rid):
                found = self._cold.locate(rid)
                if found is not None:
                    months.add(found[0])
        return months

    async def _take_in(self, changes: list[Change]) -> None:
        """Bring into memory every month on disk that ``changes`` write to (before they
        are journaled): from then on it is an ordinary month, written at checkpoints."""
        if not self._cold.months:
            return
        if not any(t == APPOINTMENTS for t, _, _ in changes):
            return
        # Most commits write only new records and this year's: decided without a thread.
        months = self._cold_months_of(changes, False)
        hot = self._tables[APPOINTMENTS]
        if any(
            t == APPOINTMENTS and rid not in hot and self._ids.may_hold(rid)
            for t, rid, _ in changes
        ):
            months = await asyncio.to_thread(self._cold_months_of, changes, True)
        for month in sorted(months):
            if month in self._parts or month not in self._cold:
                continue
            part = await asyncio.to_thread(self._cold.read, month)
            if month in self._parts or month not in self._cold:
                continue
            self._install(month, dict(part), index=True)

    def _install(self, month: str, part: dict[str, Appointment], *, index: bool) -> None:
        """Make a month read from disk one of the months in memory (no await inside:
        reads see it either cold or in memory, never neither)."""
        self._cold.forget(month)
        self._parts[month] = part
        tab = cast(dict[str, Appointment], self._tables[APPOINTMENTS])
        duplicates = set()
        for rid, apt in part.items():
            old = tab.get(rid)
            if old is not None:
                duplicates.add(rid)
                if old.updated_at >= apt.updated_at:
                    continue
                if index:
                    self._unindex_record(APPOINTMENTS, rid, old)
            tab[rid] = apt
            if index:
                self._index_record(APPOINTMENTS, rid, apt)
        if index:
            self._settle_duplicates(duplicates)
        else:
            self._duplicates |= duplicates

    def _read_id_filter(self, db: Path, codec: Codec) -> IdFilter | None:
        """The id filter of the last checkpoint, or ``None`` (none, or unreadable: it is
        rebuilt from the months, all loaded)."""
        path = db / ID_FILTER
        if not path.exists():
            return None
        try:
            data = codec.open(path.read_bytes(), label_of(f"db/{ID_FILTER}"), path)
            return IdFilter(data)
        except (StoreError, ValueError):
            log.warning("%s is unreadable; loading every appointment month to rebuild it", path)
            return None

    def _take_in_replayed(self, changes: list[Change]) -> None:
        """Before replaying the journal, load the months on disk it writes to: the month
        of each put, and any month holding an id it writes (with a stale copy an
        interrupted checkpoint may have left there: found and settled like a duplicate)."""
        if not self._cold.months:
            return
        months = self._cold_months_of(changes, locate=False)
        rids = {rid for table, rid, _ in changes if table == APPOINTMENTS}
        months |= self._cold.months_holding({r for r in rids if self._ids.may_hold(r)})
        for month in sorted(months):
            if month in self._cold:
                self._install(month, dict(self._cold.read(month)), index=False)
