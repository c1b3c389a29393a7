"""Appointments: booking, changing, status, and the answer to a file import."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tlh.domain.models import Kind, Modality, Status

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


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an import: counts per action and each row's outcome."""

    dry_run: bool
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: tuple[ImportRow, ...]


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
