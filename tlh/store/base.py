"""The narrow repository interface the services use.

Everything the services know about persistence is here, so a practice that outgrows
one machine can swap the TinyDB store for another without touching them.

Reads are synchronous and served from memory (indexes beside the tables). Writes are
one ``commit()`` of a batch of puts and deletes: durable (fsynced) and atomic (all
or nothing, even across a kill -9) before it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import msgspec

from tlh.domain.consent import ConsentRecord
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message
from tlh.domain.models import (
    Appointment,
    AvailabilityBlock,
    Client,
    Policy,
    Staff,
    StaffToken,
)
from tlh.domain.sessions import SessionSegment

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
}

#: Fields with an in-memory index (value -> ids). ``None`` values are not indexed.
INDEXED: dict[str, tuple[str, ...]] = {
    "staff": ("email",),
    "tokens": ("hash", "staff_id"),
    "clients": ("external_id", "email"),
    "appointments": ("external_id", "series_id"),
    "availability": ("clinician_id",),
    "links": ("token_hash", "appointment_id", "client_id"),
    "consents": ("client_id", "link_id"),
    "messages": ("idempotency_key", "status", "appointment_id"),
    "sessions": ("appointment_id", "clinician_id"),
}

#: The policy table holds one record under this id.
POLICY_ID = "practice"

S = TypeVar("S", bound=msgspec.Struct)


class Put(msgspec.Struct, frozen=True):
    """Insert or replace ``record`` (which has an ``id``) in ``table``."""

    table: str
    record: msgspec.Struct


class Delete(msgspec.Struct, frozen=True):
    table: str
    id: str


Op = Put | Delete


class Repository(Protocol):
    """What the services may ask of the store."""

    def get(self, table: str, id: str) -> msgspec.Struct | None:
        """The record with ``id``, or ``None``."""
        ...

    def all(self, table: str) -> Iterable[msgspec.Struct]:
        """Every record of a table (small tables; use the range query for appointments)."""
        ...

    def find(self, table: str, field: str, value: object) -> list[msgspec.Struct]:
        """Records whose indexed ``field`` equals ``value`` (see ``INDEXED``)."""
        ...

    def appointments_between(
        self, start: datetime, end: datetime, clinician_id: str | None = None
    ) -> list[Appointment]:
        """Appointments overlapping UTC [start, end), optionally of one clinician, by start."""
        ...

    def count(self, table: str) -> int: ...

    async def commit(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` durably and atomically; reads see them once this returns."""
        ...

    async def update(
        self, table: str, id: str, change: Callable[[msgspec.Struct | None], msgspec.Struct | None]
    ) -> msgspec.Struct | None:
        """Read-modify-write one record with no other ``update`` of it in between.

        ``change`` gets the record as stored (or ``None``) and returns the new one, or
        ``None``/the same object to write nothing; the record as stored after is returned.
        Reads see a commit only once it is durable, so two read-then-commit sequences on
        one record could each miss the other's write; updates of one record queue instead.
        """
        ...
