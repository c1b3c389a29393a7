"""One import row: what it comes to, its errors by column, and the cells parsed alone.

A row is checked in full rather than stopping at its first error, so a person fixing
the file sees every bad cell of every row at once (``RowError`` names the row and
column). The cells here need nothing but the row itself; matching clinicians, clients
and existing appointments is ``tlh.services.import_plan``'s work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar

from tlh.api.appointments import RowError
from tlh.domain.models import Appointment, Blocker

MAX_NOTES_CHARS = 2_000
MAX_DURATION_MIN = 24 * 60
MAX_EXTERNAL_ID_CHARS = 200

E = TypeVar("E", bound=StrEnum)


@dataclass
class Candidate:
    """One appointment a row would write (or leave as it is)."""

    row: int
    appt: Appointment
    action: Literal["create", "update", "unchanged"]


@dataclass
class RowPlan:
    """A row being checked: its candidates, and every error found so far."""

    row: int
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: What a person should know but does not stop the row: (appointment id, why).
    warnings: list[tuple[str, Blocker]] = field(default_factory=list)

    def bad(self, column: str, reason: str) -> None:
        """Record that ``column`` is wrong, and why; checking carries on."""
        self.errors.append(RowError(row=self.row, column=column, reason=reason))


def parse_enum(
    plan: RowPlan,
    cells: dict[str, str],
    column: str,
    existing: Appointment | None,
    default: E,
) -> E | None:
    """The column's value; an absent cell keeps ``existing``'s, or is ``default`` if new."""
    enum = type(default)
    text = cells.get(column)
    if text is None:
        return default if existing is None else enum(getattr(existing, column))
    try:
        return enum(text.strip().lower().replace("-", "_"))
    except ValueError:
        plan.bad(column, f"must be one of: {', '.join(enum)}")
        return None


def parse_duration(plan: RowPlan, text: str) -> int | None:
    """Whole minutes, 1 to ``MAX_DURATION_MIN``."""
    try:
        minutes = int(text)
    except ValueError:
        plan.bad("duration_min", "not a whole number of minutes")
        return None
    if not 0 < minutes <= MAX_DURATION_MIN:
        plan.bad("duration_min", f"must be between 1 and {MAX_DURATION_MIN}")
        return None
    return minutes
