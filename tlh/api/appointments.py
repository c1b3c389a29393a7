"""Appointments: booking, changing, status, and the answer to a file import."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Kind, Modality, Status

#: Minutes, as a number or the text of one (a form field, a CSV cell).
Minutes = int | str
#: A copay as a decimal string ("25.00"); a number is read as one.
Amount = str | int | float


class NewAppointment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/v1/appointments``: one appointment, or a series with ``rrule``."""

    client_ids: list[str] = msgspec.field(default_factory=list)
    clinicians: list[str]  # ids or emails
    start: str  # ISO 8601, in the practice's zone unless it has an offset
    duration_min: Minutes
    modality: Modality = Modality.IN_PERSON
    kind: Kind = Kind.APPOINTMENT
    status: Status = Status.SCHEDULED
    rrule: str | None = None
    external_id: str | None = None
    notes: str | None = None
    copay_collected: bool = False


class AppointmentChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/v1/appointments/{id}``: the fields given change."""

    start: str | UnsetType = UNSET
    duration_min: Minutes | UnsetType = UNSET
    modality: Modality | UnsetType = UNSET
    clinicians: list[str] | UnsetType | None = UNSET
    client_ids: list[str] | UnsetType | None = UNSET
    notes: str | UnsetType | None = UNSET
    copay_collected: bool | UnsetType = UNSET
    #: Sets ``copay_collected`` too; ``null`` or ``""`` clears it.
    copay_amount: Amount | UnsetType | None = UNSET


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/appointments/{id}/status``."""

    status: Status


Action = Literal["create", "update", "unchanged", "rejected"]


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    """One problem with one row of an imported file (rows count from 1, the header
    included); ``column`` is ``""`` when the whole row is wrong."""

    row: int
    column: str
    reason: str


class ImportRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the import did (or would do) with one row."""

    row: int
    action: Action
    #: The appointment (the first occurrence for a series row); ``None`` if rejected.
    id: str | None = None
    errors: tuple[RowError, ...] = ()


class BookingWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Something a person should know about an appointment that was booked anyway: it
    lies outside its clinician's availability (``availability_mode``,
    ``outside_availability``), or its invitation could not go (``not_invited``)."""

    code: str
    message: str
    #: ``None`` in a dry run for an appointment the import would create (see ``row``).
    appointment_id: str | None = None
    #: The import row it comes from (imports only).
    row: int | None = None


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """A message a booking, a change or an import queued (a dry run: would queue).

    Invitations, reschedule, cancellation and in-person notices are queued at once;
    reminders already due (``reminder_24h``, ``reminder_soon``) go out with the reminder
    clock's next tick, within a minute. Ids only: the person is the client (or their
    contact ``contact_id``); ``None`` in a dry run for a record it would create.
    """

    kind: MessageKind
    channel: MessageChannel
    appointment_id: str | None = None
    client_id: str | None = None
    contact_id: str | None = None
    row: int | None = None


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``POST /api/v1/appointments``: what was booked (a series gives
    several), what a person should know about it, and the messages it queued."""

    items: list[Appointment]
    warnings: list[BookingWarning] = msgspec.field(default_factory=list)
    messages: list[Outgoing] = msgspec.field(default_factory=list)


class ImportedClient(msgspec.Struct, frozen=True, kw_only=True):
    """A client an import creates: the name as the file gives it, and the first row
    naming them; ``id`` is ``None`` in a dry run (nothing is made)."""

    row: int
    name: str
    id: str | None = None


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an import: counts per action, each row's outcome, the clients it
    creates, the messages it sends and what a person should know.

    A dry run answers as the real run would, but names no record it would create: their
    ids are ``None`` (an id made up for a dry run would differ from the real run's).
    """

    dry_run: bool
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: tuple[ImportRow, ...]
    clients_created: int = 0
    clients: tuple[ImportedClient, ...] = ()
    messages: tuple[Outgoing, ...] = ()
    warnings: tuple[BookingWarning, ...] = ()
    #: Reminders already due that ``notify=0`` kept from going out (recorded in the
    #: outbox as ``skipped``, so the reminder clock does not send them either).
    held_back: int = 0


def row_errors(details: Any) -> list[RowError]:
    """Row errors from an error's ``details`` (an import rejected as a whole)."""
    if isinstance(details, dict):
        details = details.get("errors", details.get("rows"))
    if not isinstance(details, list):
        return []
    try:
        return msgspec.convert(
            [d for d in details if isinstance(d, dict) and "reason" in d], list[RowError]
        )
    except msgspec.ValidationError:
        return []
