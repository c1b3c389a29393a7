"""Reschedule requests: asked for a client, listed, accepted or declined by staff."""

from aiohttp import web

from tlh.api.reschedule import NewRescheduleRequest
from tlh.server.http import ALL_STAFF, EDITORS, actor, ctx, decode, items, requires, respond
from tlh.services import reschedule

routes = web.RouteTableDef()


@routes.get("/api/v1/reschedule-requests")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    state = request.query.get("state", "pending")
    found = await reschedule.list_requests(
        ctx(request), actor(request), None if state == "all" else state
    )
    return items(found)


@routes.post("/api/v1/reschedule-requests")
@requires(*EDITORS)
async def ask(request: web.Request) -> web.Response:
    given = await decode(request, NewRescheduleRequest)
    made = await reschedule.request_reschedule(
        ctx(request), actor(request), given.appointment_id, given.start
    )
    return respond(made, 201)


@routes.post("/api/v1/reschedule-requests/{id}/accept")
@requires(*EDITORS)
async def accept(request: web.Request) -> web.Response:
    return respond(await reschedule.accept(ctx(request), actor(request), request.match_info["id"]))


@routes.post("/api/v1/reschedule-requests/{id}/decline")
@requires(*EDITORS)
async def decline(request: web.Request) -> web.Response:
    return respond(await reschedule.decline(ctx(request), actor(request), request.match_info["id"]))
