"""Staff routes for the outbox: what was queued, sent or failed (bodies are PHI: audited)."""

from __future__ import annotations

from aiohttp import web

from tlh.server.http import EDITORS, actor, ctx, items, requires, respond
from tlh.services import outbox_reads

routes = web.RouteTableDef()


@routes.get("/api/v1/outbox")
@requires(*EDITORS)
async def list_(request: web.Request) -> web.Response:
    status, since = request.query.get("status"), request.query.get("since")
    return items(await outbox_reads.list_messages(ctx(request), actor(request), status, since))


@routes.get("/api/v1/outbox/{id}")
@requires(*EDITORS)
async def show(request: web.Request) -> web.Response:
    message_id = request.match_info["id"]
    return respond(await outbox_reads.get_message(ctx(request), actor(request), message_id))
