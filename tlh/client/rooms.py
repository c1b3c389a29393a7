"""The API rows of issue 4 (rooms, sessions, call-links, reports) and the event stream.

Kept apart from ``api.py`` so each file holds one concept; ``TlhClient`` inherits them.
The event stream (``events.py``) is a websocket over the same transport as every
request (``websocket.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from tlh.domain.rooms import RoomEntry
from tlh.domain.sessions import SessionSegment

from .base import BaseClient, _fields, _q, _seg
from .events import Backoff, EventStream
from .events import StaffEvent as StaffEvent  # its home was here: old imports keep working


class EntryView(RoomEntry, frozen=True, kw_only=True):
    """A room entry as staff see it: the entry plus who it is and its place in line."""

    label: str = ""
    position: int | None = None
    consent: str | None = None


class RoomView(msgspec.Struct, frozen=True, kw_only=True):
    """One clinician's room: presence, open sessions and live entries (oldest first)."""

    clinician_id: str
    name: str = ""
    presence: str = "offline"
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


class CallLink(msgspec.Struct, frozen=True, kw_only=True):
    """A one-time login link to the clinician's call page (``https://HOST/c#TOKEN``)."""

    url: str
    expires_at: datetime | None = None


class SessionStarted(msgspec.Struct, frozen=True, kw_only=True):
    """A session segment just opened, and the call-link to the clinician's page."""

    session: SessionSegment
    url: str


class RoomsApi(BaseClient):
    """Waiting rooms, sessions, call-links and reports (docs/API.md, issue 4)."""

    # -- rooms ----------------------------------------------------------------

    async def rooms(self, clinician: str | None = None) -> Rooms:
        """Rooms (the caller's own for a clinician, all for admins) and the shared queue."""
        return await self._get(Rooms, "GET", "/api/v1/rooms" + _q({"clinician": clinician}))

    async def room_admit(self, entry_id: str, approve_second_device: bool = False) -> EntryView:
        """Let one person in; 409 when someone else admitted them first."""
        data = {"approve_second_device": True} if approve_second_device else {}
        path = f"/api/v1/rooms/entries/{_seg(entry_id)}/admit"
        return await self._get(EntryView, "POST", path, data)

    async def room_admit_all(self, clinician: str | None = None) -> AdmittedAll:
        """Let in everyone waiting in a room (the caller's by default)."""
        data = _fields({"clinician": clinician})
        return await self._get(AdmittedAll, "POST", "/api/v1/rooms/admit-all", data)

    async def room_deny(self, entry_id: str, message: str | None = None) -> EntryView:
        """Turn someone away, optionally with a message."""
        path = f"/api/v1/rooms/entries/{_seg(entry_id)}/deny"
        return await self._get(EntryView, "POST", path, _fields({"message": message}))

    async def room_return(self, entry_id: str) -> EntryView:
        """Send someone in the call back to the waiting room (first in line)."""
        path = f"/api/v1/rooms/entries/{_seg(entry_id)}/return"
        return await self._get(EntryView, "POST", path, {})

    async def room_message(self, entry_id: str, text: str) -> None:
        """A message to one waiting person."""
        path = f"/api/v1/rooms/entries/{_seg(entry_id)}/message"
        await self._call("POST", path, {"text": text})

    async def room_message_all(self, text: str, clinician: str | None = None) -> SentCount:
        """A message to everyone waiting in a room."""
        data = _fields({"text": text, "clinician": clinician})
        return await self._get(SentCount, "POST", "/api/v1/rooms/message", data)

    async def room_transfer(self, entry_id: str, to: str) -> EntryView:
        """Move a waiting person to another clinician's room (keeps their arrival time)."""
        path = f"/api/v1/rooms/entries/{_seg(entry_id)}/transfer"
        return await self._get(EntryView, "POST", path, {"to": to})

    async def room_next(self, clinician: str | None = None) -> EntryView:
        """Admit the next person: the caller's room first, else the shared queue."""
        data = _fields({"clinician": clinician})
        return await self._get(EntryView, "POST", "/api/v1/rooms/next", data)

    async def room_presence(self, presence: str) -> RoomView:
        """What the caller's waiting clients see: online, late or busy."""
        return await self._get(RoomView, "POST", "/api/v1/rooms/presence", {"presence": presence})

    # -- sessions and call-links ---------------------------------------------

    async def session_start(
        self, appointment_id: str | None = None, room: bool = False
    ) -> SessionStarted:
        """Open a session segment (409 ``not_eligible`` lists every blocking reason)."""
        data: dict[str, Any] = {"room": True} if room else {"appointment_id": appointment_id}
        return await self._get(SessionStarted, "POST", "/api/v1/sessions", data)

    async def session_end(self, session_id: str) -> SessionSegment:
        """End a segment: everyone in it is taken out; waiting entries stay."""
        path = f"/api/v1/sessions/{_seg(session_id)}/end"
        return await self._get(SessionSegment, "POST", path, {})

    async def sessions(
        self, day: date | str | None = None, clinician: str | None = None
    ) -> list[SessionSegment]:
        """Session segments of a day (default: the server's choice, today)."""
        query = _q({"date": day, "clinician": clinician})
        return await self._items(SessionSegment, "/api/v1/sessions" + query)

    async def call_link(self, appointment_id: str | None = None) -> CallLink:
        """A one-time login link to the clinician's call page (valid 2 minutes)."""
        data = _fields({"appointment_id": appointment_id})
        return await self._get(CallLink, "POST", "/api/v1/call-links", data)

    # -- reports --------------------------------------------------------------

    async def report(
        self,
        name: str,
        from_: date | str,
        to: date | str,
        clinician: str | None = None,
    ) -> list[dict[str, Any]]:
        """``sessions`` or ``attendance`` rows of a date range (inclusive)."""
        query = _q({"from": from_, "to": to, "clinician": clinician, "format": "json"})
        return await self._items(dict, f"/api/v1/reports/{_seg(name)}" + query)

    async def report_csv(
        self, name: str, from_: date | str, to: date | str, clinician: str | None = None
    ) -> bytes:
        """The same report as a CSV file."""
        query = _q({"from": from_, "to": to, "clinician": clinician, "format": "csv"})
        return await self._call("GET", f"/api/v1/reports/{_seg(name)}" + query)

    # -- the event stream -----------------------------------------------------

    def events(self, *, dashboard: bool = False, backoff: Backoff | None = None) -> EventStream:
        """Staff events as they happen, reconnecting by itself (``tlh.client.events``).

        ``dashboard=True`` marks the stream as this user's dashboard: opening another
        one elsewhere supersedes it (``Superseded``, then the end). A refused token
        ends it with ``SignedOut``.
        """
        from .websocket import WebSocket  # wsproto (~15 ms): only event streams pay for it

        target = "/api/v1/events" + ("?dashboard=1" if dashboard else "")
        headers = [("Authorization", f"Bearer {self._token}")]
        return EventStream(
            lambda: WebSocket.connect(self._transport, target, headers), backoff=backoff
        )
