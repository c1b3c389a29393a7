"""The portal's Confirm and Cancel buttons (issue 13 item 4): the same services as the
reminder's one-tap links, scoped by the person signed in to the portal.

Both are POSTs with the portal cookie and this server's Origin; the appointment id is
not client data (it names no one). Someone else's client's appointment is 404, as one
that does not exist; what cannot be done now is 409 with ``details.reason``.
"""

from __future__ import annotations

from aiohttp import web

from tlh.domain.models import Appointment
from tlh.server.http import ctx, max_body, public, respond
from tlh.server.origin import check_origin
from tlh.server.routes.portal import portal_principal
from tlh.services import portal_actions, portal_visits
from tlh.services.portal_people import Principal

routes = web.RouteTableDef()

#: These calls carry no body.
_BODY = 256


async def _answer(request: web.Request, principal: Principal, appt: Appointment) -> web.Response:
    return respond(await portal_visits.view(ctx(request), principal, appt))


@routes.post("/api/v1/portal/appointments/{id}/confirm")
@public
@max_body(_BODY)
async def confirm(request: web.Request) -> web.Response:
    """Confirm an appointment of a client they act for: 200 ``PortalAppointment``."""
    check_origin(request)
    principal = await portal_principal(request)
    appt = await portal_actions.confirm(ctx(request), principal, request.match_info["id"])
    return await _answer(request, principal, appt)


@routes.post("/api/v1/portal/appointments/{id}/cancel")
@public
@max_body(_BODY)
async def cancel(request: web.Request) -> web.Response:
    """Cancel an appointment of a client they act for (late inside ``late_cancel_hours``):
    200 ``PortalAppointment``."""
    check_origin(request)
    principal = await portal_principal(request)
    appt = await portal_actions.cancel(ctx(request), principal, request.match_info["id"])
    return await _answer(request, principal, appt)
