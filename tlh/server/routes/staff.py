from aiohttp import web

from tlh.api.staff import NewStaff, NewToken, StaffChanges
from tlh.server.http import ADMIN, ALL_STAFF, actor, ctx, decode, items, requires, respond
from tlh.server.keys import STAFF_SOCKETS, STAFF_WEB
from tlh.services import staff
from tlh.services.staff_web import end_signed_out

routes = web.RouteTableDef()


async def _end_signed_out(request: web.Request) -> None:
    """End the page sessions and close the websockets whose sign-in this change ended
    (before answering): a revoked token's, a disabled member's, an old role's."""
    await end_signed_out(ctx(request), request.app[STAFF_WEB])
    await request.app[STAFF_SOCKETS].close_signed_out(ctx(request), request.app[STAFF_WEB])


@routes.get("/api/v1/staff")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    return items(await staff.list_staff(ctx(request)))


@routes.post("/api/v1/staff")
@requires(*ADMIN)
async def add(request: web.Request) -> web.Response:
    new = await decode(request, NewStaff)
    member, token = await staff.add_staff(ctx(request), actor(request), new)
    return respond(NewToken(staff=member, token=token), 201)


@routes.get("/api/v1/staff/{ref}")
@requires(*ALL_STAFF)
async def show(request: web.Request) -> web.Response:
    return respond(await staff.find_staff(ctx(request), request.match_info["ref"]))


@routes.patch("/api/v1/staff/{ref}")
@requires(*ADMIN)
async def update(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    changes = await decode(request, StaffChanges)
    updated = await staff.update_staff(ctx(request), actor(request), ref, changes)
    await _end_signed_out(request)  # a new role ends page sessions and may not take routes
    return respond(updated)


@routes.post("/api/v1/staff/{ref}/token")
@requires(*ADMIN)
async def token(request: web.Request) -> web.Response:
    member, new = await staff.new_token_for(ctx(request), actor(request), request.match_info["ref"])
    await _end_signed_out(request)  # the old token's pages and sockets
    return respond(NewToken(staff=member, token=new))


@routes.post("/api/v1/staff/{ref}/disable")
@requires(*ADMIN)
async def disable(request: web.Request) -> web.Response:
    disabled = await staff.disable_staff(ctx(request), actor(request), request.match_info["ref"])
    await _end_signed_out(request)
    return respond(disabled)
