"""How records look in human tables (``--json`` bypasses all of this)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .output import Output
from .timefmt import local

if TYPE_CHECKING:
    from tlh.domain.models import Appointment, Client, Staff


def staff_table(out: Output, staff: Sequence[Staff]) -> None:
    """Staff members, one per row."""
    out.table(
        ("id", "email", "name", "role", "telehealth", "waiting room", "active"),
        [
            (
                s.id,
                s.email,
                s.name,
                s.role.value,
                _yes(s.telehealth),
                "default" if s.waiting_room is None else _yes(s.waiting_room),
                _yes(s.active),
            )
            for s in staff
        ],
    )


def client_table(out: Output, clients: Sequence[Client]) -> None:
    """Clients, one per row."""
    out.table(
        ("id", "name", "dob", "email", "phone", "external id"),
        [
            (c.id, c.name, c.dob or "", c.email or "", c.phone or "", c.external_id or "")
            for c in clients
        ],
    )


def client_fields(out: Output, c: Client) -> None:
    """One client in full, with contacts."""
    out.fields(
        [
            ("id", c.id),
            ("name", c.name),
            ("dob", c.dob or ""),
            ("email", c.email or ""),
            ("phone", c.phone or ""),
            ("external id", c.external_id or ""),
            ("reminders", ", ".join(r.value for r in c.reminders)),
            *(
                (
                    f"contact {k.id}",
                    f"{k.name} ({k.relationship or 'contact'}) {k.email or ''} {k.phone or ''}"
                    f" reminders: {', '.join(r.value for r in k.reminders) or 'none'}",
                )
                for k in c.contacts
            ),
        ]
    )


def appointment_table(
    out: Output, appts: Sequence[Appointment], zone: str, staff: dict[str, str]
) -> None:
    """Appointments in the practice's local time; clinicians by email."""
    out.table(
        ("id", f"start ({zone})", "min", "type", "status", "clinicians", "clients"),
        [
            (
                a.id,
                local(a.start, zone),
                a.duration_min,
                _kind(a),
                a.status.value.replace("_", "-"),
                ", ".join(staff.get(i, i) for i in a.clinician_ids),
                ", ".join(a.client_ids),
            )
            for a in appts
        ],
    )


def appointment_fields(out: Output, a: Appointment, zone: str, staff: dict[str, str]) -> None:
    """One appointment in full."""
    out.fields(
        [
            ("id", a.id),
            (f"start ({zone})", local(a.start, zone)),
            (f"end ({zone})", local(a.end, zone)),
            ("duration", f"{a.duration_min} min"),
            ("kind", a.kind.value),
            ("modality", a.modality.value),
            ("status", a.status.value),
            ("clinicians", ", ".join(staff.get(i, i) for i in a.clinician_ids)),
            ("clients", ", ".join(a.client_ids)),
            ("series", a.series_id or ""),
            ("repeat", a.rrule or ""),
            ("external id", a.external_id or ""),
            ("copay collected", _yes(a.copay_collected)),
            ("notes", a.notes),
        ]
    )


def _kind(a: Appointment) -> str:
    """``telehealth`` / ``in person`` for appointments, else the entry's kind."""
    if a.kind.value != "appointment":
        return a.kind.value
    return "telehealth" if a.modality.value == "telehealth" else "in person"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
