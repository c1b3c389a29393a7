from aiohttp import web

from tlh import __version__
from tlh.api.practice import Health, PolicyChanges
from tlh.api.staff import NameChange
from tlh.errors import BadRequest
from tlh.server.http import ADMIN, ALL_STAFF, actor, ctx, decode, public, requires, respond
from tlh.services import practice
from tlh.services.staff import find_staff, update_own_name

routes = web.RouteTableDef()


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    return respond(Health(ok=True, version=__version__))


@routes.get("/api/v1/me")
@requires(*ALL_STAFF)
async def me(request: web.Request) -> web.Response:
    return respond(await find_staff(ctx(request), actor(request).id))


@routes.patch("/api/v1/me")
@requires(*ALL_STAFF)
async def update_me(request: web.Request) -> web.Response:
    change = await decode(request, NameChange, invalid=BadRequest)  # documented: 400
    return respond(await update_own_name(ctx(request), actor(request), change))


@routes.get("/api/v1/practice")
@requires(*ALL_STAFF)
async def show(request: web.Request) -> web.Response:
    return respond(ctx(request).policy())


@routes.patch("/api/v1/practice")
@requires(*ADMIN)
async def update(request: web.Request) -> web.Response:
    changes = await decode(request, PolicyChanges)
    return respond(await practice.update_policy(ctx(request), actor(request), changes))
