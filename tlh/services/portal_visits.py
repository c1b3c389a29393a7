"""The portal's upcoming appointments and its Join (issue 13).

The signed-in person sees the appointments of the clients they act for, from now (those
still joinable included) on; every occurrence of a series is one appointment here, so each
is joinable from its own window. Join mints a fresh join link for that person and that
appointment (``Channel.PORTAL``) and hands its token to the page in the answer's body: the
page opens ``/j#TOKEN``, so the consent, the device check and the waiting room are the
link's own. The token is never in a URL the server sees, nor in a log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tlh.api.portal import PortalAppointment
from tlh.domain.links import (
    DEAD_STATUSES,
    Channel,
    JoinLink,
    LinkPurpose,
    ParticipantKind,
    join_link_validity,
)
from tlh.domain.models import Appointment, Kind, Modality
from tlh.domain.window import join_window
from tlh.errors import Conflict, NotFound
from tlh.services.context import Context
from tlh.services.invites import clinician_name, standing_blockers
from tlh.services.links import join_link, store_links
from tlh.services.portal_actions import offers
from tlh.services.portal_booking import move_offers
from tlh.services.portal_people import Principal

#: At most this many upcoming appointments are listed (the nearest first).
MAX_LISTED = 50
NO_APPOINTMENT = "no such appointment"


async def _theirs(ctx: Context, principal: Principal, now: datetime) -> list[Appointment]:
    """The clients' appointments that have not ended (nor their join window closed)."""
    policy = ctx.policy()
    found: dict[str, Appointment] = {}
    for client_id in principal.client_ids:
        # Visits ended a day ago are past any join window: months on disk stay there.
        yesterday = now - timedelta(days=1)
        for appt in await ctx.store.find(
            Appointment, "client_ids", client_id, ending_after=yesterday
        ):
            if appt.kind is not Kind.APPOINTMENT:
                continue
            last = max(appt.end, join_window(appt, policy).closes)
            if appt.modality is not Modality.TELEHEALTH:
                last = appt.end
            if last > now:
                found[appt.id] = appt
    return sorted(found.values(), key=lambda a: (a.start, a.id))[:MAX_LISTED]


async def _blocked(ctx: Context, appt: Appointment) -> str | None:
    """Why ``appt`` cannot be joined by video at all, in one line (``None``: it can)."""
    if appt.modality is not Modality.TELEHEALTH:
        return "in person"
    if appt.status in DEAD_STATUSES:
        return appt.status.value.replace("_", " ")
    blockers = await standing_blockers(ctx, appt)
    return "; ".join(b.message for b in blockers) if blockers else None


async def view(ctx: Context, principal: Principal, appt: Appointment) -> PortalAppointment:
    """One appointment as the portal shows it."""
    blocked = await _blocked(ctx, appt)
    window = join_window(appt, ctx.policy())
    client_id = next(c for c in appt.client_ids if principal.acts_for(c))
    return PortalAppointment(
        id=appt.id,
        client_id=client_id,
        start=appt.start,
        end=appt.end,
        clinician_name=await clinician_name(ctx, appt),
        modality=appt.modality,
        status=appt.status,
        join_opens_at=None if blocked else window.opens,
        join_closes_at=None if blocked else window.closes,
        join_blocked=blocked,
        **offers(ctx, appt, ctx.clock()),
        **await move_offers(ctx, appt, ctx.clock()),
    )


async def upcoming(ctx: Context, principal: Principal) -> list[PortalAppointment]:
    """The upcoming appointments of the clients ``principal`` acts for (audited reads)."""
    appts = await _theirs(ctx, principal, ctx.clock())
    await ctx.audit.append_many(principal.actor, "portal.appointments.read", [a.id for a in appts])
    return [await view(ctx, principal, a) for a in appts]


async def _their_appointment(ctx: Context, principal: Principal, appt_id: str) -> Appointment:
    """``appt_id`` when one of its clients is theirs; else 404, as for none at all."""
    appt = await ctx.store.get(Appointment, appt_id)
    if appt is None or not any(principal.acts_for(c) for c in appt.client_ids):
        raise NotFound(NO_APPOINTMENT)
    return appt


async def join(ctx: Context, principal: Principal, appt_id: str) -> str:
    """A fresh join link's token for ``principal`` and ``appt_id`` (409 when Join is not
    live: not by video, cancelled, before the window opens or after it closes)."""
    appt = await _their_appointment(ctx, principal, appt_id)
    blocked = await _blocked(ctx, appt)
    if blocked is not None:
        raise Conflict(f"this appointment cannot be joined by video ({blocked})")
    now = ctx.clock()
    policy = ctx.policy()
    window = join_window(appt, policy)
    if now < window.opens:
        raise Conflict("Join opens a few minutes before the start; please try again then")
    if now >= min(window.closes, join_link_validity(appt.start, appt.end, policy)[1]):
        raise Conflict("this appointment has ended")
    client_id = next(c for c in appt.client_ids if principal.acts_for(c))
    contact_id = principal.contact_id_for(client_id)
    actor = principal.actor
    made = join_link(
        ctx,
        actor,
        appt,
        Channel.PORTAL,
        participant=ParticipantKind.CONTACT if contact_id else ParticipantKind.CLIENT,
        client_id=client_id,
        contact_id=contact_id,
    )
    await store_links(ctx, actor, [made.link])
    return made.token


#: Links that reached their holder in a message: the ones ``portal_required`` gates.
_SENT_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})


def portal_first(ctx: Context, link: JoinLink, principal: Principal | None) -> bool:
    """Whether this join link must lead to portal sign-in first (policy
    ``portal_required``): a client's or contact's appointment link sent by email or text,
    opened by someone not signed in to the portal for that client. Links the portal
    mints itself (``Channel.PORTAL``), guests' and staff-copied links go straight on."""
    return (
        ctx.policy().portal_required
        and link.purpose is LinkPurpose.JOIN
        and link.channel in _SENT_CHANNELS
        and link.participant in (ParticipantKind.CLIENT, ParticipantKind.CONTACT)
        and link.appointment_id is not None
        and not (principal is not None and principal.acts_for(link.client_id))
    )
