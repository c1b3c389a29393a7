"""Link tokens: made once, stored as SHA-256 only, redeemed for a short-lived session.

A token is 256 random bits (``secrets.token_urlsafe(32)``); its URL is
``{base}/j#{token}``, so the token rides in the fragment and never reaches an access
log. A link shown to staff (copy, guest, website) gets its token when it is made; a link
that goes by message (``by_message``) gets it when the message is handed to a transport
(``tlh.services.outbox``): until then its stored hash is empty and the message holds
``TOKEN_PLACEHOLDER``, so no live token is ever written to the data dir. Redeeming it (a POST from the client page) gives a random session id kept, hashed,
in the store (``tlh.services.link_sessions``).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import msgspec

from tlh.domain.audience import EDITORS
from tlh.domain.links import (
    Channel,
    JoinLink,
    LinkPurpose,
    ParticipantKind,
    Redeemable,
    RedeemState,
    check_redeemable,
    consent_link_validity,
    join_link_validity,
    room_link_validity,
    website_link_validity,
)
from tlh.domain.messages import TOKEN_PLACEHOLDER, Message, MessageChannel, MessageKind
from tlh.domain.models import Appointment, Client, Role
from tlh.errors import NotFound
from tlh.messaging.templates import (
    Templates,
    default_consent_path,
    default_templates_dir,
    form_hash,
)
from tlh.services import auth, scope
from tlh.services.context import Actor, Context, new_id
from tlh.store.base import Put, note, record_key

READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)
WRITERS = (Role.ADMIN, Role.SCHEDULER)

#: Tokens are 43 url-safe characters; anything far off that is not worth a lookup.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def hash_link_token(token: str) -> str:
    """SHA-256 hex of a link token (256 random bits: no salt or KDF is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def mint_token() -> tuple[str, str]:
    """A new link token and its stored hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_link_token(token)


def link_url(base_url: str, token: str) -> str:
    """The link as the holder gets it: the token in the fragment, never in the path."""
    return f"{base_url.rstrip('/')}/j#{token}"


def public(link: JoinLink) -> JoinLink:
    """The link as it may leave the server: its token hash blanked."""
    return msgspec.structs.replace(link, token_hash="")


@dataclass(frozen=True)
class NewLink:
    """A link just made: the record (to store) and its token (shown once)."""

    link: JoinLink
    token: str


def make_link(
    *,
    purpose: LinkPurpose,
    participant: ParticipantKind,
    channel: Channel,
    created_by: str,
    now: datetime,
    valid: tuple[datetime, datetime],
    client_id: str | None = None,
    contact_id: str | None = None,
    appointment_id: str | None = None,
    clinician_id: str | None = None,
    reusable: bool = False,
    by_message: bool = False,
) -> NewLink:
    """A new link record and its token (nothing is stored here). ``by_message``: the
    link goes only in a message, so its token is made when that is sent (the ``NewLink``
    carries ``TOKEN_PLACEHOLDER`` and the record an empty hash until then)."""
    token, token_hash = (TOKEN_PLACEHOLDER, "") if by_message else mint_token()
    link = JoinLink(
        id=new_id("lnk"),
        token_hash=token_hash,
        purpose=purpose,
        participant=participant,
        client_id=client_id,
        contact_id=contact_id,
        appointment_id=appointment_id,
        clinician_id=clinician_id,
        channel=channel,
        created_at=now,
        created_by=created_by,
        valid_from=valid[0],
        valid_until=valid[1],
        reusable=reusable,
    )
    return NewLink(link, token)


def join_link(
    ctx: Context,
    actor: Actor,
    appt: Appointment,
    channel: Channel,
    *,
    participant: ParticipantKind = ParticipantKind.CLIENT,
    client_id: str | None = None,
    contact_id: str | None = None,
    by_message: bool = False,
) -> NewLink:
    """A join link for one participant of ``appt`` (not stored yet; ``by_message``: see
    ``make_link``)."""
    return make_link(
        purpose=LinkPurpose.JOIN,
        participant=participant,
        channel=channel,
        created_by=actor.id,
        now=ctx.clock(),
        valid=join_link_validity(appt.start, appt.end, ctx.policy()),
        client_id=client_id,
        contact_id=contact_id,
        appointment_id=appt.id,
        clinician_id=appt.clinician_ids[0] if appt.clinician_ids else None,
        by_message=by_message,
    )


def consent_link(
    ctx: Context, actor: Actor, client_id: str, channel: Channel, *, by_message: bool = False
) -> NewLink:
    """A consent-request link for a client (not stored yet; ``by_message``: see
    ``make_link``)."""
    now = ctx.clock()
    return make_link(
        purpose=LinkPurpose.CONSENT,
        participant=ParticipantKind.CLIENT,
        channel=channel,
        created_by=actor.id,
        now=now,
        valid=consent_link_validity(now, ctx.policy()),
        client_id=client_id,
        by_message=by_message,
    )


def room_link(
    ctx: Context,
    actor: Actor,
    clinician_id: str,
    channel: Channel,
    *,
    participant: ParticipantKind = ParticipantKind.GUEST,
    client_id: str | None = None,
    appointment_id: str | None = None,
    reusable: bool = False,
) -> NewLink:
    """A link into a clinician's room (guest, quick: valid for the policy's hours; a
    website join code: for its own days, by default until revoked)."""
    now = ctx.clock()
    validity = website_link_validity if channel is Channel.WEBSITE else room_link_validity
    return make_link(
        purpose=LinkPurpose.JOIN,
        participant=participant,
        channel=channel,
        created_by=actor.id,
        now=now,
        valid=validity(now, ctx.policy()),
        client_id=client_id,
        appointment_id=appointment_id,
        clinician_id=clinician_id,
        reusable=reusable,
    )


async def store_links(ctx: Context, actor: Actor, links: Sequence[JoinLink]) -> None:
    """Store new links in one commit and audit each one's creation (``link.create``)."""
    if not links:
        return
    await ctx.store.commit(
        [Put(link) for link in links],
        audit=[note(actor, "link.create", *(link.id for link in links))],
    )


async def live_links(ctx: Context, appointment_id: str) -> list[JoinLink]:
    """An appointment's join links that are not revoked (expired ones included)."""
    return [
        link
        for link in await ctx.store.find(JoinLink, "appointment_id", appointment_id)
        if link.revoked_at is None
    ]


#: Published with ``{"ids": [link ids]}`` when links were revoked: the waiting rooms
#: end the visits made with them.
LINK_REVOKED = "link.revoked"


async def revoke(
    ctx: Context, actor: Actor, links: list[JoinLink], *, end_visits: bool = True
) -> None:
    """Revoke ``links`` now: stored, audited, and (``end_visits``) anyone waiting or in a
    call on one sent away. A resend keeps the holder's visit: they are the same person,
    only their link is replaced."""
    if not links:
        return
    now = ctx.clock()
    ids = sorted({link.id for link in links})
    # Each link as stored now (held, as ``update`` holds one): one revoked meanwhile
    # keeps its first revocation time.
    async with ctx.store.locked(*(record_key(JoinLink, i) for i in ids)):
        stored = [await ctx.store.get(JoinLink, i) for i in ids]
        live = [k for k in stored if k is not None and k.revoked_at is None]
        if live:
            await ctx.store.commit(
                [Put(msgspec.structs.replace(k, revoked_at=now)) for k in live],
                audit=[note(actor, "link.revoke", *(k.id for k in live))],
            )
    if end_visits:
        ctx.events.publish(LINK_REVOKED, {"ids": [link.id for link in links]}, EDITORS)


async def list_links(ctx: Context, actor: Actor, appointment_id: str) -> list[JoinLink]:
    """An appointment's links (every state), hashes blanked, oldest first (a clinician:
    of their own appointments only)."""
    auth.require_role(actor, *READERS)
    appt = await ctx.store.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(scope.NO_APPOINTMENT)
    scope.check_appointment(actor, appt)
    found = [
        public(link) for link in await ctx.store.find(JoinLink, "appointment_id", appointment_id)
    ]
    return sorted(found, key=lambda link: (link.created_at, link.id))


async def get_link(ctx: Context, link_id: str) -> JoinLink:
    """The stored link with ``link_id`` (``NotFound`` otherwise)."""
    link = await ctx.store.get(JoinLink, link_id)
    if link is None:
        raise NotFound("no link with that id")
    return link


async def revoke_link(ctx: Context, actor: Actor, link_id: str) -> JoinLink:
    """Revoke a link now (revoking a revoked link changes nothing)."""
    auth.require_role(actor, *WRITERS)
    link = await get_link(ctx, link_id)
    if link.revoked_at is not None:
        return public(link)
    await revoke(ctx, actor, [link])
    return public(await get_link(ctx, link.id))


async def find_by_token(ctx: Context, token: object) -> JoinLink | None:
    """The link a presented token names, or ``None`` (malformed tokens included)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    if not set(token) <= _TOKEN_CHARS:
        return None
    found = await ctx.store.find(JoinLink, "token_hash", hash_link_token(token))
    link = found[0] if found else None
    return link


async def appointment_of(ctx: Context, link: JoinLink) -> Appointment | None:
    """The appointment a link is for (``None`` for room and consent links)."""
    if link.appointment_id is None:
        return None
    found = await ctx.store.get(Appointment, link.appointment_id)
    return found


async def redeemable(ctx: Context, link: JoinLink, now: datetime) -> Redeemable:
    """Whether ``link`` admits its holder at ``now`` (the domain rule over stored data)."""
    return check_redeemable(link, await appointment_of(ctx, link), now)


async def is_usable(ctx: Context, link: JoinLink, now: datetime) -> bool:
    """OK or EARLY: the link is genuine and alive."""
    return (await redeemable(ctx, link, now)).state is not RedeemState.INVALID


@dataclass(frozen=True)
class Outreach:
    """What reaching people needs besides the store: templates, the consent form, and
    the public address links point at (``None``: derive it from the request)."""

    templates: Templates
    form_text: str
    public_url: str | None = None

    @functools.cached_property
    def form_hash(self) -> str:
        """The current consent form's version (hashed once: every room event's view
        shows a consent state that compares with it)."""
        return form_hash(self.form_text)

    def base_url(self, fallback: str) -> str:
        """Where links point: the configured public URL, else ``fallback``."""
        return (self.public_url or fallback).rstrip("/")


@dataclass(frozen=True)
class OutreachContext(Context):
    """A ``Context`` that also carries the server's ``Outreach`` (the server builds one)."""

    outreach: Outreach | None = None
    #: The server's own address, for links when no public URL is configured.
    own_url: str = "http://127.0.0.1:8765"


def load_outreach(templates_dir: str | Path | None, public_url: str | None) -> Outreach:
    """Templates (and the consent form beside them) from ``templates_dir``, else the
    packaged defaults; any fault in a template is ``InvalidInput`` now, not at send time.

    The form is ``<dir>/consent.md``, else ``<dir>/../consent/telehealth.md`` (the layout
    of ``config/``), else the packaged form.
    """
    directory = Path(templates_dir) if templates_dir else default_templates_dir()
    templates = Templates.load(directory)
    form_path = default_consent_path()
    for candidate in (directory / "consent.md", directory.parent / "consent" / "telehealth.md"):
        if candidate.is_file():
            form_path = candidate
            break
    return Outreach(templates, form_path.read_text(encoding="utf-8"), public_url)


@functools.cache
def _default_outreach() -> Outreach:
    return load_outreach(None, None)


def outreach_of(ctx: Context) -> tuple[Outreach, str]:
    """The context's outreach and base URL (packaged defaults for a plain ``Context``)."""
    if isinstance(ctx, OutreachContext) and ctx.outreach is not None:
        return ctx.outreach, ctx.outreach.base_url(ctx.own_url)
    default = _default_outreach()
    return default, default.base_url("http://127.0.0.1:8765")


async def client_language(ctx: Context, client_id: str | None) -> str | None:
    """The language of the messages about ``client_id`` (their own, or to their contacts:
    a caregiver gets the client's language too, the one the practice recorded)."""
    client = await ctx.store.get(Client, client_id) if client_id else None
    return client.language if client is not None else None


async def plain_message(
    ctx: Context,
    kind: MessageKind,
    channel: MessageChannel,
    *,
    to: str,
    key: str,
    values: dict[str, str],
    client_id: str | None,
    link_id: str | None,
) -> Message:
    """A rendered message that is about no appointment (consent request, identity code):
    the template's appointment placeholders are left empty."""
    outreach, _ = outreach_of(ctx)
    blank = {"link": "", "date": "", "time": "", "timezone": "", "clinician_name": ""}
    full = {**blank, "practice_name": ctx.policy().practice_name, **values}
    rendered = outreach.templates.render(kind, channel, full, await client_language(ctx, client_id))
    now = ctx.clock()
    return Message(
        id=new_id("msg"),
        idempotency_key=key,
        kind=kind,
        channel=channel,
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        next_attempt_at=now,
        created_at=now,
        client_id=client_id,
        link_id=link_id,
    )
