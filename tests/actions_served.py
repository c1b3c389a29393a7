"""A practice for the one-tap confirm/cancel link tests, served by ``tlh serve`` as a
practice runs it, with the day-before reminders already delivered to the mail drop.

The practice is seeded into the data dir before the server starts, so the reminder
clock's first tick (at start-up) finds the reminders due: no waiting for the next one.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from tests.maildrop import text_of, wait_delivered
from tests.seeding import seed
from tests.serving import free_port, stop, wait_healthy
from tlh.domain.models import Appointment, Client, Modality, Policy, Reminder, Role, Staff
from tlh.services.bootstrap import init_practice, local_context
from tlh.store.base import POLICY_ID, Put

ACTION = re.compile(r"/a#([A-Za-z0-9_-]{40,})")
NOW = datetime.now(UTC).replace(microsecond=0)
#: Late (inside the default 24 late-cancel hours), not late, moved later, texted.
HOURS = {"apt_late": 20, "apt_ahead": 30, "apt_moved": 32, "apt_text": 34}


@dataclass
class Served:
    url: str
    data_dir: Path
    admin: dict[str, str]
    #: The delivered reminder's (confirm URL, cancel URL) by appointment id.
    links: dict[str, tuple[str, str]]
    #: The reminder messages as the outbox keeps them (by appointment id).
    stored: dict[str, dict[str, Any]]


def _appt(appt_id: str, client_id: str) -> Appointment:
    return Appointment(
        id=appt_id,
        modality=Modality.TELEHEALTH,
        clinician_ids=("stf_lee",),
        client_ids=(client_id,),
        start=NOW + timedelta(hours=HOURS[appt_id]),
        duration_min=50,
        created_at=NOW,
        updated_at=NOW,
    )


async def _seed(data_dir: Path, language: str | None) -> str:
    token = await init_practice(data_dir, "Harbour", "America/New_York", "admin@example.org")
    async with local_context(data_dir) as ctx:
        policy = msgspec.structs.replace(
            ctx.policy(), reminder_email_hours=48, sms_reminders_include_link=True
        )
        lee = Staff(
            id="stf_lee",
            email="lee@example.org",
            name="Dr. Lee",
            role=Role.CLINICIAN,
            telehealth=True,
            created_at=NOW,
            updated_at=NOW,
        )
        ana = Client(id="cli_ana", name="Ana Client", email="ana@example.org", language=language, created_at=NOW, updated_at=NOW)  # fmt: skip
        tex = Client(
            id="cli_tex",
            name="Tex Client",
            phone="+14155552671",
            reminders=(Reminder.SMS,),
            created_at=NOW,
            updated_at=NOW,
        )
        ops = [Put(policy), Put(lee), Put(ana), Put(tex)]
        ops += [Put(_appt(a, "cli_ana")) for a in HOURS if a != "apt_text"]
        ops.append(Put(_appt("apt_text", "cli_tex")))
        await seed(ctx.store, ops)
        assert await ctx.store.get(Policy, POLICY_ID) is not None
    return token


async def _reminders(url: str, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    async with aiohttp.ClientSession(url, headers=admin) as http, asyncio.timeout(20):
        while True:
            async with http.get("/api/v1/outbox") as response:
                items = (await response.json())["items"]
            found = {m["appointment_id"]: m for m in items if m["kind"] == "reminder_24h"}
            if len(found) == len(HOURS) and all(m["status"] == "sent" for m in found.values()):
                return found
            await asyncio.sleep(0.05)  # the server is another process: poll its answer


@contextmanager
def served_practice(root: Path, language: str | None = None) -> Iterator[Served]:
    """The practice served from ``root``, its reminders delivered; stopped after. Ana's
    ``language`` as given (none recorded by default)."""
    data_dir = root / "data"
    token = asyncio.run(_seed(data_dir, language))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "serve.log"
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc, log=log)
        admin = {"Authorization": f"Bearer {token}"}
        stored = asyncio.run(_reminders(url, admin))
        links: dict[str, tuple[str, str]] = {}
        for appt_id, message in stored.items():
            text = text_of(wait_delivered(data_dir, message["id"]))
            confirm, cancel = ACTION.findall(text)
            links[appt_id] = (f"{url}/a#{confirm}", f"{url}/a#{cancel}")
        yield Served(url, data_dir, admin, links, stored)
    finally:
        stop(proc)
    assert proc.returncode == 0, log.read_text()
