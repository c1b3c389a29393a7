"""A client's request to move an appointment to an open slot, for staff to decide."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class RequestState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class RescheduleRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Move ``appointment_id`` to ``start`` (UTC), asked by ``requested_by`` (the client,
    a contact of theirs, or staff for them); ids only."""

    id: str
    appointment_id: str
    client_id: str
    requested_by: str
    start: datetime
    state: RequestState = RequestState.PENDING
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
