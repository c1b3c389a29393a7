"""The dashboard's keys as the palette and the person menu read them: every action bound
now, with its keys merged, so neither keeps a list of actions of its own."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


def bound_actions(app: App[Any], screen: Screen[Any]) -> list[tuple[DOMNode, Binding, list[str]]]:
    """``(node, binding, keys)`` per action bound on ``screen``'s chain with a description,
    enabled now (``check_action``), Textual's system bindings left out."""
    found: dict[tuple[int, str], tuple[DOMNode, Binding, list[str]]] = {}
    for node, binding, enabled, _ in screen.active_bindings.values():
        if not enabled or not binding.description or binding.system:
            continue
        keys = found.setdefault((id(node), binding.action), (node, binding, []))[2]
        keys.append(app.get_key_display(binding))
    return list(found.values())
