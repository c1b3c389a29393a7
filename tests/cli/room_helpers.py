"""Shared steps of the room/session/media CLI tests: a clinician, an appointment starting
now, its join link, and headless participants waiting in the room."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.client import TlhClient

from .conftest import Live


@dataclass
class Booked:
    """An appointment starting now, for a consented client, with one clinician."""

    appt_id: str
    client_id: str
    clinician_email: str
    clinician_id: str
    clinician_token: str


async def book(
    live: Live, *, start: datetime | None = None, modality: str = "telehealth"
) -> Booked:
    """A new clinician (unique email) and an appointment with a consented client."""
    email = f"clin-{secrets.token_hex(4)}@example.org"
    async with TlhClient(live.url, live.token) as admin:
        made = await admin.staff.add(email, "Dr Lee", "clinician", telehealth=True)
        client = await admin.clients.add(f"Ana {secrets.token_hex(3)}", email="ana@example.org")
        await admin.consents.verbal(client.id, "agreed by phone")
        when = start or datetime.now(UTC) - timedelta(minutes=1)
        appt = (
            await admin.appointments.add(
                client_ids=[client.id],
                clinicians=[email],
                start=when.isoformat(),
                duration_min=50,
                modality=modality,
                status="confirmed",
            )
        )[0]
    return Booked(appt.id, client.id, email, made.staff.id, made.token)


async def link_token(live: Live, appt_id: str) -> str:
    """A fresh join link's token (the part after ``#``)."""
    async with TlhClient(live.url, live.token) as admin:
        made = await admin.invites.link(appt_id)
    return made.url.split("#", 1)[1]


async def waiting(live: Live, appt_id: str) -> Any:
    """A headless participant waiting in the room through a fresh link."""
    from tlh.media.participant import Participant

    participant = Participant(live.url, link_token=await link_token(live, appt_id))
    await participant.start()
    await participant.wait_state("waiting", within=5)
    return participant


async def cli(live: Live, *args: str, token: str | None = None) -> Any:
    """Run ``tlh`` on a thread so this loop's participants keep answering meanwhile."""
    return await asyncio.to_thread(live.run, *args, token=token)
