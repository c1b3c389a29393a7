"""The application factory: one app, everything it holds reachable by typed keys."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import signal
from collections.abc import AsyncIterator
from functools import partial

from aiohttp import WSCloseCode, web

from tlh.domain.messages import Message, MessageStatus
from tlh.domain.models import RelayMode
from tlh.domain.rooms import EntryState
from tlh.errors import StoreError
from tlh.media.echo import EchoPeers
from tlh.media.relaycall import RelayCall
from tlh.messaging.transports import build_transports
from tlh.net import is_loopback, parse_networks
from tlh.services import sessions
from tlh.services.callhub import CallHub
from tlh.services.channel import Channel
from tlh.services.ephemeral import SharedState
from tlh.services.events import EventBus
from tlh.services.hooks import HookRunner
from tlh.services.ice_plan import IcePlan
from tlh.services.identity import IdentityChecks
from tlh.services.idle_sessions import INTERVAL_S, IdleSessions
from tlh.services.invites import reminder_renderer
from tlh.services.link_sessions import LinkSessions
from tlh.services.links import OutreachContext, load_outreach
from tlh.services.one_time_codes import OneTimeCodes
from tlh.services.outbox import OutboxWorker
from tlh.services.portal_passkeys import PortalPasskeys
from tlh.services.portal_sessions import PortalSessions
from tlh.services.portal_signin import PortalCodes
from tlh.services.reminder_clock import ReminderClock
from tlh.services.server_watch import ServerWatch
from tlh.services.shared_events import SharedEventBus
from tlh.services.staff_web import StaffWeb
from tlh.services.waiting import Rooms
from tlh.store.capabilities import SharedStore
from tlh.store.open import shared_state_of, store_at

from . import middleware
from .background import Active, Background
from .forwarded import add_hsts, forwarded_middleware, plain_http
from .keys import (
    ACTIVE,
    AUDIT,
    BACKGROUND,
    BUS,
    CALL_HUB,
    CTX,
    DASHBOARDS,
    ECHO_PEERS,
    FAILURES,
    HELLOS,
    ICE,
    IDENTITY,
    IDLE_SESSIONS,
    LINK_SESSIONS,
    METRICS,
    OUTREACH,
    PORTAL_CODES,
    PORTAL_LIMITS,
    PORTAL_PASSKEYS,
    PORTAL_SESSIONS,
    REMINDER_CLOCK,
    ROOMS,
    SETTINGS,
    STAFF_SOCKETS,
    STAFF_WEB,
    STORE,
    WEBSOCKETS,
)
from .metrics import Live, Metrics, metrics_middleware, read_token
from .ratelimit import FailureLimits, PortalLimits
from .routes import add_routes
from .settings import Settings, own_url
from .staffsockets import StaffSockets


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """Open the store (taking the data dir's lock) with its audit log, then start the
    outbox worker and the reminder clock; stop them before closing the store."""
    settings = app[SETTINGS]
    store = store_at(
        settings.store_url or settings.data_dir,
        keys=settings.keys,
        hot_months=settings.store_hot_months,
    )
    await store.open()
    audit = store.audit
    shared = shared_state_of(store)  # several servers: limits and codes in the database
    if shared is not None:
        await _share_limits(app, shared)
    channel = await _channel(settings.store_url)
    bus = EventBus() if channel is None else SharedEventBus(channel)
    app[STORE], app[AUDIT], app[BUS] = store, audit, bus
    ctx = OutreachContext(
        store=store,
        audit=audit,
        events=bus,
        outreach=app[OUTREACH],
        own_url=own_url(settings),
        codes=OneTimeCodes() if shared is None else shared.codes,
    )
    app[CTX] = ctx
    app[LINK_SESSIONS] = LinkSessions(ctx)
    await app[STAFF_WEB].attach(store)  # call pages signed in before a restart stay signed in
    clock = ReminderClock(ctx, reminder_renderer(ctx))
    background = Background(
        lambda: OutboxWorker(ctx, build_transports(settings.messaging, settings.data_dir)),
        clock,
        bus,
        store_url=settings.store_url,
        on_policy_changed=store.policy_changed if isinstance(store, SharedStore) else None,
    )
    app[BACKGROUND], app[REMINDER_CLOCK] = background, clock
    active = app[ACTIVE] = Active(_step_aside)
    # Relayed segments get the server's relay call (aiortc: see _preload_media).
    relay = partial(
        RelayCall, ice_servers=settings.ice_servers, loopback=is_loopback(settings.host)
    )
    app[CALL_HUB] = CallHub(
        relay=relay,
        ice_servers=app[ICE],
        relay_always=lambda: ctx.policy().relay is RelayMode.ALWAYS,
        on_relayed=partial(sessions.mark_relayed, ctx),
    )
    app[ROOMS] = Rooms(
        ctx,
        app[CALL_HUB],
        grace_s=settings.reconnect_grace_s,
        ice_servers=app[ICE],
        channel=channel,  # several servers: each serves its pages' entries, sees all
    )
    grace = settings.empty_session_grace_s
    idle = app[IDLE_SESSIONS] = IdleSessions(
        ctx,
        app[CALL_HUB],
        app[ROOMS].state.in_call,
        app[ROOMS].hooks.session_ended,
        grace_s=grace,
        interval_s=min(INTERVAL_S, max(grace / 2, 0.1)),
    )
    hooks = HookRunner(
        bus,
        command=settings.hooks_command,
        url=settings.hooks_url,
        events=settings.hooks_events,
        timeout_s=settings.hooks_timeout_s,
    )
    preload: asyncio.Task[None] | None = None
    try:
        await background.start()
        await hooks.start()
        app[STAFF_SOCKETS].on_presence = app[ROOMS].staff.connected
        app[ROOMS].follow(bus)

        watch = _server_watch(settings.store_url)

        async def take_over() -> None:
            # The pages of a restart find their entries again; on a shared store, this
            # server is alive as its id and learns the others' rooms before it serves.
            await app[ROOMS].restore()
            await app[ROOMS].share(watch, active.lost)
            await idle.start(bus)

        await active.start(take_over, watch)
        freeze_long_lived()
        preload = asyncio.create_task(_preload_media())
        yield
    finally:
        if preload is not None:
            await preload  # a thread's import cannot be cancelled; it is short
        await hooks.close()
        await app[ECHO_PEERS].close()
        await idle.close()
        await app[ROOMS].close()
        await app[STAFF_WEB].aclose()
        await app[PORTAL_CODES].aclose()
        await app[PORTAL_SESSIONS].aclose()
        await app[CALL_HUB].close()
        await app[ACTIVE].close()
        await background.close()
        if channel is not None:
            await channel.close()
        if shared is not None:
            await shared.close()
        await store.close()


log = logging.getLogger("tlh.server")


def _step_aside() -> None:
    """Stop this server the way SIGTERM does (its pages are told to reconnect): another
    server took this one's rooms over while it was cut off from the database."""
    signal.raise_signal(signal.SIGTERM)


async def _share_limits(app: web.Application, shared: SharedState) -> None:
    """Count every rate limit, failure limit and identity-check try in the shared store,
    so a guesser spreading tries over the servers gets no more than on one; keep passkey
    challenges there too, so a ceremony begun on one server ends on another."""
    await shared.open()
    app[FAILURES] = FailureLimits.shared(shared.attempts)
    app[PORTAL_LIMITS] = PortalLimits.shared(shared.attempts)
    app[IDENTITY] = IdentityChecks(attempts=shared.attempts)
    app[PORTAL_CODES] = PortalCodes(attempts=shared.attempts)
    app[PORTAL_PASSKEYS] = PortalPasskeys(once=shared.once)


async def _channel(store_url: str | None) -> Channel | None:
    """The channel to the other servers of a shared store (``None``: the embedded store,
    one server); PostgreSQL's LISTEN/NOTIFY, imported only then."""
    if store_url is None:
        return None
    from tlh.store.pg.notify import PgChannel

    channel = PgChannel(store_url)
    try:
        await channel.open()
    except ConnectionError as exc:
        raise StoreError(str(exc)) from None
    return channel


def _server_watch(store_url: str | None) -> ServerWatch | None:
    """How the servers of a shared store know which of them live (advisory locks in
    PostgreSQL, imported only then); ``None``: one server."""
    if store_url is None:
        return None
    from tlh.store.pg.liveness import PgServerWatch

    return PgServerWatch(store_url)


def freeze_long_lived() -> None:
    """Move what start-up built (the store's tables and indexes, the app) out of the
    cycle collector's reach: a full collection would otherwise walk all of it, a pause
    that grows with the practice's history (210 ms at 100k appointments, 334 ms at
    300k, measured before). The records themselves are untracked (``gc=False``); this
    takes the containers too. What is frozen lives as long as the server anyway."""
    gc.collect()
    gc.freeze()


#: What the media side needs (aiortc, PyAV): imported once the server is up.
MEDIA_MODULES = ("tlh.media.relay", "tlh.media.ice")


async def _preload_media() -> None:
    """Import aiortc and PyAV in a thread once the server is up.

    The first connection test or relayed call would otherwise import them on the event
    loop and hold every socket for 0.25-0.5 s; in a thread the loop's longest stall
    during the import is ~10 ms (measured). The server still starts without them, and a
    failed import is left for the first use to report (never to the shutdown, which
    awaits this).
    """
    for name in MEDIA_MODULES:
        try:
            await asyncio.to_thread(importlib.import_module, name)
        except Exception as exc:
            log.warning("media stack not preloaded: %s", type(exc).__name__)
            return


async def _live(app: web.Application) -> Live | None:
    """The live figures of ``/metrics`` (counts only), or ``None`` before start-up."""
    if ROOMS not in app:
        return None
    store, hub = app[STORE], app[CALL_HUB]
    waiting = app[ROOMS].state.entries()
    return Live(
        waiting=sum(1 for e in waiting if e.state is EntryState.WAITING),
        sessions=hub.live_count(),
        relayed=hub.relayed_peer_count(),
        outbox={s.value: await store.count(Message, "status", s) for s in MessageStatus},
        outbox_up=app[BACKGROUND].alive,
        websockets=len(app[WEBSOCKETS]),
    )


async def _quiet_calls(app: web.Application) -> None:
    """Shutting down: the call sockets about to close are not people leaving their calls
    (they come back after the restart, their media flowing meanwhile)."""
    if CALL_HUB in app:
        app[CALL_HUB].quiet()


#: Why every socket closes when the server stops (SIGTERM, Ctrl-C): 1012 "service
#: restart" (RFC 6455's registry). Pages say so and reconnect; the dashboard and the CLI
#: say so too; waiting places are kept for the reconnect grace (``Rooms.restore``).
RESTARTING = b"server restarting"


async def _close_websockets(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = app[WEBSOCKETS]
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.SERVICE_RESTART, message=RESTARTING) for ws in list(sockets)),
        return_exceptions=True,  # a socket that died meanwhile stops none of the others
    )


def create_app(settings: Settings) -> web.Application:
    """A ready-to-run application for ``settings`` (the store opens on startup)."""
    metrics = Metrics(read_token(settings.metrics_token_file))  # a bad token file: at start
    app = web.Application(
        middlewares=[
            forwarded_middleware(parse_networks(settings.trusted_proxies)),
            metrics_middleware(metrics),
            middleware.answered,
            middleware.rooms_here,
            plain_http,
            middleware.authenticate,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[HELLOS] = asyncio.Semaphore(settings.hello_concurrency)
    app[ICE] = IcePlan(
        static=settings.ice_servers,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        ttl_s=settings.turn_ttl_s,
    )
    app[METRICS] = metrics
    metrics.watch(partial(_live, app))
    # Templates load (and fail) here, at start-up, never when a message is sent.
    messaging = settings.messaging
    app[OUTREACH] = load_outreach(messaging.templates_dir, messaging.public_url)
    app[FAILURES] = FailureLimits()
    app[IDENTITY] = IdentityChecks()
    app[WEBSOCKETS] = set[web.WebSocketResponse]()
    app[DASHBOARDS] = {}
    app[STAFF_WEB] = StaffWeb()
    app[PORTAL_CODES], app[PORTAL_SESSIONS] = PortalCodes(), PortalSessions()
    app[PORTAL_LIMITS] = PortalLimits()
    app[PORTAL_PASSKEYS] = PortalPasskeys()
    app[STAFF_SOCKETS] = StaffSockets()
    app[ECHO_PEERS] = EchoPeers(ice_servers=settings.ice_servers, host=settings.host)
    app.cleanup_ctx.append(_resources)
    app.on_response_prepare.append(add_hsts)
    app.on_shutdown.append(_quiet_calls)
    app.on_shutdown.append(_close_websockets)
    add_routes(app)
    return app
