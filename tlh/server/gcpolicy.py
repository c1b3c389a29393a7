"""The cycle collector while the server runs: what survives a full collection is frozen.

CPython 3.11 runs a full collection each time the objects promoted since the last one
reach a quarter of those it kept, and a full collection walks every tracked object. While
10,000 people arrive that is some 14 collections, each longer than the last (44 ms to
561 ms at 850,000 tracked objects: the p99 of their arrivals, issue 21 item 5). Freezing
the survivors of each full collection (``gc.freeze``) keeps the trigger as it is but
leaves the next one only what came since: the permanent generation is never walked, and
its objects still count as referenced from outside for the young ones, so nothing alive
is ever collected.

The price: a reference cycle among frozen objects that later becomes garbage is not
reclaimed (objects freed by their reference count, nearly all, still are). What a socket
leaves in a cycle when it closes is broken where it closes (``wsproto.release``);
``bench/soak_rooms.py`` checks that reconnect storms do not make the server grow.
"""

from __future__ import annotations

import gc
from typing import Any


def install() -> None:
    """Freeze the survivors of every full collection from now on (idempotent)."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


def uninstall() -> None:
    """Stop freezing (the server stopped; tests run many apps in one process)."""
    if _freeze_survivors in gc.callbacks:
        gc.callbacks.remove(_freeze_survivors)


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
