"""Appointment status transitions.

The table (from ``current`` to the statuses it may move to)::

    scheduled       -> confirmed, checked_in, occurred, missed, cancelled, late_cancelled
    confirmed       -> scheduled (un-confirm), checked_in, occurred, missed,
                       cancelled, late_cancelled
    checked_in      -> occurred, missed, confirmed (undo the check-in)
    occurred        -> checked_in (undo a mistaken mark)
    missed          -> scheduled, confirmed (undo), occurred (the client came after all)
    cancelled       -> scheduled (reinstate)
    late_cancelled  -> scheduled (reinstate)

Staying in the same status is not a transition and is refused, so a client that
repeats a request learns that nothing changed.
"""

from __future__ import annotations

from types import MappingProxyType

from tlh.domain.models import Status
from tlh.errors import InvalidTransition

_S = Status

TRANSITIONS: MappingProxyType[Status, frozenset[Status]] = MappingProxyType(
    {
        _S.SCHEDULED: frozenset(
            {
                _S.CONFIRMED,
                _S.CHECKED_IN,
                _S.OCCURRED,
                _S.MISSED,
                _S.CANCELLED,
                _S.LATE_CANCELLED,
            }
        ),
        _S.CONFIRMED: frozenset(
            {
                _S.SCHEDULED,
                _S.CHECKED_IN,
                _S.OCCURRED,
                _S.MISSED,
                _S.CANCELLED,
                _S.LATE_CANCELLED,
            }
        ),
        _S.CHECKED_IN: frozenset({_S.OCCURRED, _S.MISSED, _S.CONFIRMED}),
        _S.OCCURRED: frozenset({_S.CHECKED_IN}),
        _S.MISSED: frozenset({_S.SCHEDULED, _S.CONFIRMED, _S.OCCURRED}),
        _S.CANCELLED: frozenset({_S.SCHEDULED}),
        _S.LATE_CANCELLED: frozenset({_S.SCHEDULED}),
    }
)


def allowed_transitions(current: Status) -> frozenset[Status]:
    """The statuses an appointment may move to from ``current``."""
    return TRANSITIONS[Status(current)]


def check_transition(current: Status, new: Status) -> None:
    """Raise ``InvalidTransition`` (message names both statuses) if not allowed."""
    current, new = Status(current), Status(new)
    if current == new:
        raise InvalidTransition(
            f"cannot change status from {current.value} to {new.value}: it is already {new.value}"
        )
    allowed = allowed_transitions(current)
    if new not in allowed:
        options = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(
            f"cannot change status from {current.value} to {new.value} (allowed: {options})"
        )
