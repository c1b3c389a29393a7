"""The embedded store's tables that grow with the practice's history, split by month.

Each visit leaves records behind: the appointment, its reminders and invitations
(messages, about 2.5 a visit, each with its rendered bodies), the join links and one-tap
confirm/cancel links they carried, and the session segments of the call. A practice's
years of these would all sit in memory if the tables were loaded whole; split by month,
the store keeps the recent and future months in memory and leaves older ones on disk
(``tlh.store.coldmonths``), found through each month's key index
(``tlh.store.monthindex``) and the manifest's entry for it.

A table is split by the month of one of its record's instants (``month_of``). The
entry of a month says when its records stop mattering (``end_of``: an appointment's
end, a link's expiry, a session's end), so a query for what is current or recent
(``Repository.find(..., ending_after=...)``) leaves older months unread, and how many
of its records hold each value of a few small fields (``tallied``: a message's
status), so counting them reads no month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tlh.domain.action_links import ActionLink
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message, MessageStatus
from tlh.domain.models import Appointment
from tlh.domain.sessions import SessionSegment
from tlh.store.base import INDEXED
from tlh.store.busy import epoch
from tlh.store.calendar import month_key


class IdFilterSize:
    """Sizes of a table's id filter (``tlh.store.monthindex.IdFilter``)."""

    #: 2 MiB: 0.2 % false hits at a million keys, 4 % at 2.5 million.
    DEFAULT = 2 << 20
    #: 4 MiB, for messages: their ids and idempotency keys, 5 million at a million visits.
    DOUBLE = 4 << 20


#: An end that has not come (a session still open): such a month is never left unread,
#: and stays in memory (``still_live``).
FOREVER = 1 << 62
#: Months back from the current one that a visit's trail (messages, links, sessions)
#: keeps in memory: this one alone. An earlier month stays too while it holds a record
#: still live (``FOREVER``: a message not yet sent, a call not yet ended); once all its
#: records have ended, it is read from disk by the reads that reach back (a report, the
#: last four weeks' visit lengths), a month at a time.
TRAIL_HOT = 0
#: Months back from the current one whose appointments stay in memory
#: (``TinyStore.hot_months``, ``[store] hot_months``): this one alone (and all to come),
#: as a visit's trail. The year a clinician's scope looks back over is answered from the
#: months' key indexes (``Pairs``); a day's list or a report of an older month reads
#: that month from disk (then cached).
DEFAULT_HOT_MONTHS = 0


@dataclass(frozen=True, slots=True)
class Pairs:
    """Two tuple fields whose every pairing of values a month's key index holds too (an
    appointment's client and clinician: "did they meet that month?"), and the instant
    of the record that a question about them counts from."""

    first: str
    second: str
    #: Epoch seconds of the record's instant (an appointment's start).
    at: Callable[[Any], int]

    @property
    def field(self) -> str:
        """The name the key index files the pairs under (no real field has an ``&``)."""
        return f"{self.first}&{self.second}"


@dataclass(frozen=True, slots=True)
class Partitioning:
    """How one table is split into months."""

    table: str
    #: The record's month, ``YYYY-MM`` (UTC).
    month_of: Callable[[Any], str]
    #: Epoch seconds from which the record no longer "ends after" anything.
    end_of: Callable[[Any], int]
    #: The fields whose values each month's key index holds: the id and the table's
    #: indexed fields (``tlh.store.base.INDEXED``).
    fields: tuple[str, ...]
    #: Fields of few values whose count per value each month's entry keeps.
    tallied: tuple[str, ...] = ()
    #: Months back from the current one kept in memory, when fewer than the store's
    #: ``hot_months`` (``None``: as many). A visit's trail is read around the visit.
    hot_back: int | None = None
    #: Fields whose every stored value the table's id filter holds too, so looking up a
    #: new one (a message's idempotency key, a wrong link's token) opens no month's index.
    filtered: tuple[str, ...] = ()
    #: The id filter's bytes: about 8 bits a key for 4 % false hits.
    filter_size: int = IdFilterSize.DEFAULT
    #: Pairs of fields whose pairings each month's key index holds (``Pairs``).
    pairs: Pairs | None = None
    #: Whether a month in memory with no record still live (``still_live``) is taken in
    #: just after the store opens instead of before (``TinyStore.warmed``): what the
    #: first requests ask for (the day's visits, a client's join link, the outbox's
    #: queue, a call still open) is in memory when the server answers; a visit's finished
    #: trail (messages sent, calls ended, confirm and cancel links) follows, a read of it
    #: meanwhile going to its file. At a month's end that trail is 40 % of the records
    #: in memory at a million visits stored.
    warm_later: bool = False

    def filter_keys(self, rid: str, record: Any) -> list[str]:
        """What the id filter holds of a record: its id and its filtered fields' values."""
        keys = [rid]
        for field in self.filtered:
            value = getattr(record, field)
            if value is not None:
                keys.append(filter_key(field, value))
        return keys

    @property
    def directory(self) -> str:
        """The table's folder under ``db/``."""
        return self.table

    def file(self, month: str) -> str:
        """A month's table file, relative to ``db/``."""
        return f"{self.table}/{month}.json"

    def index_file(self, month: str) -> str:
        """A month's key index, relative to ``db/``."""
        return f"{self.table}/{month}.idx"

    @property
    def id_filter(self) -> str:
        """The table's id filter, relative to ``db/``."""
        return f"{self.table}.bloom"


def still_live(last_end: int) -> bool:
    """Whether a month whose records end by ``last_end`` (its manifest entry's) holds one
    that has not ended: it stays in memory whatever its age."""
    return last_end >= FOREVER


def filter_key(field: str, value: object) -> str:
    """The id filter's key for ``field == value`` (no id holds a NUL)."""
    return f"{field}\0{value}"


def _appointment_end(apt: Appointment) -> int:
    return epoch(apt.start) + max(apt.duration_min, 0) * 60


def _message_end(message: Message) -> int:
    if message.status in (MessageStatus.QUEUED, MessageStatus.SENDING):
        return FOREVER
    return epoch(message.sent_at or message.created_at)


def _session_end(segment: SessionSegment) -> int:
    return FOREVER if segment.ended_at is None else epoch(segment.ended_at)


def _split(
    table: str,
    month_of: Callable[[Any], datetime],
    end_of: Callable[[Any], int],
    *,
    tallied: tuple[str, ...] = (),
    hot_back: int | None = TRAIL_HOT,
    filtered: tuple[str, ...] = (),
    filter_size: int = IdFilterSize.DEFAULT,
    pairs: Pairs | None = None,
    warm_later: bool = False,
) -> Partitioning:
    return Partitioning(
        table=table,
        month_of=lambda rec: month_key(month_of(rec)),
        end_of=end_of,
        fields=("id", *INDEXED[table]),
        tallied=tallied,
        hot_back=hot_back,
        filtered=filtered,
        filter_size=filter_size,
        pairs=pairs,
        warm_later=warm_later,
    )


def _expiry(link: JoinLink | ActionLink) -> int:
    return epoch(link.valid_until)


#: The tables split by month, and how. Appointments stay in memory from
#: ``TinyStore.hot_months`` back; a clinician's scope looks back further, over the
#: pairings of client and clinician each month's key index holds (``Pairs``). A visit's
#: trail is read around the visit: a message by the outbox (queued ones, all recent) and
#: by the reminders of a visit due now; a link or a confirm/cancel link until it expires
#: (so they are split by the month they expire in: every one that still works is in
#: memory); a session segment while it is open and by the day's lists. Their older months
#: are read only by reports and searches of the past. An email's bodies weigh 4 kB, a
#: visit's trail about 12 kB: kept for 13 months, that was 1.3 GB at 7,000 visits a month.
PARTITIONED: dict[str, Partitioning] = {
    p.table: p
    for p in (
        _split(
            "appointments",
            lambda a: a.start,
            _appointment_end,
            hot_back=None,
            pairs=Pairs("client_ids", "clinician_ids", lambda a: epoch(a.start)),
        ),
        _split(
            "messages",
            lambda m: m.created_at,
            _message_end,
            tallied=("status",),
            filtered=("idempotency_key",),
            filter_size=IdFilterSize.DOUBLE,
            warm_later=True,
        ),
        _split("links", lambda lk: lk.valid_until, _expiry, filtered=("token_hash",)),
        _split(
            "action_links",
            lambda a: a.valid_until,
            _expiry,
            filtered=("token_hash",),
            warm_later=True,
        ),
        _split("sessions", lambda s: s.started_at, _session_end, warm_later=True),
    )
}
