"""Open slots (staff) and booking a client into one (issue 13, p-slots)."""

from aiohttp import web

from tlh.api.slots import SlotBooking
from tlh.server.http import ALL_STAFF, EDITORS, actor, ctx, decode, items, requires, respond
from tlh.services import self_booking, slots
from tlh.services.staff import find_staff

routes = web.RouteTableDef()


def _clinicians(request: web.Request) -> list[str]:
    """``clinician=`` repeated, or comma-separated."""
    return [
        ref for value in request.query.getall("clinician", []) for ref in value.split(",") if ref
    ]


@routes.get("/api/v1/slots")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    found = await slots.list_slots(
        ctx(request),
        actor(request),
        clinician=_clinicians(request),
        from_=request.query.get("from"),
        to=request.query.get("to"),
        modality=request.query.get("modality"),
    )
    return items(found)


@routes.post("/api/v1/slots/book")
@requires(*EDITORS)
async def book(request: web.Request) -> web.Response:
    given = await decode(request, SlotBooking)
    context = ctx(request)
    clinician = await find_staff(context, given.clinician)
    made = await self_booking.book_slot(
        context, actor(request), given.client_id, clinician.id, given.start, given.modality
    )
    return respond(made, 201)
