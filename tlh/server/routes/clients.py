from aiohttp import web

from tlh.api.clients import ClientChanges, ClientLookup, ClientSearch, NewClient, NewContact
from tlh.server.http import ALL_STAFF, EDITORS, actor, ctx, decode, items, requires, respond
from tlh.server.keys import ROOMS
from tlh.services import clients

routes = web.RouteTableDef()


@routes.get("/api/v1/clients")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    rooms = request.app[ROOMS].state
    return items(await clients.list_clients(ctx(request), actor(request), rooms=rooms))


@routes.post("/api/v1/clients/search")
@requires(*ALL_STAFF)
async def search(request: web.Request) -> web.Response:
    query = (await decode(request, ClientSearch)).q
    rooms = request.app[ROOMS].state
    return items(await clients.list_clients(ctx(request), actor(request), query, rooms))


@routes.post("/api/v1/clients/lookup")
@requires(*ALL_STAFF)
async def lookup(request: web.Request) -> web.Response:
    wanted = (await decode(request, ClientLookup)).ids
    found = await clients.lookup_clients(
        ctx(request), actor(request), wanted, request.app[ROOMS].state
    )
    return items(found)


@routes.post("/api/v1/clients")
@requires(*EDITORS)
async def add(request: web.Request) -> web.Response:
    new = await decode(request, NewClient)
    return respond(await clients.add_client(ctx(request), actor(request), new), 201)


@routes.get("/api/v1/clients/{id}")
@requires(*ALL_STAFF)
async def show(request: web.Request) -> web.Response:
    client_id = request.match_info["id"]
    rooms = request.app[ROOMS].state
    return respond(await clients.get_client(ctx(request), actor(request), client_id, rooms))


@routes.patch("/api/v1/clients/{id}")
@requires(*EDITORS)
async def update(request: web.Request) -> web.Response:
    changes = await decode(request, ClientChanges)
    return respond(
        await clients.update_client(ctx(request), actor(request), request.match_info["id"], changes)
    )


@routes.post("/api/v1/clients/{id}/contacts")
@requires(*ALL_STAFF)
async def add_contact(request: web.Request) -> web.Response:
    new = await decode(request, NewContact)
    client = await clients.add_contact(ctx(request), actor(request), request.match_info["id"], new)
    return respond(client, 201)
