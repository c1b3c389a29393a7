"""Hooks: run a program or POST a URL for waiting-room events (a desk bell, a chat ping).

The hook listens on the event bus like a dashboard, so the room never waits for it: a
slow or failing hook only delays other hooks, is cut off after its timeout, and is
logged without the event's payload. Programs run without a shell, the event as JSON
on stdin (ids only, as on the event stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiohttp
import msgspec

from tlh.services.events import Event, EventBus, Subscription

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()
#: Hooks running at once; events beyond this wait their turn in the bus queue.
_PARALLEL = 4


class HookRunner:
    """Delivers matching bus events to a command and/or a URL."""

    def __init__(
        self,
        bus: EventBus,
        *,
        command: Sequence[str] = (),
        url: str | None = None,
        events: Sequence[str] = (),
        timeout_s: float = 10.0,
    ) -> None:
        self.bus = bus
        self.command = tuple(command)
        self.url = url
        self.events = frozenset(events)
        self.timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(_PARALLEL)
        self._http: aiohttp.ClientSession | None = None

    @property
    def configured(self) -> bool:
        return bool(self.command or self.url)

    def wants(self, event_type: str) -> bool:
        """The configured events, else every ``room.*`` event."""
        if self.events:
            return event_type in self.events
        return event_type.startswith("room.")

    async def start(self) -> None:
        """Subscribe to the bus (nothing happens when no hook is configured)."""
        if not self.configured or self._task is not None:
            return
        if self.url:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        # Subscribed here, not in the task, so no event published after start is missed.
        # Local only: with several servers, a hook runs once, where its event happened.
        sub = self.bus.subscribe(local_only=True)
        self._task = asyncio.get_running_loop().create_task(self._listen(sub))

    async def close(self) -> None:
        """Stop listening and abandon running hooks."""
        tasks = [t for t in (self._task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _listen(self, sub: Subscription) -> None:
        try:
            while True:
                event = await sub.get()
                if not self.wants(event.type):
                    continue
                await self._limit.acquire()
                task = asyncio.get_running_loop().create_task(self._deliver(event))
                self._running.add(task)
                task.add_done_callback(self._done)
        finally:
            sub.close()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._limit.release()

    async def _deliver(self, event: Event) -> None:
        payload = _encoder.encode({"type": event.type, "at": event.at, "data": event.data})
        if self.command:
            await self._run(event.type, payload)
        if self.url:
            await self._post(event.type, payload)

    async def _run(self, event_type: str, payload: bytes) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            log.warning("hook command for %s could not start: %s", event_type, exc.strerror)
            return
        try:
            await asyncio.wait_for(proc.communicate(payload), self.timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            log.warning("hook command for %s timed out", event_type)
            return
        if proc.returncode != 0:
            log.warning("hook command for %s exited with %s", event_type, proc.returncode)

    async def _post(self, event_type: str, payload: bytes) -> None:
        assert self._http is not None
        assert self.url is not None
        try:
            async with self._http.post(
                self.url, data=payload, headers={"Content-Type": "application/json"}
            ) as response:
                if response.status >= 300:
                    log.warning("hook url for %s answered %s", event_type, response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("hook url for %s failed: %s", event_type, type(exc).__name__)
