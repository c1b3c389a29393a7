"""Session and attendance reports (issue 4): JSON by default, CSV with ``format=csv``."""

from __future__ import annotations

from aiohttp import web

from tlh.server.http import ALL_STAFF, actor, ctx, requires
from tlh.services import reports

routes = web.RouteTableDef()

_TYPES = {"csv": "text/csv", "json": "application/json"}


def _answer(data: bytes, fmt: reports.Format, name: str) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return web.Response(body=data, content_type=_TYPES[fmt], headers=headers)


@routes.get("/api/v1/reports/sessions")
@requires(*ALL_STAFF)
async def sessions(request: web.Request) -> web.Response:
    """Session segments started on local days ``from``..``to`` (inclusive)."""
    q = request.query
    fmt = reports.parse_format(q.get("format"))
    rows = await reports.sessions_report(
        ctx(request),
        actor(request),
        from_=q.get("from"),
        to=q.get("to"),
        clinician=q.get("clinician"),
    )
    return _answer(reports.render(rows, reports.SESSION_FIELDS, fmt), fmt, "sessions")


@routes.get("/api/v1/reports/attendance")
@requires(*ALL_STAFF)
async def attendance(request: web.Request) -> web.Response:
    """Attendance outcomes of appointments scheduled on local days ``from``..``to``."""
    q = request.query
    fmt = reports.parse_format(q.get("format"))
    rows = await reports.attendance_report(
        ctx(request),
        actor(request),
        from_=q.get("from"),
        to=q.get("to"),
        clinician=q.get("clinician"),
    )
    return _answer(reports.render(rows, reports.ATTENDANCE_FIELDS, fmt), fmt, "attendance")
