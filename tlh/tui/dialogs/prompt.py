"""``Prompt``: one line of text, handed to the action that needs it.

The action does its server call from inside the dialog (``submit``), so a refusal
(a bad address, a message too long) is shown in the dialog, which stays open with the
text to correct; the dialog closes only once the call went through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tlh.tui.state import clean

#: Does the work with the text; returns the server's refusal, or None when done.
Submit = Callable[[str], Awaitable[str | None]]


class Prompt(ModalScreen[str | None]):
    """Asks for one line; Enter (or OK) submits, Esc (or Cancel) closes with None."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    AUTO_FOCUS = "Input"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        *,
        submit: Submit,
        placeholder: str = "",
        required: str = "Type something first.",
        max_length: int = 0,
    ) -> None:
        super().__init__()
        self.title_text = clean(title)
        self.submit = submit
        self.placeholder = placeholder
        self.required = required
        self.max_length = max_length
        self._busy = False

    def compose(self) -> ComposeResult:
        """Title, the input, an error line, OK / Cancel."""
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="title")
            yield Input(placeholder=self.placeholder, max_length=self.max_length)
            yield Static("", id="error", classes="error", markup=False)
            yield Static("Enter sends · Esc cancels", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def show_error(self, message: str) -> None:
        """Say why nothing was done; the text stays for correcting."""
        self.query_one("#error", Static).update(Text(clean(message)))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    async def confirm(self) -> None:
        """Hand the text to the action; close only when it went through."""
        if self._busy:
            return
        text = self.query_one(Input).value.strip()
        if not text:
            self.show_error(self.required)
            return
        self._busy = True  # a second Enter while the call is out must not send twice
        refused = await self.submit(text)
        if refused is None:
            self.dismiss(text)
            return
        self._busy = False
        self.show_error(refused)
        self.query_one(Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)
