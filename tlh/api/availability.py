"""Clinicians' weekly availability blocks."""

from __future__ import annotations

import msgspec

from tlh.domain.models import AvailabilityMode


class NewBlock(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/availability``."""

    clinician: str  # id or email
    weekday: int | str  # 0 = Monday, or a day's name ("mon", "Monday")
    start_local: str  # HH:MM, the practice's zone
    end_local: str
    mode: AvailabilityMode = AvailabilityMode.BOTH
