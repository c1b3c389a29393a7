"""Notifications: what an event says, about whom, and how many people are new.

Pure: ``DashboardState`` keeps the list; this turns one staff event into one line and
counts the people behind the unread ones ("3 new" meant three notifications, which
was one client whose consent landed, whose link was opened and who arrived).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tlh.api.events import StaffEvent
from tlh.api.rooms import EntryView

#: Notification wording per event type; ids only ever reach the model from the server.
SAYS = {
    "room.joined": "arrived",
    "room.left": "left",
    "room.reconnected": "reconnected",
    "room.admitted": "admitted",
    "room.denied": "denied",
    "room.returned": "sent back to the waiting room",
    "room.transferred": "transferred",
    "session.started": "session started",
    "session.ended": "session ended",
    "consent.accepted": "consent accepted",
    "consent.declined": "consent declined",
    "consent.revoked": "consent revoked",
    "message.failed": "message could not be sent",
    "link.redeemed": "opened their join link",
    # A client (or their contact) did it: a one-tap link of the reminder, the portal.
    "appointment.confirmed": "confirmed their appointment",
    "appointment.cancelled": "cancelled their appointment",
    "appointment.self_booked": "booked an appointment in the portal",
    "reschedule.requested": "asked to move their appointment (tlh reschedule list)",
    "reschedule.decided": "their request to move was decided",
}

#: Event types about who is in a room: a ``room.*`` event about an entry carries the
#: entry's view (as ``GET /rooms`` shows it) when this staff member may see its room.
ROOM_CHANGES = ("room.", "session.")

#: Events that are only notifications: they change nobody's place in a room.
NOTICES = frozenset(SAYS) - {k for k in SAYS if k.startswith(ROOM_CHANGES)}

#: Who a notification is about when nothing names them (never an id or a token).
SOMEONE = "a client"


def clean(value: object) -> str:
    """A server string as one safe display line: control characters are dropped."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch.isprintable())


@dataclass(frozen=True)
class Notification:
    """One line of the notification list; the ids say who it is about, when known."""

    at: datetime | None
    kind: str
    entry_id: str | None
    text: str
    client_id: str | None = None
    appointment_id: str | None = None


def event_id(data: Mapping[str, object], key: str) -> str | None:
    """An id field of an event's data, if it is a string."""
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def notice_for(event: StaffEvent, entries: Mapping[str, EntryView]) -> Notification:
    """The notification for one event; the person's ids, as far as they are known."""
    data = event.data
    entry_id = event_id(data, "entry_id")
    entry = entries.get(entry_id) if entry_id else None
    text = SAYS.get(event.type, event.type)
    if event.type == "message.failed":
        kind = clean(data.get("kind") or "message").replace("_", " ")
        text = f"{kind} by {clean(data.get('channel'))} could not be sent"
    if event.type == "appointment.cancelled" and data.get("late") is True:
        text = "cancelled their appointment late (late cancellation)"
    if (
        event.type in ("appointment.confirmed", "appointment.cancelled")
        and data.get("by") == "contact"
    ):
        text = f"{text} (through their contact)"
    if event.type == "reschedule.decided":
        text = f"their request to move was {clean(data.get('state'))}"
    appointment_id = event_id(data, "appointment_id")
    if event.type.startswith("appointment."):
        appointment_id = event_id(data, "id")
    shown = data.get("entry")
    shown_client = event_id(shown, "client_id") if isinstance(shown, dict) else None
    return Notification(
        event.at,
        event.type,
        entry_id,
        text,
        client_id=event_id(data, "client_id")
        or (entry.client_id if entry else None)
        or shown_client,
        appointment_id=appointment_id,
    )


def people(notes: Iterable[Notification], entries: Mapping[str, EntryView]) -> int:
    """How many people ``notes`` are about: one client's consent, link and arrival are
    one person; a note that names nobody counts on its own."""
    seen: set[str] = set()
    nameless = 0
    for note in notes:
        entry = entries.get(note.entry_id) if note.entry_id else None
        client = note.client_id or (entry.client_id if entry else None)
        key = client or note.entry_id or note.appointment_id
        if key is None:
            nameless += 1
        else:
            seen.add(key)
    return len(seen) + nameless
