"""Binding the action collaborators to the app's keys.

Textual runs a key's action as ``action_<name>`` on the app; ``bound`` makes that method
from a collaborator's (``RoomActions.admit`` → ``DashboardApp.action_admit``), keeping
its docstring (the palette's text) and its marks (the menus' buttons). Every such action
asks the app first whether it applies to what is selected (one answer for every key
that does not). An action marked ``asks_first`` waits for a dialog, which only a worker
may do: it runs as one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from textual import work
from textual.binding import Binding, BindingType

F = TypeVar("F", bound=Callable[..., Any])
ASKS = "asks_first"

#: Every key of the app: the actions' (``bound`` below), then the screens', the lock,
#: reconnecting and quit. The key bar lists, in this order, those shown that apply to
#: what is selected (tlh.tui.applicable); the screens are its tabs.
APP_KEYS: list[BindingType] = [
    Binding("ctrl+r", "reconnect", "Retry now"),
    Binding("z", "undo", "Undo"),
    Binding("a", "admit", "Admit"),
    Binding("D", "approve_device", "Approve 2nd device"),
    Binding("d", "deny", "Deny"),
    Binding("r", "send_back", "Send back"),
    Binding("x", "end_session", "End session"),
    Binding("s", "start_session", "Start"),
    Binding("e", "explain", "Explain"),
    Binding("m", "message", "Message"),
    Binding("t", "transfer", "Transfer"),
    Binding("n", "call_next", "Next"),
    Binding("A", "admit_all", "Admit all"),
    Binding("M", "message_all", "Message all"),
    Binding("v", "verbal_consent", "Verbal consent"),
    Binding("c", "send_consent", "Consent"),
    Binding("l", "send_link", "Send link"),
    Binding("S", "set_status", "Status"),
    Binding("f", "filter_rooms", "Rooms"),
    Binding("1", "show('people')", "People", show=False),
    Binding("2", "show('schedule')", "Schedule", show=False),
    Binding("3", "show('notifications')", "Notifications", show=False),
    Binding("4", "show('reports')", "Reports", show=False),
    Binding("5", "show('settings')", "Settings", show=False),
    Binding("ctrl+l", "lock", "Lock", show=False),
    Binding("q", "quit", "Quit", show=False),
]


class Gate(Protocol):
    """What ``bound`` asks the app before running an action, and tells it after."""

    def refuse_key(self, action: str) -> bool:
        """Say what ``action`` needs when it does not apply now; True when it does not."""
        ...

    def key_done(self) -> None:
        """An action finished (a selection pinned for it is let go)."""
        ...


def asks_first(method: F) -> F:
    """Mark an action that waits for a dialog (it runs as a worker)."""
    setattr(method, ASKS, True)
    return method


def bound(collaborator: str, method: Callable[[Any], Awaitable[None]]) -> Callable[..., Any]:
    """The app's ``action_*`` method running ``method`` on its ``collaborator`` attribute,
    once the app's gate says it applies (else the gate says what it needs)."""
    name = method.__name__

    async def action(app: Any) -> None:
        gate: Gate = app
        try:
            if not gate.refuse_key(name):
                await getattr(getattr(app, collaborator), name)()
        finally:
            gate.key_done()

    functools.update_wrapper(action, method)
    if getattr(method, ASKS, False):
        return work(group="actions")(action)
    return action
