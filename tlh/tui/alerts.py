"""Arrival alerts: the terminal bell, a toast and an optional hook command.

The hook runs without a shell (argv as given, the event as JSON on stdin, ids only), is
bounded by a timeout, and its failure is only noted: an alert must never block the room.
Tasks are owned here and cancelled on ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from tlh.api.events import StaffEvent

#: Seconds a hook command may run before it is killed.
HOOK_TIMEOUT_S = 10.0
#: Event data that names people (a room entry's view): never passed to the hook.
NAMED = frozenset({"entry"})

Bell = Callable[[], None]
Toast = Callable[[str], None]


class Alerts:
    """Rings, shows a toast and runs the hook for each arrival."""

    def __init__(self, bell: Bell, toast: Toast, hook: Sequence[str] = (), sound: bool = True):
        self.bell = bell
        self.toast = toast
        self.hook = tuple(hook)
        self.sound = sound
        self.rung = 0
        self.hook_failures = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def arrival(self, label: str, event: StaffEvent) -> None:
        """Someone arrived: ring (if sound is on), toast their label, run the hook."""
        if self.sound:
            self.rung += 1
            self.bell()
        self.toast(f"{label} is waiting")
        if self.hook:
            task = asyncio.get_running_loop().create_task(self.run_hook(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def run_hook(self, event: StaffEvent) -> None:
        """Run the hook command with the event (ids only) on stdin; never raises."""
        ids = {k: v for k, v in event.data.items() if k not in NAMED}
        payload = msgspec.json.encode(msgspec.structs.replace(event, data=ids))
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.hook,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError:
            self.hook_failures += 1
            return
        try:
            await asyncio.wait_for(proc.communicate(payload), HOOK_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if proc.returncode != 0:
            self.hook_failures += 1

    async def close(self) -> None:
        """Cancel hooks still running (on exit)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
