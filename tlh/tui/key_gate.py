"""``KeyGate``: what the keys act on now, which of them apply, and the one answer when
one does not (the rule is ``applicable``'s; this gathers the selection from the screen
in front and the state, for the key bar, the menus and every key pressed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding, BindingType
from textual.screen import Screen

from .actions.rooms import RoomActions
from .actions.sessions import SessionActions
from .applicable import Selection, why_not
from .keybar import Key
from .screen_ui import ScreenUi
from .state import DashboardState

#: Shows a key's answer: ``(text, title)``.
Say = Callable[[str, str], None]


class KeyGate:
    """The selection, and whether each bound action applies to it."""

    def __init__(
        self,
        keys: list[BindingType],
        state: DashboardState,
        ui: ScreenUi,
        rooms: RoomActions,
        sessions: SessionActions,
        *,
        display: Callable[[Binding], str],
        say: Say,
    ) -> None:
        self.keys = [b for b in keys if isinstance(b, Binding)]
        self.state = state
        self.ui = ui
        self.rooms = rooms
        self.sessions = sessions
        self.display = display
        self.say = say

    def selection(self) -> Selection:
        """What the keys act on now."""
        front = self.ui.front()
        entry = self.state.entries.get(self.ui.selected_entry() or "")
        chosen = self.rooms.chosen_appointment()
        return Selection(
            screen=front.id if front is not None else None,
            entry=entry,
            chosen=chosen,
            target=self.sessions.appointment(),
            session_open=chosen is not None and self.state.session_open(chosen),
            waiting=len(self.state.waiting()),
            session_waiting=len(self.rooms.admittable(self.rooms.session_to_admit())),
            admin=self.state.every_room,
            undo=self.rooms.undoable(),
            connection=self.state.connection,
        )

    def applies(self, action: str) -> bool:
        """Whether ``action`` applies to what is selected now."""
        return why_not(action, self.selection()) is None

    def refuse(self, action: str) -> bool:
        """Say what ``action`` needs when it does not apply now (the same words for
        every key, titled with the key's name); True when it does not apply."""
        needs = why_not(action, self.selection())
        if needs is None:
            return False
        binding = next((b for b in self.keys if b.action == action), None)
        self.say(needs, binding.description if binding is not None else "")
        return True

    def keys_for(self, screen: Screen[Any], locked: bool) -> list[Key]:
        """The key bar's keys on ``screen``: its own, then those of the app that apply
        now, in the bindings' order."""
        found = [
            Key(self.display(b), b.description, f"screen.{b.action}")
            for b in screen.BINDINGS
            if isinstance(b, Binding) and b.show and b.description
        ]
        if locked:
            return found
        selection = self.selection()
        found += [
            Key(self.display(b), b.description, f"app.{b.action}")
            for b in self.keys
            if b.show and why_not(b.action, selection) is None
        ]
        return found
