"""A client (or a caregiver for them) confirms or cancels an appointment themselves.

``confirm`` sets the status the start gate needs (confirmed); ``client_cancel`` calls
the visit off, as a late cancellation inside the policy's ``late_cancel_hours`` of the
start, revoking its join links and telling who had them (``cancellation``, as a
cancellation by staff does: ``tlh.services.followups``). Both are safe to repeat: what
cannot be done now (an appointment cancelled, confirmed already, started, or checked in)
is refused with a 409 whose ``reason`` says why, and nothing is changed. The one-tap
links of reminders and the portal call the same two functions.

The steps read as the use case: whose appointment → the rule (``tlh.domain.
action_links``) checked on the record as stored, holding it → one commit with its audit
(naming the client or contact who acted) and what follows → the staff event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from tlh.api.actions import ActionDone, ActionView
from tlh.domain import transitions
from tlh.domain.action_links import (
    CALLED_OFF,
    ActionLink,
    LinkAction,
    Refusal,
    appointment_refusal,
    refusal,
)
from tlh.domain.models import Appointment, Client, Staff, Status
from tlh.domain.timeutil import zone
from tlh.errors import Conflict, Forbidden, NotFound, TlhError
from tlh.messaging.templates import format_date, format_time
from tlh.services import audiences, followups
from tlh.services.appointments import event_of
from tlh.services.context import Actor, Context
from tlh.services.followups import Followup
from tlh.services.links import client_language
from tlh.store.base import Op, Put, note, record_key

#: The events staff hear, by action (data: the appointment's ids, times and states,
#: and who acted: ``by`` "client" | "contact", ``client_id``, ``contact_id``, ``late``).
EVENTS = {LinkAction.CONFIRM: "appointment.confirmed", LinkAction.CANCEL: "appointment.cancelled"}

#: What each refusal says, to the client (the page shows it as written).
SAYS: dict[Refusal, str] = {
    Refusal.USED: "This link was already used; nothing was changed.",
    Refusal.CANCELLED: "This appointment was cancelled; nothing was changed.",
    Refusal.CONFIRMED: "This appointment is already confirmed; nothing was changed.",
    Refusal.MOVED: "This link is for an earlier time of the appointment: it was moved. "
    "Please use your newest message.",
    Refusal.STARTED: "This appointment has already started; nothing was changed.",
    Refusal.CLOSED: "This appointment can no longer be confirmed or cancelled here.",
}


class ActionRefused(Conflict):
    """Confirming or cancelling is not possible now (409; ``details.reason``)."""

    code = "action_refused"


class LinkExpired(TlhError):
    """A one-tap link past its time: the visit started or was moved (410)."""

    code = "link_expired"
    status = 410


def refused(why: Refusal, *, by_link: bool = False) -> TlhError:
    """The error for ``why``: a link past its time is gone (410), the rest conflicts."""
    details = {"reason": why.value}
    if by_link and why in (Refusal.STARTED, Refusal.MOVED):
        return LinkExpired(SAYS[why], details)
    return ActionRefused(SAYS[why], details)


def person_actor(client_id: str, contact_id: str | None, source: str = "") -> Actor:
    """The client, or their contact, as the one acting (audit notes name them)."""
    if contact_id is not None:
        return Actor(kind="contact", id=contact_id, source=source)
    return Actor(kind="client", id=client_id, source=source)


async def acting_for(ctx: Context, actor: Actor, appt: Appointment) -> str:
    """The client of ``appt`` that ``actor`` acts for: themselves, or (a contact) the
    client whose contact they are. Anyone else's appointment is as unknown as a missing
    one (404)."""
    if actor.kind not in ("client", "contact"):
        raise Forbidden("only a client or their contact confirms or cancels this way")
    for client_id in appt.client_ids:
        if actor.kind == "client" and actor.id == client_id:
            return client_id
        client = await ctx.store.get(Client, client_id)
        contacts = client.contacts if client is not None else ()
        if actor.kind == "contact" and any(c.id == actor.id for c in contacts):
            return client_id
    raise NotFound("no such appointment")


async def confirm(
    ctx: Context, actor: Actor, appt_id: str, *, link: ActionLink | None = None
) -> Appointment:
    """Confirm the appointment (status confirmed: what the start gate needs)."""
    return await _act(ctx, actor, appt_id, LinkAction.CONFIRM, link)


async def client_cancel(
    ctx: Context, actor: Actor, appt_id: str, *, link: ActionLink | None = None
) -> Appointment:
    """Cancel the appointment: late-cancelled inside ``late_cancel_hours`` of its start;
    its join links revoked and their holders told (``cancellation``)."""
    return await _act(ctx, actor, appt_id, LinkAction.CANCEL, link)


async def _load(ctx: Context, appt_id: str) -> Appointment | None:
    found = await ctx.store.get(Appointment, appt_id)
    return found


async def _act(
    ctx: Context, actor: Actor, appt_id: str, action: LinkAction, link: ActionLink | None
) -> Appointment:
    """Do ``action`` (through ``link`` when given: it is marked used in the same commit)."""
    appt = await _load(ctx, appt_id)
    if appt is None:
        raise NotFound("no such appointment")
    client_id = await acting_for(ctx, actor, appt)
    held = [record_key(Appointment, appt_id)]
    if link is not None:
        held.append(record_key(ActionLink, link.id))
    # Checked on the records as stored now, holding them: of two taps at once (or a tap
    # and a staff change), the second is judged from where the first left them.
    async with ctx.store.locked(*held):
        now, stored = ctx.clock(), await _load(ctx, appt_id)
        current = await ctx.store.get(ActionLink, link.id) if link is not None else None
        if current is not None:
            why = refusal(current, stored, now)
        else:
            why = appointment_refusal(stored, action, now)
        if why is not None:
            raise refused(why, by_link=link is not None)
        assert stored is not None
        late = False
        if action is LinkAction.CONFIRM:
            new = Status.CONFIRMED
        else:
            late = stored.start - now < timedelta(hours=ctx.policy().late_cancel_hours)
            new = Status.LATE_CANCELLED if late else Status.CANCELLED
        transitions.check_transition(stored.status, new)
        updated = msgspec.structs.replace(stored, status=new, updated_at=now)
        ops: list[Op] = [Put(updated)]
        notes = [note(actor, f"appointment.status.{new.value}", appt_id)]
        if current is not None:
            ops.append(Put(msgspec.structs.replace(current, used_at=now)))
            notes.append(note(actor, "action_link.use", current.id))
        plan = (
            await followups.plan_followup(ctx, stored, updated)
            if action is LinkAction.CANCEL
            else Followup()
        )
        done = await followups.commit_with(ctx, actor, ops, notes, plan)
    followups.announce(ctx, done)
    data: dict[str, Any] = {
        **event_of(updated),
        "by": actor.kind,
        "client_id": client_id,
        "contact_id": actor.id if actor.kind == "contact" else None,
        "late": late,
    }
    ctx.events.publish(EVENTS[action], data, audiences.appointments(updated))
    return updated


# -- the one-tap links' page -------------------------------------------------------


async def _appointment(ctx: Context, link: ActionLink) -> Appointment | None:
    found = await ctx.store.get(Appointment, link.appointment_id)
    return found


def _actor(link: ActionLink, source: str) -> Actor:
    return person_actor(link.client_id, link.contact_id, source)


async def _clinician_name(ctx: Context, appt: Appointment) -> str:
    # Staff names are not patient data; the first listed clinician, as reminders say it.
    staff = await ctx.store.get(Staff, appt.clinician_ids[0]) if appt.clinician_ids else None
    return staff.name if staff is not None else ""


async def look(ctx: Context, link: ActionLink, source: str) -> ActionView:
    """What ``link`` does (or why it does nothing now): the page's first answer. Changes
    nothing; the read is audited as the link's holder's. A cancelled visit's time and
    clinician are not shown again."""
    appt = await _appointment(ctx, link)
    now, policy = ctx.clock(), ctx.policy()
    why = refusal(link, appt, now)
    await ctx.audit.append(_actor(link, source), "action_link.view", link.id)
    shown: dict[str, Any] = {}
    if appt is not None and appt.status not in CALLED_OFF:
        local = appt.start.astimezone(zone(policy.timezone))
        late = appt.start - now < timedelta(hours=policy.late_cancel_hours)
        shown = {
            "starts_at": appt.start,
            "date": format_date(local),
            "time": f"{format_time(local)} ({local.tzname()})",
            "clinician_name": await _clinician_name(ctx, appt),
            "late": link.action is LinkAction.CANCEL and late,
        }
    return ActionView(
        action=link.action,
        ready=why is None,
        reason=why.value if why is not None else None,
        message=SAYS[why] if why is not None else "",
        practice_name=policy.practice_name,
        contact_phone=policy.contact_phone,
        contact_email=policy.contact_email,
        timezone=policy.timezone,
        language=await client_language(ctx, link.client_id),
        **shown,
    )


async def use(ctx: Context, link: ActionLink, source: str) -> ActionDone:
    """Press the link's button: confirm or cancel, once (what cannot be done now raises,
    as ``confirm`` and ``client_cancel`` do)."""
    act = confirm if link.action is LinkAction.CONFIRM else client_cancel
    updated = await act(ctx, _actor(link, source), link.appointment_id, link=link)
    return ActionDone(
        action=link.action,
        status=updated.status,
        late=updated.status is Status.LATE_CANCELLED,
    )
