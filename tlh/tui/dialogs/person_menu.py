"""``PersonMenu``: everything that can be done to one person (or one session), a button
each (mouse-first).

Enter or a click on a People row opens it for that person; on a notification or a
session listed when nobody waits, for that session. Its buttons are not a list of their
own: an action marked with ``@acts_on_person`` (or ``@acts_on_session``) in
tlh/tui/actions/ that is bound to a key and applies to what is selected gets a button
labelled with the binding's description and key, so a new action appears here by
being marked. The menu only answers which action was picked; the app runs it, as the
key would, on what the menu was opened for.

The buttons are one line each in a box that scrolls: on an 80x24 terminal every button
is reachable, and the focused one is always in view (Tab scrolls to it).
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
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tlh.tui.bindings import bound_actions

F = TypeVar("F", bound=Callable[..., Any])
PERSON_MARK = "acts_on_person"
SESSION_MARK = "acts_on_session"


def acts_on_person(method: F) -> F:
    """Mark an ``action_*`` method as acting on the selected person (a menu button)."""
    setattr(method, PERSON_MARK, True)
    return method


def acts_on_session(method: F) -> F:
    """Mark an ``action_*`` method as acting on the selected session (a menu button)."""
    setattr(method, SESSION_MARK, True)
    return method


def menu_actions(
    app: App[Any], mark: str = PERSON_MARK, applies: Callable[[str], bool] = lambda _: True
) -> list[tuple[str, str]]:
    """``(action, label)`` for each action marked ``mark`` bound on the app, enabled
    and applying now (``applies``), keys merged."""
    found = []
    for node, binding, keys in bound_actions(app, app.screen):
        name = parse(binding.action)[1]
        method = getattr(node, f"action_{name}", None)
        if node is app and getattr(method, mark, False) and applies(name):
            found.append((binding.action, f"{binding.description} ({', '.join(keys)})"))
    return found


def person_actions(app: App[Any]) -> list[tuple[str, str]]:
    """The person menu's ``(action, label)`` pairs (every marked action bound now)."""
    return menu_actions(app, PERSON_MARK)


class PersonMenu(ModalScreen[str | None]):
    """The name (whole) and what is known of them, one button per action; the pick is
    dismissed, Esc gives None."""

    CSS_PATH = Path(__file__).with_name("qr_menu.tcss")
    AUTO_FOCUS = "Button"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("down", "app.focus_next", show=False),
        Binding("up", "app.focus_previous", show=False),
    ]

    def __init__(self, who: str, actions: Sequence[tuple[str, str]], details: str = "") -> None:
        super().__init__()
        self.who = who
        self.details = details
        self.actions = actions

    def compose(self) -> ComposeResult:
        """The name (literally), what is known, then the buttons."""
        with Vertical(id="menu-box"):
            yield Static(Text(self.who), classes="title")
            if self.details:
                yield Static(Text(self.details), classes="details")
            with VerticalScroll(id="menu-buttons", can_focus=False):
                for action, label in self.actions:
                    yield Button(Content(label), name=action, compact=True)
            yield Static("↑↓ or Tab move · Enter picks · Esc closes", classes="hint")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Clicked, or Enter on the focused button: that action."""
        self.dismiss(event.button.name)

    def action_close(self) -> None:
        """Nothing picked."""
        self.dismiss(None)
