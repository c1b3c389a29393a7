"""Staff routes for the outbox: what was queued, sent or failed (bodies are PHI: audited)."""

from __future__ import annotations

from aiohttp import web

from tlh.domain.messages import Message, MessageStatus
from tlh.errors import InvalidInput, NotFound
from tlh.server.http import EDITORS, actor, ctx, items, requires, respond

routes = web.RouteTableDef()


@routes.get("/api/v1/outbox")
@requires(*EDITORS)
async def list_(request: web.Request) -> web.Response:
    c = ctx(request)
    wanted = request.query.get("status")
    if wanted:
        try:
            status = MessageStatus(wanted)
        except ValueError:
            raise InvalidInput("status must be queued, sending, sent or failed") from None
        found = c.store.find("messages", "status", status)
    else:
        found = list(c.store.all("messages"))
    messages = sorted(
        (m for m in found if isinstance(m, Message)), key=lambda m: (m.created_at, m.id)
    )
    await c.audit.append_many(actor(request), "message.read", [m.id for m in messages])
    return items(messages)


@routes.get("/api/v1/outbox/{id}")
@requires(*EDITORS)
async def show(request: web.Request) -> web.Response:
    c = ctx(request)
    message = c.store.get("messages", request.match_info["id"])
    if not isinstance(message, Message):
        raise NotFound("no message with that id")
    await c.audit.append(actor(request), "message.read", message.id)
    return respond(message)
