"""Staff side of the client portal (issue 13): invite someone to it, list who may sign
in and when they last did, revoke access (and end their sessions).

A client may sign in with the email or phone on file unless their access was revoked; a
contact (caregiver) only once marked ``portal`` (an invitation does that). An invitation
to someone with neither email nor phone is refused with one line and nothing is sent.
"""

from __future__ import annotations

import msgspec

from tlh.api.portal import PortalAccess, PortalInvite, PortalInvited, PortalRevoke
from tlh.domain.live_records import PortalSeen
from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Client, Contact
from tlh.errors import InvalidInput, NotFound
from tlh.services import auth
from tlh.services.clients import WRITERS, change_client
from tlh.services.context import Actor, Context, new_id
from tlh.services.links import outreach_of, plain_message
from tlh.services.outbox import enqueue
from tlh.services.portal_passkeys import remove_for as remove_passkeys
from tlh.services.portal_sessions import PortalSessions

_NAMES = {MessageChannel.EMAIL: "email address", MessageChannel.SMS: "mobile number"}


async def _client(ctx: Context, client_id: str) -> Client:
    found = await ctx.store.get(Client, client_id)
    if found is None:
        raise NotFound(f"no client {client_id}")
    return found


def _contact(client: Client, contact_id: str) -> Contact:
    found = next((c for c in client.contacts if c.id == contact_id), None)
    if found is None:
        raise NotFound(f"client {client.id} has no contact {contact_id}")
    return found


def _set_access(client: Client, contact_id: str | None, on: bool) -> Client:
    if contact_id is None:
        return msgspec.structs.replace(client, portal=on)
    contacts = tuple(
        msgspec.structs.replace(c, portal=on) if c.id == contact_id else c for c in client.contacts
    )
    return msgspec.structs.replace(client, contacts=contacts)


def _address(
    who: Client | Contact, channel: MessageChannel | None, label: str
) -> tuple[MessageChannel, str]:
    """Where an invitation goes: the channel asked for, else email, else text."""
    on_file = {MessageChannel.EMAIL: who.email, MessageChannel.SMS: who.phone}
    if channel is not None:
        to = on_file[channel]
        if not to:
            raise InvalidInput(f"{label} has no {_NAMES[channel]} on file; nothing was sent")
        return channel, to
    for chan in (MessageChannel.EMAIL, MessageChannel.SMS):
        if to := on_file[chan]:
            return chan, to
    raise InvalidInput(f"{label} has neither an email address nor a phone number; nothing was sent")


async def invite(ctx: Context, actor: Actor, request: PortalInvite) -> PortalInvited:
    """Turn access on and send a sign-in invitation (the portal's address) through the
    outbox; nothing changes when there is nowhere to send it."""
    auth.require_role(actor, *WRITERS)
    client = await _client(ctx, request.client_id)
    who: Client | Contact = client
    label = f"client {client.id}"
    if request.contact_id is not None:
        who = _contact(client, request.contact_id)
        label = f"contact {who.id} of client {client.id}"
    channel, to = _address(who, request.channel, label)
    _, base = outreach_of(ctx)
    message = await plain_message(
        ctx,
        MessageKind.PORTAL_INVITE,
        channel,
        to=to,
        key=f"portal-invite:{who.id}:{new_id('i')}",
        values={"recipient_name": who.name, "link": f"{base.rstrip('/')}/p"},
        client_id=client.id,
        link_id=None,
    )
    await change_client(
        ctx,
        actor,
        client.id,
        "portal.access.grant",
        lambda c: _set_access(c, request.contact_id, True),
    )
    [queued] = await enqueue(ctx, actor, [message])
    return PortalInvited(message_id=queued.id, channel=channel)


async def revoke(
    ctx: Context, actor: Actor, sessions: PortalSessions, request: PortalRevoke
) -> int:
    """Turn access off, end that person's portal sessions and remove their passkeys;
    returns how many sessions ended."""
    auth.require_role(actor, *WRITERS)
    client = await _client(ctx, request.client_id)
    person = client.id
    if request.contact_id is not None:
        person = _contact(client, request.contact_id).id
    await change_client(
        ctx,
        actor,
        client.id,
        "portal.access.revoke",
        lambda c: _set_access(c, request.contact_id, False),
    )
    await remove_passkeys(ctx, actor, [person])
    return await sessions.end_for(ctx, actor, [person])


async def access_list(ctx: Context, actor: Actor, sessions: PortalSessions) -> list[PortalAccess]:
    """Everyone who may sign in now (clients with access and an address, portal contacts),
    with their last sign-in and open sessions; each client named is an audited read."""
    auth.require_role(actor, *WRITERS)
    rows: list[PortalAccess] = []
    for client in await ctx.store.all(Client):
        people: list[tuple[Client | Contact, str | None]] = []
        if client.portal and (client.email or client.phone):
            people.append((client, None))
        people += [(c, c.id) for c in client.contacts if c.portal and (c.email or c.phone)]
        for who, contact_id in people:
            seen = await ctx.store.get(PortalSeen, who.id)
            rows.append(
                PortalAccess(
                    client_id=client.id,
                    name=who.name,
                    contact_id=contact_id,
                    email=bool(who.email),
                    sms=bool(who.phone),
                    last_sign_in=seen.at if seen is not None else None,
                    sessions=len(await sessions.sessions_of(ctx, [who.id])),
                )
            )
    await ctx.audit.append_many(actor, "portal.access.read", sorted({r.client_id for r in rows}))
    return rows
