"""Failure rate limits per remote address (a sliding window, in memory)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """At most ``limit`` failures per ``window_s`` per key; ``blocked`` says when to stop.

    Only failures count, so a practice behind one NAT address is not locked out by its
    own clients' successful redemptions. Memory is bounded: at most ``max_keys`` keys are
    kept (the oldest are dropped first).
    """

    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        found = self._failures.get(key)
        if found is None:
            return deque()
        horizon = self._clock() - self.window_s
        while found and found[0] <= horizon:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def blocked(self, key: str) -> bool:
        """Whether ``key`` has used up its failures for now."""
        return len(self._recent(key)) >= self.limit

    def fail(self, key: str) -> None:
        """Count one failure for ``key``."""
        recent = self._recent(key)
        if key not in self._failures:
            if len(self._failures) >= self._max_keys:
                del self._failures[next(iter(self._failures))]
            self._failures[key] = recent
        recent.append(self._clock())
