"""Session and attendance reports, computed from appointments and session segments.

Pure: no store, no clock. The attendance outcome of one client at one appointment is

- ``cancelled`` / ``late_cancelled`` from the appointment's status;
- ``attended`` when the client (or a contact for them) joined a segment no later than the
  policy's ``late_after_min`` after the start, ``late`` when they joined later;
- ``no_show`` when the appointment was marked missed, or (telehealth) ended with nobody
  joining.

An in-person visit has no segment to join: its outcome is its status alone (checked in or
occurred: ``attended``; missed: ``no_show``); one whose status nobody has marked yet has no
outcome, like a telehealth appointment that has not ended and that nobody joined yet
(both are skipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from enum import StrEnum

import msgspec

from tlh.domain.models import Appointment, Modality, Policy, Status
from tlh.domain.sessions import Participation, SessionSegment

#: Participation kinds that count as the client attending (a caregiver attends for a minor).
_ATTENDING_KINDS = frozenset({"client", "contact"})


class Outcome(StrEnum):
    ATTENDED = "attended"
    LATE = "late"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"


class ReportedLocation(msgspec.Struct, frozen=True, kw_only=True):
    """Where one client (or a caregiver for them) said they were as they joined."""

    kind: str  # "client" | "contact"
    client_id: str | None
    contact_id: str | None = None
    place: str
    phone: str
    at: datetime


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: str | None
    session_id: str
    clinician_id: str
    client_ids: tuple[str, ...]
    date: str  # local YYYY-MM-DD of the segment's start
    start: datetime
    end: datetime | None
    duration_min: int | None
    channels: tuple[str, ...]
    relayed: bool
    copay_collected: bool
    copay_amount: str | None
    #: Where each client or caregiver said they were (policy ``ask_location``).
    locations: tuple[ReportedLocation, ...] = ()


class AttendanceRow(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: str
    client_id: str
    clinician_id: str
    scheduled_start: datetime
    outcome: Outcome
    joined_at: datetime | None
    minutes_late: int | None
    channel: str | None
    copay_collected: bool
    copay_amount: str | None


def duration_min(segment: SessionSegment) -> int | None:
    """Whole minutes (rounded) between start and end; ``None`` while the segment is open."""
    if segment.ended_at is None:
        return None
    seconds = (segment.ended_at - segment.started_at).total_seconds()
    return max(0, round(seconds / 60))


def _channels(segment: SessionSegment) -> tuple[str, ...]:
    # Staff join through their own call page; only the invitees' channels tell the story.
    return tuple(
        sorted({p.channel for p in segment.participants if p.kind != "staff" and p.channel})
    )


def _locations(segment: SessionSegment) -> tuple[ReportedLocation, ...]:
    # A person who joined twice (a reload, a second segment's rejoin) said it once: the
    # first time they gave it for this segment is kept.
    found: dict[tuple[str | None, str | None], ReportedLocation] = {}
    for p in sorted(segment.participants, key=lambda p: p.joined_at):
        if p.location is None or (p.client_id, p.contact_id) in found:
            continue
        found[(p.client_id, p.contact_id)] = ReportedLocation(
            kind=p.kind,
            client_id=p.client_id,
            contact_id=p.contact_id,
            place=p.location.place,
            phone=p.location.phone,
            at=p.location.at,
        )
    return tuple(found.values())


def session_row(segment: SessionSegment, appt: Appointment | None, tz: tzinfo) -> SessionRow:
    """One report row for one segment (``appt`` is ``None`` for room sessions)."""
    seen = [p.client_id for p in segment.participants if p.client_id]
    client_ids = tuple(dict.fromkeys([*(appt.client_ids if appt else ()), *seen]))
    return SessionRow(
        appointment_id=segment.appointment_id,
        session_id=segment.id,
        clinician_id=segment.clinician_id,
        client_ids=client_ids,
        date=segment.started_at.astimezone(tz).date().isoformat(),
        start=segment.started_at,
        end=segment.ended_at,
        duration_min=duration_min(segment),
        channels=_channels(segment),
        relayed=segment.relayed,
        copay_collected=appt.copay_collected if appt else False,
        copay_amount=appt.copay_amount if appt else None,
        locations=_locations(segment),
    )


def session_rows(
    segments: Iterable[tuple[SessionSegment, Appointment | None]], tz: tzinfo
) -> list[SessionRow]:
    """The rows of ``segments`` (each with its appointment), oldest first. A visit that
    restarted has several segments but one copay: only its first row carries it, so a
    sum over the rows counts each visit's copay once."""
    rows = sorted(
        (session_row(segment, appt, tz) for segment, appt in segments),
        key=lambda r: (r.start, r.session_id),
    )
    seen: set[str] = set()
    out = []
    for row in rows:
        if row.appointment_id is not None and row.appointment_id in seen:
            row = msgspec.structs.replace(row, copay_collected=False, copay_amount=None)
        if row.appointment_id is not None:
            seen.add(row.appointment_id)
        out.append(row)
    return out


def first_join(segments: Iterable[SessionSegment], client_id: str) -> Participation | None:
    """The earliest participation of the client (or a contact for them) in any segment."""
    joins = [
        p
        for s in segments
        for p in s.participants
        if p.client_id == client_id and p.kind in _ATTENDING_KINDS
    ]
    return min(joins, key=lambda p: p.joined_at) if joins else None


def outcome_of(
    appt: Appointment,
    join: Participation | None,
    policy: Policy,
    now: datetime,
) -> tuple[Outcome, int | None] | None:
    """The outcome and minutes late of one client, or ``None`` if it is not decided yet."""
    if appt.status is Status.CANCELLED:
        return Outcome.CANCELLED, None
    if appt.status is Status.LATE_CANCELLED:
        return Outcome.LATE_CANCELLED, None
    if appt.modality is Modality.IN_PERSON:
        if appt.status in (Status.CHECKED_IN, Status.OCCURRED):
            return Outcome.ATTENDED, None
        return (Outcome.NO_SHOW, None) if appt.status is Status.MISSED else None
    if join is not None:
        late_s = (join.joined_at - appt.start).total_seconds()
        minutes = max(0, int(late_s // 60))
        if late_s > policy.late_after_min * 60:
            return Outcome.LATE, minutes
        return Outcome.ATTENDED, minutes
    if appt.status is Status.MISSED or appt.end <= now:
        return Outcome.NO_SHOW, None
    return None


def attendance_rows(
    appt: Appointment,
    segments: Sequence[SessionSegment],
    policy: Policy,
    now: datetime,
) -> list[AttendanceRow]:
    """One row per client of the appointment whose outcome is decided at ``now``."""
    rows = []
    for client_id in appt.client_ids:
        join = first_join(segments, client_id)
        decided = outcome_of(appt, join, policy, now)
        if decided is None:
            continue
        outcome, minutes_late = decided
        rows.append(
            AttendanceRow(
                appointment_id=appt.id,
                client_id=client_id,
                clinician_id=appt.clinician_ids[0],
                scheduled_start=appt.start,
                outcome=outcome,
                joined_at=join.joined_at if join else None,
                minutes_late=minutes_late,
                channel=join.channel if join else None,
                copay_collected=appt.copay_collected,
                copay_amount=appt.copay_amount,
            )
        )
    return rows
