"""Waiting rooms as staff see and run them: views, admitting, messages, moves."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from tlh.domain.consent import ConsentState
from tlh.domain.rooms import Presence, RoomEntry
from tlh.domain.sessions import SessionSegment


class EntryView(RoomEntry, frozen=True, kw_only=True):
    """A room entry as staff see it: the entry plus who it is and its place in line."""

    #: The client's name, "Caregiver of <client name>", or the guest's typed name.
    label: str = ""
    #: 1-based place in line while waiting, else ``None``.
    position: int | None = None
    #: The client's consent state (``None`` for guests).
    consent: ConsentState | None = None
    #: Waiting more than 10 minutes before their own appointment's start.
    early: bool = False


class RoomView(msgspec.Struct, frozen=True, kw_only=True):
    """One clinician's room: presence, open sessions and live entries (oldest first)."""

    clinician_id: str
    name: str = ""
    presence: Presence = Presence.OFFLINE
    waiting_room: bool = True
    sessions: list[SessionSegment] = msgspec.field(default_factory=list)
    entries: list[EntryView] = msgspec.field(default_factory=list)


class Rooms(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/rooms``: the rooms the caller may see and the practice's shared queue."""

    items: list[RoomView] = msgspec.field(default_factory=list)
    queue: list[EntryView] = msgspec.field(default_factory=list)


class AdmittedAll(msgspec.Struct, frozen=True, kw_only=True):
    """Entries let in by one admit-all (second-device entries stay waiting)."""

    admitted: list[EntryView] = msgspec.field(default_factory=list)


class SentCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many waiting people a room message reached."""

    sent: int


class Admit(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/entries/{id}/admit``."""

    approve_second_device: bool = False


class RoomChoice(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/admit-all`` and ``/next``: the room (id or email); the
    caller's own when left out."""

    clinician: str | None = None


class Deny(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/entries/{id}/deny``, optionally with a message."""

    message: str | None = None


class EntryMessage(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/entries/{id}/message`` (at most 500 characters)."""

    text: str


class RoomMessage(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/message``: to everyone waiting in the room."""

    text: str
    clinician: str | None = None


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/entries/{id}/transfer``: to another clinician (id or email)."""

    to: Annotated[str, msgspec.Meta(min_length=1)]


class PresenceChange(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/rooms/presence``: what the caller's waiting clients see."""

    presence: Literal["online", "late", "busy"]
