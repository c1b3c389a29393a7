"""``tlh demo``: the server on a throw-away data dir with a seeded practice."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tlh.messaging.file_transport import mail_drop_dir
from tlh.services import demo as demo_seed
from tlh.services import links
from tlh.services.bootstrap import init_practice, local_context
from tlh.services.context import staff_actor, utcnow
from tlh.services.staff import find_staff
from tlh.store.keys import KeySource, NewKeys

from .run import start, url_of
from .settings import Settings

ADMIN_EMAIL = "admin@example.org"


@dataclass(frozen=True)
class DemoInfo:
    """What a newcomer needs once the demo serves (the CLI words it: ``tlh demo``)."""

    url: str
    #: The throw-away data dir (removed when the demo stops).
    data_dir: Path
    admin_token: str
    #: Monday and Sunday of the seeded week, in the practice's zone.
    week: tuple[date, date]
    #: The telehealth appointment that can start now, its clinician's name and token.
    appointment_id: str | None = None
    clinician: str = ""
    clinician_token: str = ""
    #: The client's join link for that appointment, and a consent page's link.
    join_url: str = ""
    consent_url: str = ""


#: Called once the demo serves.
ReadyCallback = Callable[[DemoInfo], None]


def demo_key_file(data_dir: Path) -> Path:
    """The demo's key file: beside its throw-away data dir (never inside), removed with it."""
    return data_dir.with_name(f"{data_dir.name}.key")


async def prepare(
    data_dir: Path, tz: str = "America/New_York"
) -> tuple[str, demo_seed.DemoPractice]:
    """Initialise and seed a demo practice in ``data_dir``, encrypted as ``tlh init``
    makes one, its key file made for it (nothing to type); returns the admin token."""
    key_file = demo_key_file(data_dir)
    token = await init_practice(
        data_dir, "Harbour Counselling (demo)", tz, ADMIN_EMAIL, "Demo Admin",
        encrypt=NewKeys(key_file=key_file),
    )  # fmt: skip
    async with local_context(data_dir, KeySource(key_file=key_file)) as ctx:
        admin = await find_staff(ctx, ADMIN_EMAIL)
        actor = staff_actor(admin, "demo")
        practice = await demo_seed.seed(ctx, actor, utcnow())
    return token, practice


async def client_tokens(
    data_dir: Path, appointment_id: str | None
) -> tuple[str | None, str | None, str | None]:
    """Tokens for the client page and the lead clinician's email (``DemoLinks``)."""
    async with local_context(data_dir, KeySource(key_file=demo_key_file(data_dir))) as ctx:
        admin = await find_staff(ctx, ADMIN_EMAIL)
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
        keys = KeySource(key_file=demo_key_file(data_dir))
        settings = Settings(data_dir=data_dir, host=host, port=port, keys=keys)
        runner = await start(settings)
        try:
            url = url_of(settings, runner, tls=False)
            lead_token = practice.clinician_tokens.get(lead or "", "")
            info = DemoInfo(
                url=url,
                data_dir=data_dir,
                admin_token=token,
                week=(practice.monday, practice.monday + timedelta(days=6)),
                appointment_id=practice.next_telehealth,
                clinician=practice.clinician_names.get(lead or "", ""),
                clinician_token=lead_token,
                join_url=links.link_url(url, join) if join else "",
                consent_url=links.link_url(url, consent) if consent else "",
            )
            on_ready(info)
            if stop is None:
                await asyncio.Event().wait()
            else:
                await asyncio.to_thread(stop.wait)
        finally:
            await runner.cleanup()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        # The file transport's mail drop sits beside the data dir, not inside it.
        shutil.rmtree(mail_drop_dir(data_dir), ignore_errors=True)
        demo_key_file(data_dir).unlink(missing_ok=True)


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
