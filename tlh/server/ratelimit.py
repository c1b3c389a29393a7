"""Failure rate limits per remote address (a sliding window, in memory or, when several
servers share a store, in its database: ``tlh.services.ephemeral``).

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
from collections.abc import Callable
from dataclasses import dataclass, field

from tlh.errors import RateLimited
from tlh.services.ephemeral import Attempts, MemoryAttempts, wall_clock


class FailureLimiter:
    """At most ``limit`` failures per ``window_s`` per key; ``blocked`` says when to stop.

    Failures are kept in ``attempts``: this process's memory by default (one server;
    memory bounded to ``limit`` times per key and ``max_keys`` keys, the oldest dropped
    first), or the shared store's (several servers: then ``name`` keeps this budget's
    keys apart from the others', and ``clock`` must be the wall clock).
    """

    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
        *,
        attempts: Attempts | None = None,
        name: str = "",
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._attempts: Attempts = attempts or MemoryAttempts(max_keys)
        self._name = name

    def _key(self, key: str) -> str:
        return f"{self._name}:{key}" if self._name else key

    async def _recent(self, key: str) -> list[float]:
        return await self._attempts.recent(self._key(key), self._clock(), self.window_s, self.limit)

    async def blocked(self, key: str) -> bool:
        """Whether ``key`` has used up its failures for now."""
        return len(await self._recent(key)) >= self.limit

    async def retry_after_s(self, key: str) -> int:
        """Whole seconds until ``key`` may fail again (0 when it may now)."""
        recent = await self._recent(key)
        if len(recent) < self.limit:
            return 0
        return max(1, math.ceil(recent[-self.limit] + self.window_s - self._clock()))

    async def fail(self, key: str) -> None:
        """Count one failure for ``key``."""
        await self._attempts.add(self._key(key), self._clock(), self.window_s, self.limit)

    async def refusal(self, key: str) -> RateLimited:
        """The 429 for a blocked ``key``, with when to retry (the server's Retry-After)."""
        return RateLimited(
            "too many attempts; please wait a minute and try again",
            {"retry_after_s": await self.retry_after_s(key)},
        )

    async def guard(self, key: str) -> None:
        """Raise the 429 when ``key`` is blocked."""
        if await self.blocked(key):
            raise await self.refusal(key)


class AuditGate:
    """Which failures reach the audit log: the first per key per window, and at most
    ``total`` per window over all keys, so a flood from many addresses cannot fill the
    disk with entries that say the same thing. Kept per server, in memory: it bounds
    what one server writes, and needs no round trip to decide."""

    def __init__(
        self, window_s: float = 60.0, total: int = 600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s, self.total, self._clock = window_s, total, clock
        self._per_key = MemoryAttempts()
        self._all = MemoryAttempts(max_keys=1)

    def due(self, key: str) -> bool:
        """Whether to write this failure of ``key`` (counting it when so)."""
        now, window = self._clock(), self.window_s
        if self._per_key.recent_now(key, now, window) or (
            len(self._all.recent_now("", now, window)) >= self.total
        ):
            return False
        self._per_key.add_now(key, now, window, 1)
        self._all.add_now("", now, window, self.total)
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

    @classmethod
    def shared(cls, attempts: Attempts) -> FailureLimits:
        """The same budgets, counted in ``attempts`` (several servers' shared store); the
        audit gate stays per server."""

        def one(name: str) -> FailureLimiter:
            return FailureLimiter(clock=wall_clock, attempts=attempts, name=name)

        return cls(one("links"), one("staff_logins"), one("bearer"), AuditGate(), one("actions"))


@dataclass
class PortalLimits:
    """The client portal's sign-in budgets (issue 13): code requests per address and
    per network address, and wrong codes per network address (per address the service
    allows ``MAX_TRIES``). Ten minutes, as long as a code lives."""

    codes_per_address: FailureLimiter = field(default_factory=lambda: FailureLimiter(5, 600.0))
    codes_per_peer: FailureLimiter = field(default_factory=lambda: FailureLimiter(30, 600.0))
    wrong_per_peer: FailureLimiter = field(default_factory=lambda: FailureLimiter(20, 600.0))

    @classmethod
    def shared(cls, attempts: Attempts) -> PortalLimits:
        """The same budgets, counted in ``attempts`` (several servers' shared store)."""

        def one(name: str, limit: int) -> FailureLimiter:
            return FailureLimiter(limit, 600.0, wall_clock, attempts=attempts, name=name)

        return cls(
            one("portal.codes_addr", 5), one("portal.codes_peer", 30), one("portal.wrong", 20)
        )
