"""The join window of a telehealth appointment."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tlh.domain.models import Appointment, Policy


class JoinWindow(msgspec.Struct, frozen=True):
    opens: datetime
    closes: datetime

    def contains(self, at: datetime) -> bool:
        raise NotImplementedError


def join_window(appt: Appointment, policy: Policy) -> JoinWindow:
    """Opens ``window_opens_before_min`` before the start, closes ``window_closes_after_min`` after."""
    raise NotImplementedError
