"""Telehealth sessions: segments of a call with who was in them, for reports.

A session starts when a clinician starts it and ends when they end it; a restart opens
a new segment. Each participation records when one person joined and left and the
invite channel they came by.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.locations import ClientLocation


class Participation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    #: The call peer id: a room entry id for clients/guests, the staff id for staff.
    peer_id: str
    kind: str  # "client" | "contact" | "guest" | "staff"
    client_id: str | None = None
    contact_id: str | None = None
    staff_id: str | None = None
    channel: str | None = None  # the invite channel (email, sms, copy, quick, ...)
    joined_at: datetime
    left_at: datetime | None = None
    #: Where the client (or caregiver) said they were as they joined (``ask_location``).
    location: ClientLocation | None = None


class SessionSegment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str  # "ses_..."
    #: The appointment, or ``None`` for a room session (guests, quick).
    appointment_id: str | None = None
    clinician_id: str
    started_at: datetime
    started_by: str  # staff id
    ended_at: datetime | None = None
    ended_by: str | None = None
    participants: tuple[Participation, ...] = ()
    #: Whether the media went through the server's relay (media issue).
    relayed: bool = False
    #: ``tlh doctor``'s self-call: real, but not a visit (left out of reports, never
    #: joined by anyone but the admin and the holder of ``test_link_id``).
    self_test: bool = False
    test_link_id: str | None = None

    @property
    def open_clinician_id(self) -> str | None:
        """The clinician while the segment is open, else ``None`` (indexed: a
        clinician's open segments are found without reading their whole history)."""
        return self.clinician_id if self.ended_at is None else None
