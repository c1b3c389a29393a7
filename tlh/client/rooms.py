"""Waiting rooms and calls: ``client.rooms``, ``client.sessions`` and ``client.reports``."""

from __future__ import annotations

import builtins
from datetime import date
from typing import Any

from tlh.api.envelope import Empty
from tlh.api.rooms import (
    Admit,
    AdmittedAll,
    Deny,
    EntryMessage,
    EntryView,
    PresenceChange,
    RoomChoice,
    RoomMessage,
    Rooms,
    RoomView,
    SentCount,
    Transfer,
)
from tlh.api.sessions import CallLink, CallLinkRequest, SessionStart, SessionStarted
from tlh.domain.sessions import SessionSegment

from .http import EMPTY, Part, build, query, seg


class RoomsApi(Part):
    """Waiting rooms: who is waiting, and letting them in, away or elsewhere."""

    async def list(self, clinician: str | None = None) -> Rooms:
        """Rooms (the caller's own for a clinician, all for admins) and the shared queue."""
        path = "/api/v1/rooms" + query({"clinician": clinician})
        return await self._http.get(Rooms, "GET", path)

    async def admit(self, entry_id: str, approve_second_device: bool = False) -> EntryView:
        """Let one person in; 409 when someone else admitted them first."""
        path = f"/api/v1/rooms/entries/{seg(entry_id)}/admit"
        asked = Admit(approve_second_device=True) if approve_second_device else Empty()
        return await self._http.get(EntryView, "POST", path, asked)

    async def admit_all(self, clinician: str | None = None) -> AdmittedAll:
        """Let in everyone waiting in a room (the caller's by default)."""
        room = RoomChoice(clinician=clinician)
        return await self._http.get(AdmittedAll, "POST", "/api/v1/rooms/admit-all", room)

    async def deny(self, entry_id: str, message: str | None = None) -> EntryView:
        """Turn someone away, optionally with a message."""
        path = f"/api/v1/rooms/entries/{seg(entry_id)}/deny"
        return await self._http.get(EntryView, "POST", path, Deny(message=message))

    async def send_back(self, entry_id: str) -> EntryView:
        """Send someone in the call back to the waiting room (first in line)."""
        path = f"/api/v1/rooms/entries/{seg(entry_id)}/return"
        return await self._http.get(EntryView, "POST", path, EMPTY)

    async def message(self, entry_id: str, text: str) -> None:
        """A message to one waiting person."""
        path = f"/api/v1/rooms/entries/{seg(entry_id)}/message"
        await self._http.call("POST", path, EntryMessage(text=text))

    async def message_all(self, text: str, clinician: str | None = None) -> SentCount:
        """A message to everyone waiting in a room."""
        sent = RoomMessage(text=text, clinician=clinician)
        return await self._http.get(SentCount, "POST", "/api/v1/rooms/message", sent)

    async def transfer(self, entry_id: str, to: str) -> EntryView:
        """Move a waiting person to another clinician's room (keeps their arrival time)."""
        path = f"/api/v1/rooms/entries/{seg(entry_id)}/transfer"
        return await self._http.get(EntryView, "POST", path, Transfer(to=to))

    async def next(self, clinician: str | None = None) -> EntryView:
        """Admit the next person: the caller's room first, else the shared queue."""
        room = RoomChoice(clinician=clinician)
        return await self._http.get(EntryView, "POST", "/api/v1/rooms/next", room)

    async def set_presence(self, presence: str) -> RoomView:
        """What the caller's waiting clients see: online, late or busy."""
        change = build(PresenceChange, {"presence": presence})
        return await self._http.get(RoomView, "POST", "/api/v1/rooms/presence", change)


class SessionsApi(Part):
    """Session segments, and the call page's one-time login links."""

    async def start(self, appointment_id: str | None = None, room: bool = False) -> SessionStarted:
        """Open a session segment (409 ``not_eligible`` lists every blocking reason)."""
        asked = SessionStart(room=True) if room else SessionStart(appointment_id=appointment_id)
        return await self._http.get(SessionStarted, "POST", "/api/v1/sessions", asked)

    async def end(self, session_id: str) -> SessionSegment:
        """End a segment: everyone in it is taken out; waiting entries stay."""
        path = f"/api/v1/sessions/{seg(session_id)}/end"
        return await self._http.get(SessionSegment, "POST", path, EMPTY)

    async def list(
        self, day: date | str | None = None, clinician: str | None = None
    ) -> builtins.list[SessionSegment]:
        """Session segments of a day (default: the server's choice, today)."""
        asked = query({"date": day, "clinician": clinician})
        return await self._http.items(SessionSegment, "/api/v1/sessions" + asked)

    async def call_link(self, appointment_id: str | None = None) -> CallLink:
        """A one-time login link to the clinician's call page (valid 2 minutes)."""
        asked = CallLinkRequest(appointment_id=appointment_id)
        return await self._http.get(CallLink, "POST", "/api/v1/call-links", asked)


class ReportsApi(Part):
    """Session and attendance reports over local days (inclusive)."""

    async def rows(
        self, name: str, from_: date | str, to: date | str, clinician: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """``sessions`` or ``attendance`` rows (``SessionRow`` / ``AttendanceRow`` fields)."""
        asked = query({"from": from_, "to": to, "clinician": clinician, "format": "json"})
        return await self._http.items(dict, f"/api/v1/reports/{seg(name)}" + asked)

    async def csv(
        self, name: str, from_: date | str, to: date | str, clinician: str | None = None
    ) -> bytes:
        """The same report as a CSV file."""
        asked = query({"from": from_, "to": to, "clinician": clinician, "format": "csv"})
        return await self._http.call("GET", f"/api/v1/reports/{seg(name)}" + asked)
