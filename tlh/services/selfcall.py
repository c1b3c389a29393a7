"""``tlh doctor``'s self-call: a real call through this server between two headless peers.

The admin running the doctor gets a segment they lead, marked ``self_test``, and a
one-time guest link into their own room, valid for a few minutes. The doctor joins the
segment on the staff call socket with its token, sends a headless guest through the link
(redeem, waiting room, admission) and checks that media flows both ways; then it ends the
segment and revokes the link. Everything is audited as the admin's; the segment is left
out of the practice's reports and of the room's expected-wait estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.models import Role
from tlh.domain.sessions import SessionSegment
from tlh.errors import Conflict
from tlh.services import auth, sessions
from tlh.services.context import Actor, Context, new_id
from tlh.services.links import link_url, make_link, outreach_of, public
from tlh.store.base import Put

#: How long the self-call's guest link stays valid (the doctor revokes it when done).
LINK_VALID = timedelta(minutes=5)


@dataclass(frozen=True)
class SelfCall:
    segment: SessionSegment
    link: JoinLink  # hash blanked
    url: str  # https://HOST/j#TOKEN, for the doctor's headless guest only


async def start(ctx: Context, actor: Actor) -> SelfCall:
    """Open a self-test segment led by ``actor`` (an admin) and a guest link into it.

    A self-call left open by a doctor that died is ended first; any other open session
    of the admin's is a conflict (the guest would be admitted into it).
    """
    auth.require_role(actor, Role.ADMIN)
    existing = sessions.open_segment(ctx, clinician_id=actor.id)
    if existing is not None:
        if not existing.self_test:
            raise Conflict("end your open session first: the test guest would join it")
        await sessions.end(ctx, actor, existing.id)
    now = ctx.clock()
    segment = SessionSegment(
        id=new_id("ses"), clinician_id=actor.id, started_at=now, started_by=actor.id, self_test=True
    )
    made = make_link(
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.GUEST,
        channel=Channel.GUEST,
        created_by=actor.id,
        now=now,
        valid=(now, now + LINK_VALID),
        clinician_id=actor.id,
    )
    await ctx.store.commit([Put("sessions", segment), Put("links", made.link)])
    await ctx.audit.append_many(actor, "doctor.call", [segment.id, made.link.id])
    _, base = outreach_of(ctx)
    return SelfCall(segment, public(made.link), link_url(base, made.token))
