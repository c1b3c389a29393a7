"""Telehealth consent: an append-only ledger of decisions per client and form version.

Each decision is a new record (a signed consent is never edited): sent → accepted |
declined, verbal (recorded by a clinician with an attestation), revoked. A client's
state is their latest record; an accepted or verbal consent expires after the
policy's ``consent_valid_days`` (0 = never) and only counts for the current form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
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


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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
    """The client's consent state from their ledger (any order) for the current form.

    The latest *decision* (accepted, declined, verbal, revoked) by ``at`` decides; a
    request sent after it (or with no decision at all) makes the state SENT unless that
    decision is still a valid consent (re-sending the form does not undo a signature).
    Accepted and verbal consents count only for ``form_hash`` (else OUTDATED) and for
    ``consent_valid_days`` (else EXPIRED; 0 = never). Records dated after ``now`` are
    ignored, so the answer is the state *at* ``now``; on equal times the later record in
    ``records`` wins.
    """
    # sorted() is stable: records with equal times keep their given order.
    seen = sorted((r for r in records if r.at <= now), key=lambda r: r.at)
    latest: ConsentRecord | None = None
    requested_after = False
    for record in seen:
        if record.decision is ConsentDecision.SENT:
            requested_after = True
        else:
            latest, requested_after = record, False
    state = _decision_state(latest, form_hash, policy, now) if latest else ConsentState.NONE
    if state is ConsentState.VALID:
        return state
    return ConsentState.SENT if requested_after else state


def latest_record(records: Sequence[ConsentRecord]) -> ConsentRecord | None:
    """The client's most recent ledger entry of any kind (the last given on equal times)."""
    latest: ConsentRecord | None = None
    for record in records:
        if latest is None or record.at >= latest.at:
            latest = record
    return latest


def _decision_state(
    record: ConsentRecord, form_hash: str, policy: Policy, now: datetime
) -> ConsentState:
    if record.decision is ConsentDecision.DECLINED:
        return ConsentState.DECLINED
    if record.decision is ConsentDecision.REVOKED:
        return ConsentState.REVOKED
    # ACCEPTED or VERBAL: a consent to a form the client did not see is no consent to it.
    if record.form_hash != form_hash:
        return ConsentState.OUTDATED
    if policy.consent_valid_days > 0 and now >= record.at + timedelta(
        days=policy.consent_valid_days
    ):
        return ConsentState.EXPIRED
    return ConsentState.VALID


#: Blocker code and message (``{id}`` is the client id) for each state that blocks.
_BLOCKS: dict[ConsentState, tuple[str, str]] = {
    ConsentState.NONE: ("consent_missing", "client {id} has no telehealth consent on file"),
    ConsentState.SENT: (
        "consent_missing",
        "client {id} has not yet signed the telehealth consent form sent to them",
    ),
    ConsentState.EXPIRED: ("consent_expired", "client {id}'s telehealth consent has expired"),
    ConsentState.DECLINED: ("consent_declined", "client {id} declined telehealth consent"),
    ConsentState.REVOKED: ("consent_revoked", "client {id}'s telehealth consent was revoked"),
    ConsentState.OUTDATED: (
        "consent_outdated",
        "client {id} consented to an older version of the form; ask them to sign the current one",
    ),
}


def consent_blockers(
    client_ids: Sequence[str],
    records_by_client: Mapping[str, Sequence[ConsentRecord]],
    form_hash: str,
    policy: Policy,
    now: datetime,
) -> tuple[Blocker, ...]:
    """Blockers (code ``consent_missing``/``consent_expired``/``consent_declined``/
    ``consent_revoked``/``consent_outdated``, message names the client id) for every
    client without valid consent; none when the policy does not require consent.

    A client with a request out but nothing signed is ``consent_missing``.
    """
    if not policy.consent_required:
        return ()
    blockers: list[Blocker] = []
    for client_id in dict.fromkeys(client_ids):  # a client listed twice blocks once
        state = consent_state(records_by_client.get(client_id, ()), form_hash, policy, now)
        if state is ConsentState.VALID:
            continue
        code, template = _BLOCKS[state]
        blockers.append(
            Blocker(code=code, message=template.format(id=client_id), client_id=client_id)
        )
    return tuple(blockers)
