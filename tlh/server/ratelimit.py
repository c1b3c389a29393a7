"""Failure rate limits per remote address (a sliding window, in memory).

Only presented tokens that name nothing count, and a valid token is accepted from any
address, throttled or not: a practice behind one NAT address or a reverse proxy shares
one remote address, and ten mistyped or stale links must not lock out everyone behind
it. That leaves the guesser a yes/no for each valid token it happens to try, which is
no help against 192 or 256 random bits; what the limit protects is the server (work
and audit entries per attempt), and what it slows is the guessing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tlh.errors import RateLimited


class FailureLimiter:
    """At most ``limit`` failures per ``window_s`` per key; ``blocked`` says when to stop.

    Memory is bounded: at most ``limit`` times per key and ``max_keys`` keys (the
    oldest are dropped first).
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

    def retry_after_s(self, key: str) -> int:
        """Whole seconds until ``key`` may fail again (0 when it may now)."""
        recent = self._recent(key)
        if len(recent) < self.limit:
            return 0
        return max(1, math.ceil(recent[-self.limit] + self.window_s - self._clock()))

    def fail(self, key: str) -> None:
        """Count one failure for ``key``."""
        recent = self._recent(key)
        if key not in self._failures:
            if len(self._failures) >= self._max_keys:
                del self._failures[next(iter(self._failures))]
            self._failures[key] = recent
        recent.append(self._clock())
        if len(recent) > self.limit:
            recent.popleft()  # only the newest ``limit`` decide when the block lifts

    def refusal(self, key: str) -> RateLimited:
        """The 429 for a blocked ``key``, with when to retry (the server's Retry-After)."""
        return RateLimited(
            "too many attempts; please wait a minute and try again",
            {"retry_after_s": self.retry_after_s(key)},
        )


class AuditGate:
    """Which failures reach the audit log: the first per key per window, and at most
    ``total`` per window over all keys, so a flood from many addresses cannot fill the
    disk with entries that say the same thing."""

    def __init__(
        self, window_s: float = 60.0, total: int = 600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_key = FailureLimiter(1, window_s, clock)
        self._all = FailureLimiter(total, window_s, clock, max_keys=1)

    def due(self, key: str) -> bool:
        """Whether to write this failure of ``key`` (counting it when so)."""
        if self._per_key.blocked(key) or self._all.blocked(""):
            return False
        self._per_key.fail(key)
        self._all.fail("")
        return True


@dataclass
class FailureLimits:
    """Separate budgets, so guessing one kind of token locks out no other kind."""

    #: Client link redemptions (``/api/v1/link/redeem``).
    links: FailureLimiter = field(default_factory=FailureLimiter)
    #: One-time logins to the clinician's call page (``/api/v1/call-links/redeem``).
    staff_logins: FailureLimiter = field(default_factory=FailureLimiter)
    #: Staff API bearer tokens on every staff route.
    bearer: FailureLimiter = field(default_factory=FailureLimiter)
    #: Which bearer-token failures are audited (one per address per minute).
    bearer_audit: AuditGate = field(default_factory=AuditGate)
    #: One-tap confirm/cancel links of reminders (``/api/v1/actions/*``).
    actions: FailureLimiter = field(default_factory=FailureLimiter)


@dataclass
class PortalLimits:
    """The client portal's sign-in budgets (issue 13): code requests per address and
    per network address, and wrong codes per network address (per address the service
    allows ``MAX_TRIES``). Ten minutes, as long as a code lives."""

    codes_per_address: FailureLimiter = field(default_factory=lambda: FailureLimiter(5, 600.0))
    codes_per_peer: FailureLimiter = field(default_factory=lambda: FailureLimiter(30, 600.0))
    wrong_per_peer: FailureLimiter = field(default_factory=lambda: FailureLimiter(20, 600.0))
