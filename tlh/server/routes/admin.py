from aiohttp import web

from tlh.api.envelope import Items
from tlh.api.media import SelfCallStart
from tlh.errors import InvalidInput
from tlh.server.http import ADMIN, actor, ctx, requires, respond
from tlh.server.keys import ICE, SETTINGS, STORE
from tlh.services import selfcall
from tlh.store import backup
from tlh.store.capabilities import DataDirStore

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/backup")
@requires(*ADMIN)
async def backup_(request: web.Request) -> web.Response:
    store = request.app[STORE]
    if not isinstance(store, DataDirStore):
        raise InvalidInput("this store is backed up with its database's own tools, not here")
    data = await backup.snapshot(store)
    await ctx(request).audit.append(actor(request), "backup.create", "practice")
    return web.Response(
        body=data,
        content_type="application/gzip",
        headers={"Content-Disposition": 'attachment; filename="tlh-backup.tar.gz"'},
    )


@routes.get("/api/v1/admin/doctor")
@requires(*ADMIN)
async def doctor(request: web.Request) -> web.Response:
    from tlh.server.settings import own_url
    from tlh.services.doctor import run_checks

    settings = request.app[SETTINGS]
    checks = await run_checks(
        actor(request),
        settings.messaging,
        request.app[ICE],
        settings.data_dir,
        own_url=own_url(settings),
        listen_host=settings.host,
        config_file=settings.config_file,
    )
    return respond(Items(items=checks))


@routes.post("/api/v1/admin/doctor/call")
@requires(*ADMIN)
async def self_call(request: web.Request) -> web.Response:
    """A self-test segment and a one-time guest link into it (``tlh doctor``'s call)."""
    made = await selfcall.start(ctx(request), actor(request))
    started = SelfCallStart(session_id=made.segment.id, link_id=made.link.id, url=made.url)
    return respond(started, 201)
