"""The application factory: one app, everything it holds reachable by typed keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from tlh.services.context import Context
from tlh.services.events import EventBus
from tlh.store.auditlog import AuditLog
from tlh.store.tinystore import TinyStore

from . import middleware
from .keys import AUDIT, BUS, CTX, SETTINGS, STORE, WEBSOCKETS
from .routes import add_routes
from .settings import Settings


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """Open the store (taking the data dir's lock) and the audit log; close both."""
    settings = app[SETTINGS]
    store = TinyStore(settings.data_dir)
    await store.open()
    audit = AuditLog(settings.data_dir)
    try:
        await audit.start()
    except BaseException:
        await store.close()
        raise
    bus = EventBus()
    app[STORE], app[AUDIT], app[BUS] = store, audit, bus
    app[CTX] = Context(store=store, audit=audit, events=bus)
    try:
        yield
    finally:
        await audit.close()
        await store.close()


async def _close_websockets(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = app[WEBSOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(settings: Settings) -> web.Application:
    """A ready-to-run application for ``settings`` (the store opens on startup)."""
    app = web.Application(
        middlewares=[middleware.errors, middleware.authenticate],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[WEBSOCKETS] = set[web.WebSocketResponse]()
    app.cleanup_ctx.append(_resources)
    app.on_shutdown.append(_close_websockets)
    add_routes(app)
    return app
