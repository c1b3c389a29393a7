"""Grace-period timers for the waiting rooms: one per disconnected entry.

The timer is injectable (``loop.call_later`` by default) so tests fire it by hand with
a fake clock instead of sleeping through the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


#: Schedules a callback after some seconds (``loop.call_later``; tests inject their own).
Timer = Callable[[float, Callable[[], None]], Cancellable]


def call_later(delay: float, callback: Callable[[], None]) -> Cancellable:
    """The default ``Timer``: the running loop's ``call_later``."""
    return asyncio.get_running_loop().call_later(delay, callback)


class Expiries:
    """Per key, at most one pending timer whose firing runs a coroutine (owned here:
    cancelled and awaited on ``close``)."""

    def __init__(self, timer: Timer | None = None) -> None:
        self._timer = timer or call_later
        self._handles: dict[str, Cancellable] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, key: str, delay: float, run: Callable[[], Awaitable[None]]) -> None:
        """Run ``run()`` after ``delay`` seconds, replacing any timer for ``key``."""
        self.cancel(key)

        def fire() -> None:
            self._handles.pop(key, None)
            task = asyncio.get_running_loop().create_task(_as_task(run))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._handles[key] = self._timer(delay, fire)

    def cancel(self, key: str) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def pending(self, key: str) -> bool:
        return key in self._handles

    async def close(self) -> None:
        """Cancel every timer and every expiry under way (server shutdown)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _as_task(run: Callable[[], Awaitable[None]]) -> None:
    await run()
