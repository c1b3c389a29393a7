"""``tlh demo``: the server on a throw-away data dir with a seeded practice."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from tlh.services import demo as demo_seed
from tlh.services import links
from tlh.services.bootstrap import init_practice, local_context
from tlh.services.context import staff_actor, utcnow
from tlh.services.staff import find_staff

from .run import start
from .settings import Settings

#: Called once the demo serves: (URL, admin token, hints, the live session's clinician's
#: token or "", the client's join link or "").
ReadyCallback = Callable[[str, str, list[str], str, str], None]
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
        actor = staff_actor(admin, "demo")
        practice = await demo_seed.seed(ctx, actor, utcnow())
    return token, practice


async def client_tokens(
    data_dir: Path, appointment_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """Tokens for the client page and the lead clinician's email (``DemoLinks``)."""
    async with local_context(data_dir) as ctx:
        admin = find_staff(ctx, ADMIN_EMAIL)
        actor = staff_actor(admin, "demo")
        made = await demo_seed.client_links(ctx, actor, appointment_id)
    return made.join, made.consent, made.lead


async def _run(
    host: str, port: int, on_ready: ReadyCallback, stop: threading.Event | None = None
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tlh-demo-"))
    try:
        token, practice = await prepare(data_dir)
        join, consent, lead = await client_tokens(data_dir, practice.next_telehealth)
        runner = await start(Settings(data_dir=data_dir, host=host, port=port))
        try:
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
            if join is not None and lead is not None:
                as_lead = f"TLH_TOKEN={practice.clinician_tokens[lead]}"
                hints += [
                    f"{links.link_url(url, join)}   # open as the client: consent, devices, wait",
                    f"{as_lead} tlh room watch      # the clinician sees them arrive",
                    f"{as_lead} tlh session start {practice.next_telehealth}   # call page",
                    f"{as_lead} tlh room admit --all   # let them in",
                ]
            if consent is not None:
                hints.append(f"{links.link_url(url, consent)}   # a client's consent page")
            lead_token = practice.clinician_tokens.get(lead or "", "")
            on_ready(url, token, hints, lead_token, links.link_url(url, join) if join else "")
            if stop is None:
                await asyncio.Event().wait()
            else:
                await asyncio.to_thread(stop.wait)
        finally:
            await runner.cleanup()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_demo(
    on_ready: ReadyCallback,
    port: int = 8765,
    host: str = "127.0.0.1",
    stop: threading.Event | None = None,
) -> None:
    """Run the demo until Ctrl-C (or ``stop`` is set, when run in a thread); the data dir
    is removed afterwards."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(host, port, on_ready, stop))
