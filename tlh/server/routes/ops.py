"""What operators' tools ask: ``/readyz`` (may traffic come here?) and Prometheus
``/metrics`` (off unless a scrape token is configured; the token is its only key)."""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tlh.api.practice import Readiness
from tlh.errors import NotFound, Unauthenticated
from tlh.server.http import public, respond
from tlh.server.keys import ACTIVE, BACKGROUND, FAILURES, METRICS, STORE

routes = web.RouteTableDef()


@routes.get("/readyz")
@public
async def readyz(request: web.Request) -> web.Response:
    """200 when the store is open, the outbox sender runs (on a shared store: here, or
    this server stands by to take it over) and this server serves the live rooms (of
    several sharing a store: each does while it reaches the database), else 503 naming
    which."""
    app = request.app
    store = STORE in app and app[STORE].is_open
    outbox = BACKGROUND in app and app[BACKGROUND].alive
    rooms = ACTIVE in app and app[ACTIVE].active
    ready = Readiness(ok=store and outbox and rooms, store=store, outbox=outbox, rooms=rooms)
    return respond(ready, 200 if ready.ok else 503)


@routes.get("/metrics")
@public
async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text format, for ``Authorization: Bearer <token>`` only."""
    found = request.app[METRICS]
    if found.token is None:
        raise NotFound("no such endpoint")  # off: the same answer as any unknown path
    peer = request.remote or ""
    limits = request.app[FAILURES].bearer
    if not found.allows(request.headers.get("Authorization", "")):
        await limits.guard(peer)
        await limits.fail(peer)
        raise Unauthenticated("the metrics token is missing or wrong")
    await found.refresh()
    body = generate_latest(found.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
