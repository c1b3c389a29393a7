from datetime import datetime

import msgspec
from aiohttp import web

from tlh.api.audit import AuditVerify
from tlh.domain.timeutil import check_year
from tlh.errors import InvalidInput
from tlh.server.http import ADMIN, actor, ctx, items, requires, respond
from tlh.server.keys import AUDIT, STORE

routes = web.RouteTableDef()


@routes.get("/api/v1/audit")
@requires(*ADMIN)
async def list_(request: web.Request) -> web.Response:
    since = None
    if "since" in request.query:
        try:
            since = datetime.fromisoformat(request.query["since"])
        except ValueError:
            raise InvalidInput("since must be an ISO 8601 date-time") from None
        if since.tzinfo is None:
            raise InvalidInput("since needs a UTC offset, e.g. 2026-11-01T00:00Z")
        check_year(since.date(), "since")  # year 9999 with an offset overflows in UTC
    try:
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        raise InvalidInput("limit must be a whole number") from None
    entries = await request.app[AUDIT].read(since, limit)
    await ctx(request).audit.append(actor(request), "audit.read", "audit")
    return items(entries)


@routes.get("/api/v1/audit/export")
@requires(*ADMIN)
async def export(request: web.Request) -> web.StreamResponse:
    await ctx(request).audit.append(actor(request), "audit.export", "audit")
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    async for chunk in request.app[AUDIT].export():
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.get("/api/v1/audit/verify")
@requires(*ADMIN)
async def verify(request: web.Request) -> web.Response:
    result = await request.app[STORE].verify_audit()
    return respond(msgspec.convert(result, AuditVerify, from_attributes=True))
