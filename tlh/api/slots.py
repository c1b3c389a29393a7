"""Open slots and self-booking (issue 13, p-slots)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.models import Modality


class SlotBooking(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/slots/book``: book a client into an open slot, as they would."""

    client_id: str
    clinician: str  # id or email
    start: datetime  # with its offset, as ``GET /api/v1/slots`` gives it
    modality: Modality = Modality.TELEHEALTH
