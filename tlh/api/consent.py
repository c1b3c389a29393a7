"""Consent: staff send, record and revoke it; clients read and sign the form by link."""

from __future__ import annotations

from typing import Literal

import msgspec

from tlh.domain.consent import ConsentRecord, ConsentState
from tlh.domain.messages import Message, MessageChannel


class ConsentSend(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/consents/send``: the form's link to the client by email or SMS."""

    client_id: str
    channel: MessageChannel = MessageChannel.EMAIL
    to: str | None = None  # adds a missing address to the record first


class VerbalConsent(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/consents/verbal``: the caller attests to what they heard."""

    client_id: str
    note: str  # what was said, and how


class ConsentRevoke(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/consents/revoke``: the client withdrew their consent."""

    client_id: str
    note: str = ""


class ConsentSent(msgspec.Struct, frozen=True, kw_only=True):
    """A consent request: its ledger record and the message queued to the client."""

    record: ConsentRecord
    message: Message


class ConsentStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One client's consent state and the ledger record it rests on (no signature)."""

    client_id: str
    state: ConsentState
    latest: ConsentRecord | None = None


class ConsentForm(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/link/consent``: the form (markdown) and where the client stands.

    ``state`` is the decision made through this link, else the client's consent state.
    """

    form_markdown: str
    form_hash: str
    practice_name: str
    state: str


class ConsentSubmission(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/link/consent``: accept (typed name and an explicit "I agree"; a
    drawn signature is optional) or decline the form whose hash the client read."""

    decision: Literal["accepted", "declined"]
    form_hash: str
    signed_name: str | None = None
    #: The client ticked "I agree" (a drawn signature also says so, as it always did).
    agreed: bool = False
    signature_png: str | None = None  # a PNG data URL, optional
