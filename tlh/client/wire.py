"""Answer shapes of docs/API.md that are not domain records themselves."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from tlh.domain.models import Staff

T = TypeVar("T")


class Items(msgspec.Struct, Generic[T], kw_only=True):
    """``{"items": [...]}``, the shape of every list answer."""

    items: list[T]


class NewToken(msgspec.Struct, frozen=True, kw_only=True):
    """A staff member and their new API token (shown once)."""

    staff: Staff
    token: str


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    """One problem with one row of an imported file (row numbers count from 1)."""

    row: int
    column: str | None = None
    reason: str


class ImportRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the import did (or would do) with one row."""

    row: int
    action: str
    id: str | None = None
    errors: list[RowError] = msgspec.field(default_factory=list)


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an import: counts per action and each row's outcome."""

    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows: list[ImportRow] = msgspec.field(default_factory=list)


class VerifyProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One broken line of the audit log."""

    line: int
    reason: str


class AuditVerify(msgspec.Struct, frozen=True, kw_only=True):
    """The audit log's integrity check."""

    ok: bool
    entries: int
    problems: list[VerifyProblem] = msgspec.field(default_factory=list)


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """``/healthz``."""

    ok: bool
    version: str


#: Audit entries are shown as the server stores them; their fields may grow.
AuditEntry = dict[str, Any]


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
