"""How records look in human tables (``--json`` bypasses all of this)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING

from .output import Output, clean
from .timefmt import local

if TYPE_CHECKING:
    from tlh.api.consent import ConsentStatus
    from tlh.api.invites import Sent
    from tlh.cli.names import Names
    from tlh.domain.consent import ConsentRecord
    from tlh.domain.links import JoinLink
    from tlh.domain.messages import Message
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
                s.role.value + (" + clinician" if s.also_clinician else ""),
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
            ("assigned to", ", ".join(c.clinician_ids)),
            ("language", c.language or "(browser's)"),
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


def appointment_table(out: Output, appts: Sequence[Appointment], names: Names) -> None:
    """Appointments in the practice's local time, with clinicians' and clients' names."""
    out.table(
        ("id", f"start ({names.zone})", "min", "type", "status", "clinicians", "clients"),
        [
            (
                a.id,
                names.time(a.start),
                a.duration_min,
                _kind(a),
                a.status.value.replace("_", "-"),
                ", ".join(names.staff(i) for i in a.clinician_ids),
                names.clients(a.client_ids),
            )
            for a in appts
        ],
    )


def appointment_fields(out: Output, a: Appointment, names: Names) -> None:
    """One appointment in full."""
    zone = names.zone
    out.fields(
        [
            ("id", a.id),
            (f"start ({zone})", names.time(a.start)),
            (f"end ({zone})", names.time(a.end)),
            ("duration", f"{a.duration_min} min"),
            ("kind", a.kind.value),
            ("modality", a.modality.value),
            ("status", a.status.value),
            ("clinicians", ", ".join(names.staff(i) for i in a.clinician_ids)),
            ("clients", names.clients(a.client_ids)),
            ("series", a.series_id or ""),
            ("repeat", a.rrule or ""),
            ("external id", a.external_id or ""),
            ("copay collected", _yes(a.copay_collected)),
            ("notes", a.notes),
        ]
    )


def appointment_line(a: Appointment, names: Names) -> str:
    """``Fri 2026-12-04 09:00 (zone), 50 min telehealth: Jordan Rivera with Dr. Lee``."""
    day = a.start.astimezone(_tz(names.zone)).strftime("%a ")
    clinicians = ", ".join(names.staff(i) for i in a.clinician_ids)
    return clean(
        f"{day}{names.time(a.start)} ({names.zone}), {a.duration_min} min {_kind(a)}:"
        f" {names.clients(a.client_ids) or 'no client'} with {clinicians or 'no clinician'}"
    )


def _tz(zone: str) -> tzinfo:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def link_table(out: Output, links: Sequence[JoinLink], zone: str) -> None:
    """Join links with their holder, channel and validity in the practice's time."""
    out.table(
        (
            "id",
            "participant",
            "channel",
            f"valid from ({zone})",
            f"valid until ({zone})",
            "revoked",
        ),
        [
            (
                k.id,
                _participant(k),
                k.channel.value,
                local(k.valid_from, zone),
                local(k.valid_until, zone),
                local(k.revoked_at, zone) if k.revoked_at else "no",
            )
            for k in links
        ],
    )


def consent_table(out: Output, states: Sequence[ConsentStatus], names: Names) -> None:
    """Each client's consent state and the latest ledger record behind it."""
    out.table(
        ("client", "name", "state", "latest", f"at ({names.zone})", "by", "form"),
        [
            (
                c.client_id,
                names.client(c.client_id),
                c.state,
                c.latest.decision.value if c.latest else "",
                names.time(c.latest.at) if c.latest else "",
                names.staff(_by(c.latest)) if c.latest else "",
                c.latest.form_hash[:12] if c.latest else "",
            )
            for c in states
        ],
    )


def outbox_table(out: Output, messages: Sequence[Message], zone: str) -> None:
    """Outbox messages, newest last, with their delivery state."""
    out.table(
        ("id", "kind", "channel", "to", "status", "tries", f"created ({zone})", "last error"),
        [
            (
                m.id,
                m.kind.value,
                m.channel.value,
                m.to,
                delivery(m),
                m.attempts,
                local(m.created_at, zone),
                m.last_error,
            )
            for m in messages
        ],
    )


def message_fields(out: Output, m: Message, zone: str) -> None:
    """One message's envelope as fields; its rendered text follows as plain lines."""
    out.fields(
        [
            ("id", m.id),
            ("kind", m.kind.value),
            ("channel", m.channel.value),
            ("to", m.to),
            ("subject", m.subject),
            ("status", delivery(m, whole=True)),
            ("attempts", m.attempts),
            (f"created ({zone})", local(m.created_at, zone)),
            (f"sent ({zone})", local(m.sent_at, zone)),
            (f"next attempt ({zone})", local(m.next_attempt_at, zone) if not m.sent_at else ""),
            ("last error", m.last_error),
            ("appointment", m.appointment_id or ""),
            ("client", m.client_id or ""),
            ("link", m.link_id or ""),
            ("attachments", "invite.ics" if m.ics else ""),
        ]
    )


def sent_table(out: Output, sent: Sent) -> None:
    """The messages an invitation or resend queued (ids and addresses, no bodies)."""
    out.table(
        ("message", "kind", "channel", "to", "status", "link"),
        [
            (m.id, m.kind.value, m.channel.value, m.to, delivery(m), m.link_id or "")
            for m in sent.messages
        ],
    )


def delivery(m: Message, whole: bool = False) -> str:
    """The message's status; one the file transport wrote says where, so nobody takes it
    for an email or a text that went out (the folder; the whole path with ``whole``)."""
    written = m.provider_id.removeprefix("file:")
    if m.status.value != "sent" or written == m.provider_id:
        return m.status.value
    return f"written to {written if whole else os.path.dirname(written)}"


def _by(record: ConsentRecord) -> str:
    """Who made a ledger entry: the staff id, or ``client`` for a signature (no names)."""
    if record.recorded_by:
        return record.recorded_by
    return "client" if record.decision.value in ("accepted", "declined") else ""


def _participant(k: JoinLink) -> str:
    """``client cli_x`` / ``contact con_x`` / ``guest`` (ids, never names)."""
    who = k.contact_id if k.participant.value == "contact" else k.client_id
    return f"{k.participant.value} {who}" if who else k.participant.value


def _kind(a: Appointment) -> str:
    """``telehealth`` / ``in person`` for appointments, else the entry's kind."""
    if a.kind.value != "appointment":
        return a.kind.value
    return "telehealth" if a.modality.value == "telehealth" else "in person"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
