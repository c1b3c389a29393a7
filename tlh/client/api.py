"""``TlhClient``: one typed async method per row of docs/API.md.

The CLI and the TUI reach the server only through this class. Answers are decoded
with msgspec straight into the domain structs; errors are ``tlh.errors`` classes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tlh.domain.doctor import Check
from tlh.domain.models import (
    Appointment,
    AvailabilityBlock,
    Client,
    Eligibility,
    Policy,
    Staff,
)

from .base import _fields, _q, _seg
from .outreach import OutreachApi
from .rooms import RoomsApi
from .transport import ProgressCallback
from .wire import AuditEntry, AuditVerify, Health, ImportReport, Items, NewToken, SelfCallStart

#: Imports and exports may take a while on a large practice.
BULK_TIMEOUT = 300.0


class TlhClient(RoomsApi, OutreachApi):
    """An async client of one tlh server, authenticated by one staff token.

    ``TlhClient(url, token, timeout=30.0)``; use as ``async with``. ``last_body`` holds
    the raw bytes of the last answer; ``request()`` is the untyped escape hatch.
    Invitations, links, consent and the outbox come from ``OutreachApi``; rooms,
    sessions, call-links, reports and the event stream from ``RoomsApi``.
    """

    # -- health, me, practice -------------------------------------------------

    async def health(self) -> Health:
        """``GET /healthz``."""
        return await self._get(Health, "GET", "/healthz")

    async def me(self) -> Staff:
        """The staff member this token belongs to."""
        return await self._get(Staff, "GET", "/api/v1/me")

    async def update_me(self, *, name: str) -> Staff:
        """Change your own display name."""
        return await self._get(Staff, "PATCH", "/api/v1/me", {"name": name})

    async def practice(self) -> Policy:
        """The practice's policy."""
        return await self._get(Policy, "GET", "/api/v1/practice")

    async def update_practice(self, **fields: Any) -> Policy:
        """Change policy fields (admin)."""
        return await self._get(Policy, "PATCH", "/api/v1/practice", fields)

    # -- staff ----------------------------------------------------------------

    async def staff_list(self) -> list[Staff]:
        """Every staff member."""
        return await self._items(Staff, "/api/v1/staff")

    async def staff_add(
        self, email: str, name: str, role: str, telehealth: bool = False
    ) -> NewToken:
        """Add a staff member; the answer carries their first token (shown once)."""
        data = {"email": email, "name": name, "role": role, "telehealth": telehealth}
        return await self._get(NewToken, "POST", "/api/v1/staff", data)

    async def staff_get(self, ref: str) -> Staff:
        """One staff member by id or email."""
        return await self._get(Staff, "GET", f"/api/v1/staff/{_seg(ref)}")

    async def staff_update(self, ref: str, **fields: Any) -> Staff:
        """Change name, role, telehealth or waiting_room (None values are not sent)."""
        return await self._get(Staff, "PATCH", f"/api/v1/staff/{_seg(ref)}", _fields(fields))

    async def staff_token(self, ref: str) -> NewToken:
        """Issue a new token, revoking the old ones."""
        return await self._get(NewToken, "POST", f"/api/v1/staff/{_seg(ref)}/token", {})

    async def staff_disable(self, ref: str) -> Staff:
        """Disable a staff member and revoke their tokens."""
        return await self._get(Staff, "POST", f"/api/v1/staff/{_seg(ref)}/disable", {})

    # -- clients --------------------------------------------------------------

    async def clients(self) -> list[Client]:
        """Every client."""
        return await self._items(Client, "/api/v1/clients")

    async def client_search(self, q: str) -> list[Client]:
        """Clients matching ``q``; the text travels in the body, never the URL."""
        return await self._items(Client, "/api/v1/clients/search", {"q": q}, method="POST")

    async def client_add(
        self,
        name: str,
        dob: date | str | None = None,
        email: str | None = None,
        phone: str | None = None,
        external_id: str | None = None,
    ) -> Client:
        """Add a client."""
        data = _fields(
            {"name": name, "dob": dob, "email": email, "phone": phone, "external_id": external_id}
        )
        return await self._get(Client, "POST", "/api/v1/clients", data)

    async def client_get(self, id: str) -> Client:
        """One client (an audited read)."""
        return await self._get(Client, "GET", f"/api/v1/clients/{_seg(id)}")

    async def client_update(self, id: str, **fields: Any) -> Client:
        """Change client fields (None values are not sent)."""
        return await self._get(Client, "PATCH", f"/api/v1/clients/{_seg(id)}", _fields(fields))

    async def contact_add(
        self,
        id: str,
        name: str,
        relationship: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        reminders: list[str] | None = None,
    ) -> Client:
        """Add a contact (caregiver) to a client."""
        data = _fields(
            {
                "name": name,
                "relationship": relationship,
                "email": email,
                "phone": phone,
                "reminders": reminders,
            }
        )
        return await self._get(Client, "POST", f"/api/v1/clients/{_seg(id)}/contacts", data)

    # -- appointments ---------------------------------------------------------

    async def appointments(
        self,
        date: date | str | None = None,
        from_: date | str | None = None,
        to: date | str | None = None,
        clinician: str | None = None,
    ) -> list[Appointment]:
        """A day's (or a range's, inclusive local dates) appointments."""
        query = _q({"date": date, "from": from_, "to": to, "clinician": clinician})
        return await self._items(Appointment, "/api/v1/appointments" + query)

    async def appointment_add(self, **fields: Any) -> list[Appointment]:
        """Add an appointment (a series gives several); fields as in docs/API.md."""
        return await self._items(
            Appointment, "/api/v1/appointments", _fields(fields), method="POST"
        )

    async def appointment_get(self, id: str) -> Appointment:
        """One appointment."""
        return await self._get(Appointment, "GET", f"/api/v1/appointments/{_seg(id)}")

    async def appointment_update(self, id: str, **fields: Any) -> Appointment:
        """Change an appointment (None values are not sent)."""
        path = f"/api/v1/appointments/{_seg(id)}"
        return await self._get(Appointment, "PATCH", path, _fields(fields))

    async def appointment_status(self, id: str, status: str) -> Appointment:
        """Move an appointment to ``status``."""
        path = f"/api/v1/appointments/{_seg(id)}/status"
        return await self._get(Appointment, "POST", path, {"status": status})

    async def appointment_cancel(self, id: str) -> Appointment:
        """Cancel (late if within the policy's late-cancel hours)."""
        return await self._get(Appointment, "POST", f"/api/v1/appointments/{_seg(id)}/cancel", {})

    async def eligibility(
        self, id: str, at: datetime | str | None = None, clinician: str | None = None
    ) -> Eligibility:
        """Whether the session can start (at ``at``), with every blocking reason."""
        path = f"/api/v1/appointments/{_seg(id)}/eligibility" + _q(
            {"at": at, "clinician": clinician}
        )
        return await self._get(Eligibility, "GET", path)

    async def import_appointments(
        self,
        data: bytes,
        fmt: str,
        dry_run: bool = False,
        partial: bool = False,
        progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Upload a CSV or JSON file of appointments; ``progress(sent, total)`` per chunk."""
        kind = {"csv": "text/csv", "json": "application/json"}[fmt]
        query = _q({"dry_run": 1 if dry_run else None, "partial": 1 if partial else None})
        return await self._get(
            ImportReport,
            "POST",
            "/api/v1/appointments/import" + query,
            body=data,
            content_type=kind,
            wait_s=BULK_TIMEOUT,
            progress=progress,
        )

    async def export_appointments(
        self, from_: date | str | None = None, to: date | str | None = None, fmt: str = "csv"
    ) -> bytes:
        """The appointments of a range as a csv, json or ics file."""
        query = _q({"from": from_, "to": to, "format": fmt})
        return await self._call("GET", "/api/v1/appointments/export" + query, wait_s=BULK_TIMEOUT)

    # -- availability ---------------------------------------------------------

    async def availability(self, clinician: str | None = None) -> list[AvailabilityBlock]:
        """Availability blocks, optionally of one clinician."""
        return await self._items(
            AvailabilityBlock, "/api/v1/availability" + _q({"clinician": clinician})
        )

    async def availability_add(
        self,
        clinician: str,
        weekday: int | str,
        start_local: str,
        end_local: str,
        mode: str | None = None,
    ) -> AvailabilityBlock:
        """Add a weekly block."""
        data = _fields(
            {
                "clinician": clinician,
                "weekday": weekday,
                "start_local": start_local,
                "end_local": end_local,
                "mode": mode,
            }
        )
        return await self._get(AvailabilityBlock, "POST", "/api/v1/availability", data)

    async def availability_delete(self, id: str) -> None:
        """Remove a block."""
        await self._call("DELETE", f"/api/v1/availability/{_seg(id)}")

    # -- audit and admin ------------------------------------------------------

    async def audit(
        self, since: datetime | str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Audit entries, oldest first."""
        return await self._items(dict, "/api/v1/audit" + _q({"since": since, "limit": limit}))

    async def audit_export(self) -> bytes:
        """The audit log as stored (JSON lines)."""
        return await self._call("GET", "/api/v1/audit/export", wait_s=BULK_TIMEOUT)

    async def audit_verify(self) -> AuditVerify:
        """Check the audit log's chain."""
        return await self._get(AuditVerify, "GET", "/api/v1/audit/verify", wait_s=BULK_TIMEOUT)

    async def backup(self) -> bytes:
        """A consistent gzip snapshot of the server's data dir."""
        return await self._call("GET", "/api/v1/admin/backup", wait_s=BULK_TIMEOUT)

    async def doctor(self) -> list[Check]:
        """The server's own checks (mail, texts, STUN/TURN, disk); admins only."""
        path = "/api/v1/admin/doctor"
        return (await self._get(Items[Check], "GET", path, wait_s=BULK_TIMEOUT)).items

    async def doctor_call(self) -> SelfCallStart:
        """Open a self-test segment and a one-time guest link into it (admins only)."""
        return await self._get(SelfCallStart, "POST", "/api/v1/admin/doctor/call", {})

    async def echo_offer(self, sdp: str) -> str:
        """The server's echo peer's answer to an offer (``tlh doctor``)."""
        answer = await self._get(dict, "POST", "/api/v1/media/echo", {"sdp": sdp})
        return str(answer["sdp"])

    async def echo_end(self) -> None:
        """Close this staff member's echo peer."""
        await self._call("POST", "/api/v1/media/echo/end", {})
