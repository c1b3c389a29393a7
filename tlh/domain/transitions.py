"""Appointment status transitions."""

from __future__ import annotations

from tlh.domain.models import Status


def allowed_transitions(current: Status) -> frozenset[Status]:
    """The statuses an appointment may move to from ``current``."""
    raise NotImplementedError


def check_transition(current: Status, new: Status) -> None:
    """Raise ``InvalidTransition`` (message names both statuses) if not allowed."""
    raise NotImplementedError
