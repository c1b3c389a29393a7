"""Series by RRULE, kept at the same local wall time across DST changes."""

from __future__ import annotations

from datetime import datetime, tzinfo

#: Upper bounds so a rule like FREQ=DAILY with no end cannot run away.
MAX_OCCURRENCES = 200
MAX_YEARS = 2


def expand(rrule: str, first_start: datetime, tz: tzinfo) -> list[datetime]:
    """UTC start times of every occurrence of ``rrule`` from ``first_start`` (aware).

    Occurrences keep the local wall time of ``first_start`` in ``tz`` (a 17:00 weekly
    session stays at 17:00 local after the clocks change). An occurrence whose local
    time falls in a DST gap or is ambiguous raises ``InvalidInput`` naming the date.
    A rule without COUNT/UNTIL is cut at MAX_OCCURRENCES / MAX_YEARS; a malformed rule
    or one with more than MAX_OCCURRENCES raises ``InvalidInput``. Accepts the rule with
    or without a leading ``RRULE:``; DTSTART inside the rule is rejected.
    """
    raise NotImplementedError
