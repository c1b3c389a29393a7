"""Sets of record ids for the store's in-memory indexes: one id alone as its ``str``,
several as a tuple of strings.

A practice's history puts hundreds of thousands of small id sets in the indexes (one per
external id, per client, per day, per clinician and day). Python's cycle collector walks
every ``set`` on each full collection, however long-lived; a tuple of strings it walks
once and then stops tracking. With sets, 100,000 appointments kept 190,000 tracked
objects and a full collection took 55 ms here; as tuples they cost nothing.

Most keys hold one id (a link's token digest, an appointment's external id, a message's
idempotency key): four in five of a busy practice's 160,000 keys. Such a key holds the
id itself, not a one-element tuple (48 bytes each: 6 MB there). Readers go through
``members``: iterating a bare ``str`` would walk its characters.

Adding copies the tuple (a key holds a handful of ids, a busy day a few hundred), so
bulk loads build lists first and turn them into tuples once (``build``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

K = TypeVar("K")

#: The ids under one key: one alone, or several.
Ids = str | tuple[str, ...]


def members(ids: Ids | None) -> tuple[str, ...]:
    """The ids under a key as a tuple (``()`` for no key)."""
    if ids is None:
        return ()
    return (ids,) if isinstance(ids, str) else ids


def add(index: dict[K, Ids], key: K, rid: str) -> None:
    """Put ``rid`` under ``key`` (the caller never adds one twice)."""
    ids = index.get(key)
    index[key] = rid if ids is None else (*members(ids), rid)


def add_many(index: dict[K, Ids], pairs: Iterable[tuple[K, str]]) -> None:
    """``add`` of every pair, each key's tuple copied once (a bulk commit puts hundreds of
    ids under one busy day: adding them one at a time would copy it hundreds of times)."""
    merge(index, build(pairs))


def merge(index: dict[K, Ids], other: dict[K, Ids]) -> None:
    """Add ``other``'s ids to ``index``, key by key (no id is under a key in both)."""
    if index.keys().isdisjoint(other):
        index.update(other)
        return
    get = index.get
    for key, ids in other.items():
        old = get(key)
        index[key] = ids if old is None else (*members(old), *members(ids))


def discard(index: dict[K, Ids], key: K, rid: str) -> None:
    """Take ``rid`` from under ``key``; an emptied key goes."""
    held = members(index.get(key))
    if rid not in held:
        return
    rest = [i for i in held if i != rid]
    if not rest:
        del index[key]
    else:
        index[key] = _kept(rest)


def _kept(ids: Sequence[str]) -> Ids:
    """Ids as the index keeps them: one id bare, several as a tuple."""
    return ids[0] if len(ids) == 1 else tuple(ids)


def sealed(lists: dict[K, list[str]]) -> dict[K, Ids]:
    """An index of each key's list of ids (``_kept`` of each, written out: a start-up
    seals 165,000 keys at a million stored)."""
    return {key: ids[0] if len(ids) == 1 else tuple(ids) for key, ids in lists.items()}


def build(pairs: Iterable[tuple[K, str]]) -> dict[K, Ids]:
    """An index of ``(key, id)`` pairs, built in one pass."""
    lists: dict[K, list[str]] = {}
    for key, rid in pairs:
        found = lists.get(key)
        if found is None:
            lists[key] = [rid]
        else:
            found.append(rid)
    return sealed(lists)


def build_field(records: Iterable[tuple[str, Any]], field: str) -> dict[Any, Ids]:
    """``build`` of the index of ``field`` over ``(id, record)`` pairs: a record's value
    (each element of a tuple; none for ``None``) under its id. The one pass a start-up
    makes over every record of a table, per field, written out: at 100,000 records in
    memory it took 0.3 s through ``build`` and a generator of pairs."""
    value_of = attrgetter(field)
    lists: dict[Any, list[str]] = {}
    get = lists.get
    for rid, rec in records:
        value = value_of(rec)
        if value is None:
            continue
        if type(value) is tuple:
            for item in value:
                found = get(item)
                if found is None:
                    lists[item] = [rid]
                else:
                    found.append(rid)
            continue
        found = get(value)
        if found is None:
            lists[value] = [rid]
        else:
            found.append(rid)
    return sealed(lists)
