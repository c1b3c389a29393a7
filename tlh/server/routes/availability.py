from aiohttp import web

from tlh.api.availability import NewBlock
from tlh.server.http import ALL_STAFF, EDITORS, actor, ctx, decode, items, requires, respond
from tlh.services import availability

routes = web.RouteTableDef()


@routes.get("/api/v1/availability")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    return items(await availability.list_blocks(ctx(request), request.query.get("clinician")))


@routes.post("/api/v1/availability")
@requires(*EDITORS)
async def add(request: web.Request) -> web.Response:
    new = await decode(request, NewBlock)
    return respond(await availability.add_block(ctx(request), actor(request), new), 201)


@routes.delete("/api/v1/availability/{id}")
@requires(*EDITORS)
async def remove(request: web.Request) -> web.Response:
    await availability.remove_block(ctx(request), actor(request), request.match_info["id"])
    return web.Response(status=204)
