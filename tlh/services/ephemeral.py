"""Short-lived security state: attempt counters, one-time codes and single-use values
(passkey challenges), kept where every server sees them.

Rate limits, failure limits, identity-check tries and one-time codes used to live in one
process's memory. With several servers behind a load balancer, one person's consecutive
requests land on different servers: a code sent by server A must be checked on B, and a
guesser spreading tries over N servers must not get N times the budget. So the services
and the server's limiters speak to these protocols, and the server picks their home:
in memory for the embedded store (one server: today's behaviour and speed), in
PostgreSQL when the store is shared (``tlh.store.pg.ephemeral``).

Keys are the callers' (a link id, a hashed address, a network address): a shared
implementation stores them as keyed digests, never in clear.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol


class Attempts(Protocol):
    """Timed attempts per key; each counts for a window, then is forgotten.

    Times are seconds on the caller's clock (one clock per key: a shared store's
    callers use the wall clock).
    """

    async def recent(self, key: str, now: float, window_s: float, keep: int) -> list[float]:
        """The times of ``key``'s newest (at most ``keep``) attempts within ``window_s``
        before ``now``, oldest first."""
        ...

    async def add(self, key: str, now: float, window_s: float, keep: int) -> None:
        """Count one attempt of ``key`` at ``now`` (only the newest ``keep`` matter)."""
        ...

    async def clear(self, key: str) -> None:
        """Forget ``key``'s attempts (a success)."""
        ...

    async def reserve(self, key: str, now: float, window_s: float, limit: int) -> str | None:
        """Count one attempt of ``key`` at ``now`` if fewer than ``limit`` count within
        ``window_s``: a token for ``release``; ``None`` (nothing counted) when the limit
        is reached. Atomic: of many reservations at once, across servers too, at most
        ``limit`` succeed, so a burst of guesses sent together gets no more tries than
        guesses sent one by one."""
        ...

    async def release(self, key: str, token: str) -> None:
        """Take back a reservation (the attempt turned out not to count)."""
        ...


class CodeStore(Protocol):
    """One-time code entries (``tlh.services.one_time_codes`` explains their life): only
    a code's digest is kept, and a right code is taken by exactly one check."""

    async def open(self, subject: str, ttl: timedelta, clock: Callable[[], datetime]) -> str:
        """A new entry for ``subject``, replacing any (its code dies); its id."""
        ...

    async def pending(self, entry_id: str) -> bool:
        """Whether ``entry_id`` still stands (not replaced, used, forgotten)."""
        ...

    async def issue(self, entry_id: str) -> str | None:
        """A fresh code for ``entry_id`` (``None`` when the entry is gone)."""
        ...

    async def void(self, entry_id: str) -> None:
        """The code made for ``entry_id`` dies; the entry stays."""
        ...

    async def check(self, subject: str, code: str, now: datetime) -> bool:
        """Whether ``code`` is ``subject``'s current, unexpired code; a right one is
        used up (atomically: of two checks at once, one wins)."""
        ...


class OnceStore(Protocol):
    """Values kept under a key until taken once or expired (a passkey ceremony's pending
    challenge): of two takes at once, one gets the value."""

    async def put(self, key: str, value: bytes, expires: datetime) -> None:
        """Keep ``value`` under ``key`` until ``expires`` (replacing any)."""
        ...

    async def take(self, key: str, now: datetime) -> bytes | None:
        """``key``'s value, gone from the store whatever comes next; ``None`` when there
        is none or it expired by ``now``."""
        ...


class MemoryOnce:
    """``OnceStore`` in this process's memory (one server); at most ``limit`` values
    (the oldest are forgotten first)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._values: OrderedDict[str, tuple[bytes, datetime]] = OrderedDict()

    async def put(self, key: str, value: bytes, expires: datetime) -> None:
        self._values.pop(key, None)
        while len(self._values) >= self.limit:
            self._values.popitem(last=False)
        self._values[key] = (value, expires)

    async def take(self, key: str, now: datetime) -> bytes | None:
        found = self._values.pop(key, None)
        if found is None or now >= found[1]:
            return None
        return found[0]


class MemoryAttempts:
    """``Attempts`` in this process's memory (one server). Memory is bounded: at most
    ``keep`` times per key and ``max_keys`` keys (the oldest are dropped first)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._max_keys = max_keys
        self._times: dict[str, deque[float]] = {}

    def recent_now(self, key: str, now: float, window_s: float) -> deque[float]:
        """``recent``, synchronously (the in-memory limiters need no await)."""
        found = self._times.get(key)
        if found is None:
            return deque()
        horizon = now - window_s
        while found and found[0] <= horizon:
            found.popleft()
        if not found:
            del self._times[key]
        return found

    def add_now(self, key: str, now: float, window_s: float, keep: int) -> None:
        """``add``, synchronously."""
        recent = self.recent_now(key, now, window_s)
        if key not in self._times:
            if len(self._times) >= self._max_keys:
                del self._times[next(iter(self._times))]
            self._times[key] = recent
        recent.append(now)
        while len(recent) > keep:
            recent.popleft()  # only the newest ``keep`` decide when a block lifts

    async def recent(self, key: str, now: float, window_s: float, keep: int) -> list[float]:
        return list(self.recent_now(key, now, window_s))[-keep:]

    async def add(self, key: str, now: float, window_s: float, keep: int) -> None:
        self.add_now(key, now, window_s, keep)

    async def clear(self, key: str) -> None:
        self._times.pop(key, None)

    async def reserve(self, key: str, now: float, window_s: float, limit: int) -> str | None:
        # No await between the count and the add: atomic on the one event loop.
        if len(self.recent_now(key, now, window_s)) >= limit:
            return None
        self.add_now(key, now, window_s, limit)
        return repr(now)

    async def release(self, key: str, token: str) -> None:
        found = self._times.get(key)
        if found is not None and float(token) in found:
            found.remove(float(token))


class SharedState(Protocol):
    """What a shared store offers the servers on it (``tlh.store.pg.ephemeral``)."""

    @property
    def attempts(self) -> Attempts: ...

    @property
    def codes(self) -> CodeStore: ...

    @property
    def once(self) -> OnceStore: ...

    async def open(self) -> None:
        """Ready the shared tables (at start-up)."""
        ...

    async def close(self) -> None:
        """Stop any background work (before the store closes)."""
        ...


def wall_clock() -> float:
    """Seconds on the wall clock: what servers sharing attempts agree on (the default
    ``time.monotonic`` of one process means nothing to another)."""
    return time.time()
