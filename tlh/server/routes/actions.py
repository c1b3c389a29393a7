"""The one-tap confirm/cancel links of reminders: the page ``/a`` and its two calls.

The token rides in the URL fragment (``/a#TOKEN``), so the page request carries none and
changes nothing: mail scanners and link previewers that open it confirm or cancel
nothing. The page looks the token up by POST (what the link does, still changing
nothing) and its one button uses it by POST. Both check the Origin; an unknown token gets
the same 404 as any other link's and counts against the caller's address (429 past the
budget), apart from join links' budget.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.links import Redeem
from tlh.domain.action_links import ActionLink
from tlh.errors import BadRequest
from tlh.server.http import ctx, decode, max_body, public, respond
from tlh.server.keys import FAILURES
from tlh.server.origin import check_origin
from tlh.server.routes.links import REDEEM_BODY_BYTES, invalid_link, refuse_redemption
from tlh.server.routes.pages import _serve
from tlh.services import client_actions
from tlh.services.action_links import find_action_link

routes = web.RouteTableDef()


@routes.get("/a")
@public
async def action_page(request: web.Request) -> web.Response:
    """The confirm/cancel page; the token stays in the fragment: nothing is done here."""
    return _serve(request, "a.html")


async def _link(request: web.Request) -> ActionLink | web.Response:
    """The link the body's token names, or the one answer to every unknown token."""
    check_origin(request)
    try:
        token: str | None = (await decode(request, Redeem, invalid=BadRequest)).token
    except BadRequest:
        token = None
    link = await find_action_link(ctx(request), token)
    if link is None:
        failures = request.app[FAILURES].actions
        return await refuse_redemption(
            request,
            failures,
            "client_link",
            "action_link.failed",
            invalid_link(ctx(request).policy()),
        )
    return link


@routes.post("/api/v1/actions/look")
@public
@max_body(REDEEM_BODY_BYTES)
async def look(request: web.Request) -> web.Response:
    """What the link's button does (or why it does nothing now); changes nothing."""
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    return respond(await client_actions.look(ctx(request), found, request.remote or ""))


@routes.post("/api/v1/actions/use")
@public
@max_body(REDEEM_BODY_BYTES)
async def use(request: web.Request) -> web.Response:
    """Confirm or cancel, once: 409 (used, cancelled, confirmed already, closed) or 410
    (started, moved) with ``details.reason`` when it cannot be done now."""
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    return respond(await client_actions.use(ctx(request), found, request.remote or ""))
