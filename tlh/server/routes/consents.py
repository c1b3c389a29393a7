"""Staff routes for the consent ledger: send, verbal, status, revoke, export."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from tlh.api.consent import ConsentRevoke, ConsentSend, VerbalConsent
from tlh.domain.models import Role
from tlh.server.http import (
    ADMIN,
    ALL_STAFF,
    actor,
    attachment,
    ctx,
    decode,
    file_format,
    items,
    requires,
    respond,
)
from tlh.server.keys import ROOMS
from tlh.services import consent

from .invites import link_ctx

routes = web.RouteTableDef()
_FORMATS: dict[str, Literal["csv", "json"]] = {"csv": "csv", "json": "json"}


@routes.post("/api/v1/consents/send")
@requires(*ALL_STAFF)
async def send(request: web.Request) -> web.Response:
    wanted = await decode(request, ConsentSend)
    sent = await consent.send_consent(
        link_ctx(request), actor(request), wanted, request.app[ROOMS].state
    )
    return respond(sent, 201)


@routes.post("/api/v1/consents/verbal")
@requires(Role.ADMIN, Role.CLINICIAN)
async def verbal(request: web.Request) -> web.Response:
    heard = await decode(request, VerbalConsent)
    record = await consent.record_verbal(
        ctx(request), actor(request), heard, request.app[ROOMS].state
    )
    return respond(record, 201)


@routes.get("/api/v1/consents")
@requires(*ALL_STAFF)
async def status(request: web.Request) -> web.Response:
    wanted = request.query.get("client")
    return items(
        await consent.status(ctx(request), actor(request), wanted, request.app[ROOMS].state)
    )


@routes.post("/api/v1/consents/revoke")
@requires(*ALL_STAFF)
async def revoke(request: web.Request) -> web.Response:
    withdrawn = await decode(request, ConsentRevoke)
    record = await consent.revoke_consent(
        ctx(request), actor(request), withdrawn, request.app[ROOMS].state
    )
    return respond(record, 201)


@routes.get("/api/v1/consents/export")
@requires(*ADMIN)
async def export(request: web.Request) -> web.Response:
    fmt = file_format(request, _FORMATS)
    data = await consent.export(ctx(request), actor(request), fmt)
    return attachment(data, "consents", fmt)
