"""Self-scheduling on the client portal (issue 13 item 5): what may be booked, open
slots, a booking, and a request to move a visit. Ids and times only: no client data
beyond the ids of the clients the signed-in person acts for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from tlh.domain.models import Modality

Id = Annotated[str, msgspec.Meta(max_length=100)]


class PortalClinician(msgspec.Struct, frozen=True, kw_only=True):
    """A clinician a client may book, and how (the modes of their availability)."""

    id: str
    name: str
    modes: list[Modality]


class PortalBookingFor(msgspec.Struct, frozen=True, kw_only=True):
    """Whom one client may book."""

    client_id: str
    clinicians: list[PortalClinician]


class PortalBookingOptions(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/portal/booking``: whether the practice takes bookings from clients
    (policy ``self_scheduling``) and, when it does, whom each client may book."""

    enabled: bool
    #: Hours of notice a booking needs, and how many days ahead it may be.
    min_notice_h: int
    max_days: int
    clients: list[PortalBookingFor]


class PortalBook(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/portal/bookings``: book this open slot for this client."""

    client_id: Id
    clinician_id: Id
    #: An open slot's start, with its offset, as ``GET /api/v1/portal/slots`` gives it.
    start: datetime
    modality: Modality


class PortalMove(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/portal/appointments/{id}/reschedule``: ask to move to this slot."""

    start: datetime


class PortalMoveAsked(msgspec.Struct, frozen=True, kw_only=True):
    """The request, stored for staff to accept or decline."""

    id: str
    appointment_id: str
    start: datetime
    state: str
