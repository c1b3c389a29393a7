"""Passkeys on the client portal (issue 13): add one after signing in, list and remove
them, and sign in with one into the same portal session cookie a code gives.

The relying party is the practice's public URL (``[messaging] public_url``; without
one, this server as the request reached it): its host is the rp id, its origin the
only one a credential may come from. Failed passkey sign-ins count against the same
per-network-address budget as wrong codes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from tlh.api.portal_passkeys import PasskeyAdd, PasskeySignIn
from tlh.errors import BadRequest, Conflict, Forbidden, RateLimited, Unauthenticated
from tlh.server.http import ctx, decode, items, max_body, public, respond
from tlh.server.keys import PORTAL_LIMITS, PORTAL_PASSKEYS, SETTINGS
from tlh.server.origin import check_origin, origin_of
from tlh.services.passkey_ceremony import RelyingParty
from tlh.services.portal_passkeys import view

from .portal import portal_principal, start_session

routes = web.RouteTableDef()

#: A credential with an attestation certificate chain fits; an assertion is far smaller.
_ADD_BODY = 16 * 1024
_SIGN_IN_BODY = 8 * 1024
_EMPTY_BODY = 1024


def relying_party(request: web.Request) -> RelyingParty:
    """The practice as a WebAuthn relying party (see the module docstring); 409 when
    its address is an IP address, which passkeys cannot be bound to."""
    settings = request.app[SETTINGS]
    url = settings.messaging.public_url or f"{request.scheme}://{request.host}"
    origin = origin_of(url)
    host = urlsplit(url).hostname or ""
    if origin is None or not host or host.replace(".", "").isdigit() or ":" in host:
        raise Conflict("passkeys need the practice's public address to be a host name")
    return RelyingParty(id=host, name=ctx(request).policy().practice_name, origin=origin)


@routes.post("/api/v1/portal/passkeys/options")
@public
@max_body(_EMPTY_BODY)
async def options_to_add(request: web.Request) -> web.Response:
    """Registration options for the signed-in person (WebAuthn JSON)."""
    check_origin(request)
    principal = await portal_principal(request)
    found = await request.app[PORTAL_PASSKEYS].options_to_add(
        ctx(request), principal, relying_party(request)
    )
    return web.Response(text=found, content_type="application/json")


@routes.post("/api/v1/portal/passkeys")
@public
@max_body(_ADD_BODY)
async def add(request: web.Request) -> web.Response:
    """Store the passkey the browser made from those options."""
    check_origin(request)
    principal = await portal_principal(request)
    given = await decode(request, PasskeyAdd, invalid=BadRequest)
    record = await request.app[PORTAL_PASSKEYS].add(
        ctx(request), principal, given.credential, relying_party(request)
    )
    return respond(view(record), 201)


@routes.get("/api/v1/portal/passkeys")
@public
async def list_(request: web.Request) -> web.Response:
    """The signed-in person's passkeys (when added, when last used)."""
    principal = await portal_principal(request)
    found = await request.app[PORTAL_PASSKEYS].mine(ctx(request), principal.person)
    return items([view(r) for r in found])


@routes.delete("/api/v1/portal/passkeys/{id}")
@public
async def remove(request: web.Request) -> web.Response:
    """Remove one of the signed-in person's passkeys."""
    check_origin(request)
    principal = await portal_principal(request)
    await request.app[PORTAL_PASSKEYS].remove(ctx(request), principal, request.match_info["id"])
    return web.Response(status=204)


async def _not_blocked(request: web.Request) -> None:
    await request.app[PORTAL_LIMITS].wrong_per_peer.guard(request.remote or "")


@routes.post("/api/v1/portal/passkeys/sign-in-options")
@public
@max_body(_EMPTY_BODY)
async def options_to_sign_in(request: web.Request) -> web.Response:
    """Authentication options (WebAuthn JSON) with a fresh single-use challenge."""
    check_origin(request)
    await _not_blocked(request)
    found = await request.app[PORTAL_PASSKEYS].options_to_sign_in(relying_party(request))
    return web.Response(text=found, content_type="application/json")


@routes.post("/api/v1/portal/passkeys/sign-in")
@public
@max_body(_SIGN_IN_BODY)
async def sign_in(request: web.Request) -> web.Response:
    """Trade a passkey's assertion for a portal session cookie."""
    check_origin(request)
    await _not_blocked(request)
    peer = request.remote or ""
    c = ctx(request)
    passkeys = request.app[PORTAL_PASSKEYS]
    try:
        try:
            given = await decode(request, PasskeySignIn, invalid=BadRequest)
        except BadRequest as exc:
            await passkeys.refused(c, exc.code, peer)
            raise
        person = await passkeys.sign_in(c, given.credential, relying_party(request), peer)
    except (BadRequest, Unauthenticated, Forbidden, RateLimited):
        await request.app[PORTAL_LIMITS].wrong_per_peer.fail(peer)
        raise
    return await start_session(request, person)
