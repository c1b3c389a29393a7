"""The WebAuthn plumbing of the portal's passkeys (issue 13): who the relying party is,
the pending challenges (single use, short-lived; in memory, or in the shared store when
several servers share one), base64url, a credential's
``clientDataJSON``, and the errors a ceremony ends in (each its own code)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from tlh.errors import BadRequest, Forbidden, Unauthenticated
from tlh.services.context import utcnow
from tlh.services.ephemeral import MemoryOnce, OnceStore

CHALLENGE_TTL = timedelta(minutes=5)
#: Challenges remembered at once (the oldest are forgotten first).
MAX_PENDING = 10_000
EXPIRED = "this passkey request has expired or was used; try again"


class PasskeyExpired(Unauthenticated):
    """The challenge is unknown, used already (a replay) or expired."""

    code = "passkey_expired"


class PasskeyUnknown(Unauthenticated):
    """No passkey on file with that credential id (removed, or never added)."""

    code = "passkey_unknown"


class PasskeyInvalid(Unauthenticated):
    """The assertion or attestation does not verify (signature, counter, rp, flags)."""

    code = "passkey_invalid"


class PasskeyRevoked(Unauthenticated):
    """The passkey is valid but its person's portal access is off."""

    code = "passkey_revoked"


class PasskeyStale(Forbidden):
    """Adding a passkey needs a recent sign-in."""

    code = "passkey_reauth"


class PasskeyOrigin(Forbidden):
    """The browser made the credential on another site than the practice's public URL."""

    code = "passkey_origin"


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the practice's public host (rp id), its name, and the
    origin pages must have (the practice's public URL)."""

    id: str
    name: str
    origin: str

    def check_origin(self, client_data: dict[str, Any]) -> None:
        """``PasskeyOrigin`` (403) unless the credential was made on our origin."""
        if client_data["origin"] != self.origin:
            raise PasskeyOrigin("this passkey was used on another site than the practice's")


@dataclass
class Challenge:
    """A challenge handed out and not answered yet."""

    purpose: Literal["add", "sign_in"]
    expires: datetime
    #: ``add``: the portal session asking, and the user handle offered.
    session_id: str | None = None
    user_handle: str | None = None


def b64(data: bytes) -> str:
    """base64url without padding, as WebAuthn's JSON writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of a base64url field; ``BadRequest`` (400) when it is not one."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest("a credential field is not base64url") from None


def client_data(encoded: str) -> dict[str, Any]:
    """``clientDataJSON`` as a dict (only to find the challenge and the origin; the
    library checks it all again); ``BadRequest`` (400) when it is not one."""
    try:
        found = json.loads(unb64(encoded))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("clientDataJSON is not JSON") from None
    if not isinstance(found, dict) or not all(
        isinstance(found.get(k), str) for k in ("type", "challenge", "origin")
    ):
        raise BadRequest("clientDataJSON lacks its type, challenge or origin")
    return found


class Challenges:
    """Pending challenges by value, in ``store`` (this process's memory by default, or
    the shared store's: a challenge handed out by one server is answered on another).
    ``clock`` must return aware UTC."""

    def __init__(
        self, clock: Callable[[], datetime] = utcnow, store: OnceStore | None = None
    ) -> None:
        self.clock = clock
        self._store: OnceStore = store or MemoryOnce(MAX_PENDING)

    async def remember(self, challenge: bytes, pending: Challenge) -> None:
        """Keep ``challenge`` until it is answered or ``pending.expires``."""
        value = msgspec.json.encode(pending)
        await self._store.put(_key(b64(challenge)), value, pending.expires)

    async def take(self, data: dict[str, Any], purpose: str) -> Challenge:
        """The pending challenge ``clientDataJSON`` answers, gone from here whatever
        comes next (single use); ``PasskeyExpired`` when there is none, it was for
        something else, or it expired."""
        now = self.clock()
        found = await self._store.take(_key(str(data["challenge"]).rstrip("=")), now)
        pending = None if found is None else msgspec.json.decode(found, type=Challenge)
        if pending is None or pending.purpose != purpose or now >= pending.expires:
            raise PasskeyExpired(EXPIRED)
        return pending


def _key(challenge: str) -> str:
    return f"passkey:{challenge}"
