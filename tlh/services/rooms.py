"""Links that are not sent as invitations: copied, quick sessions, guests, the website.

Room links (guest, website, quick) enter a clinician's waiting room and are valid for
the policy's ``room_link_hours``; a website link is reusable by many visitors.
"""

from __future__ import annotations

import html

from tlh.api.invites import CopyLink, QuickInvite, QuickSession
from tlh.domain.links import Channel, JoinLink, ParticipantKind
from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Modality, Staff, Status
from tlh.errors import InvalidInput
from tlh.services import audiences, auth, scope
from tlh.services.context import Actor, Context, new_id
from tlh.services.invites import (
    SENDERS,
    build_message,
    check_invitable,
    load_appointment,
    owner_of,
)
from tlh.services.links import (
    NewLink,
    join_link,
    link_url,
    outreach_of,
    public,
    room_link,
    store_links,
)
from tlh.services.outbox import enqueue
from tlh.services.recipients import add_address, explicit, load_client
from tlh.services.staff import find_staff
from tlh.store.base import Put, note


async def copy_link(ctx: Context, actor: Actor, request: CopyLink) -> tuple[JoinLink, str]:
    """A join link for copying (channel ``copy``): the appointment's first client, or one
    of its clients' contacts."""
    auth.require_role(actor, *SENDERS)
    appt = await load_appointment(ctx, request.appointment_id, actor)
    await check_invitable(ctx, appt)
    contact_id = request.contact_id or None
    client_id = await owner_of(ctx, appt, contact_id) if contact_id else appt.client_ids[0]
    made = join_link(
        ctx,
        actor,
        appt,
        Channel.COPY,
        participant=ParticipantKind.CONTACT if contact_id else ParticipantKind.CLIENT,
        client_id=client_id,
        contact_id=contact_id,
    )
    return await _store_one(ctx, actor, made)


async def _store_one(ctx: Context, actor: Actor, made: NewLink) -> tuple[JoinLink, str]:
    await store_links(ctx, actor, [made.link])
    _, base = outreach_of(ctx)
    return public(made.link), link_url(base, made.token)


async def _clinician(ctx: Context, actor: Actor, ref: str | None) -> Staff:
    """The room meant: the named clinician (a clinician names only their own), else the
    calling clinician's."""
    if ref:
        staff = await find_staff(ctx, ref)
    elif actor.is_clinician:
        staff = await find_staff(ctx, actor.id)
    else:
        raise InvalidInput("name the clinician (id or email)")
    scope.check_room(actor, staff.id)
    if not staff.is_clinician or not staff.active:
        raise InvalidInput(f"staff member {staff.id} is not an active clinician")
    return staff


async def guest_link(ctx: Context, actor: Actor, clinician: str | None) -> tuple[JoinLink, str]:
    """An invite-others link into a clinician's waiting room."""
    auth.require_role(actor, *SENDERS)
    staff = await _clinician(ctx, actor, clinician)
    return await _store_one(ctx, actor, room_link(ctx, actor, staff.id, Channel.GUEST))


async def website_snippet(ctx: Context, actor: Actor, clinician: str | None) -> str:
    """HTML for the practice's website: a button that opens the clinician's waiting room
    through a reusable website link (the client page redeems it)."""
    auth.require_role(actor, *SENDERS)
    staff = await _clinician(ctx, actor, clinician)
    made = room_link(ctx, actor, staff.id, Channel.WEBSITE, reusable=True)
    _, url = await _store_one(ctx, actor, made)
    label = html.escape(f"Enter {staff.name}'s waiting room", quote=True)
    action = html.escape(url, quote=True)
    return (
        f'<form class="tlh-join" method="get" action="{action}" target="_blank">\n'
        f'  <button type="submit">{label}</button>\n'
        "</form>\n"
    )


QUICK_MINUTES = 50


async def quick(
    ctx: Context, actor: Actor, request: QuickSession, rooms: scope.RoomClients | None = None
) -> QuickInvite:
    """An unscheduled telehealth session starting now, and its link (sent or to copy).

    A clinician starts one in their own room, for a client of theirs (``rooms``: the
    live rooms, whose clients count as theirs)."""
    auth.require_role(actor, *SENDERS)
    client = await load_client(ctx, request.client_id)
    await scope.check_client(ctx, actor, client.id, rooms)
    staff = await _clinician(ctx, actor, request.clinician)
    channel = None if request.channel == "copy" else MessageChannel(request.channel)
    if channel is not None and request.to:
        client = await add_address(ctx, actor, client, channel, request.to)
    recipient = explicit(client, channel) if channel is not None else None
    now = ctx.clock()
    appt = Appointment(
        id=new_id("apt"),
        modality=Modality.TELEHEALTH,
        status=Status.CONFIRMED,
        clinician_ids=(staff.id,),
        client_ids=(client.id,),
        start=now,
        duration_min=QUICK_MINUTES,
        created_at=now,
        updated_at=now,
    )
    await ctx.store.commit([Put(appt)], audit=[note(actor, "appointment.create", appt.id)])
    ctx.events.publish(
        "appointment.created",
        {"id": appt.id, "status": appt.status.value, "start": now.isoformat(),
         "clinician_ids": [staff.id], "modality": appt.modality.value},
        audiences.appointments(appt),
    )  # fmt: skip
    # Sent by message, the link's token is made when it leaves and shown to no one here.
    sending = channel is not None and recipient is not None
    made = join_link(ctx, actor, appt, Channel.QUICK, client_id=client.id, by_message=sending)
    link, url = await _store_one(ctx, actor, made)
    if channel is not None and recipient is not None:
        message = await build_message(
            ctx, appt, MessageKind.INVITATION, channel, recipient,
            key=f"invite:{link.id}:{channel.value}", url=url, link_id=link.id, ics="REQUEST",
        )  # fmt: skip
        await enqueue(ctx, actor, [message])
        url = ""
    return QuickInvite(appointment=appt, link=link, url=url)
