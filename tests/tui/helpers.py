"""Steps shared by the dashboard tests: waiting for conditions, the rendered text,
participants arriving through real join links, and a dashboard with fakes injected,
running against the practice's server (``running``) with someone waiting (``waiting``)."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.pilot import Pilot

from tlh.client import TlhClient
from tlh.tui.app import DashboardApp

from .conftest import Practice

WAIT_S = 8.0


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds; fail after ``WAIT_S``."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def screen_text(app: DashboardApp) -> str:
    """What the terminal shows now, as plain text (from the SVG screenshot)."""
    svg = app.export_screenshot()
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(lines)).replace("\xa0", " ")


class Fakes:
    """The bell and the browser, counted instead of rung and opened."""

    def __init__(self, browser: bool = True) -> None:
        self.rings = 0
        self.opened: list[str] = []
        self.browser = browser

    def bell(self) -> None:
        self.rings += 1

    def open(self, url: str) -> bool:
        self.opened.append(url)
        return self.browser


def dashboard(client: TlhClient, fakes: Fakes, **kw: Any) -> DashboardApp:
    return DashboardApp(client, opener=fakes.open, bell=fakes.bell, **kw)


async def arrive(practice: Practice, display_name: str | None = None) -> Any:
    """A headless participant in the room: the client through a join link, or a guest."""
    from tlh.media.participant import Participant

    async with practice.admin() as admin:
        if display_name is None:
            made = await admin.invites.link(practice.appt_id)
        else:
            made = await admin.invites.guest(practice.clinician_email)
    participant = Participant(
        practice.url,
        link_token=made.url.split("#", 1)[1],
        display_name=display_name,
        audio=False,
        video=False,
    )
    await participant.start()
    await asyncio.wait_for(participant.wait_state("waiting", within=WAIT_S), WAIT_S + 1)
    return participant


@asynccontextmanager
async def running(
    practice: Practice,
    size: tuple[int, int],
    fakes: Fakes | None = None,
    *,
    notifications: bool = False,
    synced: bool = True,
    **kw: Any,
) -> AsyncIterator[tuple[DashboardApp, Pilot[None]]]:
    """The clinician's dashboard under ``run_test``, after its first sync unless
    ``synced=False``: ``(app, pilot)``; its client is ``app.client``."""
    async with practice.clinician() as client:
        app = dashboard(client, fakes or Fakes(), **kw)
        async with app.run_test(size=size, notifications=notifications) as pilot:
            if synced:
                await until(pilot, app.feed.synced.is_set, "the first sync")
            yield app, pilot


@asynccontextmanager
async def waiting(
    pilot: Pilot[Any], practice: Practice, display_name: str | None = None
) -> AsyncIterator[Any]:
    """Someone arrives (as ``arrive``) and is in the dashboard's list; closed on the way out."""
    app = pilot.app
    assert isinstance(app, DashboardApp)
    person = await arrive(practice, display_name)
    try:
        await until(pilot, lambda: person.entry_id in app.state.entries, "the arrival")
        yield person
    finally:
        await person.close()


async def at_midday(practice: Practice) -> None:
    """Put the practice in a time zone where it is now about noon, so that "earlier
    today" and "later today" stay on today's schedule whatever the hour the test runs
    (in New York, ten minutes ago is yesterday for the first ten minutes of the day)."""
    ahead = 12 - datetime.now(UTC).hour  # hours east of UTC: -11 to +12
    zone = f"Etc/GMT{-ahead:+d}" if ahead else "UTC"  # Etc/GMT-5 is five hours east
    async with practice.admin() as admin:
        await admin.practice.update(timezone=zone)


async def booked(
    practice: Practice,
    name: str,
    start_in: timedelta,
    *,
    duration_min: int = 50,
    consent: bool = True,
    status: str = "confirmed",
) -> tuple[str, str]:
    """Another telehealth appointment of the practice's clinician, for a new client
    named ``name``: ``(appointment id, client id)``."""
    async with practice.admin() as admin:
        client = await admin.clients.add(name, email="someone@example.org")
        if consent:
            await admin.consents.verbal(client.id, "agreed by phone")
        appt = await admin.appointments.add(
            client_ids=[client.id],
            clinicians=[practice.clinician_email],
            start=(datetime.now(UTC) + start_in).isoformat(),
            duration_min=duration_min,
            modality="telehealth",
            status=status,
        )
    return appt[0].id, client.id


async def link_of(practice: Practice, appt_id: str) -> str:
    """A new join link of one appointment: its token."""
    async with practice.admin() as admin:
        made = await admin.invites.link(appt_id)
    return str(made.url.split("#", 1)[1])


async def arrive_with(practice: Practice, token: str, device_id: str | None = None) -> Any:
    """A headless participant waiting through the join link ``token`` (from the device
    ``device_id``: the same link from a second device is its own entry)."""
    from tlh.media.participant import Participant

    participant = Participant(
        practice.url, link_token=token, device_id=device_id, audio=False, video=False
    )
    await participant.start()
    await asyncio.wait_for(participant.wait_state("waiting", within=WAIT_S), WAIT_S + 1)
    return participant


def lines_with(app: DashboardApp, text: str) -> list[str]:
    """The screen's lines that show ``text``."""
    return [line for line in screen_text(app).splitlines() if text in line]
