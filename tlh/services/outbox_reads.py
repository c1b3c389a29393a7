"""Reading the outbox: what was queued, sent or failed. Bodies are PHI: reads are audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tlh.domain.messages import Message, MessageStatus
from tlh.domain.models import Role
from tlh.domain.timeutil import check_year, local_day_bounds, zone
from tlh.errors import InvalidInput, NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context

READERS = (Role.ADMIN, Role.SCHEDULER)


#: How far back the outbox is listed unless asked for more (``since``).
RECENT = timedelta(days=30)


async def list_messages(
    ctx: Context, actor: Actor, status: str | None = None, since: str | None = None
) -> list[Message]:
    """The messages made since the local day ``since`` (``YYYY-MM-DD``; default: the last
    30 days) and every one still queued or sending, optionally of one ``status``, oldest
    first; each one's read is audited. Years of messages are never read at once."""
    auth.require_role(actor, *READERS)
    if status:
        try:
            wanted = [MessageStatus(status)]
        except ValueError:
            raise InvalidInput("status must be queued, sending, sent, failed or skipped") from None
    else:
        wanted = list(MessageStatus)
    start = _start(ctx, since)
    # One read for every status: a message the outbox moves on meanwhile (queued to
    # sending, sending to sent) is listed once, as it is, not twice or not at all.
    by_status = await ctx.store.find_many(Message, "status", wanted, ending_after=start)
    found = [
        m
        for listed in by_status.values()
        for m in listed
        if m.created_at >= start or m.status in UNDONE
    ]
    messages = sorted(found, key=lambda m: (m.created_at, m.id))
    await ctx.audit.append_many(actor, "message.read", [m.id for m in messages])
    return messages


#: Messages listed whatever their age: not sent yet.
UNDONE = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})


def _start(ctx: Context, since: str | None) -> datetime:
    """The first instant of the local day ``since``, or ``RECENT`` before now."""
    if not since:
        return ctx.clock() - RECENT
    try:
        day = check_year(date.fromisoformat(since.strip()), "since")
    except ValueError:
        raise InvalidInput(f"since is not a date (YYYY-MM-DD): {since[:20]!r}") from None
    return local_day_bounds(day, zone(ctx.policy().timezone))[0]


async def get_message(ctx: Context, actor: Actor, message_id: str) -> Message:
    """One message (audited)."""
    auth.require_role(actor, *READERS)
    message = await ctx.store.get(Message, message_id)
    if message is None:
        raise NotFound("no message with that id")
    await ctx.audit.append(actor, "message.read", message.id)
    return message
