"""The live waiting rooms: who is waiting, their sockets, admission into the call.

Kept in memory (a restart empties the rooms; the session segments in the store keep the
history). The rules are ``tlh.domain.rooms``; this applies them, talks to the sockets
through ``Connection`` outboxes, publishes ``room.*`` events (ids only) and audits every
change. Admission is check-and-set with no ``await`` in between, so two staff clicking
"admit" at once get one admission and one ``already_admitted``.

``Rooms`` is composed of one mixin per concept over one shared state
(``waiting_core``): the participant's side, the staff's side and the hooks from
elsewhere, all admitting through ``waiting_admission``.
"""

from __future__ import annotations

from tlh.services.waiting_core import Connection
from tlh.services.waiting_hooks import RoomHooks
from tlh.services.waiting_participant import NotAdmitted, ParticipantSide
from tlh.services.waiting_staff import NobodyWaiting, StaffSide
from tlh.services.waiting_view import clean_display_name

__all__ = ["Connection", "NobodyWaiting", "NotAdmitted", "Rooms", "clean_display_name"]


class Rooms(ParticipantSide, StaffSide, RoomHooks):
    """Every clinician's room and the practice's shared queue (``clinician_id=None``)."""
