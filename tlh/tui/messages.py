"""What the dashboard's workers tell the app: messages named as what happened.

The live worker keeps ``DashboardState`` current; its changes come up as one
``StateChanged`` (the app moves its ``revision`` reactive, the screens watching it
update themselves). The rest is what only the app can act on: an arrival rings and
toasts, the policy sets the idle lock, a stream that ended for good may close the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tlh.client.events import StaffEvent
    from tlh.domain.models import Policy

    from .state import Connection


@dataclass
class StateChanged(Message):
    """The model moved (one message for a burst of changes)."""


@dataclass
class EntryArrived(Message):
    """Someone arrived in a room this dashboard shows."""

    entry_id: str
    event: StaffEvent


@dataclass
class PolicyLoaded(Message):
    """The practice's policy was read (on every connection): idle time, unlock mode."""

    policy: Policy


@dataclass
class StreamEnded(Message):
    """The event stream ended for good: superseded, or the token was refused."""

    connection: Connection
    reason: str
