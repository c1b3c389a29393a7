"""The audit log's answers: its entries and its integrity check."""

from __future__ import annotations

from typing import Any

import msgspec

#: Audit entries are shown as the server stores them; their fields may grow.
AuditEntry = dict[str, Any]


class VerifyProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One broken line of the audit log (1-based)."""

    line: int
    reason: str


class AuditVerify(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/audit/verify``: the log's chain and its cross-check with the store."""

    ok: bool
    entries: int
    problems: list[VerifyProblem] = msgspec.field(default_factory=list)
