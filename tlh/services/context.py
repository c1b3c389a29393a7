"""What every use case is handed: the store, the audit log, the event bus, the clock."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import msgspec

from tlh.domain.audience import Audience, Shown
from tlh.domain.models import Policy, Role, Staff, roles_of
from tlh.services.ephemeral import CodeStore
from tlh.services.one_time_codes import OneTimeCodes
from tlh.store.base import Repository


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is acting, for permission checks and the audit log (ids only, never names)."""

    #: ``client`` / ``contact``: a client, or a caregiver for them, acting themselves
    #: (a one-tap link of theirs, the portal); ``id`` is the client's or the contact's.
    kind: Literal["staff", "system", "client_link", "client", "contact"]
    id: str
    role: Role | None = None
    source: str = ""  # remote address
    #: An admin who also sees clients (``Staff.also_clinician``): both roles' checks pass.
    also_clinician: bool = False

    @property
    def roles(self) -> frozenset[Role]:
        """Every role the actor holds (none for the system and client links)."""
        return roles_of(self.role, self.also_clinician)

    @property
    def is_clinician(self) -> bool:
        """The actor sees clients of their own (their room, their sessions)."""
        return Role.CLINICIAN in self.roles


def staff_actor(staff: Staff, source: str = "") -> Actor:
    """The staff member as the one acting (their role, and clinician too if they are)."""
    return Actor(
        kind="staff",
        id=staff.id,
        role=staff.role,
        source=source,
        also_clinician=staff.also_clinician,
    )


SYSTEM = Actor(kind="system", id="system")


class AuditSink(Protocol):
    async def append(self, actor: Actor, action: str, target: str) -> None:
        """Durably record that ``actor`` did ``action`` to record id ``target``."""
        ...

    async def append_many(self, actor: Actor, action: str, targets: Sequence[str]) -> None:
        """One entry per target, written and fsynced as one batch (bulk imports)."""
        ...


class EventSink(Protocol):
    def publish(
        self, type: str, data: dict[str, Any], audience: Audience, shown: Shown | None = None
    ) -> None:
        """Push an event (ids and states in ``data``) to the subscribed staff in
        ``audience``; ``shown`` adds more (a name) for part of them."""
        ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A short, unguessable record id like ``apt_3fK9...`` (no PHI, safe in URLs)."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


@dataclass(frozen=True)
class Context:
    store: Repository
    audit: AuditSink
    events: EventSink
    clock: Callable[[], datetime] = utcnow
    #: One-time codes awaiting their message (made by the outbox worker, checked by the
    #: portal's sign-in and the identity check): in memory, or in the shared database
    #: when several servers share the store; shared through the context.
    codes: CodeStore = field(default_factory=OneTimeCodes, compare=False, repr=False)

    def reading_once(self) -> contextlib.AbstractContextManager[None]:
        """A unit of work that reads the same few records in several places (a waiting
        client's hello): within it the store is asked for each once
        (``Repository.reading_once``)."""
        return self.store.reading_once()

    def policy(self) -> Policy:
        """The practice's policy (kept in memory by every store: no read to await)."""
        found = self.store.policy()
        if found is None:
            raise RuntimeError("the data dir has no practice; run `tlh init`")
        return found
