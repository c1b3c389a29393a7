"""Prometheus metrics (prometheus-client), off unless ``[metrics] token_file`` is set.

Counts and timings only, never a name or an id: people waiting, call sessions live,
streams through the server's relay, the outbox by state, open sockets, and histograms
of request handling (by route template, never the path) and of call signalling (by
socket and message type). The live figures are read when Prometheus scrapes, so
nothing is kept up to date between scrapes.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tlh.errors import InvalidInput

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Seconds: a page's request or a call message should take milliseconds; an import more.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_SIGNAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


def read_token(path: Path | None) -> str | None:
    """The scrape token in ``path`` (``$CREDENTIALS_DIRECTORY`` and other variables
    expanded: a systemd credential); ``None`` when metrics are off."""
    if path is None:
        return None
    where = Path(os.path.expandvars(str(path)))
    try:
        token = where.read_text().strip()
    except OSError as exc:
        raise InvalidInput(
            f"[metrics] token_file {where}: cannot read it ({exc.strerror})"
        ) from None
    if len(token) < 16:
        raise InvalidInput(f"[metrics] token_file {where}: the token needs 16 characters or more")
    return token


@dataclass(frozen=True)
class Live:
    """What the running server holds now, read at each scrape."""

    waiting: int
    sessions: int
    relayed: int
    outbox: dict[str, int]
    outbox_up: bool
    websockets: int


class _Live(Collector):
    """The live figures as last read (``Metrics.refresh``, before each scrape): the
    collector is synchronous, the reads are not."""

    def __init__(self, source: Callable[[], Awaitable[Live | None]]) -> None:
        self.source = source
        self.last: Live | None = None

    def collect(self) -> Iterator[Metric]:
        live = self.last
        if live is None:  # scraped while starting or stopping
            return
        yield GaugeMetricFamily(
            "tlh_people_waiting", "People in a waiting room", value=live.waiting
        )
        yield GaugeMetricFamily(
            "tlh_sessions_live", "Call segments with someone in them", value=live.sessions
        )
        yield GaugeMetricFamily(
            "tlh_relayed_streams",
            "Participants whose media goes through the server's relay",
            value=live.relayed,
        )
        outbox = GaugeMetricFamily(
            "tlh_outbox_messages", "Messages in the outbox, by state", labels=["state"]
        )
        for state, count in live.outbox.items():
            outbox.add_metric([state], count)
        yield outbox
        yield GaugeMetricFamily(
            "tlh_outbox_worker_up", "Whether the outbox sender runs", value=live.outbox_up
        )
        yield GaugeMetricFamily(
            "tlh_websockets_open", "Open websockets (pages, calls, dashboards)",
            value=live.websockets,
        )  # fmt: skip


class Metrics:
    """One server's registry (never the process-wide one: tests run many apps)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.registry = CollectorRegistry(auto_describe=False)
        self._live: list[_Live] = []
        self.requests = Histogram(
            "tlh_http_request_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.signalling = Histogram(
            "tlh_signalling_seconds",
            "Time to handle one call-socket message, by socket and message type",
            ["socket", "type"],
            buckets=_SIGNAL_BUCKETS,
            registry=self.registry,
        )
        self.hellos_queued = Counter(
            "tlh_hellos_queued",
            "Pages' hellos that waited for their turn ([rooms] hello_concurrency at once)",
            registry=self.registry,
        )
        #: The histogram's child per socket and frame type: ``labels()`` (a lock, a
        #: tuple, a dict) cost more per relayed signal than the observation itself.
        self._signal_timers: dict[tuple[str, type], Callable[[float], None]] = {}

    def watch(self, source: Callable[[], Awaitable[Live | None]]) -> None:
        """Read the live figures from ``source`` at each scrape (``refresh``)."""
        self._live.append(_Live(source))
        self.registry.register(self._live[-1])

    async def refresh(self) -> None:
        """Read the live figures now: a scrape calls this, then renders the registry."""
        for live in self._live:
            live.last = await live.source()

    def allows(self, authorization: str) -> bool:
        """Whether a scrape's ``Authorization`` header carries the token."""
        if self.token is None:
            return False
        given = authorization.removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def signal(self, socket: str, frame: object) -> _Timed | nullcontext[None]:
        """Time the handling of one call-socket message (``with metrics.signal(...):``);
        nothing is timed while metrics are off (no token: nobody can read them)."""
        if self.token is None:
            return _UNTIMED
        key = (socket, type(frame))
        observe = self._signal_timers.get(key)
        if observe is None:
            kind = getattr(type(frame), "__struct_config__", None)
            tag = str(getattr(kind, "tag", None) or type(frame).__name__)
            observe = self._signal_timers[key] = self.signalling.labels(socket, tag).observe
        return _Timed(observe)


_UNTIMED: nullcontext[None] = nullcontext()


class _Timed:
    """One message's timing (a generator-based context manager cost ~3 us a message)."""

    __slots__ = ("_observe", "_start")

    def __init__(self, observe: Callable[[float], None]) -> None:
        self._observe = observe
        self._start = time.perf_counter()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        self._observe(time.perf_counter() - self._start)


def metrics_middleware(metrics: Metrics) -> Middleware:
    """Time every request by its route template (not websockets: they last the visit,
    and are passed straight on, so nothing of this step stays on their stack)."""

    @web.middleware
    def timed(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return handler(request)
        return timing(request, handler)

    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            elapsed = time.perf_counter() - start
            metrics.requests.labels(request.method, route).observe(elapsed)

    return timed
