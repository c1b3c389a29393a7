"""Whose records a staff member may act on (pure; ``tlh.services.scope`` applies it).

Admins and schedulers act on every record their role allows. A clinician acts on their
own (minimum necessary): an appointment they are listed on, their own room (and the
practice's shared queue, which every clinician serves), a session they lead or that
belongs to one of their appointments, and a client assigned to them, with an
appointment of theirs in the last 12 months or to come, or waiting in their room.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from tlh.domain.models import Appointment, Role
from tlh.domain.sessions import SessionSegment


def limited(role: Role | None) -> bool:
    """Whether this role acts only on its own records (a clinician)."""
    return role is Role.CLINICIAN


def own_appointment(staff_id: str, appt: Appointment) -> bool:
    """The staff member is listed on the appointment."""
    return staff_id in appt.clinician_ids


def own_room(staff_id: str, clinician_id: str | None) -> bool:
    """The room is the staff member's own, or the shared queue (``None``)."""
    return clinician_id is None or clinician_id == staff_id


#: How far back a visit together still lets a clinician read the client.
RECENT = timedelta(days=365)


def own_client(
    staff_id: str,
    client_id: str,
    seen: Collection[str],
    in_room: Collection[str] = (),
    *,
    assigned: Collection[str] = (),
) -> bool:
    """The client is assigned to the staff member (``assigned``: the client's
    ``clinician_ids``), the staff member is on one of the client's appointments of the
    last 12 months (``RECENT``) or to come (``seen``: the staff on them), or the client is
    waiting in (or was let in from) their room (``in_room``: client ids)."""
    return client_id in in_room or staff_id in assigned or staff_id in seen


def own_segment(staff_id: str, segment: SessionSegment, appt: Appointment | None) -> bool:
    """The staff member leads the segment or is listed on its appointment (``appt``)."""
    if segment.clinician_id == staff_id:
        return True
    return appt is not None and own_appointment(staff_id, appt)
