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


#: What each exit code means, for ``tlh --help`` and the README (one source).
MEANINGS: dict[ExitStatus, str] = {
    ExitStatus.OK: "done",
    ExitStatus.ERROR: "failed, or the answer is no (a doctor check failed, a session cannot start)",
    ExitStatus.USAGE: "usage: a wrong or missing option or argument",
    ExitStatus.NOT_FOUND: "not found",
    ExitStatus.CONFLICT: "conflict with what is stored or running (taken, double booked, busy port)",
    ExitStatus.INVALID: "invalid input (a bad value, a rejected import row)",
    ExitStatus.AUTH: "not signed in, or not allowed",
    ExitStatus.UNAVAILABLE: "network: the server cannot be reached or is busy",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
}


def exit_codes_help() -> str:
    """The exit codes as one paragraph of ``tlh --help``."""
    return (
        "Exit codes: " + "; ".join(f"{int(code)} {text}" for code, text in MEANINGS.items()) + "."
    )


class UsageError(TlhError):
    """Options that cannot go together, or a missing one the parser cannot see (exit 2)."""

    code = "usage"


_BY_CODE: dict[str, ExitStatus] = {
    "usage": ExitStatus.USAGE,
    "not_found": ExitStatus.NOT_FOUND,
    "conflict": ExitStatus.CONFLICT,
    "invalid_transition": ExitStatus.CONFLICT,
    "store_locked": ExitStatus.CONFLICT,
    "store_key": ExitStatus.AUTH,
    "port_in_use": ExitStatus.CONFLICT,
    "ambiguous": ExitStatus.INVALID,
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
