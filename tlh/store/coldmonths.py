"""Months the embedded store leaves on disk, read on demand (one ``ColdMonths`` per table
split by month, ``tlh.store.partitions``).

``TinyStore`` keeps the recent and future months in memory with their indexes; older
months ("cold") stay in their files until a read reaches them. Everything here is
synchronous file work, called in a worker thread; small bounded LRUs keep the last months
(by their files' size) and key indexes (by bytes) read, so paging through an old client's
history does not read the same files again. Nothing is kept per record of a month that is not cached.

A cold month is never written while cold: a commit that touches one loads it into
memory first (``TinyStore``), and from then on it is an ordinary in-memory month.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from tlh.errors import StoreError
from tlh.files import write_atomic
from tlh.store.atomic import read_bytes_checked
from tlh.store.layout import read_table_file
from tlh.store.monthindex import (
    KeyIndex,
    MonthInfo,
    build_index,
    key_number,
    month_start,
    months_back,
    pair_value,
)
from tlh.store.partitions import Partitioning
from tlh.store.seal import Codec, label_of

#: The first bytes of a key index file (so an empty month's index is not an empty file):
#: one that holds its table's pairings too (``Partitioning.pairs``) ...
INDEX_MAGIC = b"TLHIDX2\n"
#: ... and one written before they existed: its month is read whole to answer for them.
INDEX_MAGIC_V1 = b"TLHIDX1\n"
Part = dict[str, msgspec.Struct]
#: Months whose records by pairings' first value are kept (``ColdMonths._paired_by``):
#: the month a year starts in, turning over once a month.
PAIRED_MONTHS = 2
#: What ``_cached_index`` says of a month whose index has not been read.
_NOT_CACHED = object()


def write_index(db: Path, name: str, index: bytes, codec: Codec) -> None:
    """Replace the key index ``db/<name>`` atomically (sealed like the month file)."""
    write_atomic(db / name, codec.seal(INDEX_MAGIC + index, label_of(f"db/{name}")))


class ColdMonths:
    """The months of ``db/<table>/`` not in memory, with what the manifest says of
    each (``MonthInfo``). Thread-safe: reads run in worker threads while the event loop
    takes months out (``forget``) when a commit needs one in memory."""

    def __init__(
        self,
        db: Path,
        codec: Codec,
        split: Partitioning,
        months: dict[str, MonthInfo],
        *,
        cache_budget: int = 32 << 20,
        index_budget: int = 32 << 20,
    ) -> None:
        self.split = split
        self._db = db
        self._codec = codec
        self.months = dict(months)
        self._lock = threading.Lock()
        #: Months read, with their file's size.
        self._parts: OrderedDict[str, tuple[Part, int]] = OrderedDict()
        self._indexes: OrderedDict[str, KeyIndex | None] = OrderedDict()
        #: Months read are kept up to files of this many bytes in all: a few months of
        #: appointments (3 MB each at 7,000 a month); a busy practice's month of messages
        #: (70 MB of rendered bodies) is read each time instead.
        self._cache_budget = cache_budget
        self._cached = 0
        #: Key indexes are kept once read, up to this many bytes (8 per indexed value:
        #: ~24 per appointment), so imports and scope checks, which look up one value
        #: after another, bisect in memory instead of opening every month each time.
        self._index_budget = index_budget
        self._index_bytes = 0
        #: Months whose key index was found to predate pairings (``Partitioning.pairs``):
        #: the next checkpoint writes them a new one (``reindex``).
        self._stale: set[str] = set()
        #: Of a month read to answer for pairings (the month a year starts in, or one whose
        #: index predates them): each ``Partitioning.pairs`` first value's records, as
        #: (instant, second values). A scan of its 7,000 appointments took 1 ms a question.
        #: The month changes once a month: a few such months are kept.
        self._paired_by: OrderedDict[str, dict[object, list[tuple[int, tuple[str, ...]]]]] = (
            OrderedDict()
        )

    def __contains__(self, month: object) -> bool:
        return month in self.months

    def count(self) -> int:
        """How many records the cold months hold."""
        return sum(info.count for info in list(self.months.values()))

    def tally(self, field: str, value: object) -> int | None:
        """How many cold records hold ``value`` in ``field``, from the months' entries
        alone; ``None`` when ``field`` is not tallied, or a month's entry does not say."""
        if field not in self.split.tallied:
            return None
        total = 0
        for info in list(self.months.values()):
            counts = info.tally.get(field)
            if counts is None:
                return None if info.count else 0
            total += counts.get(str(value), 0)
        return total

    def add(self, month: str, info: MonthInfo) -> None:
        """Treat ``month`` as on disk from now on (the store wrote it and let it go)."""
        with self._lock:
            self.months[month] = info

    def forget(self, month: str) -> None:
        """Stop treating ``month`` as on disk: the store keeps it in memory now."""
        with self._lock:
            self.months.pop(month, None)
            dropped = self._parts.pop(month, None)
            self._cached -= dropped[1] if dropped is not None else 0
            self._drop_index(month)
            self._paired_by.pop(month, None)

    def _drop_index(self, month: str) -> None:
        """Forget a month's cached key index (the caller holds the lock)."""
        gone = self._indexes.pop(month, None)
        self._index_bytes -= gone.size if gone is not None else 0

    def indexed(self) -> list[str]:
        """The months whose key index is cached, oldest first."""
        with self._lock:
            return sorted(self._indexes)

    def take_stale(self) -> set[str]:
        """The months found with a key index older than pairings, to index again (the
        caller gives back those it could not: ``mark_stale``)."""
        with self._lock:
            stale, self._stale = self._stale, set()
            return stale

    def mark_stale(self, months: set[str]) -> None:
        with self._lock:
            self._stale |= months

    def reindex(self, month: str) -> None:
        """Write a cold month a key index with its pairings, from its file (in a worker
        thread, within a checkpoint: no other checkpoint writes the month meanwhile)."""
        if month not in self.months:
            return  # in memory now: its next checkpoint writes it whole
        part = self._read_if_cold(month)
        write_index(
            self._db,
            self.split.index_file(month),
            build_index(part.values(), self.split),
            self._codec,
        )
        with self._lock:
            self._drop_index(month)

    # -- reading (in a worker thread) ---------------------------------------------------

    def read(self, month: str) -> Part:
        """The records of a cold month (cached; the caller must not change the dict)."""
        with self._lock:
            cached = self._parts.get(month)
            if cached is not None:
                self._parts.move_to_end(month)
                return cached[0]
        name = self.split.file(month)
        path = self._db / name
        size = path.stat().st_size
        part = read_table_file(path, name, self.split.table, self._codec)
        with self._lock:
            if month not in self._parts:
                self._parts[month] = (part, size)
                self._cached += size
            while self._cached > self._cache_budget and self._parts:
                self._cached -= self._parts.popitem(last=False)[1][1]
        return part

    def _index(self, month: str) -> KeyIndex | None:
        """A month's key index, or ``None`` when it cannot be read (the month is then
        read whole: the index is only an accelerator)."""
        with self._lock:
            if month in self._indexes:
                self._indexes.move_to_end(month)
                return self._indexes[month]
        name = self.split.index_file(month)
        path = self._db / name
        try:
            data = self._codec.open(read_bytes_checked(path), label_of(f"db/{name}"), path)
            magic = data[: len(INDEX_MAGIC)]
            index = None
            if magic in (INDEX_MAGIC, INDEX_MAGIC_V1):
                index = KeyIndex(data[len(magic) :], pairs=magic == INDEX_MAGIC)
            if magic == INDEX_MAGIC_V1 and self.split.pairs is not None:
                with self._lock:
                    self._stale.add(month)
        except (OSError, StoreError):
            index = None
        with self._lock:
            if month not in self._indexes:
                self._indexes[month] = index
                self._index_bytes += index.size if index is not None else 0
            while self._index_bytes > self._index_budget and len(self._indexes) > 1:
                dropped = self._indexes.popitem(last=False)[1]
                self._index_bytes -= dropped.size if dropped is not None else 0
        return index

    def _candidates(self, field: str, value: object, ending_after: int | None = None) -> list[str]:
        """Cold months that may hold a record with ``field == value`` (newest first); with
        ``ending_after``, only months holding one that ends after it (their key indexes
        alone are opened: the reminder clock's question about a visit due tomorrow opened
        all 143 months' at a million appointments, 34 ms a visit)."""
        key = key_number(field, value)
        out = []
        for month in sorted(self.months, reverse=True):
            if self._tallied_none(month, field, value):
                continue  # (the outbox's poll for queued messages opens no index)
            if not self._ends_after(month, ending_after):
                continue
            index = self._index(month)
            if index is None or index.holds(key):
                out.append(month)
        return out

    def _tallied_none(self, month: str, field: str, value: object) -> bool:
        """Whether the month's entry says none of its records holds ``value``."""
        info = self.months.get(month)
        counts = info.tally.get(field) if info is not None else None
        return counts is not None and not counts.get(str(value))

    def locate(self, rid: str) -> tuple[str, msgspec.Struct] | None:
        """The cold month holding the record ``rid`` and the record, or ``None``."""
        for month in self._candidates("id", rid):
            rec = self._read_if_cold(month).get(rid)
            if rec is not None:
                return month, rec
        return None

    def months_holding(self, rids: set[str]) -> set[str]:
        """The cold months that may hold any of ``rids`` (each key index read once)."""
        if not rids:
            return set()
        keys = [key_number("id", rid) for rid in rids]
        out = set()
        for month in list(self.months):
            index = self._index(month)
            if index is None or any(index.holds(key) for key in keys):
                out.add(month)
        return out

    def find(
        self, field: str, value: object, ending_after: int | None = None
    ) -> list[msgspec.Struct]:
        """Cold records whose ``field`` equals (or, a tuple, holds) ``value``; months whose
        records all end by epoch second ``ending_after`` are left unread."""
        if value is None:
            months = [m for m in sorted(self.months) if self._ends_after(m, ending_after)]
            return [
                rec
                for m in months
                for rec in self._read_if_cold(m).values()
                if getattr(rec, field) is None
            ]
        found = []
        for month in self._candidates(field, value, ending_after):
            for rec in self._read_if_cold(month).values():
                held = getattr(rec, field)
                if held == value or (isinstance(held, tuple) and value in held):
                    found.append(rec)
        return found

    def paired(
        self, value: object, others: Collection[str], since: int, *, reading: bool = True
    ) -> dict[str, set[str]] | None:
        """Of ``others``, those a cold record at or after epoch second ``since`` pairs with
        ``value`` (``Partitioning.pairs``: a clinician on an appointment of the client),
        by month. A month wholly after ``since`` answers from its key index; the month
        ``since`` falls in, or one whose index predates pairings, is read. Not
        ``reading``: from what is cached alone (no file opened, so the event loop may
        ask), or ``None`` when that is not enough."""
        pairs = self.split.pairs
        if pairs is None:
            raise StoreError(f"{self.split.table} keeps no pairings")
        first = key_number(pairs.first, value)
        wanted = {other: key_number(pairs.field, pair_value(value, other)) for other in others}
        found: dict[str, set[str]] = {}
        first_month = months_back(datetime.fromtimestamp(since, UTC), 0)
        for month in sorted(self.months):
            if month < first_month:
                continue
            index = self._index(month) if reading else self._cached_index(month)
            if index is _NOT_CACHED:
                return None
            if index is not None and not index.holds(first):
                continue
            if index is not None and index.pairs and month_start(month) >= since:
                hits = {other for other, key in wanted.items() if index.holds(key)}
            else:
                by_value = self._by_first(month, reading)
                if by_value is None:
                    return None
                hits = {
                    other
                    for at, seconds in by_value.get(value, ())
                    if at >= since
                    for other in seconds
                    if other in wanted
                }
            if hits:
                found[month] = hits
        return found

    def _by_first(
        self, month: str, reading: bool
    ) -> dict[object, list[tuple[int, tuple[str, ...]]]] | None:
        """A month's records by their pairs' first values (see ``_paired_by``); ``None``
        when not ``reading`` and the month is not read yet."""
        with self._lock:
            found = self._paired_by.get(month)
        if found is not None:
            return found
        part = self._read_if_cold(month) if reading else self._cached_part(month)
        pairs = self.split.pairs
        if part is None or pairs is None:
            return None
        by_value: dict[object, list[tuple[int, tuple[str, ...]]]] = {}
        for rec in part.values():
            entry = (pairs.at(rec), tuple(getattr(rec, pairs.second)))
            for first in getattr(rec, pairs.first):
                by_value.setdefault(first, []).append(entry)
        with self._lock:
            if month in self.months:
                self._paired_by[month] = by_value
                while len(self._paired_by) > PAIRED_MONTHS:
                    self._paired_by.popitem(last=False)
        return by_value

    def _cached_index(self, month: str) -> Any:
        """A month's key index as ``_index`` gave it last (``None``: unreadable), or
        ``_NOT_CACHED``."""
        with self._lock:
            return self._indexes.get(month, _NOT_CACHED)

    def _cached_part(self, month: str) -> Part | None:
        with self._lock:
            cached = self._parts.get(month)
            return cached[0] if cached is not None else None

    def _ends_after(self, month: str, ending_after: int | None) -> bool:
        """Whether a month may hold a record ending after epoch second ``ending_after``."""
        info = self.months.get(month)
        return ending_after is None or info is None or info.last_end > ending_after

    def reaching(self, lo: int, hi: int) -> list[msgspec.Struct]:
        """Records of the cold months that may overlap epoch seconds [lo, hi) (the caller
        filters exactly): a month starting before ``hi`` whose latest end is not before
        ``lo``."""
        months = [
            m
            for m, info in list(self.months.items())
            if info.count and month_start(m) < hi and info.last_end >= lo
        ]
        return [rec for m in sorted(months) for rec in self._read_if_cold(m).values()]

    def scan(self) -> Iterator[msgspec.Struct]:
        """Every cold record, month by month (the months read one at a time)."""
        for month in sorted(self.months):
            yield from self._read_if_cold(month).values()

    def _read_if_cold(self, month: str) -> Part:
        try:
            return self.read(month)
        except FileNotFoundError:
            if month in self.months:
                raise
            return {}  # taken into memory (and perhaps emptied) meanwhile
