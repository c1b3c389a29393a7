"""Binding the action collaborators to the app's keys.

Textual runs a key's action as ``action_<name>`` on the app; ``bound`` makes that method
from a collaborator's (``RoomActions.admit`` → ``DashboardApp.action_admit``), keeping
its docstring (the palette's text) and its marks (the person menu's buttons). An action
marked ``asks_first`` waits for a dialog, which only a worker may do: it runs as one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual import work
from textual.binding import Binding, BindingType

F = TypeVar("F", bound=Callable[..., Any])
ASKS = "asks_first"

#: Every key of the app, in the footer's order (shown: a d n s e m q): the actions'
#: (``bound`` below), then the screens', the lock, reconnecting and quit.
APP_KEYS: list[BindingType] = [
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
    Binding("1", "show('people')", "People", show=False),
    Binding("2", "show('schedule')", "Schedule", show=False),
    Binding("3", "show('notifications')", "Notifications", show=False),
    Binding("4", "show('reports')", "Reports", show=False),
    Binding("5", "show('settings')", "Settings", show=False),
    Binding("ctrl+l", "lock", "Lock", show=False),
    Binding("ctrl+r", "reconnect", "Reconnect now", show=False),
    Binding("q", "quit", "Quit"),
]


def asks_first(method: F) -> F:
    """Mark an action that waits for a dialog (it runs as a worker)."""
    setattr(method, ASKS, True)
    return method


def bound(collaborator: str, method: Callable[[Any], Awaitable[None]]) -> Callable[..., Any]:
    """The app's ``action_*`` method running ``method`` on its ``collaborator`` attribute."""
    name = method.__name__

    async def action(app: Any) -> None:
        await getattr(getattr(app, collaborator), name)()

    functools.update_wrapper(action, method)
    if getattr(method, ASKS, False):
        return work(group="actions")(action)
    return action
