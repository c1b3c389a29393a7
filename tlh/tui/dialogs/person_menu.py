"""``PersonMenu``: everything that can be done to one person, a button each (mouse-first).

Enter or a click on a People row opens it. Its buttons are not a list of their own: an
action marked with ``@acts_on_person`` (tlh/tui/actions/) that is bound to a key
gets a button labelled with the binding's description and key, so a new person action
appears here by being marked. The menu only answers which action was picked; the app
runs it, as the key would, on the person the menu was opened for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.actions import parse
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tlh.tui.bindings import bound_actions

F = TypeVar("F", bound=Callable[..., Any])
PERSON_MARK = "acts_on_person"


def acts_on_person(method: F) -> F:
    """Mark an ``action_*`` method as acting on the selected person (a menu button)."""
    setattr(method, PERSON_MARK, True)
    return method


def person_actions(app: App[Any]) -> list[tuple[str, str]]:
    """``(action, label)`` for each marked action bound on the app, enabled now, keys merged."""
    return [
        (binding.action, f"{binding.description} ({', '.join(keys)})")
        for node, binding, keys in bound_actions(app, app.screen)
        if node is app
        and getattr(getattr(node, f"action_{parse(binding.action)[1]}", None), PERSON_MARK, False)
    ]


class PersonMenu(ModalScreen[str | None]):
    """The person's name, one button per action; the pick is dismissed, Esc gives None."""

    CSS_PATH = Path(__file__).with_name("qr_menu.tcss")
    AUTO_FOCUS = "Button"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, who: str, actions: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.who = who
        self.actions = actions

    def compose(self) -> ComposeResult:
        """The name (literally), then the buttons."""
        with Vertical(id="menu-box"):
            yield Static(Text(self.who), classes="title")
            for action, label in self.actions:
                yield Button(Content(label), name=action)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Clicked, or Enter on the focused button: that action."""
        self.dismiss(event.button.name)

    def action_close(self) -> None:
        """Nothing picked."""
        self.dismiss(None)
