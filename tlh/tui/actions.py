"""What the dashboard's keys do: every action is one ``TlhClient`` call.

``Actions`` is the app's half that acts; ``DashboardApp`` (app.py) composes screens,
the live feed, alerts and the lock on top of it. It only binds keys: the actions live
by concept in ``actions_room`` (the waiting room), ``actions_session`` (sessions and
statuses) and ``actions_outreach`` (links and consent), on the shared helpers of
``actions_base`` (the selection, toasts for refusals, dialogs, the call page).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from .actions_base import Opener
from .actions_outreach import OutreachActions
from .actions_room import RoomActions
from .actions_session import SessionActions

__all__ = ["Actions", "Opener"]


class Actions(RoomActions, SessionActions, OutreachActions):
    """Every action on people and sessions: bound to keys and the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "admit", "Admit"),
        Binding("A", "admit_all", "Admit all", show=False),
        Binding("d", "deny", "Deny"),
        Binding("r", "send_back", "Send back", show=False),
        Binding("n", "call_next", "Next"),
        Binding("s", "start_session", "Start"),
        Binding("e", "explain", "Explain"),
        Binding("m", "message", "Message"),
        Binding("M", "message_all", "Message all", show=False),
        Binding("t", "transfer", "Transfer", show=False),
        Binding("x", "end_session", "End session", show=False),
        Binding("l", "send_link", "Send link", show=False),
        Binding("c", "send_consent", "Consent", show=False),
        Binding("v", "verbal_consent", "Verbal consent", show=False),
        Binding("S", "set_status", "Status", show=False),
    ]
