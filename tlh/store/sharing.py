"""Values the embedded store's records repeat, kept once in memory.

Decoding a month file makes a new object of every value: the clinician's id on each of
their 800 appointments of the month, the same start time on 40 clinicians' visits, the
appointment's id again on its link, its messages, its confirm and cancel links and its
session, ``system`` on every link the server made, a message's creation and sending
time that are one instant. A ``Pool`` used while months are loaded gives each record the
first equal value it met instead, so the others are freed. The pool lives as long as one
load (a start-up, a month taken in) and no longer: it holds no value past the records
that share it, and records committed one by one later keep their own (until the next
start-up).

Sharing changes no value: the fields shared are declared ``str`` or tuples of ``str``
(which decode as exactly that), and a date is shared only with an equal one in UTC (an
equal instant in another zone is another value).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from itertools import chain, compress, repeat
from operator import and_, attrgetter, eq, is_
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class Plan:
    """What a table's records share: ``ids`` (fields of ``str``, ``str | None`` or tuples
    of ``str``: other records' ids, a few fixed words), ``dates`` (dates several records
    hold: a visit's start), ``same`` (pairs of dates of one record that are often one
    instant: the second takes the first's object), ``inner`` (a field holding a tuple of
    structs, and what those share)."""

    ids: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    same: tuple[tuple[str, str], ...] = ()
    inner: tuple[tuple[str, Plan], ...] = ()
    #: Of ``ids``, tuple fields whose elements later records' ``str`` fields share: an
    #: appointment's client, the same id on its link, messages and call.
    members: tuple[str, ...] = ()


#: By table split by month (``tlh.store.partitions``), loaded in that order: an
#: appointment's id is met before its link's, messages' and session's copies of it, a
#: link's id after its messages' (sharing theirs). Token digests, idempotency keys and
#: bodies are each record's alone.
PLANS: dict[str, Plan] = {
    "appointments": Plan(
        ids=("id", "clinician_ids", "client_ids", "series_id"),
        dates=("start", "created_at"),
        same=(("created_at", "updated_at"),),
        members=("clinician_ids", "client_ids"),
    ),
    "links": Plan(
        ids=("id", "client_id", "appointment_id", "clinician_id", "created_by"),
        dates=("valid_from", "valid_until", "created_at"),
    ),
    "action_links": Plan(ids=("appointment_id", "client_id"), dates=("valid_until", "created_at")),
    "messages": Plan(
        ids=("to", "subject", "html", "appointment_id", "client_id", "link_id", "action_link_ids"),
        same=(("created_at", "next_attempt_at"), ("created_at", "sent_at")),
    ),
    "sessions": Plan(
        ids=("appointment_id", "clinician_id", "started_by", "ended_by"),
        dates=("started_at",),
        same=(("started_at", "ended_at"),),
        # Who took part: the clinician and the client again, the words "staff",
        # "client" and "email", the clinician joining as the call starts.
        inner=(
            (
                "participants",
                Plan(
                    ids=("peer_id", "kind", "client_id", "contact_id", "staff_id", "channel"),
                    dates=("joined_at", "left_at"),
                ),
            ),
        ),
    ),
}


class Pool:
    """The values met so far in one load (see the module doc)."""

    __slots__ = ("_dates", "_values")

    def __init__(self) -> None:
        self._values: dict[object, object] = {}
        #: Dates by their JSON text (``_texts``).
        self._dates: dict[bytes, object] = {}

    def share(self, table: str, records: list[msgspec.Struct]) -> None:
        """Give each of ``records`` the pool's copy of each of its values an earlier
        record held too (equal, and of the same type: whoever else holds the record sees
        no change). Field by field, in passes the interpreter runs in C where it can: a
        loop over records and fields was 3 us a record."""
        plan = PLANS.get(table)
        if plan is not None and records:
            self._share(plan, records)

    def _share(self, plan: Plan, records: list[msgspec.Struct]) -> None:
        setdefault, put = self._values.setdefault, msgspec.structs.force_setattr
        for field in plan.ids:
            values = list(map(attrgetter(field), records))
            shared: list[Any] = list(map(setdefault, values, values))
            deque(map(put, records, repeat(field), shared), maxlen=0)
            if field in plan.members:
                held: list[str] = list(chain.from_iterable(filter(None, shared)))
                deque(map(setdefault, held, held), maxlen=0)
        for field in plan.dates:  # a date in UTC, found by its text
            values = list(map(attrgetter(field), records))
            utc = list(map(is_, _zones(values), repeat(UTC)))
            dates, holders = list(compress(values, utc)), compress(records, utc)
            kept = map(self._dates.setdefault, _texts(dates), dates)
            deque(map(put, holders, repeat(field), kept), maxlen=0)
        for first, second in plan.same:  # one instant, in one zone
            a, b = list(map(attrgetter(first), records)), list(map(attrgetter(second), records))
            one = list(map(and_, map(eq, a, b), map(is_, _zones(a), _zones(b))))
            deque(map(put, compress(records, one), repeat(second), compress(a, one)), maxlen=0)
        for field, inner in plan.inner:
            items: list[msgspec.Struct] = [i for rec in records for i in getattr(rec, field)]
            if items:
                self._share(inner, items)


_dates = msgspec.json.Encoder()


def _texts(dates: list[Any]) -> list[bytes]:
    """Each date's JSON text (``"2026-12-04T09:00:00Z"``), from one encode: a date's own
    hash goes through its zone's offset and two ``timedelta``s, 260 ns, where encoding
    the list and hashing the bytes take 110 ns. Dates hold no comma."""
    if not dates:
        return []
    return _dates.encode(dates)[1:-1].split(b",")


def _zones(dates: list[Any]) -> Iterator[object]:
    """Each date's zone (``None`` for no date), in C."""
    return map(getattr, dates, repeat("tzinfo"), repeat(None))
