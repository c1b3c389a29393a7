"""The CLI's exit codes: one enum, mapped from the error family's stable codes."""

from __future__ import annotations

from enum import IntEnum

from tlh.errors import TlhError


class ExitStatus(IntEnum):
    """What ``tlh`` exits with; scripts may rely on these numbers."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    INVALID = 5
    AUTH = 6
    UNAVAILABLE = 7
    INTERRUPTED = 130


_BY_CODE: dict[str, ExitStatus] = {
    "not_found": ExitStatus.NOT_FOUND,
    "conflict": ExitStatus.CONFLICT,
    "invalid_transition": ExitStatus.CONFLICT,
    "store_locked": ExitStatus.CONFLICT,
    "invalid": ExitStatus.INVALID,
    "bad_request": ExitStatus.INVALID,
    "too_large": ExitStatus.INVALID,
    "unauthenticated": ExitStatus.AUTH,
    "forbidden": ExitStatus.AUTH,
    "unavailable": ExitStatus.UNAVAILABLE,
    "rate_limited": ExitStatus.UNAVAILABLE,
}


def exit_status_for(error: TlhError) -> ExitStatus:
    """The exit code for an error (ERROR for codes without a closer match)."""
    return _BY_CODE.get(error.code, ExitStatus.ERROR)
