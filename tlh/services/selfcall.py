"""``tlh doctor``'s self-call: a real call through this server between two headless peers.

The admin running the doctor gets a segment they lead, marked ``self_test``, and a
one-time guest link into their own room, valid for a few minutes. The doctor joins the
segment on the staff call socket with its token, sends a headless guest through the link
(redeem, waiting room, admission) and checks that media flows both ways; then it ends the
segment and revokes the link. Everything is audited as the admin's; the segment is left
out of the practice's reports and of the room's expected-wait estimate, and kept apart
from real visits: only the link's holder is admitted into it (``test_link_id``), and no
real guest or open-session lookup ever finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.models import Role
from tlh.domain.sessions import SessionSegment
from tlh.services import auth, sessions
from tlh.services.context import Actor, Context, new_id
from tlh.services.links import link_url, make_link, outreach_of, public
from tlh.store.base import Put, note

#: How long the self-call's guest link stays valid (the doctor revokes it when done).
LINK_VALID = timedelta(minutes=5)


@dataclass(frozen=True)
class SelfCall:
    segment: SessionSegment
    link: JoinLink  # hash blanked
    url: str  # https://HOST/j#TOKEN, for the doctor's headless guest only


async def start(ctx: Context, actor: Actor) -> SelfCall:
    """Open a self-test segment led by ``actor`` (an admin) and a guest link into it.

    Only the link's holder is let into the test, and no real visit joins it (nor does
    the test guest join one): the admin's own open sessions are left alone. A self-call
    left open by a doctor that died is ended first.
    """
    auth.require_role(actor, Role.ADMIN)
    for stale in await sessions.open_self_tests(ctx, actor.id):
        await sessions.end(ctx, actor, stale.id)
    now = ctx.clock()
    made = make_link(
        purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.GUEST,
        channel=Channel.GUEST,
        created_by=actor.id,
        now=now,
        valid=(now, now + LINK_VALID),
        clinician_id=actor.id,
    )
    segment = SessionSegment(
        id=new_id("ses"),
        clinician_id=actor.id,
        started_at=now,
        started_by=actor.id,
        self_test=True,
        test_link_id=made.link.id,
    )
    await ctx.store.commit(
        [Put(segment), Put(made.link)],
        audit=[note(actor, "doctor.call", segment.id, made.link.id)],
    )
    _, base = outreach_of(ctx)
    return SelfCall(segment, public(made.link), link_url(base, made.token))
