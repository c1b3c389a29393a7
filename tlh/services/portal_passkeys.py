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

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

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
from tlh.services.ephemeral import OnceStore
from tlh.services.passkey_ceremony import (
    CHALLENGE_TTL,
    EXPIRED,
    Challenge,
    Challenges,
    PasskeyExpired,
    PasskeyInvalid,
    PasskeyRevoked,
    PasskeyStale,
    PasskeyUnknown,
    RelyingParty,
    b64,
    client_data,
    unb64,
)
from tlh.services.portal_people import Person, Principal, acting_for
from tlh.store.base import Delete, Put, note

TABLE = PortalPasskey
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


def owns(record: PortalPasskey, person: Person) -> bool:
    """Whether ``record`` is a passkey of ``person`` (they share a person id)."""
    return bool(set(_ids(record)) & set(person.ids))


def _ids(record: PortalPasskey) -> tuple[str, ...]:
    return _person(record).ids


def _person(record: PortalPasskey) -> Person:
    contacts = tuple(zip(record.contact_client_ids, record.contact_ids, strict=True))
    return Person(record.client_id, contacts, record.also_client_ids)


#: The indexed fields naming a passkey's person.
_PERSON_FIELDS = ("client_id", "contact_ids", "also_client_ids")


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
    """The WebAuthn ceremonies' pending challenges (in ``once``: memory by default, or
    the shared store's) and the passkey records.

    ``clock`` is public so tests can move time; it must return aware UTC.
    """

    def __init__(
        self, clock: Callable[[], datetime] = utcnow, once: OnceStore | None = None
    ) -> None:
        self.clock = clock
        self.challenges = Challenges(lambda: self.clock(), once)

    async def mine(self, ctx: Context, person: Person) -> list[PortalPasskey]:
        """The passkeys of ``person``, oldest first."""
        found: dict[str, PortalPasskey] = {}
        for person_id in person.ids:
            for field in _PERSON_FIELDS:
                for record in await ctx.store.find(TABLE, field, person_id):
                    found[record.id] = record
        return sorted(found.values(), key=lambda r: (r.created_at, r.id))

    # -- adding a passkey (signed in) --

    async def options_to_add(self, ctx: Context, principal: Principal, rp: RelyingParty) -> str:
        """Registration options (WebAuthn JSON) for the signed-in person (signed in
        within ``FRESH_FOR``, else ``PasskeyStale``, 403): their user
        handle (random, the same for all their passkeys), a neutral label, their
        passkeys excluded, a discoverable credential with user verification."""
        session = await ctx.store.get(PortalSession, principal.session_id)
        if session is None or self.clock() - session.created_at > FRESH_FOR:
            raise PasskeyStale("to add a passkey, sign out and sign in again first")
        existing = await self.mine(ctx, principal.person)
        if len(existing) >= MAX_PER_PERSON:
            raise Conflict(f"you have {MAX_PER_PERSON} passkeys; remove one to add another")
        handle = existing[0].user_handle if existing else b64(secrets.token_bytes(32))
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=ACCOUNT_LABEL,
            user_display_name=ACCOUNT_LABEL,
            user_id=unb64(handle),
            timeout=_TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(
                    id=unb64(r.credential_id), transports=_transports(r.transports)
                )
                for r in existing
            ],
        )
        await self.challenges.remember(
            options.challenge,
            Challenge("add", self.clock() + CHALLENGE_TTL, principal.session_id, handle),
        )
        return options_to_json(options)

    async def add(
        self, ctx: Context, principal: Principal, credential: NewCredential, rp: RelyingParty
    ) -> PortalPasskey:
        """Verify the browser's new credential against the challenge this session was
        given and store it for the person, audited ``portal.passkey.add``."""
        data = client_data(credential.response.client_data_json)
        pending = await self.challenges.take(data, "add")
        if pending.session_id != principal.session_id or pending.user_handle is None:
            raise PasskeyExpired(EXPIRED)
        rp.check_origin(data)
        try:
            verified = verify_registration_response(
                credential=msgspec.to_builtins(credential),
                expected_challenge=unb64(str(data["challenge"])),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                require_user_verification=True,
            )
        except WebAuthnException:
            raise PasskeyInvalid("this passkey could not be verified; try again") from None
        credential_id = b64(verified.credential_id)
        person = principal.person
        record = PortalPasskey(
            id=new_id("ppk"),
            credential_id=credential_id,
            public_key=b64(verified.credential_public_key),
            sign_count=verified.sign_count,
            transports=tuple(t for t in credential.response.transports if t)[:10],
            user_handle=pending.user_handle,
            client_id=person.client_id,
            contact_ids=tuple(c for _, c in person.contacts),
            contact_client_ids=tuple(cid for cid, _ in person.contacts),
            also_client_ids=person.also_clients,
            created_at=self.clock(),
        )
        async with ctx.store.locked(f"passkey:{credential_id}"):
            if await ctx.store.find(TABLE, "credential_id", credential_id):
                raise Conflict("this passkey is already added")
            await ctx.store.commit(
                [Put(record)],
                audit=[note(principal.actor, "portal.passkey.add", record.id, *person.ids)],
            )
        return record

    # -- signing in with a passkey (nobody signed in yet) --

    async def options_to_sign_in(self, rp: RelyingParty) -> str:
        """Authentication options (WebAuthn JSON): a fresh challenge, no credential list
        (the authenticator offers its discoverable passkeys for this site)."""
        options = generate_authentication_options(
            rp_id=rp.id,
            timeout=_TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        await self.challenges.remember(
            options.challenge, Challenge("sign_in", self.clock() + CHALLENGE_TTL)
        )
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
            data = client_data(credential.response.client_data_json)
            await self.challenges.take(data, "sign_in")
            rp.check_origin(data)
            found = await ctx.store.find(TABLE, "credential_id", credential.raw_id.rstrip("="))
            record = found[0] if found and isinstance(found[0], PortalPasskey) else None
            if record is None:
                raise PasskeyUnknown("this passkey is not on file; sign in with a code")
            target = record.id
            async with ctx.store.locked(f"passkey:{record.credential_id}"):
                record = await self._verify(ctx, record, credential, data, rp, source)
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
        data: dict[str, Any],
        rp: RelyingParty,
        source: str,
    ) -> PortalPasskey:
        """Check the signature and counter, then the person's access; store the new
        counter and when it was used (audited ``portal.passkey.use``)."""
        current = await ctx.store.get(TABLE, record.id)
        if current is None:
            raise PasskeyUnknown("this passkey is not on file; sign in with a code")
        handle = credential.response.user_handle
        if handle is not None and handle.rstrip("=") != current.user_handle:
            raise PasskeyInvalid("this passkey could not be verified; try again")
        try:
            verified = verify_authentication_response(
                credential=msgspec.to_builtins(credential),
                expected_challenge=unb64(str(data["challenge"])),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=unb64(current.public_key),
                credential_current_sign_count=current.sign_count,
                require_user_verification=True,
            )
        except WebAuthnException:
            raise PasskeyInvalid("this passkey could not be verified; try again") from None
        person = _person(current)
        if not await acting_for(ctx, person):
            raise PasskeyRevoked("portal access is off; ask your practice")
        used = msgspec.structs.replace(
            current, sign_count=verified.new_sign_count, last_used_at=self.clock()
        )
        who = Actor(kind=person.kind, id=person.ids[0], source=source)
        await ctx.store.commit(
            [Put(used)], audit=[note(who, "portal.passkey.use", used.id, *person.ids)]
        )
        return used

    # -- managing --

    async def remove(self, ctx: Context, principal: Principal, passkey_id: str) -> None:
        """Remove one of the signed-in person's passkeys (404 for anyone else's)."""
        record = await ctx.store.get(TABLE, passkey_id)
        if record is None or not owns(record, principal.person):
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
        for field in _PERSON_FIELDS:
            for record in await ctx.store.find(TABLE, field, person_id):
                records[record.id] = record
    if records:
        await ctx.store.commit(
            [Delete(TABLE, i) for i in records],
            audit=[note(actor, "portal.passkey.remove", *records, *wanted)],
        )
    return len(records)
