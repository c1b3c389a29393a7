"""``tlh session`` and ``tlh media probe`` against a real server."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from tlh.cli.commands.media import split_link
from tlh.cli.commands.session import blocking_reasons
from tlh.cli.exit import ExitStatus
from tlh.cli.main import app
from tlh.errors import InvalidInput

from .conftest import Live
from .room_helpers import book, cli, link_token, waiting

CALL_URL = re.compile(r"^https?://\S+/c#[A-Za-z0-9_-]{20,}\n$")


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


@pytest.mark.parametrize(
    "command", [("session", "start"), ("session", "end"), ("session", "list"), ("media", "probe")]
)
def test_every_command_has_help(command: tuple[str, str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], prog_name="tlh")
    assert result.exit_code == 0
    assert f"Usage: tlh {' '.join(command)}" in result.stdout


@pytest.mark.parametrize(
    ("details", "reasons"),
    [
        (
            [{"code": "window", "message": "the join window opens at 09:50"}],
            ["the join window opens at 09:50 (window)"],
        ),
        (
            {"blockers": [{"code": "consent", "message": "no consent"}, "x"]},
            ["no consent (consent)", "x"],
        ),
        (None, []),
        ("text", []),
    ],
)
def test_blocking_reasons_read_every_shape(details: Any, reasons: list[str]) -> None:
    assert blocking_reasons(details) == reasons


def test_a_probe_link_keeps_its_token_to_itself() -> None:
    assert split_link("https://clinic.example.org/j#SECRET") == (
        "https://clinic.example.org",
        "SECRET",
    )
    with pytest.raises(InvalidInput) as raised:
        split_link("https://clinic.example.org/j")
    assert "SECRET" not in raised.value.message


def test_probe_usage_and_bad_link_are_one_line(offline: Live) -> None:
    result = offline.run("media", "probe")
    assert result.exit_code == ExitStatus.USAGE
    bad = offline.run("media", "probe", "not-a-link#SECRET")
    assert bad.exit_code == ExitStatus.INVALID
    assert "SECRET" not in bad.stderr
    assert bad.stderr.startswith("error: the link must look like")


def test_probe_of_an_unreachable_server_is_exit_7_without_the_token(offline: Live) -> None:
    result = offline.run("media", "probe", f"{offline.url}/j#SECRETSECRET", "--wait", "1")
    assert result.exit_code == ExitStatus.UNAVAILABLE, result.stderr
    assert "SECRETSECRET" not in result.stdout + result.stderr


async def test_start_prints_the_call_url_and_a_qr_then_end(live: Live) -> None:
    booked = await book(live)
    token = booked.clinician_token
    started = ok(await cli(live, "session", "start", booked.appt_id, "--no-browser", token=token))
    assert CALL_URL.match(started.stdout), started.stdout
    assert re.search(r"session ses_[\w-]+ started", started.stderr)
    assert "▀" in started.stderr or "█" in started.stderr  # the terminal QR code

    listed = json.loads(ok(await cli(live, "session", "list", "--json", token=token)).stdout)
    mine = [s for s in listed["items"] if s["appointment_id"] == booked.appt_id]
    assert len(mine) == 1
    assert mine[0]["ended_at"] is None

    ended = ok(await cli(live, "session", "end", booked.appt_id, token=token))
    assert ended.stdout == f"{mine[0]['id']}\n"
    again = await cli(live, "session", "end", booked.appt_id, token=token)
    assert again.exit_code == ExitStatus.NOT_FOUND
    assert f"no open session for {booked.appt_id}" in again.stderr


async def test_start_opens_the_browser_when_it_can(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url) or True)
    booked = await book(live)
    started = ok(await cli(live, "session", "start", booked.appt_id, token=booked.clinician_token))
    assert opened == [started.stdout.strip()]
    assert "opened the call page" in started.stderr
    assert "█" not in started.stderr
    assert "▀" not in started.stderr


async def test_an_ineligible_start_lists_every_reason(live: Live) -> None:
    booked = await book(live, start=datetime.now(UTC) + timedelta(days=3), modality="in_person")
    result = await cli(live, "session", "start", booked.appt_id, token=booked.clinician_token)
    assert result.exit_code == ExitStatus.CONFLICT
    assert result.stdout == ""
    reasons = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(reasons) >= 2, result.stderr  # not telehealth, and outside the window
    assert result.stderr.startswith(f"error: {booked.appt_id} cannot start")


async def test_probe_joins_is_admitted_connects_and_reports(live: Live) -> None:
    from tlh.client import TlhClient
    from tlh.client.events import Connected, StaffEvent

    booked = await book(live)
    peer = await waiting(live, booked.appt_id)
    staff = TlhClient(live.url, booked.clinician_token)
    try:
        await staff.rooms.admit(peer.entry_id or "")
        await peer.wait_state("admitted", "in_session", within=5)
        secret = await link_token(live, booked.appt_id)
        async with staff.events() as stream:
            items = aiter(stream)
            assert await anext(items) == Connected()
            probe = asyncio.create_task(
                cli(live, "media", "probe", f"{live.url}/j#{secret}", "--seconds", "0.5", "--json")
            )

            async def arrival() -> str:
                async for event in items:
                    if (
                        isinstance(event, StaffEvent)
                        and event.type == "room.joined"
                        and event.data.get("entry_id") != peer.entry_id
                    ):
                        return str(event.data["entry_id"])
                raise AssertionError("the event stream ended")

            # A separate client: the stream's connection stays busy reading events.
            async with TlhClient(live.url, booked.clinician_token) as admitting:
                await admitting.rooms.admit(await asyncio.wait_for(arrival(), 10))
        result = ok(await asyncio.wait_for(probe, 30))
    finally:
        await peer.close()
        await staff.close()
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["peers"][0]["peer_id"] == peer.entry_id
    assert summary["peers"][0]["frames_received"]["video"] > 0
    assert summary["connected_after_s"] is not None
    assert secret not in result.stdout + result.stderr
    assert "waiting" in result.stderr
    assert "admitted" in result.stderr
