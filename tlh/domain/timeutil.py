"""Reading local times typed by people, and showing UTC times in the practice's zone."""

from __future__ import annotations

from datetime import date, datetime, tzinfo


def zone(name: str) -> tzinfo:
    """The ``ZoneInfo`` for an IANA name; ``InvalidInput`` naming the zone if unknown."""
    raise NotImplementedError


def parse_local(text: str, tz: tzinfo) -> datetime:
    """Parse an ISO 8601 date-time typed by a person into an aware UTC datetime.

    Without an offset it is local to ``tz``: a time that falls in a DST gap, or an
    ambiguous one (the repeated hour), is rejected with ``InvalidInput`` whose message
    says which and suggests adding an offset. With an offset (or ``Z``) it is taken as is.
    """
    raise NotImplementedError


def resolve_local(naive: datetime, tz: tzinfo) -> datetime:
    """A naive local datetime -> aware UTC; ``InvalidInput`` on a DST gap or ambiguity."""
    raise NotImplementedError


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC [start, end) of a local calendar day (23 or 25 hours long on DST days)."""
    raise NotImplementedError
