"""The diary: ``client.appointments`` (with file import and export),
``client.availability`` and ``client.slots``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from tlh.api.appointments import (
    AppointmentChanges,
    Booking,
    ImportReport,
    NewAppointment,
    StatusChange,
)
from tlh.api.availability import NewBlock
from tlh.api.slots import SlotBooking
from tlh.domain.models import Appointment, AvailabilityBlock, Eligibility
from tlh.domain.slots import Slot

from .http import EMPTY, Part, build, query, seg
from .transport import ProgressCallback

#: Imports and exports may take a while on a large practice.
BULK_TIMEOUT = 300.0


class AppointmentsApi(Part):
    """Appointments: the diary, booking, changes, status, import and export."""

    async def list(
        self,
        date: date | str | None = None,
        from_: date | str | None = None,
        to: date | str | None = None,
        clinician: str | None = None,
    ) -> builtins.list[Appointment]:
        """A day's (or a range's, inclusive local dates) appointments."""
        found = query({"date": date, "from": from_, "to": to, "clinician": clinician})
        return await self._http.items(Appointment, "/api/v1/appointments" + found)

    async def add(self, **fields: Any) -> builtins.list[Appointment]:
        """Add an appointment (a series gives several) and tell nobody (``notify`` off:
        no invitation); ``book`` books as a person does. Fields as ``NewAppointment``."""
        return (await self.book(notify=False, **fields)).items

    async def book(
        self, *, notify: bool = True, strict_availability: bool = False, **fields: Any
    ) -> Booking:
        """Add an appointment and hear what came of it: warnings (outside availability,
        not invited) and the messages queued (the invitation, when the practice's
        ``invite_on_create`` holds and ``notify``); ``strict_availability`` refuses a
        booking outside its clinicians' availability. Fields as ``NewAppointment``."""
        new = build(NewAppointment, fields)
        path = "/api/v1/appointments" + _flags(notify, strict_availability)
        return await self._http.get(Booking, "POST", path, new)

    async def get(self, id: str) -> Appointment:
        """One appointment."""
        return await self._http.get(Appointment, "GET", f"/api/v1/appointments/{seg(id)}")

    async def update(self, id: str, *, notify: bool = True, **fields: Any) -> Appointment:
        """Change an appointment (None values are not sent); fields as
        ``AppointmentChanges``. Who was invited is told of a new time or modality
        unless ``notify`` is off (a correction)."""
        changes = build(AppointmentChanges, fields)
        path = f"/api/v1/appointments/{seg(id)}" + _flags(notify)
        return await self._http.get(Appointment, "PATCH", path, changes)

    async def set_status(self, id: str, status: str) -> Appointment:
        """Move an appointment to ``status``."""
        path = f"/api/v1/appointments/{seg(id)}/status"
        change = build(StatusChange, {"status": status})
        return await self._http.get(Appointment, "POST", path, change)

    async def cancel(self, id: str) -> Appointment:
        """Cancel (late if within the policy's late-cancel hours)."""
        path = f"/api/v1/appointments/{seg(id)}/cancel"
        return await self._http.get(Appointment, "POST", path, EMPTY)

    async def eligibility(
        self, id: str, at: datetime | str | None = None, clinician: str | None = None
    ) -> Eligibility:
        """Whether the session can start (at ``at``), with every blocking reason."""
        asked = query({"at": at, "clinician": clinician})
        path = f"/api/v1/appointments/{seg(id)}/eligibility" + asked
        return await self._http.get(Eligibility, "GET", path)

    async def import_file(
        self,
        data: bytes,
        fmt: str,
        dry_run: bool = False,
        partial: bool = False,
        progress: ProgressCallback | None = None,
        notify: bool = True,
        strict_availability: bool = False,
    ) -> ImportReport:
        """Upload a CSV or JSON file of appointments; ``progress(sent, total)`` per chunk.
        ``notify`` off sends nothing (and holds back reminders already due);
        ``strict_availability`` rejects rows outside their clinician's availability."""
        kind = {"csv": "text/csv", "json": "application/json"}[fmt]
        flags = query(
            {
                "dry_run": 1 if dry_run else None,
                "partial": 1 if partial else None,
                "notify": None if notify else 0,
                "strict_availability": 1 if strict_availability else None,
            }
        )
        return await self._http.get(
            ImportReport,
            "POST",
            "/api/v1/appointments/import" + flags,
            body=data,
            content_type=kind,
            wait_s=BULK_TIMEOUT,
            progress=progress,
        )

    async def export(
        self, from_: date | str | None = None, to: date | str | None = None, fmt: str = "csv"
    ) -> bytes:
        """The appointments of a range as a csv, json or ics file."""
        asked = query({"from": from_, "to": to, "format": fmt})
        path = "/api/v1/appointments/export" + asked
        return await self._http.call("GET", path, wait_s=BULK_TIMEOUT)


def _flags(notify: bool = True, strict_availability: bool = False) -> str:
    """The query of a booking or a change: only what differs from the defaults."""
    return query(
        {"notify": None if notify else 0, "strict_availability": 1 if strict_availability else None}
    )


class AvailabilityApi(Part):
    """Clinicians' weekly availability blocks."""

    async def list(self, clinician: str | None = None) -> builtins.list[AvailabilityBlock]:
        """Availability blocks, optionally of one clinician."""
        path = "/api/v1/availability" + query({"clinician": clinician})
        return await self._http.items(AvailabilityBlock, path)

    async def add(
        self,
        clinician: str,
        weekday: int | str,
        start_local: str,
        end_local: str,
        mode: str | None = None,
    ) -> AvailabilityBlock:
        """Add a weekly block."""
        times = {"start_local": start_local, "end_local": end_local, "mode": mode}
        new = build(NewBlock, {"clinician": clinician, "weekday": weekday, **times})
        return await self._http.get(AvailabilityBlock, "POST", "/api/v1/availability", new)

    async def delete(self, id: str) -> None:
        """Remove a block."""
        await self._http.call("DELETE", f"/api/v1/availability/{seg(id)}")


class SlotsApi(Part):
    """Open slots, and booking a client into one as they would (self-scheduling)."""

    async def list(
        self,
        clinician: Sequence[str] = (),
        from_: date | str | None = None,
        to: date | str | None = None,
        modality: str | None = None,
    ) -> builtins.list[Slot]:
        """Open slots on local days ``from_``..``to`` of the clinicians (ids or emails;
        none: every clinician), optionally of one modality."""
        found = query(
            {
                "clinician": ",".join(clinician) or None,
                "from": from_,
                "to": to,
                "modality": modality,
            }
        )
        return await self._http.items(Slot, "/api/v1/slots" + found)

    async def book(
        self, client_id: str, clinician: str, start: datetime, modality: str = "telehealth"
    ) -> Booking:
        """Book the client into the clinician's open slot at ``start``."""
        fields = {
            "client_id": client_id,
            "clinician": clinician,
            "start": start,
            "modality": modality,
        }
        new = build(SlotBooking, fields)
        return await self._http.get(Booking, "POST", "/api/v1/slots/book", new)
