"""Starting, ending and listing session segments; a start also hands back a call link.

Starting tells the live waiting rooms (a room with its waiting room off admits its
clients now); ending takes everyone out of the call, while waiting entries stay.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.sessions import SessionStart, SessionStarted
from tlh.errors import BadRequest
from tlh.server.http import ALL_STAFF, actor, ctx, decode, items, requires, respond
from tlh.server.keys import CALL_HUB, ROOMS
from tlh.server.routes.call_links import CALLERS, call_link
from tlh.services import sessions
from tlh.services.staff import find_staff

routes = web.RouteTableDef()


@routes.post("/api/v1/sessions")
@requires(*CALLERS)
async def start(request: web.Request) -> web.Response:
    """Open a segment (``{"appointment_id"}`` or ``{"room": true, "clinician"?}``)."""
    c, who = ctx(request), actor(request)
    wanted = await decode(request, SessionStart, invalid=BadRequest)  # tested: 400
    if wanted.room:
        if wanted.appointment_id is not None:
            raise BadRequest("give either appointment_id or room, not both")
        clinician_id = (await find_staff(c, wanted.clinician)).id if wanted.clinician else None
        segment = await sessions.start(c, who, None, clinician_id=clinician_id)
    elif wanted.appointment_id:
        segment = await sessions.start(c, who, wanted.appointment_id)
    else:
        raise BadRequest('give {"appointment_id": ...} or {"room": true}')
    # With a waiting room off, whoever is already waiting goes straight in now.
    await request.app[ROOMS].hooks.session_started(segment)
    link = call_link(request, who, segment.appointment_id)
    return respond(SessionStarted(session=segment, url=link.url), 201)


@routes.post("/api/v1/sessions/{id}/end")
@requires(*CALLERS)
async def end(request: web.Request) -> web.Response:
    """Close a segment and take everyone out of its call."""
    segment = await sessions.end(ctx(request), actor(request), request.match_info["id"])
    await request.app[ROOMS].hooks.session_ended(segment)
    request.app[CALL_HUB].end(segment.id)  # no-op if the rooms already ended it
    return respond(segment)


@routes.get("/api/v1/sessions")
@requires(*ALL_STAFF)
async def list_(request: web.Request) -> web.Response:
    """Segments started on a local day (default today), optionally of one clinician."""
    q = request.query
    found = await sessions.list_segments(
        ctx(request), actor(request), q.get("date"), q.get("clinician")
    )
    return items(found)
