"""``tlh demo``: the server on a throw-away data dir with a seeded practice."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from tlh.domain.links import Channel
from tlh.domain.models import Client
from tlh.services import demo as demo_seed
from tlh.services import links
from tlh.services.bootstrap import init_practice, local_context
from tlh.services.context import Actor, utcnow
from tlh.services.staff import find_staff
from tlh.store.base import Put

from .accesslog import PathOnlyAccessLogger
from .app import create_app
from .settings import Settings

ReadyCallback = Callable[[str, str, list[str]], None]
ADMIN_EMAIL = "admin@example.org"


async def prepare(
    data_dir: Path, tz: str = "America/New_York"
) -> tuple[str, demo_seed.DemoPractice]:
    """Initialise and seed a demo practice in ``data_dir``; returns the admin token."""
    token = await init_practice(
        data_dir, "Harbour Counselling (demo)", tz, ADMIN_EMAIL, "Demo Admin"
    )
    async with local_context(data_dir) as ctx:
        admin = find_staff(ctx, ADMIN_EMAIL)
        actor = Actor(kind="staff", id=admin.id, role=admin.role, source="demo")
        practice = await demo_seed.seed(ctx, actor, utcnow())
    return token, practice


async def consent_token(data_dir: Path) -> str | None:
    """A consent link's token for the first demo client (to open the client page)."""
    async with local_context(data_dir) as ctx:
        clients = sorted(c.id for c in ctx.store.all("clients") if isinstance(c, Client))
        if not clients:
            return None
        admin = find_staff(ctx, ADMIN_EMAIL)
        actor = Actor(kind="staff", id=admin.id, role=admin.role, source="demo")
        made = links.consent_link(ctx, actor, clients[0], Channel.COPY)
        await ctx.store.commit([Put("links", made.link)])
        await ctx.audit.append(actor, "link.create", made.link.id)
        return made.token


async def _run(host: str, port: int, on_ready: ReadyCallback) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tlh-demo-"))
    try:
        token, practice = await prepare(data_dir)
        consent = await consent_token(data_dir)
        runner = web.AppRunner(
            create_app(Settings(data_dir=data_dir, host=host, port=port)),
            access_log_class=PathOnlyAccessLogger,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            url = f"http://{host}:{port}"
            env = f"export TLH_URL={url} TLH_TOKEN={token}"
            hints = [
                env,
                "tlh appt list                      # today's diary",
                "tlh appt list --from MON --to SUN  # the week (dates as YYYY-MM-DD)",
                f"tlh appt explain {practice.next_telehealth}   # can this session start?",
                "tlh client list",
                "tlh staff list",
                "tlh audit verify",
            ]
            if consent is not None:
                hints.append(f"{links.link_url(url, consent)}   # a client's consent page")
            on_ready(url, token, hints)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_demo(on_ready: ReadyCallback, port: int = 8765, host: str = "127.0.0.1") -> None:
    """Run the demo until Ctrl-C; the data dir is removed afterwards."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(host, port, on_ready))
