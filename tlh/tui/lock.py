"""The idle lock: after the policy's idle time every name is hidden until unlocked.

``LockScreen`` is a full, opaque screen (not a modal over the dashboard), so nothing
of the screens beneath is drawn while it is up. ``IdleClock`` is the pure part: when
was the last keypress, and is it time to lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

#: The key that unlocks (per policy: a key press rather than the token again).
UNLOCK_KEY = "u"


class IdleClock:
    """Seconds since the last user input, against a limit (``monotonic`` by default)."""

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s = limit_s
        self.clock = clock
        self.last = clock()

    def touch(self) -> None:
        """The user did something."""
        self.last = self.clock()

    def expired(self) -> bool:
        """Whether the user has been idle for the whole limit."""
        return self.clock() - self.last >= self.limit_s


class LockScreen(Screen[None]):
    """Hides the dashboard; ``u`` unlocks."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding(UNLOCK_KEY, "unlock", "Unlock")]

    def compose(self) -> ComposeResult:
        """One message in the middle, nothing else."""
        with Middle(), Center():
            yield Static(
                f"Locked after inactivity.\nPress {UNLOCK_KEY} to unlock.",
                id="lock-message",
                markup=False,
            )

    def action_unlock(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)
