"""``client.reschedule``: clients' requests to move a visit, for staff to decide."""

from __future__ import annotations

import builtins
from datetime import datetime

from tlh.api.reschedule import NewRescheduleRequest
from tlh.domain.reschedule import RescheduleRequest

from .http import Part, build, query, seg


class RescheduleApi(Part):
    """Reschedule requests: list, ask (for a client), accept, decline."""

    async def list(self, state: str = "pending") -> builtins.list[RescheduleRequest]:
        """Requests in ``state`` (pending, accepted, declined or all)."""
        path = "/api/v1/reschedule-requests" + query({"state": state})
        return await self._http.items(RescheduleRequest, path)

    async def ask(self, appointment_id: str, start: datetime) -> RescheduleRequest:
        """Ask, for the appointment's client, to move it to the open slot at ``start``."""
        new = build(NewRescheduleRequest, {"appointment_id": appointment_id, "start": start})
        return await self._http.get(RescheduleRequest, "POST", "/api/v1/reschedule-requests", new)

    async def accept(self, id: str) -> RescheduleRequest:
        """Move the appointment as asked (409 ``slot_gone`` if taken meanwhile)."""
        path = f"/api/v1/reschedule-requests/{seg(id)}/accept"
        return await self._http.get(RescheduleRequest, "POST", path)

    async def decline(self, id: str) -> RescheduleRequest:
        """Decline the request; the appointment stays."""
        path = f"/api/v1/reschedule-requests/{seg(id)}/decline"
        return await self._http.get(RescheduleRequest, "POST", path)
