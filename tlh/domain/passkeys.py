"""A passkey (WebAuthn credential) a portal person added to sign in with (issue 13).

It names whom it signs in as the way a portal session does (ids only), so what they may
act for is worked out again at each sign-in: revoked access stops a passkey at once.
Nothing in it identifies the person to the authenticator: the user handle is random.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class PortalPasskey(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One registered credential: its id and public key (base64url), the signature
    counter last seen, and the portal person it signs in."""

    id: str  # "ppk_..."
    #: The credential's raw id, base64url (what an assertion names).
    credential_id: str
    #: The COSE public key, base64url.
    public_key: str
    sign_count: int = 0
    #: How the browser said it can reach the authenticator ("internal", "hybrid", ...).
    transports: tuple[str, ...] = ()
    #: The opaque WebAuthn user handle (base64url of random bytes), one per person.
    user_handle: str
    client_id: str | None = None
    contact_ids: tuple[str, ...] = ()
    #: The client of each of ``contact_ids`` (same order).
    contact_client_ids: tuple[str, ...] = ()
    #: Other clients whose own address it was too (a family sharing one address).
    also_client_ids: tuple[str, ...] = ()
    created_at: datetime
    last_used_at: datetime | None = None
