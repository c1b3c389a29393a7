"""``Choose``: pick one of a few options (a channel, a clinician, a status)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from tlh.tui.state import clean


class Choose(ModalScreen[str | None]):
    """Arrows move, Enter (or a click) picks an option's key; Esc (or Cancel) gives None."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    AUTO_FOCUS = "OptionList"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]) -> None:
        """``options`` are ``(key, label)`` pairs; labels are shown literally."""
        super().__init__()
        self.title_text = clean(title)
        self.options = [(key, clean(label)) for key, label in options]

    def compose(self) -> ComposeResult:
        """Title, the options, Cancel."""
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="title")
            yield OptionList(*(Option(Text(label), id=key) for key, label in self.options))
            yield Static("↑↓ move · Enter picks · Esc cancels", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        """Close with the chosen option's key."""
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
