"""The narrow repository interface the services use.

Everything the services know about persistence is here, so a practice that outgrows
one machine can swap the TinyDB store for another without touching them.

Reads are async (a database backend goes to the database; the embedded store answers
from memory, indexes beside the tables), typed by the record type. Writes are
one ``commit()`` of a batch of puts and deletes with the audit notes that record it:
durable (fsynced) and atomic (all or nothing, the change and its audit entries alike,
even across a kill -9) before it returns. A commit without a note for every record it
writes is refused, so no change can reach the store unaudited.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from tlh.domain.action_links import ActionLink
from tlh.domain.consent import ConsentRecord
from tlh.domain.links import JoinLink
from tlh.domain.live_records import (
    LinkSession,
    PortalSeen,
    PortalSession,
    RoomRecord,
    StaffPageSession,
)
from tlh.domain.locations import LastLocation
from tlh.domain.messages import Message
from tlh.domain.models import (
    Appointment,
    AvailabilityBlock,
    Client,
    Policy,
    Staff,
    StaffToken,
)
from tlh.domain.passkeys import PortalPasskey
from tlh.domain.reschedule import RescheduleRequest
from tlh.domain.sessions import SessionSegment
from tlh.errors import InvalidInput
from tlh.store.auditentry import ACTION_SHAPE, ID_SHAPE, ActorLike, ActorRef, actor_ref
from tlh.store.auditverify import VerifyResult

TableName = Literal[
    "policy",
    "staff",
    "tokens",
    "clients",
    "appointments",
    "availability",
    "links",
    "consents",
    "messages",
    "sessions",
    "link_sessions",
    "staff_sessions",
    "room_entries",
    "action_links",
    "portal_sessions",
    "portal_seen",
    "portal_passkeys",
    "reschedule_requests",
    "locations",
]

#: The record type of each table. Later issues add tables here (links, consents, ...).
TABLES: dict[str, type[msgspec.Struct]] = {
    "policy": Policy,
    "staff": Staff,
    "tokens": StaffToken,
    "clients": Client,
    "appointments": Appointment,
    "availability": AvailabilityBlock,
    "links": JoinLink,
    "consents": ConsentRecord,
    "messages": Message,
    "sessions": SessionSegment,
    # Live visits that outlive a restart (tlh.domain.live_records).
    "link_sessions": LinkSession,
    "staff_sessions": StaffPageSession,
    "room_entries": RoomRecord,
    # One-tap confirm/cancel links of reminders (tlh.domain.action_links).
    "action_links": ActionLink,
    # The client portal (issue 13).
    "portal_sessions": PortalSession,
    "portal_seen": PortalSeen,
    "portal_passkeys": PortalPasskey,
    # A client's request to move a visit (issue 13, p-slots).
    "reschedule_requests": RescheduleRequest,
    # The last location each client or contact gave (policy ``ask_location``).
    "locations": LastLocation,
}

#: Fields with an in-memory index (value -> ids). ``None`` values are not indexed; a
#: tuple-valued field (``client_ids``) is indexed by each of its elements, so ``find``
#: gives the records whose tuple holds the value.
INDEXED: dict[str, tuple[str, ...]] = {
    "staff": ("email",),
    "tokens": ("hash", "staff_id"),
    "clients": ("external_id", "email"),
    "appointments": ("external_id", "series_id", "client_ids"),
    "availability": ("clinician_id",),
    "links": ("token_hash", "appointment_id", "client_id"),
    "consents": ("client_id", "link_id"),
    "messages": ("idempotency_key", "status", "appointment_id", "link_id"),
    "sessions": ("appointment_id", "clinician_id", "open_clinician_id"),
    "link_sessions": ("hash",),
    "staff_sessions": ("hash",),
    "action_links": ("token_hash", "appointment_id"),
    "portal_sessions": ("hash", "client_id", "contact_ids", "also_client_ids"),
    "portal_passkeys": ("credential_id", "client_id", "contact_ids", "also_client_ids"),
    "reschedule_requests": ("appointment_id", "state"),
}

#: The policy table holds one record under this id.
POLICY_ID = "practice"

S = TypeVar("S", bound=msgspec.Struct)


#: The table of each record type: the typed API names tables by their record type.
TABLE_OF: dict[type[msgspec.Struct], str] = {kind: name for name, kind in TABLES.items()}


def table_of(kind: type[msgspec.Struct]) -> str:
    """The table that holds records of ``kind`` (``InvalidInput`` for a type no table holds)."""
    try:
        return TABLE_OF[kind]
    except KeyError:
        raise InvalidInput(f"no table holds {kind.__name__} records") from None


class Put(msgspec.Struct, frozen=True):
    """Insert or replace ``record`` (which has an ``id``) in its type's table."""

    record: msgspec.Struct

    @property
    def table(self) -> str:
        return table_of(type(self.record))


class Delete(msgspec.Struct, frozen=True):
    """Remove the record of type ``kind`` with ``id``."""

    kind: type[msgspec.Struct]
    id: str

    @property
    def table(self) -> str:
        return table_of(self.kind)


Op = Put | Delete


class AuditNote(msgspec.Struct, frozen=True, kw_only=True):
    """What a commit records in the audit log: ``actor`` did ``action`` to ``targets``
    (record ids), from ``source`` (a network address). One entry per target."""

    actor: ActorRef
    source: str
    action: str
    targets: tuple[str, ...]


def note(actor: ActorLike, action: str, *targets: str) -> AuditNote:
    """The audit note of a change; refuses names, emails or anything that is not an id."""
    if not ACTION_SHAPE.fullmatch(action):
        raise InvalidInput("an audit action must be a dotted lower-case name")
    if not all(isinstance(t, str) and ID_SHAPE.fullmatch(t) for t in targets):
        raise InvalidInput("an audit target must be a record id")
    return AuditNote(
        actor=actor_ref(actor), source=actor.source or "", action=action, targets=targets
    )


def record_key(kind: type[msgspec.Struct], id: str) -> str:
    """The ``Repository.locked`` key of one record: holding it is what ``update`` does, so
    a change of several records can hold each of theirs and commit them together."""
    return f"{table_of(kind)}/{id}"


def op_id(op: Op) -> str:
    """The id of the record an op writes (the policy's is ``POLICY_ID``)."""
    if isinstance(op, Delete):
        return op.id
    return POLICY_ID if op.table == "policy" else str(getattr(op.record, "id", ""))


def note_ops(actor: ActorLike, action: str, ops: Sequence[Op]) -> AuditNote:
    """One note naming every record ``ops`` write (a seed, a restore, a bulk load)."""
    return note(actor, action, *dict.fromkeys(op_id(op) for op in ops))


def check_audited(ops: Sequence[Op], audit: Sequence[AuditNote]) -> None:
    """Refuse a commit whose notes do not name every record it writes.

    A programming error, not bad input: every path that changes data says who did what
    to which record, in the same commit.
    """
    named = {t for n in audit for t in n.targets}
    missing = sorted({op_id(op) for op in ops} - named)
    if missing:
        raise InvalidInput(
            f"a commit must audit every record it writes; no audit note names {missing[0]}"
        )


class AuditStore(Protocol):
    """The audit log a store owns: commits write their entries to it, the services append
    reads (``Context.audit``), admins read, export and verify it."""

    async def append(self, actor: ActorLike, action: str, target: str) -> None:
        """Durably record that ``actor`` did ``action`` to record id ``target``."""
        ...

    async def append_many(self, actor: ActorLike, action: str, targets: Sequence[str]) -> None:
        """One entry per target, written as one batch (bulk imports)."""
        ...

    async def barrier(self) -> None:
        """Return once every entry appended before the call is durable."""
        ...

    async def read(
        self, since: datetime | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Entries (oldest first) from ``since``, at most ``limit``."""
        ...

    def export(self) -> AsyncIterator[bytes]:
        """The whole log as JSON lines, in chunks."""
        ...


class Repository(Protocol):
    """What the services may ask of the store: every backend implements all of it and
    passes ``tests/store/contract``.

    Tables are named by their record type (``TABLES``): ``await store.get(Client, id)``
    is a ``Client | None``. Reads are async because a database backend goes to the
    database for them; the embedded store answers from memory.
    """

    @property
    def audit(self) -> AuditStore: ...

    @property
    def is_open(self) -> bool:
        """Whether the store is open for reads and commits (``/readyz``)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def policy(self) -> Policy | None:
        """The practice's one policy record, or ``None`` before ``tlh init``.

        Synchronous: every backend keeps this one small record in memory and refreshes
        it on every commit of it (a shared backend: on any server's commit of it).
        """
        ...

    async def get(self, kind: type[S], id: str) -> S | None:
        """The record of type ``kind`` with ``id``, or ``None``."""
        ...

    def reading_once(self) -> contextlib.AbstractContextManager[None]:
        """Within the block, the current task may be answered a record (``get``) or a
        ``find`` it already asked for without asking the database again (a commit on
        this server makes it ask again). For a short unit of work that reads the same
        few records in several places: a waiting client's hello. A store that answers
        from memory does nothing."""
        ...

    async def all(self, kind: type[S]) -> list[S]:
        """Every record of a table (small tables; use the range query for appointments)."""
        ...

    async def find(
        self, kind: type[S], field: str, value: object, *, ending_after: datetime | None = None
    ) -> list[S]:
        """Records whose indexed ``field`` equals ``value`` (or, for a tuple field, holds
        it; see ``INDEXED``), by id. ``ending_after`` (appointments): the caller needs
        only those ending after it, so a backend may leave older ones out (the embedded
        store does not read months on disk that end before it); it may return them too."""
        ...

    async def find_many(
        self,
        kind: type[S],
        field: str,
        values: Sequence[object],
        *,
        ending_after: datetime | None = None,
    ) -> dict[object, list[S]]:
        """``find`` of each of ``values`` (not ``None``) at once: a bulk read (an import,
        a reminder tick) costs one query, not one per row. Every value is a key of the
        answer. ``ending_after`` as for ``find``."""
        ...

    async def get_many(self, kind: type[S], ids: Sequence[str]) -> dict[str, S]:
        """The records of type ``kind`` among ``ids`` that exist, by id (one query)."""
        ...

    async def count(self, kind: type[S], field: str | None = None, value: object = None) -> int:
        """How many records of ``kind`` are stored; with ``field`` (indexed), how many
        hold ``value`` (not ``None``) in it: counting a message status over years of
        history reads no record."""
        ...

    async def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        """Appointments overlapping UTC [start, end), optionally of one clinician, by start."""
        ...

    async def busy_between(
        self, start: datetime, end: datetime, clinician_id: str
    ) -> list[tuple[int, int]]:
        """``(start, end)`` epoch seconds of the clinician's calendar entries that hold
        time (not cancelled; vacations and blackouts included) overlapping [start, end),
        by start: what open slots subtract."""
        ...

    async def clinicians_seen(self, client_id: str, since: datetime) -> set[str]:
        """The staff listed on any appointment of the client that starts at or after
        ``since`` (those to come included), whatever its status: whose client it is
        (``tlh.domain.scope``). Answered without reading a year of appointments."""
        ...

    async def verify_audit(self) -> VerifyResult:
        """Check the audit log (its chain, its head, and that every stored change has its
        entries): what ``tlh audit verify`` and ``GET /api/v1/audit/verify`` report."""
        ...

    async def commit(self, ops: Sequence[Op], *, audit: Sequence[AuditNote]) -> None:
        """Apply ``ops`` and record ``audit`` durably and atomically (see ``check_audited``);
        reads see them once this returns."""
        ...

    async def update(
        self,
        kind: type[S],
        id: str,
        change: Callable[[S | None], S | None],
        *,
        audit: Sequence[AuditNote],
    ) -> S | None:
        """Read-modify-write one record with no other ``update`` of it in between.

        ``change`` gets the record as stored (or ``None``) and returns the new one, or
        ``None``/the same object to write nothing (and audit nothing); the record as
        stored after is returned. Two read-then-commit sequences on one record could
        each miss the other's write; updates of one record queue instead (across
        servers too, for a shared backend).
        """
        ...

    def locked(self, *keys: str) -> AbstractAsyncContextManager[None]:
        """Hold ``keys`` until the block ends: no other holder of any of them runs
        meanwhile (on any server, for a shared backend), and reads inside see every
        commit of earlier holders.

        For a check and the commit that depends on it (no double booking, unique external
        ids: keys like ``schedule:stf_1``), or a change of several records at once (each
        one's ``record_key``, the key ``update`` holds): read, check, commit, all inside.
        """
        ...
