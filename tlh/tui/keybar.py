"""``KeyBar``: the footer of every numbered screen — the keys that apply to what is
selected, then the screens as tabs (the one in front marked).

Textual's ``Footer`` shows the same keys whatever is selected and not the screens. This
is one ``Static`` of two lines, re-rendered only when its text changes (a selection
moved, a person arrived); every key and tab is clickable (an ``@click`` action).
The keys come from the app (``KeySource``), which knows what applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

#: The numbered screens: key, name, screen id.
SCREENS = (
    ("1", "People", "people"),
    ("2", "Schedule", "schedule"),
    ("3", "Notifications", "notifications"),
    ("4", "Reports", "reports"),
    ("5", "Settings", "settings"),
)
#: Always at the end of the keys line.
ALWAYS = (("^p", "Keys", "app.command_palette"), ("q", "Quit", "app.quit"))


@dataclass(frozen=True)
class Key:
    """One key of the bar: what to press, what it does, the action a click runs."""

    key: str
    label: str
    action: str


class KeySource(Protocol):
    """What the bar asks the app."""

    def keys_for(self, screen: Screen[object]) -> Sequence[Key]:
        """The keys that apply now on ``screen``, most useful first."""
        ...

    def new_people(self) -> int:
        """People behind the unread notifications."""
        ...


def _width(key: Key) -> int:
    """Cells one key takes: ``k label`` and the two spaces after it."""
    return len(key.key) + 1 + len(key.label) + 2


def keys_line(keys: Sequence[Key], width: int) -> Content:
    """The keys that fit ``width`` (most useful first), then palette and quit."""
    tail = [Key(k, label, action) for k, label, action in ALWAYS]
    used = 1 + sum(_width(k) for k in tail) - 2  # a space first; none after the last
    shown: list[Key] = []
    for key in keys:
        cost = _width(key)
        if used + cost > width:
            continue
        shown.append(key)
        used += cost
    parts = [
        f"[@click={k.action}][b]{escape(k.key)}[/b] {escape(k.label)}[/]" for k in [*shown, *tail]
    ]
    return Content.from_markup(" " + "  ".join(parts))


def tabs_line(current: str | None, new: int) -> Content:
    """``1 People  2 Schedule  3 Notifications (2)  ...``, the one in front reversed."""
    parts = []
    for key, name, screen_id in SCREENS:
        label = f"{key} {name}" + (f" ({new})" if screen_id == "notifications" and new else "")
        style = "reverse b" if screen_id == current else ""
        shown = f"[{style}] {label} [/]" if style else f" {label} "
        parts.append(f"[@click=app.show('{screen_id}')]{shown}[/]")
    return Content.from_markup("".join(parts))


class KeyBar(Static):
    """Two lines at the bottom of a numbered screen: its keys, then the screens."""

    DEFAULT_CSS = """
    KeyBar {
        height: 2;
        dock: bottom;
        background: $footer-background;
        color: $footer-foreground;
        link-style: none;
        link-style-hover: reverse;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="keys")
        self._shown: tuple[str, ...] = ()

    def show_keys(self) -> None:
        """Render the keys that apply now (nothing when unchanged)."""
        source = cast(KeySource, self.app)
        screen = self.screen
        keys = source.keys_for(screen)
        width = self.size.width or self.app.size.width
        top, bottom = keys_line(keys, width), tabs_line(screen.id, source.new_people())
        signature = (top.markup, bottom.markup)
        if signature != self._shown:
            self._shown = signature
            self.update(Content("\n").join([top, bottom]))

    def on_resize(self) -> None:
        """More or fewer keys fit."""
        self._shown = ()
        self.show_keys()
