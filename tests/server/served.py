"""The real app on a loopback port, run as ``tlh serve`` runs it (its access log,
aiohttp's keep-alive and lingering defaults), for tests that need a raw socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tlh.server.accesslog import PathOnlyAccessLogger
from tlh.server.app import create_app
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice


@dataclass
class Served:
    app: web.Application
    host: str
    port: int
    token: str  # the admin's API token

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def serving(data_dir: Path, **settings: object) -> AsyncIterator[Served]:
    """A new practice in ``data_dir`` served on 127.0.0.1 until the block ends."""
    token = await init_practice(data_dir, "Test Practice", "America/New_York", "a@example.org")
    app = create_app(Settings(data_dir=data_dir, port=0, **settings))  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Served(app, "127.0.0.1", int(runner.addresses[0][1]), token)
    finally:
        await runner.cleanup()
