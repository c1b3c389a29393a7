"""Passkeys on the client portal (issue 13): the browser's WebAuthn credentials as JSON
(base64url fields, as ``PublicKeyCredential.toJSON()`` writes them) and what the portal
shows of a person's passkeys. The options the server hands out are WebAuthn's own JSON
(``PublicKeyCredentialCreationOptionsJSON`` / ``...RequestOptionsJSON``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

#: A base64url field of a credential (padding tolerated); bounded, as the body is.
B64url = Annotated[str, msgspec.Meta(max_length=8000, pattern=r"^[A-Za-z0-9_-]*={0,2}$")]
CredentialId = Annotated[str, msgspec.Meta(min_length=1, max_length=1400)]
Transport = Annotated[str, msgspec.Meta(max_length=32)]


class AttestationResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``response`` of a credential from ``navigator.credentials.create()``."""

    client_data_json: B64url = msgspec.field(name="clientDataJSON")
    attestation_object: B64url = msgspec.field(name="attestationObject")
    transports: Annotated[list[Transport], msgspec.Meta(max_length=10)] = []


class AssertionResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``response`` of a credential from ``navigator.credentials.get()``."""

    client_data_json: B64url = msgspec.field(name="clientDataJSON")
    authenticator_data: B64url = msgspec.field(name="authenticatorData")
    signature: B64url
    user_handle: B64url | None = msgspec.field(default=None, name="userHandle")


class NewCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A credential the browser created (``PublicKeyCredential`` as JSON)."""

    id: CredentialId
    raw_id: CredentialId = msgspec.field(name="rawId")
    type: Literal["public-key"]
    response: AttestationResponse
    authenticator_attachment: str | None = msgspec.field(
        default=None, name="authenticatorAttachment"
    )


class Assertion(msgspec.Struct, frozen=True, kw_only=True):
    """A credential the browser got to sign in (``PublicKeyCredential`` as JSON)."""

    id: CredentialId
    raw_id: CredentialId = msgspec.field(name="rawId")
    type: Literal["public-key"]
    response: AssertionResponse
    authenticator_attachment: str | None = msgspec.field(
        default=None, name="authenticatorAttachment"
    )


class PasskeyAdd(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/passkeys``: store the passkey the browser just made."""

    credential: NewCredential


class PasskeySignIn(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/v1/portal/passkeys/sign-in``: sign in with a passkey's assertion."""

    credential: Assertion


class PortalPasskeyView(msgspec.Struct, frozen=True, kw_only=True):
    """One of the signed-in person's passkeys, as the portal lists it."""

    id: str
    created_at: datetime
    last_used_at: datetime | None = None
    #: How the browser reaches it ("internal": this device; "hybrid": a phone nearby).
    transports: list[str] = []
