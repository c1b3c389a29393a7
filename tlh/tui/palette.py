"""The command palette (ctrl+p) lists every key the dashboard has, read from its bindings.

Nothing here names an action: whatever is bound on the app or the screen in front (with
a description) is a command, shown with its key(s) and what it does, and runs through
``App.run_action`` exactly as the key would, so the app's ``check_action`` (the lock)
rules both. Textual's own entries (theme, keys, screenshot...) stay unless a binding of
the dashboard already has their title (``q`` → Quit).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from textual.actions import parse
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from tlh.tui.bindings import bound_actions

#: Bound actions that are not commands (the palette itself).
NOT_COMMANDS = frozenset({"command_palette"})


def what_it_does(node: DOMNode, binding: Binding) -> str:
    """The first line of our action method's docstring ('' for Textual's: theirs are
    written for their docs site)."""
    _, name, _ = parse(binding.action)
    method = getattr(node, f"action_{name}", None)
    if not getattr(method, "__module__", "").startswith("tlh."):
        return ""
    doc = inspect.getdoc(method)
    return doc.splitlines()[0] if doc else ""


def bound_commands(app: App[Any], screen: Screen[Any]) -> list[SystemCommand]:
    """One command per action bound on the app or ``screen`` (keys merged), enabled now."""
    return [
        SystemCommand(
            binding.description,
            " · ".join(filter(None, [f"key {', '.join(keys)}", what_it_does(node, binding)])),
            partial(app.run_action, binding.action, node),
        )
        for node, binding, keys in bound_actions(app, screen)
        if isinstance(node, App | Screen) and parse(binding.action)[1] not in NOT_COMMANDS
    ]


def palette_commands(
    app: App[Any], screen: Screen[Any], textual_own: Iterable[SystemCommand]
) -> Iterator[SystemCommand]:
    """The dashboard's bound commands, then Textual's own whose title is not taken."""
    ours = bound_commands(app, screen)
    taken = {command.title for command in ours}
    yield from ours
    yield from (command for command in textual_own if command.title not in taken)
