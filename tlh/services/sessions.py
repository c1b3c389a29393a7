"""Starting and ending telehealth sessions, and who joined them (for reports).

A clinician starts an appointment's session once ``explain`` finds nothing blocking it
(or a room session for guests and quick visits); ending it closes the open segment.
Starting again after an end opens a new segment. The waiting room records each
participant's join and leave through ``joined`` and ``left``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime

import msgspec
from msgspec.structs import replace

from tlh.domain.models import Appointment, Role, Staff
from tlh.domain.sessions import Participation, SessionSegment
from tlh.domain.timeutil import local_day_bounds, zone
from tlh.errors import Conflict, InvalidInput, NotFound
from tlh.services import audiences, auth, scope
from tlh.services.appointments import explain, own_appointment
from tlh.services.context import SYSTEM, Actor, Context, new_id
from tlh.services.staff import find_staff
from tlh.store.base import AuditNote, Put, note

#: Roles that may start and end sessions (a clinician their own; admins any).
STARTERS = (Role.CLINICIAN, Role.ADMIN)
READERS = (Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN)


class NotEligible(Conflict):
    """The session cannot start; ``details`` lists every blocking reason."""

    code = "not_eligible"


async def open_segment(
    ctx: Context, *, appointment_id: str | None = None, clinician_id: str | None = None
) -> SessionSegment | None:
    """The open (not ended) segment of an appointment, or of a clinician's room session
    (never a ``tlh doctor`` self-test: no real visit joins one)."""
    if appointment_id is not None:
        found = await _open(ctx, "appointment_id", appointment_id, self_test=False)
    elif clinician_id is not None:
        rooms = await _open(ctx, "open_clinician_id", clinician_id, self_test=False)
        found = [s for s in rooms if s.appointment_id is None]
    else:
        return None
    return max(found, key=lambda s: s.started_at) if found else None


async def open_segments_of(ctx: Context, clinician_id: str) -> list[SessionSegment]:
    """Every open segment a clinician leads (appointments and room sessions; not
    self-tests)."""
    return await _open(ctx, "open_clinician_id", clinician_id, self_test=False)


async def open_self_tests(ctx: Context, staff_id: str) -> list[SessionSegment]:
    """The staff member's open ``tlh doctor`` self-test segments."""
    return await _open(ctx, "open_clinician_id", staff_id, self_test=True)


async def _open(ctx: Context, field: str, value: str, *, self_test: bool) -> list[SessionSegment]:
    """Open segments whose indexed ``field`` is ``value``: self-tests or real ones. An
    open segment has not ended, so months on disk whose segments all ended are not
    looked into (``ending_after``): asked for every staff member at start-up, the
    question opened every month's key index of years of sessions."""
    return [
        s
        for s in await ctx.store.find(SessionSegment, field, value, ending_after=ctx.clock())
        if s.ended_at is None and s.self_test is self_test
    ]


async def get_segment(ctx: Context, session_id: str) -> SessionSegment:
    found = await ctx.store.get(SessionSegment, session_id)
    if found is None:
        raise NotFound(f"no session {session_id}")
    return found


async def find_segment(ctx: Context, session_id: str) -> SessionSegment | None:
    """The segment with that id, or ``None``."""
    found = await ctx.store.get(SessionSegment, session_id)
    return found


async def started_between(
    ctx: Context, start: datetime, end: datetime, clinician_id: str | None = None
) -> list[SessionSegment]:
    """Segments started in [start, end), of one clinician or of every staff member, by
    start: read by who leads them, leaving older history unread (``ending_after``)."""
    leaders = [clinician_id] if clinician_id else [s.id for s in await ctx.store.all(Staff)]
    found = [
        s
        for leader in leaders
        for s in await ctx.store.find(SessionSegment, "clinician_id", leader, ending_after=start)
        if start <= s.started_at < end
    ]
    return sorted(found, key=lambda s: (s.started_at, s.id))


async def list_segments(
    ctx: Context, actor: Actor, day: str | None = None, clinician: str | None = None
) -> list[SessionSegment]:
    """Segments started on a local day (default today), optionally of one clinician; a
    clinician sees their own (naming another is refused)."""
    auth.require_role(actor, *READERS)
    tz = zone(ctx.policy().timezone)
    try:
        local = date.fromisoformat(day) if day else ctx.clock().astimezone(tz).date()
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD") from None
    first, last = local_day_bounds(local, tz)
    clinician_id = None
    if clinician:
        clinician_id = (await find_staff(ctx, clinician)).id
        scope.check_room(actor, clinician_id)
    segments = await started_between(ctx, first, last, clinician_id)
    return await scope.visible_segments(ctx, actor, segments)


async def may_join(ctx: Context, actor: Actor, segment: SessionSegment) -> bool:
    """A staff call joins an open segment the caller leads or is listed on, or (admins)
    any."""
    if segment.ended_at is not None:
        return False
    if Role.ADMIN in actor.roles:
        return True
    return actor.is_clinician and await scope.owns_segment(ctx, actor, segment)


async def staff_joined(
    ctx: Context, actor: Actor, segment: SessionSegment, who: Participation
) -> SessionSegment:
    """Record a staff member's join (``joined``); an admin joining a session that is not
    theirs (a clinician's visit) is audited ``session.join.other``."""
    updated = await joined(ctx, segment.id, who)
    if not await scope.leads_or_listed(ctx, actor.id, segment):
        await ctx.audit.append(actor, "session.join.other", segment.id)
    return updated


async def start(
    ctx: Context, actor: Actor, appointment_id: str | None, *, clinician_id: str | None = None
) -> SessionSegment:
    """Open a segment for an appointment (eligibility checked) or a clinician's room.

    Starting a session that is already open returns the open segment unchanged.
    """
    auth.require_role(actor, *STARTERS)
    if appointment_id is not None:
        # Another clinician's appointment is as unknown as a missing one (before
        # eligibility, whose reasons would tell about its clients).
        appt = await own_appointment(ctx, actor, appointment_id)
        lead = _appointment_lead(actor, appt, clinician_id)
        verdict = await explain(ctx, actor, appointment_id, clinician=lead)
        if verdict.blockers:
            reasons = [msgspec.to_builtins(b) for b in verdict.blockers]
            raise NotEligible(
                "the session cannot start: " + "; ".join(b.message for b in verdict.blockers),
                details=reasons,
            )
        key = f"session-of-appointment:{appointment_id}"
    else:
        if clinician_id is not None:
            scope.check_room(actor, clinician_id)
        if actor.role is Role.CLINICIAN:
            lead = actor.id
        else:  # an admin (who may be a clinician too) names a room, else leads their own
            lead = clinician_id or (actor.id if actor.is_clinician else "")
        if not lead:
            raise NotFound("name the clinician whose room session to start")
        key = f"session-of-room:{lead}"
    # Looked up and opened holding the key: two starts at once open one segment.
    async with ctx.store.locked(key):
        if appointment_id is not None:
            existing = await open_segment(ctx, appointment_id=appointment_id)
        else:
            existing = await open_segment(ctx, clinician_id=lead)
        if existing is not None:
            return existing
        now = ctx.clock()
        segment = SessionSegment(
            id=new_id("ses"),
            appointment_id=appointment_id,
            clinician_id=lead,
            started_at=now,
            started_by=actor.id,
        )
        await ctx.store.commit([Put(segment)], audit=[note(actor, "session.start", segment.id)])
    ctx.events.publish("session.started", _event(segment), await audiences.session(ctx, segment))
    return segment


def _appointment_lead(actor: Actor, appt: Appointment, room: str | None) -> str:
    """Who leads an appointment's segment: the calling clinician when listed on it; else
    the clinician whose room the visit is let in from (the receiving clinician of a
    transfer); else the first listed."""
    if actor.is_clinician and actor.id in appt.clinician_ids:
        return actor.id
    if room is not None and room in appt.clinician_ids:
        return room
    return appt.clinician_ids[0]


async def _update(
    ctx: Context,
    session_id: str,
    change: Callable[[SessionSegment], SessionSegment],
    audit: AuditNote,
) -> SessionSegment:
    """Change one segment with no other change of it in between (joins, leaves, the end
    and the relay flag come from different sockets at once: none may undo another);
    ``audit`` is recorded when it changes."""

    def apply(found: SessionSegment | None) -> SessionSegment:
        if found is None:
            raise NotFound(f"no session {session_id}")
        return change(found)

    updated = await ctx.store.update(SessionSegment, session_id, apply, audit=[audit])
    assert updated is not None
    return updated


async def end(ctx: Context, actor: Actor, session_id: str) -> SessionSegment:
    """Close a segment: everyone still in it is marked as left now."""
    auth.require_role(actor, *STARTERS)
    segment = await get_segment(ctx, session_id)
    await scope.check_segment(ctx, actor, segment)
    return await close(ctx, actor, session_id)


async def close(ctx: Context, actor: Actor, session_id: str) -> SessionSegment:
    """``end`` without its role and scope checks, for the server's own reasons (a
    transfer that leaves the segment nobody to see, an empty room session past its
    grace): everyone still in it is marked as left; audited ``session.end``."""
    now = ctx.clock()
    ended_here = False

    def close(found: SessionSegment) -> SessionSegment:
        nonlocal ended_here
        if found.ended_at is not None:
            return found
        ended_here = True
        rows = (p if p.left_at is not None else replace(p, left_at=now) for p in found.participants)
        return replace(found, ended_at=now, ended_by=actor.id, participants=tuple(rows))

    closed = await _update(ctx, session_id, close, note(actor, "session.end", session_id))
    if ended_here:
        ctx.events.publish("session.ended", _event(closed), await audiences.session(ctx, closed))
    return closed


async def joined(ctx: Context, session_id: str, who: Participation) -> SessionSegment:
    """Record that ``who`` joined the segment (a rejoin after leaving adds a new row)."""

    def join(found: SessionSegment) -> SessionSegment:
        if any(p.peer_id == who.peer_id and p.left_at is None for p in found.participants):
            return found
        return replace(found, participants=(*found.participants, who))

    return await _update(ctx, session_id, join, note(_participant(who), "session.join", session_id))


def _participant(who: Participation) -> Actor:
    """Who joined, as the audit log names them: the staff member, or the room entry of a
    client, contact or guest (their link's visit)."""
    if who.kind == "staff" and who.staff_id:
        return Actor(kind="staff", id=who.staff_id)
    return Actor(kind="client_link", id=who.peer_id)


async def left(ctx: Context, session_id: str, peer_id: str, at: datetime) -> SessionSegment:
    """Record that the peer left the segment at ``at`` (no-op if not in it)."""

    def leave(found: SessionSegment) -> SessionSegment:
        if not any(p.peer_id == peer_id and p.left_at is None for p in found.participants):
            return found
        rows = (
            replace(p, left_at=at) if p.peer_id == peer_id and p.left_at is None else p
            for p in found.participants
        )
        return replace(found, participants=tuple(rows))

    return await _update(ctx, session_id, leave, note(SYSTEM, "session.leave", session_id, peer_id))


async def mark_relayed(ctx: Context, session_id: str) -> None:
    """Record that the segment's media went through the server's relay (once; nothing
    when the segment is gone meanwhile)."""
    with contextlib.suppress(NotFound):
        await _update(
            ctx,
            session_id,
            lambda s: s if s.relayed else replace(s, relayed=True),
            note(SYSTEM, "session.relayed", session_id),
        )


def _event(segment: SessionSegment) -> dict[str, object]:
    return {
        "session_id": segment.id,
        "appointment_id": segment.appointment_id,
        "clinician_id": segment.clinician_id,
    }
