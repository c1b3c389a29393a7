"""The idle lock: after the policy's idle time every name is hidden until unlocked.

``LockScreen`` is a full, opaque screen (not a modal over the dashboard), so nothing
of the screens beneath is drawn while it is up. What unlocks it is the practice's
``dashboard_unlock`` policy: the unlock key, or the user's API token typed again (a
few wrong tries in a row and the dashboard closes, like a revoked token).
``IdleClock`` is the pure part: when was the last keypress, and is it time to lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from tlh.domain.models import DashboardUnlock

#: The key that unlocks when the policy says a key press is enough.
UNLOCK_KEY = "u"
#: Wrong tokens in a row before the dashboard closes.
MAX_TRIES = 5
WRONG = "That is not your token."
#: Why the dashboard closed after ``MAX_TRIES`` wrong tokens (the CLI prints it).
TOO_MANY = f"{MAX_TRIES} wrong tokens in a row: the dashboard closed; run tlh dashboard again"


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


class LockScreen(Screen[bool]):
    """Hides the dashboard; dismissed with True when unlocked, False after too many tries."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding(UNLOCK_KEY, "unlock", "Unlock")]

    def __init__(self, mode: DashboardUnlock, token_matches: Callable[[str], bool]) -> None:
        super().__init__()
        self.mode = mode
        self.token_matches = token_matches
        self.wrong = 0

    def compose(self) -> ComposeResult:
        """One message in the middle; in token mode a hidden input for the token."""
        how = (
            "Type your API token and press Enter."
            if self.mode == DashboardUnlock.TOKEN
            else f"Press {UNLOCK_KEY} to unlock."
        )
        with Middle(), Center(), Vertical(id="lock-box"):
            yield Static(f"Locked after inactivity.\n{how}", id="lock-message", markup=False)
            if self.mode == DashboardUnlock.TOKEN:
                yield Input(password=True, placeholder="API token", id="lock-token")
                yield Static("", id="lock-error", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The unlock key works only when the policy says a key is enough."""
        return action != "unlock" or self.mode == DashboardUnlock.KEY

    def action_unlock(self) -> None:
        """Back to the dashboard."""
        self.dismiss(True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Check the typed token; wrong ones are counted and forgotten."""
        typed, event.input.value = event.value, ""
        if self.token_matches(typed):
            self.dismiss(True)
            return
        self.wrong += 1
        if self.wrong >= MAX_TRIES:
            self.dismiss(False)
            return
        self.query_one("#lock-error", Static).update(WRONG)
