"""The client's location at the start of a session (policy ``ask_location``).

A link's holder gives where they are and a phone number to reach them (``give``): kept
as the last location that person gave (table ``locations``, read back to fill the form
next time), audited with the appointment it was given for. The waiting room's hello is
refused until it is given for the visit (``required``); the entry then carries it, and
the session segment once the person is let in.

The place and phone are patient data: every error here says what kind of problem it
is, never the value; audit notes hold ids only.
"""

from __future__ import annotations

from tlh.domain import locations as rules
from tlh.domain.links import JoinLink
from tlh.domain.locations import ClientLocation, LastLocation
from tlh.errors import Forbidden, InvalidInput
from tlh.services.context import Actor, Context
from tlh.services.validation import normalise_phone
from tlh.store.base import note

TABLE = LastLocation


async def _last(ctx: Context, person_id: str | None) -> LastLocation | None:
    found = await ctx.store.get(TABLE, person_id) if person_id else None
    return found


async def required(ctx: Context, link: JoinLink) -> bool:
    """Whether the link's holder must still say where they are before they may wait."""
    return rules.asks(ctx.policy(), link) and await for_link(ctx, link) is None


async def for_link(ctx: Context, link: JoinLink) -> ClientLocation | None:
    """The location given for this link's visit, if any."""
    return rules.given_for(await _last(ctx, rules.person_of(link)), link)


async def last_given(ctx: Context, actor: Actor, link: JoinLink) -> ClientLocation | None:
    """The last location the link's holder gave (for any visit), to fill the form;
    the read is audited (``location.read``) when there is one."""
    person = rules.person_of(link)
    last = await _last(ctx, person)
    if last is None or person is None:
        return None
    await ctx.audit.append(actor, "location.read", person)
    return last.location


async def give(
    ctx: Context, actor: Actor, link: JoinLink, place: str, phone: str
) -> ClientLocation:
    """Record where the link's holder is now, for this visit (``InvalidInput`` for a
    place or phone that will not do, never echoing them; ``Forbidden`` when the
    practice does not ask this link)."""
    person = rules.person_of(link)
    if not rules.asks(ctx.policy(), link) or person is None:
        raise Forbidden("this link is not asked for a location")
    if len(phone) > rules.MAX_PHONE:
        raise InvalidInput("invalid phone number")
    # National numbers are read as client phones are everywhere else (US).
    location = ClientLocation(
        place=rules.clean_place(place), phone=normalise_phone(phone), at=ctx.clock()
    )
    record = LastLocation(
        id=person, location=location, link_id=link.id, appointment_id=link.appointment_id
    )
    # Who gave it (the link, as the actor), whose it is, and for which appointment.
    ids = [person, *([link.appointment_id] if link.appointment_id else [])]
    audit = [note(actor, "location.give", *ids)]
    await ctx.store.update(TABLE, person, lambda _: record, audit=audit)
    return location
