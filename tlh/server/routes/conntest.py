"""The client page's connection test: an offer to the server's echo peer, then the result.

The page on its device-check step POSTs a WebRTC offer and gets the echo peer's answer;
after measuring it POSTs the figures, hears the verdict and advice (the rules are
``tlh.domain.conntest``), and the result lands on its waiting-room entry for the
clinician to see. Authenticated like the participant websocket: the link cookie (401),
a join link (403 for a consent link), the identity check passed (403), and the page's
own Origin.
"""

from __future__ import annotations

from aiohttp import web

from tlh.api.envelope import Ok
from tlh.api.media import ConnTestOffer, ConnTestResult, ConnTestVerdict, EchoAnswer, EchoOffer
from tlh.domain.conntest import assess, check_figures
from tlh.domain.links import JoinLink
from tlh.domain.rooms import ConnectionTest
from tlh.errors import BadRequest, Forbidden
from tlh.server.http import ALL_STAFF, actor, ctx, decode, max_body, public, requires, respond
from tlh.server.keys import ECHO_PEERS, ROOMS
from tlh.server.origin import check_origin
from tlh.server.routes.link_identity import verified
from tlh.server.routes.links import COOKIE
from tlh.server.routes.participant_ws import participant_link

routes = web.RouteTableDef()

#: A browser's offer with its candidates is 5-10 KiB; anything far larger is not one.
_MAX_OFFER_BYTES = 64 * 1024
_MAX_RESULT_BYTES = 2048


async def _participant(request: web.Request) -> JoinLink:
    """The page's join link, checked as the participant websocket checks it."""
    check_origin(request)
    link = await participant_link(request)
    if not await verified(request.app, link.id, request.cookies.get(COOKIE)):
        raise Forbidden("please confirm who you are first")
    return link


async def _echo_answer(request: web.Request, owner: str, sdp: str) -> web.Response:
    """The echo peer's answer to ``owner``'s offer (one echo peer per owner)."""
    if not sdp.strip():
        raise BadRequest("sdp must be the offer's session description")
    peers = request.app[ECHO_PEERS]
    answer = await peers.answer(owner, sdp)
    return respond(EchoAnswer(sdp=answer, max_s=peers.lifetime_s))


@routes.post("/api/v1/link/conntest/offer")
@public
@max_body(_MAX_OFFER_BYTES)
async def offer(request: web.Request) -> web.Response:
    """Answer the page's offer with the echo peer (503 ``echo_busy`` when all are in use)."""
    link = await _participant(request)
    offered = await decode(request, ConnTestOffer, invalid=BadRequest)  # documented: 400
    return await _echo_answer(request, f"{link.id}/{offered.device_id}", offered.sdp)


@routes.post("/api/v1/link/conntest/result")
@public
@max_body(_MAX_RESULT_BYTES)
async def result(request: web.Request) -> web.Response:
    """The measured figures: the verdict and advice back, the result on the entry."""
    link = await _participant(request)
    measured = await decode(request, ConnTestResult, invalid=BadRequest)  # documented: 400
    device_id = measured.device_id
    figures = check_figures(measured.figures())
    await request.app[ECHO_PEERS].end(f"{link.id}/{device_id}")
    assessment = assess(figures)
    test = ConnectionTest(
        verdict=assessment.verdict.value,
        rtt_ms=figures.rtt_ms,
        jitter_ms=figures.jitter_ms,
        loss_pct=figures.loss_pct,
        bitrate_kbps=figures.bitrate_kbps,
        at=ctx(request).clock(),
    )
    entry = await request.app[ROOMS].participants.connection_test(link.id, device_id, test)
    return respond(ConnTestVerdict(test=test, advice=assessment.advice, on_entry=entry is not None))


@routes.post("/api/v1/media/echo")
@requires(*ALL_STAFF)
@max_body(_MAX_OFFER_BYTES)
async def staff_echo(request: web.Request) -> web.Response:
    """``tlh doctor``'s echo round trip: a staff member's offer to the same echo peers."""
    sdp = (await decode(request, EchoOffer)).sdp
    return await _echo_answer(request, f"staff/{actor(request).id}", sdp)


@routes.post("/api/v1/media/echo/end")
@requires(*ALL_STAFF)
async def staff_echo_end(request: web.Request) -> web.Response:
    """Close the caller's echo peer."""
    await request.app[ECHO_PEERS].end(f"staff/{actor(request).id}")
    return respond(Ok())
