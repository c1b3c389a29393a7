"""``tlh serve``: listen, with TLS unless on loopback, until interrupted.

Every tlh server is started by ``start`` (``tlh serve``, the demo, the test fixtures),
so they all run with the settings users get: the keep-alive timeout, the path-only
access log. A test server that kept idle connections for an hour hid a client bug that
users met after 75 s.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import ssl
from collections.abc import Callable

from aiohttp import web

from tlh.errors import Conflict, InvalidInput, TlhError, Unavailable
from tlh.net import is_loopback
from tlh.store import heap
from tlh.store.capabilities import WarmsUp

from . import gcpolicy
from .accesslog import PathOnlyAccessLogger
from .app import create_app
from .keys import STORE
from .logformat import configure_logging
from .settings import Settings

log = logging.getLogger("tlh.server")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context, or ``None``; refuses plain HTTP off loopback."""
    if bool(settings.cert) != bool(settings.key):
        raise InvalidInput("give both --cert and --key, or neither")
    if settings.cert and settings.key:
        from tlh.tlscert import check_pair  # cryptography: only a TLS server pays for it

        check_pair(settings.cert, settings.key)  # each fault in one line, before OpenSSL's
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(settings.cert, settings.key)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidInput(f"cannot load the TLS certificate or key: {exc}") from None
        return context
    if not is_loopback(settings.host) and not settings.insecure:
        raise InvalidInput(
            f"refusing to serve plain HTTP on {settings.host}: give --cert and --key, "
            "or --insecure behind a TLS proxy"
        )
    return None


def make_runner(
    settings: Settings, app: web.Application | None = None, *, handle_signals: bool = False
) -> web.AppRunner:
    """The runner of every tlh server: ``app`` (default ``create_app(settings)``) with
    ``tlh serve``'s keep-alive timeout and access log. ``handle_signals`` turns SIGINT
    and SIGTERM into a clean stop (the main thread of ``tlh serve`` only)."""
    return web.AppRunner(
        create_app(settings) if app is None else app,
        handle_signals=handle_signals,
        # aiohttp's own AppRunner default is an hour; run_app's (what users had) is 75 s.
        keepalive_timeout=settings.keepalive_timeout_s,
        access_log_class=PathOnlyAccessLogger,
        # aiohttp rounds a timer longer than this up to the whole second: every socket
        # opened within a second pinged on the same tick (10,000 waiting pages: a stall
        # of 100-200 ms every heartbeat). Not rounded, each keeps its own time.
        timeout_ceil_threshold=max(settings.ws_heartbeat_s, 5.0),
    )


async def start(
    settings: Settings,
    app: web.Application | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    reuse_address: bool | None = None,
    handle_signals: bool = False,
) -> web.AppRunner:
    """Serve on ``settings.host:settings.port`` (port 0: a free one, see ``bound_port``)
    until the caller awaits ``runner.cleanup()``."""
    runner = make_runner(settings, app, handle_signals=handle_signals)
    await runner.setup()
    try:
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            ssl_context=ssl_context,
            reuse_address=reuse_address,
        )
        try:
            await site.start()
        except OSError as exc:
            raise cannot_listen(settings.host, settings.port, exc) from None
    except BaseException:
        await runner.cleanup()
        raise
    listening(runner)
    return runner


def listening(runner: web.BaseRunner) -> None:
    """What the server does once it listens: the store takes in what its start-up left
    for later (``tlh.store.capabilities.WarmsUp``)."""
    app = runner.app if isinstance(runner, web.AppRunner) else None
    store = app.get(STORE) if app is not None else None
    if isinstance(store, WarmsUp):
        store.warm_up()


class PortInUse(Conflict):
    """Another program (often another tlh) already listens on the port."""

    code = "port_in_use"


def cannot_listen(host: str, port: int, exc: OSError) -> TlhError:
    """Why the server cannot listen, in one line naming the address and the way out."""
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(
            f"port {port} on {host} is already in use (another tlh?): stop what holds it,"
            " or choose another port with --port"
        )
    if exc.errno == errno.EACCES:
        return InvalidInput(
            f"not allowed to listen on port {port}: ports below 1024 need privileges;"
            " choose another with --port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return InvalidInput(f"cannot listen on {host}: not an address of this machine (--host)")
    return Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port a started runner listens on."""
    return int(runner.addresses[0][1])


def url_of(settings: Settings, runner: web.AppRunner, tls: bool) -> str:
    """The address a started server answers at (its real port, when 0 was asked)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{'https' if tls else 'http'}://{host}:{bound_port(runner)}"


async def _serve(
    settings: Settings,
    context: ssl.SSLContext | None,
    on_ready: Callable[[str], None] | None,
) -> None:
    # SIGINT and SIGTERM end the wait below, so the clean-up (connections closed, workers
    # stopped, journal folded) runs before asyncio.run cancels what is left.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = await start(settings, ssl_context=context)
    try:
        url = url_of(settings, runner, context is not None)
        log.info("tlh serving %s (data dir %s)", url, settings.data_dir)
        if on_ready is not None:
            on_ready(url)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(settings: Settings, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the server until Ctrl-C or SIGTERM (blocking); ``on_ready(url)`` once it
    listens."""
    context = ssl_context(settings)
    configure_logging(settings.log_format)
    gcpolicy.install()  # the process is the server's: its collector policy
    heap.one_arena()  # and its heap, before any thread starts
    try:
        asyncio.run(_serve(settings, context, on_ready))
    finally:
        gcpolicy.uninstall()
