"""``ExplainScreen``: why a session cannot start (or that it can), one reason a line,
each with the key that fixes it; pressing that key here does it.

Explain (``e``) and every refusal with reasons (a start, an admit that would start the
session) use this one dialog: the same words, the same keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tlh.tui.notices import clean
from tlh.tui.reasons import Reason, fixes_of


class ExplainScreen(ModalScreen[str | None]):
    """The title and one line per reason; a fixing key closes it with that key's action
    (the app runs it on the same selection), Esc or Enter close it with nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,e,q", "close", "Close")]

    def __init__(self, title: str, reasons: Sequence[Reason | str]) -> None:
        super().__init__()
        self.title_text = clean(title)
        self.reasons = [r if isinstance(r, Reason) else Reason(clean(r)) for r in reasons]
        self.fixes = {fix.key: fix.action for fix in fixes_of(self.reasons)}

    def compose(self) -> ComposeResult:
        """The title, one line per reason, the keys."""
        with Vertical(id="explain"):
            yield Static(Text(self.title_text, style="bold"), id="explain-title")
            for reason in self.reasons or [Reason("Nothing blocks this session.")]:
                yield Static(Text(f"• {reason.text}"), classes="reason")
            keys = f"{', '.join(self.fixes)} here does it · " if self.fixes else ""
            yield Static(f"{keys}Esc closes", classes="hint", markup=False)

    def on_key(self, event: events.Key) -> None:
        """A key that fixes a reason: close, handing its action to the app."""
        action = self.fixes.get(event.character or "")
        if action is not None:
            event.stop()
            self.dismiss(action)

    def action_close(self) -> None:
        """Back to the screen beneath."""
        self.dismiss(None)
