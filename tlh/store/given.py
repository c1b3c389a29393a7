"""Memory keeps the record a caller gave, where the caller keeps it too.

A commit decodes what it wrote, so memory holds what a restart would read back
(``TinyStore.commit``). For most records that copy is the only one. A live waiting-room
entry is different: the rooms hold it as well, and its record (``RoomRecord``) is the
same entry, so the decoded copy was a second set of its ids and dates: about 880 bytes
of the ~20 kB a waiting page's connection costs the server (12 small objects; measured
with tracemalloc at 3,000 waiting). For the tables in ``SHARED`` the record given is
kept instead, but only when it is exactly what decoding gave: equal, and of the same
types all the way down (a date in another time zone, a plain string where an enum
decodes, a list where a tuple does: any of these and the decoded copy is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from tlh.store.base import Op, Put
from tlh.store.layout import Change

#: The tables whose records their callers keep live as well (the rooms' entries).
SHARED = frozenset({"room_entries"})


def keep_given(ops: Sequence[Op], changes: list[Change]) -> list[Change]:
    """``changes`` (decoded from ``ops``, in their order) with each record of a table in
    ``SHARED`` replaced by the one given, where the two are ``identical``."""
    out = changes
    for n, op in enumerate(ops):
        if not isinstance(op, Put) or op.table not in SHARED:
            continue
        table, id, decoded = changes[n]
        if decoded is not None and identical(op.record, decoded):
            if out is changes:
                out = list(changes)
            out[n] = (table, id, op.record)
    return out


#: Values equal in value are identical when their types are: nothing below to compare.
_ATOMS = frozenset({str, int, float, bool, bytes, type(None)})


def identical(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal and of the same types all the way down (an
    aware date's zone included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, msgspec.Struct):
        # Equal field by field first (in C); then only the fields' types are left to
        # check, and only non-atoms (dates, tuples, nested records) need a closer look.
        if a != b:
            return False
        for f in a.__struct_fields__:
            x, y = getattr(a, f), getattr(b, f)
            if x is y:
                continue
            kind = type(x)
            if kind is not type(y) or (kind not in _ATOMS and not identical(x, y)):
                return False
        return True
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(v, b[k]) for k, v in a.items())
    if isinstance(a, datetime):
        return (
            a == b
            and (a.tzinfo is b.tzinfo or type(a.tzinfo) is type(b.tzinfo))
            and (a.utcoffset() == b.utcoffset())
        )
    return bool(a == b)
