"""The installation's care: ``client.audit``, ``client.admin`` (backup, doctor) and
``client.media`` (the echo peer ``tlh doctor`` calls)."""

from __future__ import annotations

import builtins
from datetime import datetime

from tlh.api.audit import AuditEntry, AuditVerify
from tlh.api.envelope import Ok
from tlh.api.media import EchoAnswer, EchoOffer, SelfCallStart
from tlh.domain.doctor import Check

from .http import EMPTY, Part, query
from .schedule import BULK_TIMEOUT


class AuditApi(Part):
    """The audit log (admins)."""

    async def list(
        self, since: datetime | str | None = None, limit: int | None = None
    ) -> builtins.list[AuditEntry]:
        """Audit entries, oldest first."""
        path = "/api/v1/audit" + query({"since": since, "limit": limit})
        return await self._http.items(dict, path)

    async def export(self) -> bytes:
        """The audit log as stored (JSON lines)."""
        return await self._http.call("GET", "/api/v1/audit/export", wait_s=BULK_TIMEOUT)

    async def verify(self) -> AuditVerify:
        """Check the audit log's chain."""
        path = "/api/v1/audit/verify"
        return await self._http.get(AuditVerify, "GET", path, wait_s=BULK_TIMEOUT)


class AdminApi(Part):
    """Backups and the server's own checks (admins)."""

    async def backup(self) -> bytes:
        """A consistent gzip snapshot of the server's data dir."""
        return await self._http.call("GET", "/api/v1/admin/backup", wait_s=BULK_TIMEOUT)

    async def doctor(self) -> builtins.list[Check]:
        """The server's own checks (mail, texts, STUN/TURN, disk)."""
        return await self._http.items(Check, "/api/v1/admin/doctor", wait_s=BULK_TIMEOUT)

    async def self_call(self) -> SelfCallStart:
        """Open a self-test segment and a one-time guest link into it."""
        return await self._http.get(SelfCallStart, "POST", "/api/v1/admin/doctor/call", EMPTY)


class MediaApi(Part):
    """The server's echo peer, for ``tlh doctor``'s media round trip."""

    async def echo_offer(self, sdp: str) -> str:
        """The echo peer's answer to an offer."""
        answer = await self._http.get(EchoAnswer, "POST", "/api/v1/media/echo", EchoOffer(sdp=sdp))
        return answer.sdp

    async def echo_end(self) -> None:
        """Close this staff member's echo peer."""
        await self._http.get(Ok, "POST", "/api/v1/media/echo/end", EMPTY)
