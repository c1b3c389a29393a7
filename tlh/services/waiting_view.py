"""What the waiting rooms say to pages: status frames, labels, names, messages.

Read-only helpers over the store for ``tlh.services.waiting``; nothing here changes
state. Frames carry ids, states and the clinician's name, never another client's.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from tlh.api.frames import StaffMessage, Status
from tlh.domain import rooms as rules
from tlh.domain.links import JoinLink
from tlh.domain.models import Appointment, Client, Staff
from tlh.domain.rooms import EntryState, Presence, RoomEntry
from tlh.domain.sessions import SessionSegment
from tlh.errors import InvalidInput
from tlh.services.context import Context

MAX_MESSAGE = 500
MAX_DISPLAY_NAME = 80

#: Per room: places in line by entry id, average visit minutes, clinician in a call.
Facts = tuple[dict[str, int], float | None, bool]


def clean_display_name(raw: object) -> str:
    """A guest's typed name without control characters, at most 80 characters."""
    if not isinstance(raw, str):
        return ""
    kept = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:MAX_DISPLAY_NAME]


async def room_of(ctx: Context, link: JoinLink) -> str | None:
    """The room a link enters: its clinician, else its appointment's first clinician,
    else the practice's shared queue (``None``)."""
    if link.clinician_id is not None:
        return link.clinician_id
    room, _ = await room_and_start(ctx, link)
    return room


async def room_and_start(ctx: Context, link: JoinLink) -> tuple[str | None, datetime | None]:
    """The room a link enters (``room_of``) and when its appointment starts (``None``
    for room links), from one read of the appointment: a new arrival needs both."""
    if link.appointment_id is None:
        return link.clinician_id, None
    appt = await ctx.store.get(Appointment, link.appointment_id)
    if appt is None:
        return link.clinician_id, None
    first = appt.clinician_ids[0] if appt.clinician_ids else None
    return link.clinician_id or first, appt.start


async def clinician_name(ctx: Context, link: JoinLink) -> str:
    """The name of the clinician whose room a link enters ("" for the shared queue)."""
    room = await room_of(ctx, link)
    staff = await ctx.store.get(Staff, room) if room else None
    return staff.name if staff is not None else ""


async def staff_name(ctx: Context, staff_id: str | None) -> str:
    staff = await ctx.store.get(Staff, staff_id) if staff_id else None
    return staff.name if staff is not None else "the waiting room"


async def call_label(ctx: Context, entry: RoomEntry) -> str:
    """What the other peers of a call see: a first name only. In a group session the
    other clients see the label too, and a full name there would tell strangers who is
    in treatment; staff see full names in their own views."""
    if entry.display_name:
        return entry.display_name
    client = await ctx.store.get(Client, entry.client_id) if entry.client_id else None
    if client is not None:
        if entry.contact_id:
            for contact in client.contacts:
                if contact.id == entry.contact_id:
                    return _first_name(contact.name)
            return f"Caregiver of {_first_name(client.name)}"
        return _first_name(client.name)
    return "Guest"


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else "Client"


def clean_message(text: str) -> str:
    """A staff message's text (``InvalidInput`` when empty or too long)."""
    if not text.strip():
        raise InvalidInput("text is required")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"text is longer than {MAX_MESSAGE} characters")
    return text


def message_frame(text: str, now: datetime) -> StaffMessage:
    """A staff message for a waiting page (``InvalidInput`` when empty or too long)."""
    return StaffMessage(text=clean_message(text), at=now)


#: How far back the visits go that a waiting person's estimate averages: the
#: clinician's recent habits. Early in a month that reaches the last month's segments,
#: on disk (``tlh.store.partitions``): one read of that month, then its cache.
AVERAGE_OVER = timedelta(days=28)


async def average_visit(ctx: Context, clinician_id: str) -> float | None:
    """Mean minutes of the clinician's segments that ended in the last four weeks
    (``None`` without any)."""
    since = ctx.clock() - AVERAGE_OVER
    found = await ctx.store.find(SessionSegment, "clinician_id", clinician_id, ending_after=since)
    minutes = [
        (s.ended_at - s.started_at).total_seconds() / 60
        for s in found
        if s.ended_at is not None and s.ended_at > since and not s.self_test
    ]
    return sum(minutes) / len(minutes) if minutes else None


def status_frame(
    entry: RoomEntry,
    *,
    clinician_name: str,
    presence: Presence,
    state: str | None = None,
    opens_at: datetime | None = None,
    facts: Facts | None = None,
) -> Status:
    """The ``status`` frame; place and expected wait only while waiting."""
    line: dict[str, Any] = {}
    if entry.state is EntryState.WAITING and state is None and facts is not None:
        places, average, busy = facts
        place = places.get(entry.id)
        wait = rules.expected_wait_min(place, average, clinician_busy=busy)
        line = {"position": place, "expected_wait_min": wait}
    return Status(
        state=state or entry.state.value,
        entry_id=entry.id,
        clinician_name=clinician_name,
        presence=presence.value,
        second_device=entry.second_device,
        opens_at=opens_at,
        message=entry.parting_message,
        **line,
    )
