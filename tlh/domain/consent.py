"""Telehealth consent: an append-only ledger of decisions per client and form version.

Each decision is a new record (a signed consent is never edited): sent → accepted |
declined, verbal (recorded by a clinician with an attestation), revoked. A client's
state is their latest record; an accepted or verbal consent expires after the
policy's ``consent_valid_days`` (0 = never) and only counts for the current form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

import msgspec

from tlh.domain.models import Blocker, Policy


class ConsentDecision(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    VERBAL = "verbal"
    REVOKED = "revoked"


class ConsentState(StrEnum):
    """What the ledger says now (derived, never stored)."""

    NONE = "none"
    SENT = "sent"
    VALID = "valid"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"
    OUTDATED = "outdated"  # accepted, but for an older form version


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    client_id: str
    decision: ConsentDecision
    form_hash: str  # sha256 of the form text the client saw
    at: datetime
    #: Digital signing: typed name, signature PNG (base64), source address, user agent.
    signed_name: str | None = None
    signature_png: str | None = None
    source: str = ""
    user_agent: str = ""
    #: Verbal consent and revocations: the staff member and their attestation.
    recorded_by: str | None = None
    note: str = ""
    #: The link it was signed through (idempotent re-submission).
    link_id: str | None = None


def consent_state(
    records: Sequence[ConsentRecord], form_hash: str, policy: Policy, now: datetime
) -> ConsentState:
    """The client's consent state from their ledger (any order) for the current form."""
    raise NotImplementedError


def consent_blockers(
    client_ids: Sequence[str],
    records_by_client: Mapping[str, Sequence[ConsentRecord]],
    form_hash: str,
    policy: Policy,
    now: datetime,
) -> tuple[Blocker, ...]:
    """Blockers (code ``consent_missing``/``consent_expired``/``consent_declined``/
    ``consent_revoked``/``consent_outdated``, message names the client id) for every
    client without valid consent; none when the policy does not require consent."""
    raise NotImplementedError
