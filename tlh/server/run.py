"""``tlh serve``: listen, with TLS unless on loopback, until interrupted."""

from __future__ import annotations

import logging
import ssl

from aiohttp import web

from tlh.errors import InvalidInput
from tlh.net import is_loopback

from .accesslog import PathOnlyAccessLogger
from .app import create_app
from .settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context, or ``None``; refuses plain HTTP off loopback."""
    if bool(settings.cert) != bool(settings.key):
        raise InvalidInput("give both --cert and --key, or neither")
    if settings.cert and settings.key:
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


def serve(settings: Settings, print_fn: object = print) -> None:
    """Run the server until Ctrl-C (blocking)."""
    context = ssl_context(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheme = "https" if context else "http"
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=context,
        access_log_class=PathOnlyAccessLogger,
        print=lambda *_: logging.getLogger("tlh.server").info(
            "tlh serving %s://%s:%s (data dir %s)",
            scheme,
            settings.host,
            settings.port,
            settings.data_dir,
        ),
    )
