from aiohttp import web

from tlh.server.http import ADMIN, actor, ctx, requires
from tlh.server.keys import STORE
from tlh.store import backup

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/backup")
@requires(*ADMIN)
async def backup_(request: web.Request) -> web.Response:
    data = await backup.snapshot(request.app[STORE])
    await ctx(request).audit.append(actor(request), "backup.create", "practice")
    return web.Response(
        body=data,
        content_type="application/gzip",
        headers={"Content-Disposition": 'attachment; filename="tlh-backup.tar.gz"'},
    )
