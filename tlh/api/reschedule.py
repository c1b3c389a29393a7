"""Reschedule requests (issue 13, p-slots)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class NewRescheduleRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/reschedule-requests``: ask, for a client, to move a visit."""

    appointment_id: str
    start: datetime  # with its offset, an open slot's
