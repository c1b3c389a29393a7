"""Self-scheduling on the portal (issue 13 item 5): whom a client may book, open slots,
booking one, and asking to move a visit; every one scoped by the person signed in
(another's client: 404, as none), every POST with this server's Origin."""

from __future__ import annotations

from aiohttp import web

from tlh.api.portal_booking import PortalBook, PortalMove
from tlh.server.http import ctx, decode, items, max_body, public, respond
from tlh.server.origin import check_origin
from tlh.server.routes.portal import portal_principal
from tlh.services import portal_booking, portal_visits

routes = web.RouteTableDef()

_BODY = 1024


@routes.get("/api/v1/portal/booking")
@public
async def options(request: web.Request) -> web.Response:
    """Whether clients may book, and whom each of theirs may book."""
    principal = await portal_principal(request)
    return respond(await portal_booking.options(ctx(request), principal))


@routes.get("/api/v1/portal/slots")
@public
async def slots(request: web.Request) -> web.Response:
    """Open slots of one of a client's clinicians on the days asked for."""
    principal = await portal_principal(request)
    query = request.query
    found = await portal_booking.open_slots(
        ctx(request),
        principal,
        client_id=query.get("client", ""),
        clinician_id=query.get("clinician", ""),
        from_=query.get("from"),
        to=query.get("to"),
        modality=query.get("modality"),
    )
    return items(found)


@routes.post("/api/v1/portal/bookings")
@public
@max_body(_BODY)
async def book(request: web.Request) -> web.Response:
    """Book an open slot: 201 the new appointment as the portal lists it."""
    check_origin(request)
    principal = await portal_principal(request)
    given = await decode(request, PortalBook)
    appt = await portal_booking.book(ctx(request), principal, given)
    return respond(await portal_visits.view(ctx(request), principal, appt), 201)


@routes.post("/api/v1/portal/appointments/{id}/reschedule")
@public
@max_body(_BODY)
async def reschedule(request: web.Request) -> web.Response:
    """Ask staff to move an appointment to an open slot: 201 the pending request."""
    check_origin(request)
    principal = await portal_principal(request)
    given = await decode(request, PortalMove)
    asked = await portal_booking.request_move(
        ctx(request), principal, request.match_info["id"], given.start
    )
    return respond(asked, 201)
