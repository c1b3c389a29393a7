from typing import Literal

from aiohttp import web

from tlh.api.appointments import AppointmentChanges, NewAppointment, StatusChange
from tlh.errors import BadRequest
from tlh.server.http import (
    ALL_STAFF,
    EDITORS,
    actor,
    attachment,
    ctx,
    decode,
    file_format,
    items,
    max_body,
    read_body,
    requires,
    respond,
)
from tlh.services import appointment_export, appointments, booking, importing

routes = web.RouteTableDef()

_EXPORT_FORMATS: dict[str, Literal["csv", "json", "ics"]] = {
    "csv": "csv",
    "json": "json",
    "ics": "ics",
}


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    """A yes/no query parameter (``1``/``true``/``yes``/``on`` or the opposites)."""
    value = request.query.get(name, "").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value:
        raise BadRequest(f"{name} takes 1 or 0")
    return default


@routes.get("/api/v1/appointments")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    q = request.query
    found = await appointments.list_appointments(
        ctx(request),
        actor(request),
        day=q.get("date"),
        from_=q.get("from"),
        to=q.get("to"),
        clinician=q.get("clinician"),
    )
    return items(found)


@routes.post("/api/v1/appointments")
@requires(*EDITORS)
async def add(request: web.Request) -> web.Response:
    new = await decode(request, NewAppointment)
    booked = await booking.book(
        ctx(request),
        actor(request),
        new,
        notify=_flag(request, "notify", default=True),
        strict_availability=_flag(request, "strict_availability"),
    )
    return respond(booked, 201)


@routes.post("/api/v1/appointments/import")
@requires(*EDITORS)
@max_body(None)  # a file: up to the server's max_body_bytes
async def import_(request: web.Request) -> web.Response:
    kind = request.content_type
    fmt: Literal["csv", "json"]
    if kind in ("text/csv", "application/csv", "text/plain"):
        fmt = "csv"
    elif kind == "application/json":
        fmt = "json"
    else:
        raise BadRequest("send the file as text/csv or application/json")
    report = await importing.import_appointments(
        ctx(request),
        actor(request),
        await read_body(request),
        fmt,
        dry_run=_flag(request, "dry_run"),
        partial=_flag(request, "partial"),
        notify=_flag(request, "notify", default=True),
        strict_availability=_flag(request, "strict_availability"),
    )
    return respond(report)


@routes.get("/api/v1/appointments/export")
@requires(*EDITORS)
async def export(request: web.Request) -> web.Response:
    fmt = file_format(request, _EXPORT_FORMATS)
    q = request.query
    data = await appointment_export.export(
        ctx(request), actor(request), fmt, q.get("from"), q.get("to")
    )
    return attachment(data, "appointments", fmt)


@routes.get("/api/v1/appointments/{id}")
@requires(*ALL_STAFF)
async def show(request: web.Request) -> web.Response:
    return respond(
        await appointments.get_appointment(ctx(request), actor(request), request.match_info["id"])
    )


@routes.patch("/api/v1/appointments/{id}")
@requires(*EDITORS)
async def update(request: web.Request) -> web.Response:
    changes = await decode(request, AppointmentChanges)
    return respond(
        await appointments.update_appointment(
            ctx(request),
            actor(request),
            request.match_info["id"],
            changes,
            notify=_flag(request, "notify", default=True),
        )
    )


@routes.post("/api/v1/appointments/{id}/status")
@requires(*ALL_STAFF)
async def status(request: web.Request) -> web.Response:
    new = (await decode(request, StatusChange)).status
    return respond(
        await appointments.set_status(ctx(request), actor(request), request.match_info["id"], new)
    )


@routes.post("/api/v1/appointments/{id}/cancel")
@requires(*EDITORS)
async def cancel(request: web.Request) -> web.Response:
    return respond(
        await appointments.cancel_appointment(
            ctx(request), actor(request), request.match_info["id"]
        )
    )


@routes.get("/api/v1/appointments/{id}/eligibility")
@requires(*ALL_STAFF)
async def eligibility(request: web.Request) -> web.Response:
    result = await appointments.explain(
        ctx(request),
        actor(request),
        request.match_info["id"],
        at=request.query.get("at"),
        clinician=request.query.get("clinician"),
    )
    return respond(result)
