"""Appointments out as CSV (re-importable), JSON (the wire format) or iCalendar.

A CSV export has the import's header, and each appointment's ``external_id`` (or
its own id when it has none), so importing an export changes nothing. Series are
written one row per occurrence without ``repeat``: re-importing them updates each
occurrence in place instead of expanding the rule again. A row names one clinician
and one client (the first listed); the import keeps a group's other people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Literal

import msgspec

from tlh.domain import timeutil
from tlh.domain.models import Appointment, Client, Modality, Policy, Staff, Status
from tlh.errors import InvalidInput
from tlh.services.csvfile import FORMULA_PREFIXES, IMPORT_COLUMNS

ExportFormat = Literal["csv", "json", "ics"]

_CANCELLED = (Status.CANCELLED, Status.LATE_CANCELLED)


def escape_formula(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    if cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def export_appointments(
    appts: Sequence[Appointment],
    clients_by_id: Mapping[str, Client],
    staff_by_id: Mapping[str, Staff],
    policy: Policy,
    fmt: ExportFormat,
) -> bytes:
    """The file for ``appts`` in ``fmt``; times are shown in the practice's zone."""
    tz = timeutil.zone(policy.timezone)
    if fmt == "csv":
        return _csv(appts, clients_by_id, staff_by_id, tz)
    if fmt == "json":
        return msgspec.json.encode(list(appts))
    if fmt == "ics":
        return _ics(appts, policy, tz)
    raise InvalidInput(f"unknown export format {fmt!r} (allowed: csv, json, ics)")


def _csv(
    appts: Sequence[Appointment],
    clients_by_id: Mapping[str, Client],
    staff_by_id: Mapping[str, Staff],
    tz: tzinfo,
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(IMPORT_COLUMNS)
    for appt in appts:
        client = clients_by_id.get(appt.client_ids[0]) if appt.client_ids else None
        clinician = staff_by_id.get(appt.clinician_ids[0]) if appt.clinician_ids else None
        cells = {
            "external_id": appt.external_id or appt.id,
            "client_external_id": (client.external_id or "") if client else "",
            "client_name": client.name if client else "",
            "client_email": (client.email or "") if client else "",
            "client_phone": (client.phone or "") if client else "",
            "client_dob": client.dob.isoformat() if client and client.dob else "",
            "client_language": (client.language or "") if client else "",
            "clinician_email": clinician.email if clinician else "",
            "start": appt.start.astimezone(tz).isoformat(),
            "duration_min": str(appt.duration_min),
            "modality": appt.modality.value,
            "kind": appt.kind.value,
            "status": appt.status.value,
            "repeat": "",
            "notes": appt.notes,
        }
        writer.writerow([escape_formula(cells[c]) for c in IMPORT_COLUMNS])
    return out.getvalue().encode("utf-8")


def _summary(appt: Appointment) -> str:
    # No client names: calendar files get synced to phones and shared calendars.
    if appt.kind.value != "appointment":
        return appt.kind.value.capitalize()
    if appt.modality is Modality.TELEHEALTH:
        return "Telehealth appointment"
    return "Appointment"


def _ics_status(status: Status) -> str:
    if status in _CANCELLED:
        return "CANCELLED"
    return "TENTATIVE" if status is Status.SCHEDULED else "CONFIRMED"


def _ics(appts: Sequence[Appointment], policy: Policy, tz: tzinfo) -> bytes:
    # Imported here: icalendar is only needed for this one format.
    from tlh.messaging import ics

    cal = ics.new_calendar(policy.timezone)
    for appt in appts:
        summary, status = _summary(appt), _ics_status(appt.status)
        cal.add_component(ics.appointment_event(appt, tz, summary=summary, status=status))
    return ics.calendar_bytes(cal)
