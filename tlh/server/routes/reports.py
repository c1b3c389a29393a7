"""Session and attendance reports (issue 4): JSON by default, CSV with ``format=csv``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec
from aiohttp import web

from tlh.server.http import ALL_STAFF, FILE_TYPES, actor, ctx, requires
from tlh.services import reports

routes = web.RouteTableDef()

#: A report's rows for (context, actor, from, to, clinician), as the service reads them.
Report = Callable[..., Awaitable[Sequence[msgspec.Struct]]]


async def _report(request: web.Request, read: Report, fields: list[str], name: str) -> web.Response:
    """Rows of local days ``from``..``to`` (inclusive), as JSON or a CSV file."""
    q = request.query
    fmt = reports.parse_format(q.get("format"))
    rows = await read(
        ctx(request),
        actor(request),
        from_=q.get("from"),
        to=q.get("to"),
        clinician=q.get("clinician"),
    )
    headers = {"Cache-Control": "no-store"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    data = reports.render(rows, fields, fmt)
    return web.Response(body=data, content_type=FILE_TYPES[fmt], headers=headers)


@routes.get("/api/v1/reports/sessions")
@requires(*ALL_STAFF)
async def sessions(request: web.Request) -> web.Response:
    """Session segments started on local days ``from``..``to`` (inclusive)."""
    return await _report(request, reports.sessions_report, reports.SESSION_FIELDS, "sessions")


@routes.get("/api/v1/reports/attendance")
@requires(*ALL_STAFF)
async def attendance(request: web.Request) -> web.Response:
    """Attendance outcomes of appointments scheduled on local days ``from``..``to``."""
    read = reports.attendance_report
    return await _report(request, read, reports.ATTENDANCE_FIELDS, "attendance")
