"""The join window of a telehealth appointment."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from tlh.domain.models import Appointment, Policy


class JoinWindow(msgspec.Struct, frozen=True):
    """The half-open span ``[opens, closes)`` in which a session may be joined."""

    opens: datetime
    closes: datetime

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) is inside: ``opens <= at < closes``."""
        return self.opens <= at < self.closes


def join_window(appt: Appointment, policy: Policy) -> JoinWindow:
    """Opens ``window_opens_before_min`` before the start, closes ``window_closes_after_min`` after."""
    return JoinWindow(
        opens=appt.start - timedelta(minutes=policy.window_opens_before_min),
        closes=appt.start + timedelta(minutes=policy.window_closes_after_min),
    )
