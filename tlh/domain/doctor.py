"""What ``tlh doctor`` reports: one named check, whether it passed, and the fix in one line.

The server runs the checks that need its configuration (mail, texts, ICE servers, disk)
and the CLI the ones seen from the admin's machine (reachable, TLS, token, media); both
speak this shape so one table shows them all.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class CheckStatus(StrEnum):
    """How a check came out; ``skip`` when an earlier failure made it pointless."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One part of the installation, checked."""

    name: str
    status: CheckStatus
    #: What was found, in plain words (never a secret, a patient or a token).
    detail: str
    #: What to do about it, one line; empty when nothing needs doing.
    fix: str = ""


def ok(name: str, detail: str) -> Check:
    """A passed check."""
    return Check(name=name, status=CheckStatus.OK, detail=detail)


def warn(name: str, detail: str, fix: str) -> Check:
    """Works, but not as a practice should run it."""
    return Check(name=name, status=CheckStatus.WARN, detail=detail, fix=fix)


def fail(name: str, detail: str, fix: str) -> Check:
    """Broken: the fix says what to change."""
    return Check(name=name, status=CheckStatus.FAIL, detail=detail, fix=fix)


def skip(name: str, why: str) -> Check:
    """Not run (an earlier check failed)."""
    return Check(name=name, status=CheckStatus.SKIP, detail=why)
