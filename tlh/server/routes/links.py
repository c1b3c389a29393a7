"""The client-facing side of links: the page, redeeming a token, and signing consent.

No staff token here: the client holds a link token (in the URL fragment, so it never
reaches the server with a page request) and redeems it by POST for a short-lived
session cookie. Every failure to redeem answers the same, is rate-limited per address
and audited without the token.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from tlh.api.consent import ConsentForm, ConsentSubmission
from tlh.api.links import LinkRedeemed, NextStep, Redeem
from tlh.domain.consent import ConsentState
from tlh.domain.links import (
    InvalidReason,
    JoinLink,
    LinkPurpose,
    ParticipantKind,
    Redeemable,
    RedeemState,
    invalid_reason,
)
from tlh.domain.models import IdentityCheck, Policy
from tlh.domain.timeutil import zone
from tlh.errors import BadRequest, Forbidden, NotFound, Unauthenticated
from tlh.server.http import ctx, decode, max_body, public, respond
from tlh.server.keys import FAILURES, LINK_SESSIONS
from tlh.server.origin import check_origin
from tlh.server.ratelimit import FailureLimiter
from tlh.server.routes.portal import signed_in
from tlh.services import audiences, consent, identity
from tlh.services.context import Actor, Context
from tlh.services.links import (
    appointment_of,
    client_language,
    find_by_token,
    get_link,
    outreach_of,
    redeemable,
)
from tlh.services.portal_visits import portal_first

routes = web.RouteTableDef()

COOKIE = "__Host-tlh_link"
#: The one answer to every failed call-page login (unknown, expired, used, malformed).
INVALID_LINK = {
    "error": {
        "code": "invalid_link",
        "message": "This link is not valid. Ask your practice for a new one.",
    }
}
#: What the page says of a genuine link that no longer works (``invalid_reason``).
_WHY = {
    "cancelled": "This link is not valid: the appointment was cancelled.",
    "moved": "This link is not valid: the appointment was moved to another time.",
    "revoked": "This link is not valid any more: it was replaced or withdrawn.",
    "expired": "This link is not valid any more: its appointment has passed.",
}


def invalid_link(policy: Policy, reason: InvalidReason | None = None) -> dict[str, Any]:
    """The answer to a failed client redemption: the practice and how to reach it, and,
    for the holder of a genuine token only, why (an unknown token is told nothing)."""
    contact = ", ".join(c for c in (policy.contact_phone, policy.contact_email) if c)
    ask = f"Ask {policy.practice_name} for a new one" + (f": {contact}." if contact else ".")
    details: dict[str, Any] = {
        "practice_name": policy.practice_name,
        "contact_phone": policy.contact_phone,
        "contact_email": policy.contact_email,
    }
    if reason is not None:
        details["reason"] = reason
    lead = _WHY[reason] if reason is not None else "This link is not valid."
    return {"error": {"code": "invalid_link", "message": f"{lead} {ask}", "details": details}}


#: A token in a small JSON object: more is not a redemption.
REDEEM_BODY_BYTES = 4096
#: The drawn signature (a PNG data URL) is most of a consent submission.
_CONSENT_BODY_BYTES = 400_000


# The pages (/j, /c) and their assets are served by tlh.server.routes.pages.


async def presented_token(request: web.Request) -> str | None:
    """The token a redemption carries; ``None`` for a body that is not ``{"token"}``
    (it gets the same answer as a wrong token)."""
    try:
        return (await decode(request, Redeem, invalid=BadRequest)).token
    except BadRequest:
        return None


async def refuse_redemption(
    request: web.Request,
    failures: FailureLimiter,
    kind: Literal["staff", "client_link"],
    action: str,
    answer: dict[str, Any] = INVALID_LINK,
) -> web.Response:
    """The one answer to every failed redemption (404 ``invalid_link``), counted against
    the caller's address (429 once past ``failures``' budget, then not audited) and
    audited as ``action`` without the token."""
    peer = request.remote or ""
    await failures.guard(peer)
    await failures.fail(peer)
    anonymous = Actor(kind=kind, id="anonymous", source=peer)
    await ctx(request).audit.append(anonymous, action, "unknown")
    return respond(answer, 404)


@routes.post("/api/v1/link/redeem")
@public
@max_body(REDEEM_BODY_BYTES)
async def redeem(request: web.Request) -> web.Response:
    """Trade a link token for a session cookie; one answer for every failure.

    A valid token works from any address; only invalid ones count against it, and
    once it has had too many (``ratelimit``) they get a 429 and are not audited.
    """
    check_origin(request)
    c = ctx(request)
    peer = request.remote or ""
    link = await find_by_token(c, await presented_token(request))
    now = c.clock()
    verdict = await redeemable(c, link, now) if link is not None else None
    if link is None or verdict is None or verdict.state is RedeemState.INVALID:
        policy = c.policy()
        why = invalid_reason(link, await appointment_of(c, link), now, policy) if link else None
        failures = request.app[FAILURES].links
        return await refuse_redemption(
            request, failures, "client_link", "link.redeem.failed", invalid_link(policy, why)
        )
    if portal_first(c, link, await signed_in(request)):
        # The practice requires portal sign-in first: no link session; the page goes to
        # /p, which joins this appointment once its holder has signed in (issue 13).
        return respond(portal_answer(c, link, verdict))
    who = Actor(kind="client_link", id=link.id, source=peer)
    session = await request.app[LINK_SESSIONS].open(link.id, who)  # audits link.redeem
    c.events.publish(
        "link.redeemed",
        {"link_id": link.id, "appointment_id": link.appointment_id, "client_id": link.client_id},
        await audiences.link(c, link),
    )
    policy = c.policy()
    appt = await appointment_of(c, link)
    local = appt.start.astimezone(zone(policy.timezone)) if appt is not None else None
    answer = LinkRedeemed(
        purpose=link.purpose,
        state=verdict.state,
        practice_name=policy.practice_name,
        timezone=policy.timezone,
        next=await next_step(request, link),
        opens_at=verdict.opens_at,
        starts_at=appt.start if appt is not None else None,
        starts_local=local.strftime("%A %d %B, %H:%M") if local is not None else None,
        language=await client_language(c, link.client_id),
    )
    response = respond(answer)
    response.set_cookie(
        COOKIE,
        session,
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/",
        max_age=int(request.app[LINK_SESSIONS].ttl_s),
    )
    return response


def portal_answer(c: Context, link: JoinLink, verdict: Redeemable) -> LinkRedeemed:
    """What a link that must go through portal sign-in first answers (issue 13)."""
    policy = c.policy()
    return LinkRedeemed(
        purpose=link.purpose,
        state=verdict.state,
        practice_name=policy.practice_name,
        timezone=policy.timezone,
        next="portal",
        appointment_id=link.appointment_id,
    )


async def next_step(request: web.Request, link: JoinLink, *, verified: bool = False) -> NextStep:
    """Where the page goes next: the identity check, consent, or the waiting room.

    ``verified``: the session passed the identity check (a new one at redemption has not).
    """
    c = ctx(request)
    if not verified and await identity.mode(c, link) is not IdentityCheck.OFF:
        return "identity"
    needs_consent = (
        link.client_id is not None
        and c.policy().consent_required
        and await consent.state_of(c, link.client_id) is not ConsentState.VALID
    )
    if link.purpose is LinkPurpose.CONSENT or needs_consent:
        return "consent"
    return "waiting"


async def cookie_link(request: web.Request) -> tuple[JoinLink, str]:
    """The live link behind the request's link cookie, and the cookie's session id
    (401 when there is none: no cookie, an ended session, a link no longer valid)."""
    c = ctx(request)
    session = request.cookies.get(COOKIE) or ""
    link_id = await request.app[LINK_SESSIONS].link_id(session)
    try:
        link = await get_link(c, link_id) if link_id else None
    except NotFound:
        link = None
    if link is None or (await redeemable(c, link, c.clock())).state is RedeemState.INVALID:
        raise Unauthenticated("your link has expired; please open it again from your message")
    return link, session


async def _session_link(request: web.Request) -> JoinLink:
    """The live link behind the cookie, if it leads to a client's consent form."""
    link, _ = await cookie_link(request)
    if link.client_id is None or link.participant is ParticipantKind.GUEST:
        raise Forbidden("this link does not lead to a consent form")
    return link


@routes.get("/api/v1/link/consent")
@public
async def consent_form(request: web.Request) -> web.Response:
    """The consent form (markdown; the page renders it as text) and its version."""
    link = await _session_link(request)
    c = ctx(request)
    outreach, _ = outreach_of(c)
    done = await consent.signed_through(c, link)
    assert link.client_id is not None
    state = done.decision.value if done else (await consent.state_of(c, link.client_id)).value
    await c.audit.append(
        Actor(kind="client_link", id=link.id, source=request.remote or ""),
        "consent.form.read",
        link.client_id,
    )
    return respond(
        ConsentForm(
            form_markdown=outreach.form_text,
            form_hash=outreach.form_hash,
            practice_name=c.policy().practice_name,
            state=state,
        )
    )


@routes.post("/api/v1/link/consent")
@public
@max_body(_CONSENT_BODY_BYTES)
async def consent_submit(request: web.Request) -> web.Response:
    """Accept (typed name + drawn signature) or decline the current form."""
    check_origin(request)
    link = await _session_link(request)
    c = ctx(request)
    peer = request.remote or ""
    record = await consent.sign(
        c,
        Actor(kind="client_link", id=link.id, source=peer),
        link,
        await decode(request, ConsentSubmission),
        source=peer,
        user_agent=request.headers.get("User-Agent", ""),
    )
    return respond(record)
