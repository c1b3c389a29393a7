"""``TlhClient``: the one typed async client of docs/API.md, a facade of one part per
concept (``client.appointments.list()``, ``client.rooms.admit()``...).

The CLI and the TUI reach the server only through it. Requests are the ``tlh.api``
structs the server decodes; answers are decoded straight into them (or the domain
records); errors are ``tlh.errors`` classes. Every part holds the same ``Http``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from tlh.api.practice import Health

from .admin import AdminApi, AuditApi, MediaApi
from .events import Backoff, EventStream
from .http import Http
from .outreach import ConsentsApi, InvitesApi, LinksApi, OutboxApi
from .people import ClientsApi, PracticeApi, StaffApi
from .portal import PortalApi
from .reschedule import RescheduleApi
from .rooms import ReportsApi, RoomsApi, SessionsApi
from .schedule import AppointmentsApi, AvailabilityApi, SlotsApi


class TlhClient:
    """An async client of one tlh server, authenticated by one staff token.

    ``TlhClient(url, token, timeout=30.0)``; use as ``async with``. ``last_body`` holds
    the raw bytes of the last answer; ``request()`` is the untyped escape hatch.
    """

    def __init__(
        self, url: str, token: str, timeout: float = 30.0, ca_file: str | None = None
    ) -> None:
        self.http = Http(url, token, timeout, ca_file)
        self.url = url
        self.practice = PracticeApi(self.http)
        self.staff = StaffApi(self.http)
        self.clients = ClientsApi(self.http)
        self.appointments = AppointmentsApi(self.http)
        self.availability = AvailabilityApi(self.http)
        self.slots = SlotsApi(self.http)
        self.reschedule = RescheduleApi(self.http)
        self.invites = InvitesApi(self.http)
        self.links = LinksApi(self.http)
        self.consents = ConsentsApi(self.http)
        self.outbox = OutboxApi(self.http)
        self.rooms = RoomsApi(self.http)
        self.sessions = SessionsApi(self.http)
        self.reports = ReportsApi(self.http)
        self.audit = AuditApi(self.http)
        self.admin = AdminApi(self.http)
        self.media = MediaApi(self.http)
        self.portal = PortalApi(self.http)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection."""
        await self.http.close()

    @property
    def last_body(self) -> bytes:
        """The raw body of the last answer (what ``--json`` prints verbatim)."""
        return self.http.last_body

    def token_matches(self, text: str) -> bool:
        """Whether ``text`` is this client's API token (constant time)."""
        return self.http.token_matches(text)

    async def request(
        self, method: str, path: str, json: Any = None, **kw: Any
    ) -> tuple[int, bytes]:
        """Raw escape hatch: send ``json`` (or ``body=``), return (status, body) unchecked."""
        return await self.http.request(method, path, json, **kw)

    async def health(self) -> Health:
        """``GET /healthz``."""
        return await self.http.get(Health, "GET", "/healthz")

    def events(self, *, dashboard: bool = False, backoff: Backoff | None = None) -> EventStream:
        """Staff events as they happen, reconnecting by itself (``tlh.client.events``).

        ``dashboard=True`` marks the stream as this user's dashboard: opening another
        one elsewhere supersedes it (``Superseded``, then the end). A refused token
        ends it with ``SignedOut``.
        """
        from .websocket import WebSocket  # wsproto (~15 ms): only event streams pay for it

        target = "/api/v1/events" + ("?dashboard=1" if dashboard else "")
        headers = [("Authorization", f"Bearer {self.http.token}")]
        return EventStream(
            lambda: WebSocket.connect(self.http.transport, target, headers), backoff=backoff
        )
