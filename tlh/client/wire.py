"""Answer shapes of docs/API.md that are not domain records themselves."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from tlh.domain.consent import ConsentRecord
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message
from tlh.domain.models import Appointment, Staff

T = TypeVar("T")


class Items(msgspec.Struct, Generic[T], kw_only=True):
    """``{"items": [...]}``, the shape of every list answer."""

    items: list[T]


class NewToken(msgspec.Struct, frozen=True, kw_only=True):
    """A staff member and their new API token (shown once)."""

    staff: Staff
    token: str


class SelfCallStart(msgspec.Struct, frozen=True, kw_only=True):
    """``tlh doctor``'s self-call: its segment and one-time guest link (never shown)."""

    session_id: str
    link_id: str
    url: str


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


class Sent(msgspec.Struct, frozen=True, kw_only=True):
    """Links made and messages queued by an invitation or a link resend."""

    links: list[JoinLink] = msgspec.field(default_factory=list)
    messages: list[Message] = msgspec.field(default_factory=list)


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    """An appointment a day's invitations left out, and why (ids only)."""

    appointment_id: str
    reason: str


class DayInvites(msgspec.Struct, frozen=True, kw_only=True):
    """What ``POST /api/v1/invites/day`` did: appointments invited, skipped, messages queued."""

    sent: int
    skipped: list[Skipped] = msgspec.field(default_factory=list)
    messages: int = 0


class LinkUrl(msgspec.Struct, frozen=True, kw_only=True):
    """A new link and its URL (``https://HOST/j#TOKEN``, shown once)."""

    link: JoinLink
    url: str


class QuickInvite(msgspec.Struct, frozen=True, kw_only=True):
    """An unscheduled session made now, its link and the link's URL."""

    appointment: Appointment
    link: JoinLink
    url: str


class WebsiteSnippet(msgspec.Struct, frozen=True, kw_only=True):
    """HTML for the practice's website that opens a clinician's waiting room."""

    html: str


class ConsentSent(msgspec.Struct, frozen=True, kw_only=True):
    """A consent request: its ledger record and the message queued to the client."""

    record: ConsentRecord
    message: Message


class ConsentStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One client's consent state and the ledger record it rests on."""

    client_id: str
    state: str
    latest: ConsentRecord | None = None


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
