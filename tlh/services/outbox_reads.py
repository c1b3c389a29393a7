"""Reading the outbox: what was queued, sent or failed. Bodies are PHI: reads are audited."""

from __future__ import annotations

from tlh.domain.messages import Message, MessageStatus
from tlh.domain.models import Role
from tlh.errors import InvalidInput, NotFound
from tlh.services import auth
from tlh.services.context import Actor, Context

READERS = (Role.ADMIN, Role.SCHEDULER)


async def list_messages(ctx: Context, actor: Actor, status: str | None = None) -> list[Message]:
    """Every message (or those in ``status``), oldest first; each one's read is audited."""
    auth.require_role(actor, *READERS)
    if status:
        try:
            wanted = MessageStatus(status)
        except ValueError:
            raise InvalidInput("status must be queued, sending, sent, failed or skipped") from None
        found = await ctx.store.find(Message, "status", wanted)
    else:
        found = await ctx.store.all(Message)
    messages = sorted(found, key=lambda m: (m.created_at, m.id))
    await ctx.audit.append_many(actor, "message.read", [m.id for m in messages])
    return messages


async def get_message(ctx: Context, actor: Actor, message_id: str) -> Message:
    """One message (audited)."""
    auth.require_role(actor, *READERS)
    message = await ctx.store.get(Message, message_id)
    if message is None:
        raise NotFound("no message with that id")
    await ctx.audit.append(actor, "message.read", message.id)
    return message
