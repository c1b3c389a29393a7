"""On-disk indexes of the months kept out of memory (``tlh.store.coldmonths``), for
each table split by month (``tlh.store.partitions``).

Two small structures let the embedded store answer for months it has not loaded
without holding anything per record:

- a month's **key index** ``db/<table>/<YYYY-MM>.idx``: the sorted 8-byte digests of
  ``field\\0value`` for every indexed value of its records (for appointments: id,
  external_id, series_id, each client id), sealed like the month file and written with
  it. "Does this month hold id X / client Y?" is a bisect over the bytes, no decoding.
- the **id filter** ``db/<table>.bloom``: a Bloom filter of every id of the table ever
  stored in a month file, of a fixed size (2 MiB: about 0.2 % false positives at a million
  ids, 4 % at 2.5 million), read at start-up. A new record's id is almost never in it, so
  a booking does not search the cold months to learn that it is not editing an old one.

Both are accelerators: a month without a readable key index is read whole instead, and a
dir without the filter is loaded whole at start-up (as before) and gets one at the next
checkpoint.
"""

from __future__ import annotations

import hashlib
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from tlh.store.partitions import IdFilterSize, Partitioning

_DIGEST = 8
_BLOOM_HASHES = 4


class MonthInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the manifest says of one month file: how many records, and the latest end
    (epoch seconds, ``Partitioning.end_of``) of any of them, so a range query knows which
    cold months reach it (a vacation that starts in one month and ends in a later one)."""

    count: int
    last_end: int
    #: For each tallied field (``Partitioning.tallied``), how many records hold each value.
    tally: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)


def digest(field: str, value: object) -> bytes:
    """The key-index entry of ``field == value``."""
    data = f"{field}\0{value}".encode()
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


def month_info(records: Iterable[msgspec.Struct], split: Partitioning) -> MonthInfo:
    """The manifest entry of a month holding ``records``."""
    count, last = 0, 0
    tally: dict[str, dict[str, int]] = {field: {} for field in split.tallied}
    for rec in records:
        count += 1
        last = max(last, split.end_of(rec))
        for field, counts in tally.items():
            value = str(getattr(rec, field))
            counts[value] = counts.get(value, 0) + 1
    return MonthInfo(count=count, last_end=last, tally=tally)


def build_index(records: Iterable[msgspec.Struct], split: Partitioning) -> bytes:
    """A month's key index: sorted, de-duplicated digests of its records' values (and of
    each pairing of its ``Partitioning.pairs`` fields' values)."""
    keys: set[bytes] = set()
    pairs = split.pairs
    for rec in records:
        for field in split.fields:
            value = getattr(rec, field)
            if value is None:
                continue
            for item in value if isinstance(value, tuple) else (value,):
                keys.add(digest(field, item))
        if pairs is not None:
            for a in getattr(rec, pairs.first):
                for b in getattr(rec, pairs.second):
                    keys.add(digest(pairs.field, pair_value(a, b)))
    return b"".join(sorted(keys))


def pair_value(first: object, second: object) -> str:
    """The key-index value of a pairing (ids hold no NUL)."""
    return f"{first}\0{second}"


class KeyIndex:
    """A month's key index in memory: its sorted digests as 64-bit numbers, bisected in C
    (``bisect`` over an ``array``); 8 bytes a key, as on disk. ``pairs``: whether it
    holds the pairings of its table's ``Partitioning.pairs`` (one written before they
    existed does not)."""

    __slots__ = ("_keys", "pairs")

    def __init__(self, data: bytes, *, pairs: bool = True) -> None:
        self.pairs = pairs
        keys = array("Q", data[: len(data) - len(data) % _DIGEST])
        if sys.byteorder == "little":
            keys.byteswap()  # the file's digests compare as big-endian numbers
        self._keys = keys

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self._keys) * _DIGEST

    def holds(self, key: int) -> bool:
        """Whether the index holds the digest ``key`` (``key_number``)."""
        keys = self._keys
        at = bisect_left(keys, key)
        return at < len(keys) and keys[at] == key


def key_number(field: str, value: object) -> int:
    """``digest(field, value)`` as the number ``KeyIndex.holds`` looks up."""
    return int.from_bytes(digest(field, value), "big")


def month_start(month: str) -> int:
    """Epoch seconds of the first instant of ``YYYY-MM`` (UTC)."""
    year, mon = int(month[:4]), int(month[5:7])
    return int(datetime(year, mon, 1, tzinfo=UTC).timestamp())


def months_back(now: datetime, count: int) -> str:
    """``YYYY-MM`` of the month ``count`` months before ``now``'s (UTC)."""
    utc = now.astimezone(UTC)
    total = utc.year * 12 + (utc.month - 1) - count
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


class IdFilter:
    """A fixed-size Bloom filter of a table's ids, and of the values of the fields its
    lookups check for (``Partitioning.filtered``: "is this idempotency key new?", as
    ``tlh.store.partitions.filter_key``): ``may_hold`` is never wrong when it says no. Keys are only
    added (a deleted one stays: a harmless false positive)."""

    def __init__(self, bits: bytes | None = None, size: int = IdFilterSize.DEFAULT) -> None:
        if size & (size - 1) or not 1 << 10 <= size <= 1 << 26:
            raise ValueError("an id filter's size is a power of two")
        if bits is not None and len(bits) != size:
            raise ValueError("an id filter of the wrong size")
        self._bits = bytearray(bits if bits is not None else size)
        self._mask = size * 8 - 1
        #: Bits of the hash each of the slots takes.
        self._shift = self._mask.bit_length()
        #: Whether keys were added since the filter was last written.
        self.changed = bits is None

    def _slots(self, rid: str) -> list[int]:
        h = int.from_bytes(hashlib.blake2b(rid.encode(), digest_size=16).digest(), "little")
        return [(h >> (self._shift * n)) & self._mask for n in range(_BLOOM_HASHES)]

    def add(self, rid: str) -> None:
        """Remember ``rid``."""
        self.add_many((rid,))

    def add_many(self, rids: Iterable[str]) -> None:
        """``add`` of each (``_slots`` inlined: a bulk commit adds 10,000 ids)."""
        bits, blake2b, mask = self._bits, hashlib.blake2b, self._mask
        shifts = [self._shift * n for n in range(_BLOOM_HASHES)]
        changed = False
        for rid in rids:
            h = int.from_bytes(blake2b(rid.encode(), digest_size=16).digest(), "little")
            for shift in shifts:
                slot = (h >> shift) & mask
                byte, bit = slot >> 3, 1 << (slot & 7)
                if not bits[byte] & bit:
                    bits[byte] |= bit
                    changed = True
        self.changed = self.changed or changed

    def may_hold(self, rid: str) -> bool:
        """``False``: ``rid`` was never added."""
        bits = self._bits
        return all(bits[s >> 3] & (1 << (s & 7)) for s in self._slots(rid))

    def snapshot(self) -> bytes:
        """The bits as they are now (to write in a worker thread: ``packed``)."""
        self.changed = False
        return bytes(self._bits)

    @staticmethod
    def packed(bits: bytes) -> bytes:
        """A filter's bits as its file holds them: compressed (a young practice's filter
        is nearly all zeros, and each split table has one)."""
        return zlib.compress(bits, 1)

    @classmethod
    def unpacked(cls, data: bytes, size: int = IdFilterSize.DEFAULT) -> IdFilter:
        """The filter of a file's bytes (compressed, or the bare bits of an older dir);
        ``ValueError`` when they are neither, or of another size."""
        if len(data) == size:
            return cls(data, size)
        try:
            return cls(zlib.decompressobj().decompress(data, size + 1), size)
        except zlib.error as exc:
            raise ValueError(f"an id filter that does not decompress: {exc}") from None
