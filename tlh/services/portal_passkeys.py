"""Passkeys (WebAuthn) on the client portal (issue 13), with py_webauthn.

After a code sign-in a person may add a passkey; the next sign-in is one tap. The
server hands out options with a fresh challenge, kept here in memory, single use and
short-lived (``CHALLENGE_TTL``); the browser's answer is verified (origin: the
practice's public URL; rp id: its host; user verification required; the signature
counter must move on) and the credential stored (``PortalPasskey``) for the person
(client or portal contact), audited.

What the authenticator is told about the person: a random user handle (one per person,
never an id, name or address) and a neutral account label (``ACCOUNT_LABEL``), not a
name. Passkey managers sync and show their account lists (on a shared family tablet,
in a cloud account); a name next to the practice's host would tell anyone who looks
that this person is a client of the practice, which is itself health information.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tlh.api.portal_passkeys import Assertion, NewCredential, PortalPasskeyView
from tlh.domain.live_records import PortalSession
from tlh.domain.passkeys import PortalPasskey
from tlh.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthenticated
from tlh.services.context import Actor, Context, new_id, utcnow
from tlh.services.portal_people import Person, Principal, acting_for
from tlh.store.base import Delete, Put, note

TABLE = "portal_passkeys"
CHALLENGE_TTL = timedelta(minutes=5)
#: Challenges remembered at once (the oldest are forgotten first).
_MAX_PENDING = 10_000
#: How recent the sign-in must be to add a passkey: a passkey is a lasting way in, so a
#: session left open on a shared device cannot mint one for someone else later.
FRESH_FOR = timedelta(minutes=15)
#: Passkeys one person may keep.
MAX_PER_PERSON = 20
#: What the authenticator shows as the account (see the module docstring: no name).
ACCOUNT_LABEL = "Client portal"
#: Who a failed passkey sign-in is audited as (nobody is signed in yet).
ANONYMOUS = "anonymous"
_TIMEOUT_MS = 120_000


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
    """Adding a passkey needs a recent sign-in (``FRESH_FOR``)."""

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


@dataclass
class _Challenge:
    purpose: Literal["add", "sign_in"]
    expires: datetime
    #: ``add``: the portal session asking, and the user handle offered.
    session_id: str | None = None
    user_handle: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest("a credential field is not base64url") from None


def _client_data(encoded: str) -> dict[str, Any]:
    """``clientDataJSON`` as a dict (only to find the challenge and the origin; the
    library checks it all again)."""
    try:
        found = json.loads(_unb64(encoded))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("clientDataJSON is not JSON") from None
    if not isinstance(found, dict) or not all(
        isinstance(found.get(k), str) for k in ("type", "challenge", "origin")
    ):
        raise BadRequest("clientDataJSON lacks its type, challenge or origin")
    return found


def owns(record: PortalPasskey, person: Person) -> bool:
    """Whether ``record`` is a passkey of ``person`` (they share a person id)."""
    return bool(set(_ids(record)) & set(person.ids))


def _ids(record: PortalPasskey) -> tuple[str, ...]:
    return (*([record.client_id] if record.client_id else []), *record.contact_ids)


def _person(record: PortalPasskey) -> Person:
    return Person(
        record.client_id, tuple(zip(record.contact_client_ids, record.contact_ids, strict=True))
    )


def view(record: PortalPasskey) -> PortalPasskeyView:
    """How the portal lists a passkey."""
    return PortalPasskeyView(
        id=record.id,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        transports=list(record.transports),
    )


def _transports(names: Iterable[str]) -> list[AuthenticatorTransport]:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(n) for n in names if n in known]


class PortalPasskeys:
    """The WebAuthn ceremonies' pending challenges (in memory) and the passkey records.

    ``clock`` is public so tests can move time; it must return aware UTC.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._pending: OrderedDict[str, _Challenge] = OrderedDict()

    def _remember(self, challenge: bytes, pending: _Challenge) -> None:
        while len(self._pending) >= _MAX_PENDING:
            self._pending.popitem(last=False)
        self._pending[_b64(challenge)] = pending

    def _take(self, client_data: dict[str, Any], purpose: str) -> _Challenge:
        """The pending challenge ``clientDataJSON`` answers, gone from here whatever
        comes next (single use); ``PasskeyExpired`` when there is none, it was for
        something else, or it expired."""
        pending = self._pending.pop(str(client_data["challenge"]).rstrip("="), None)
        if pending is None or pending.purpose != purpose or self.clock() >= pending.expires:
            raise PasskeyExpired("this passkey request has expired or was used; try again")
        return pending

    @staticmethod
    def _check_origin(client_data: dict[str, Any], rp: RelyingParty) -> None:
        if client_data["origin"] != rp.origin:
            raise PasskeyOrigin("this passkey was used on another site than the practice's")

    def mine(self, ctx: Context, person: Person) -> list[PortalPasskey]:
        """The passkeys of ``person``, oldest first."""
        found: dict[str, PortalPasskey] = {}
        for person_id in person.ids:
            for field in ("client_id", "contact_ids"):
                for record in ctx.store.find(TABLE, field, person_id):
                    if isinstance(record, PortalPasskey):
                        found[record.id] = record
        return sorted(found.values(), key=lambda r: (r.created_at, r.id))

    # -- adding a passkey (signed in) --

    def options_to_add(self, ctx: Context, principal: Principal, rp: RelyingParty) -> str:
        """Registration options (WebAuthn JSON) for the signed-in person (signed in
        within ``FRESH_FOR``, else ``PasskeyStale``, 403): their user
        handle (random, the same for all their passkeys), a neutral label, their
        passkeys excluded, a discoverable credential with user verification."""
        session = ctx.store.get("portal_sessions", principal.session_id)
        if not isinstance(session, PortalSession) or self.clock() - session.created_at > FRESH_FOR:
            raise PasskeyStale("to add a passkey, sign out and sign in again first")
        existing = self.mine(ctx, principal.person)
        if len(existing) >= MAX_PER_PERSON:
            raise Conflict(f"you have {MAX_PER_PERSON} passkeys; remove one to add another")
        handle = existing[0].user_handle if existing else _b64(secrets.token_bytes(32))
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=ACCOUNT_LABEL,
            user_display_name=ACCOUNT_LABEL,
            user_id=_unb64(handle),
            timeout=_TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(
                    id=_unb64(r.credential_id), transports=_transports(r.transports)
                )
                for r in existing
            ],
        )
        self._remember(
            options.challenge,
            _Challenge("add", self.clock() + CHALLENGE_TTL, principal.session_id, handle),
        )
        return options_to_json(options)

    async def add(
        self, ctx: Context, principal: Principal, credential: NewCredential, rp: RelyingParty
    ) -> PortalPasskey:
        """Verify the browser's new credential against the challenge this session was
        given and store it for the person, audited ``portal.passkey.add``."""
        client_data = _client_data(credential.response.client_data_json)
        pending = self._take(client_data, "add")
        if pending.session_id != principal.session_id or pending.user_handle is None:
            raise PasskeyExpired("this passkey request has expired or was used; try again")
        self._check_origin(client_data, rp)
        try:
            verified = verify_registration_response(
                credential=msgspec.to_builtins(credential),
                expected_challenge=_unb64(str(client_data["challenge"])),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                require_user_verification=True,
            )
        except WebAuthnException:
            raise PasskeyInvalid("this passkey could not be verified; try again") from None
        credential_id = _b64(verified.credential_id)
        person = principal.person
        record = PortalPasskey(
            id=new_id("ppk"),
            credential_id=credential_id,
            public_key=_b64(verified.credential_public_key),
            sign_count=verified.sign_count,
            transports=tuple(t for t in credential.response.transports if t)[:10],
            user_handle=pending.user_handle,
            client_id=person.client_id,
            contact_ids=tuple(c for _, c in person.contacts),
            contact_client_ids=tuple(cid for cid, _ in person.contacts),
            created_at=self.clock(),
        )
        async with ctx.store.locked(f"passkey:{credential_id}"):
            if ctx.store.find(TABLE, "credential_id", credential_id):
                raise Conflict("this passkey is already added")
            await ctx.store.commit(
                [Put(TABLE, record)],
                audit=[note(principal.actor, "portal.passkey.add", record.id, *person.ids)],
            )
        return record

    # -- signing in with a passkey (nobody signed in yet) --

    def options_to_sign_in(self, rp: RelyingParty) -> str:
        """Authentication options (WebAuthn JSON): a fresh challenge, no credential list
        (the authenticator offers its discoverable passkeys for this site)."""
        options = generate_authentication_options(
            rp_id=rp.id,
            timeout=_TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        self._remember(options.challenge, _Challenge("sign_in", self.clock() + CHALLENGE_TTL))
        return options_to_json(options)

    async def sign_in(
        self, ctx: Context, credential: Assertion, rp: RelyingParty, source: str
    ) -> Person:
        """Whom this assertion signs in as. Refused (and audited
        ``portal.passkey.failed.<code>`` naming the passkey when known): a challenge unknown,
        used or expired, another site's origin, an unknown credential, a bad signature
        or a counter that did not move on, a person whose access is off."""
        anonymous = Actor(kind="client", id=ANONYMOUS, source=source)
        target = "unknown"
        try:
            client_data = _client_data(credential.response.client_data_json)
            self._take(client_data, "sign_in")
            self._check_origin(client_data, rp)
            found = ctx.store.find(TABLE, "credential_id", credential.raw_id.rstrip("="))
            record = found[0] if found and isinstance(found[0], PortalPasskey) else None
            if record is None:
                raise PasskeyUnknown("this passkey is not on file; sign in with a code")
            target = record.id
            async with ctx.store.locked(f"passkey:{record.credential_id}"):
                record = await self._verify(ctx, record, credential, client_data, rp, source)
        except (BadRequest, Unauthenticated, Forbidden) as exc:
            # The reason is in the action (``portal.passkey.failed.passkey_expired``).
            await ctx.audit.append(anonymous, f"portal.passkey.failed.{exc.code}", target)
            raise
        return _person(record)

    @staticmethod
    async def refused(ctx: Context, code: str, source: str) -> None:
        """Audit a passkey sign-in refused before it reached ``sign_in`` (a body that is
        not a credential), as ``portal.passkey.failed.<code>``."""
        anonymous = Actor(kind="client", id=ANONYMOUS, source=source)
        await ctx.audit.append(anonymous, f"portal.passkey.failed.{code}", "unknown")

    async def _verify(
        self,
        ctx: Context,
        record: PortalPasskey,
        credential: Assertion,
        client_data: dict[str, Any],
        rp: RelyingParty,
        source: str,
    ) -> PortalPasskey:
        """Check the signature and counter, then the person's access; store the new
        counter and when it was used (audited ``portal.passkey.use``)."""
        current = ctx.store.get(TABLE, record.id)
        if not isinstance(current, PortalPasskey):
            raise PasskeyUnknown("this passkey is not on file; sign in with a code")
        handle = credential.response.user_handle
        if handle is not None and handle.rstrip("=") != current.user_handle:
            raise PasskeyInvalid("this passkey could not be verified; try again")
        try:
            verified = verify_authentication_response(
                credential=msgspec.to_builtins(credential),
                expected_challenge=_unb64(str(client_data["challenge"])),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=_unb64(current.public_key),
                credential_current_sign_count=current.sign_count,
                require_user_verification=True,
            )
        except WebAuthnException:
            raise PasskeyInvalid("this passkey could not be verified; try again") from None
        person = _person(current)
        if not acting_for(ctx, person):
            raise PasskeyRevoked("portal access is off; ask your practice")
        used = msgspec.structs.replace(
            current, sign_count=verified.new_sign_count, last_used_at=self.clock()
        )
        who = Actor(kind=person.kind, id=person.ids[0], source=source)
        await ctx.store.commit(
            [Put(TABLE, used)], audit=[note(who, "portal.passkey.use", used.id, *person.ids)]
        )
        return used

    # -- managing --

    async def remove(self, ctx: Context, principal: Principal, passkey_id: str) -> None:
        """Remove one of the signed-in person's passkeys (404 for anyone else's)."""
        record = ctx.store.get(TABLE, passkey_id)
        if not isinstance(record, PortalPasskey) or not owns(record, principal.person):
            raise NotFound("no such passkey")
        await ctx.store.commit(
            [Delete(TABLE, record.id)],
            audit=[note(principal.actor, "portal.passkey.remove", record.id, *_ids(record))],
        )


async def remove_for(ctx: Context, actor: Actor, person_ids: Iterable[str]) -> int:
    """Remove every passkey of these people (staff revoked their access); returns how
    many, audited ``portal.passkey.remove`` naming each passkey and person."""
    wanted = list(person_ids)
    records: dict[str, PortalPasskey] = {}
    for person_id in wanted:
        for field in ("client_id", "contact_ids"):
            for record in ctx.store.find(TABLE, field, person_id):
                if isinstance(record, PortalPasskey):
                    records[record.id] = record
    if records:
        await ctx.store.commit(
            [Delete(TABLE, i) for i in records],
            audit=[note(actor, "portal.passkey.remove", *records, *wanted)],
        )
    return len(records)
