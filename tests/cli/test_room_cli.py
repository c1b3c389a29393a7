"""``tlh room`` against a real server, with headless participants waiting in the room."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.serving import free_port
from tlh.cli.exit import ExitStatus
from tlh.cli.main import app

from .conftest import Live
from .room_helpers import book, cli, waiting

COMMANDS = ["list", "watch", "admit", "deny", "return", "message", "transfer", "next"]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_every_room_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, ["room", command, "--help"], prog_name="tlh")
    assert result.exit_code == 0
    assert f"Usage: tlh room {command}" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["room", "admit"], "give an entry id or --all"),
        (["room", "admit", "ent_x", "--all"], "give an entry id or --all"),
        (["room", "message", "ent_x"], "give ENTRY TEXT, or --all TEXT"),
        (["room", "message", "--all", "a", "b"], "give ENTRY TEXT, or --all TEXT"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(offline: Live, args: list[str], message: str) -> None:
    result = offline.run(*args)
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_unreachable_server_is_one_line_exit_7(offline: Live) -> None:
    result = offline.run("room", "list")
    assert result.exit_code == ExitStatus.UNAVAILABLE
    assert result.stderr.startswith("error: cannot reach the tlh server")
    assert len(result.stderr.splitlines()) == 1


async def test_list_shows_who_waits_then_admit_lets_them_in(live: Live) -> None:
    booked = await book(live)
    participant = await waiting(live, booked.appt_id)
    try:
        data = json.loads(
            ok(
                await cli(live, "room", "list", "--clinician", booked.clinician_email, "--json")
            ).stdout
        )
        entries = [e for room in data["items"] for e in room["entries"]]
        assert [e["id"] for e in entries] == [participant.entry_id]
        assert entries[0]["state"] == "waiting"
        assert entries[0]["position"] == 1

        table = ok(await cli(live, "room", "list", token=booked.clinician_token)).stdout
        assert participant.entry_id in table
        assert "Ana" in table  # staff see the client's name

        admitted = ok(
            await cli(live, "room", "admit", participant.entry_id, token=booked.clinician_token)
        )
        # People read a name (and the id to act on), not an id alone.
        assert participant.entry_id in admitted.stdout
        assert "Ana" in admitted.stdout
        assert admitted.stderr.startswith("admitted Ana")
        await participant.wait_state("admitted", "in_session", within=5)

        again = await cli(live, "room", "admit", participant.entry_id, token=booked.clinician_token)
        assert again.exit_code == ExitStatus.CONFLICT
        assert "already admitted" in again.stderr
        assert len(again.stderr.splitlines()) == 1
    finally:
        await participant.close()


async def test_message_one_and_all_then_deny(live: Live) -> None:
    booked = await book(live)
    participant = await waiting(live, booked.appt_id)
    token = booked.clinician_token
    try:
        ok(
            await cli(
                live, "room", "message", participant.entry_id, "Running 5 minutes late", token=token
            )
        )
        await participant.wait_for(
            lambda: "Running 5 minutes late" in participant.messages, 5, "msg"
        )
        everyone = ok(await cli(live, "room", "message", "--all", "Nearly ready", token=token))
        assert "sent to 1 waiting" in everyone.stderr
        await participant.wait_for(lambda: "Nearly ready" in participant.messages, 5, "msg")

        denied = ok(await cli(live, "room", "deny", participant.entry_id, "--json", token=token))
        assert json.loads(denied.stdout)["state"] == "denied"
        await participant.wait_state("denied", "disconnected", within=5)
    finally:
        await participant.close()


async def test_admit_all_return_and_next(live: Live) -> None:
    booked = await book(live)
    token = booked.clinician_token
    first = await waiting(live, booked.appt_id)
    second = await waiting(live, booked.appt_id)
    try:
        both = ok(await cli(live, "room", "admit", "--all", token=token))
        assert {first.entry_id, second.entry_id} <= set(both.stdout.split())
        assert both.stdout.count("Ana") == 2
        await second.wait_state("admitted", "in_session", within=5)

        ok(await cli(live, "room", "return", second.entry_id, token=token))
        await second.wait_state("waiting", within=5)
        nxt = ok(await cli(live, "room", "next", token=token))
        assert second.entry_id in nxt.stdout
        assert "Ana" in nxt.stdout
        empty = await cli(live, "room", "next", token=token)
        assert empty.exit_code == ExitStatus.NOT_FOUND
    finally:
        await first.close()
        await second.close()


async def test_transfer_moves_the_entry_to_another_room(live: Live) -> None:
    booked = await book(live)
    other = await book(live)
    participant = await waiting(live, booked.appt_id)
    try:
        moved = ok(
            await cli(
                live,
                "room",
                "transfer",
                participant.entry_id,
                "--to",
                other.clinician_email,
                "--json",
            )
        )
        assert json.loads(moved.stdout)["clinician_id"] == other.clinician_id
        listed = json.loads(
            ok(
                await cli(live, "room", "list", "--clinician", other.clinician_email, "--json")
            ).stdout
        )
        assert participant.entry_id in [e["id"] for r in listed["items"] for e in r["entries"]]
    finally:
        await participant.close()


async def test_watch_streams_arrivals_as_json_lines_and_rings(live: Live) -> None:
    booked = await book(live)
    watcher = asyncio.create_task(
        cli(live, "room", "watch", "--json", "--count", "3", token=booked.clinician_token)
    )
    joined: list[Any] = []
    try:
        # Arrivals before the watcher is connected are not shown: keep arriving until
        # it has printed its three events (bounded by the attempts and the timeout).
        for _ in range(50):
            joined.append(await waiting(live, booked.appt_id))
            done, _ = await asyncio.wait({watcher}, timeout=0.2)
            if done:
                break
        result = ok(await asyncio.wait_for(watcher, 10))
    finally:
        for participant in joined:
            await participant.close()
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 3
    ours = {p.entry_id for p in joined}
    arrivals = [e for e in events if e["type"] == "room.joined" and e["data"]["entry_id"] in ours]
    assert arrivals, events
    assert set(arrivals[0]) == {"type", "at", "data"}
    assert "\a" in result.stderr


async def test_watch_lines_name_people_and_staff_from_the_api() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    import msgspec

    from tlh.api.events import StaffEvent
    from tlh.api.rooms import Rooms
    from tlh.cli.commands.room_watch import Names

    calls: list[str] = []

    class Practice:
        async def get(self) -> Any:
            return SimpleNamespace(timezone="America/New_York")

    class StaffList:
        async def list(self) -> Any:
            return [
                SimpleNamespace(id="stf_1", name="Dr Lee"),
                SimpleNamespace(id="stf_2", name="Ada"),
            ]

    class RoomList:
        async def list(self) -> Rooms:
            calls.append("rooms")
            entry = {
                "id": "ent_1",
                "clinician_id": "stf_1",
                "link_id": "lnk_1",
                "participant": "client",
                "channel": "email",
                "arrived_at": "2031-01-01T15:00:00Z",
                "state_since": "2031-01-01T15:00:00Z",
                "device_id": "d",
                "label": "Ana \x1b[2J",
            }
            return msgspec.convert(
                {"items": [{"clinician_id": "stf_1", "entries": [entry]}]}, Rooms
            )

    class Appointments:
        async def get(self, appointment_id: str) -> Any:
            calls.append("appointment")
            return SimpleNamespace(
                start=datetime(2031, 1, 1, 14, 0, tzinfo=UTC), client_ids=("cli_1",)
            )

    class Clients:
        async def get(self, client_id: str) -> Any:
            calls.append("client")
            return SimpleNamespace(name="Ana Client")

    api = SimpleNamespace(
        practice=Practice(),
        staff=StaffList(),
        rooms=RoomList(),
        appointments=Appointments(),
        clients=Clients(),
    )
    names = Names(api)  # type: ignore[arg-type]
    await names.load()
    at = datetime(2031, 1, 1, 15, 0, 5, tzinfo=UTC)
    line = await names.describe(
        StaffEvent(
            type="room.admitted",
            at=at,
            data={"entry_id": "ent_1", "clinician_id": "stf_1", "by": "stf_2"},
        )
    )
    assert line.split("  ")[0] == "10:00:05"  # the practice's zone
    assert line.split("  ")[1].strip() == "admitted"  # what happened, in words
    assert line.endswith("ent_1")  # the id to act on comes last
    assert "Ana \\x1b[2J" in line  # names are shown literally, never as escapes
    assert "(Dr Lee)" in line
    assert "by Ada" in line
    await names.describe(StaffEvent(type="room.left", at=at, data={"entry_id": "ent_1"}))
    assert calls == ["rooms"]  # known entries are not fetched again
    # An event showing its entry names it: nothing is fetched but its appointment's time.
    shown = {
        "entry_id": "ent_2",
        "entry": {"id": "ent_2", "label": "Bea", "appointment_id": "apt_1"},
    }
    line = await names.describe(StaffEvent(type="room.joined", at=at, data=shown))
    assert "Bea" in line
    assert "arrived" in line
    assert "for 09:00" in line  # the appointment's start in the practice's zone
    assert calls == ["rooms", "appointment"]
    # A session names its appointment by time and client, not by ids alone.
    started = {"session_id": "ses_1", "appointment_id": "apt_1", "clinician_id": "stf_1"}
    line = await names.describe(StaffEvent(type="session.started", at=at, data=started))
    assert "09:00 Ana Client" in line
    assert "apt_1" not in line
    assert line.endswith("ses_1")


class FixedPortServer:
    """The app on a chosen loopback port, so a restart comes back at the same URL."""

    def __init__(self, data_dir: Any, port: int) -> None:
        from tlh.server.settings import Settings

        from .conftest import ServerThread

        self.thread = ServerThread(Settings(data_dir=data_dir, port=port))
        self.running = False

    def start(self) -> None:
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.thread.stop()


async def test_watch_reconnects_after_a_server_restart(tmp_path: Any) -> None:
    """A real ``tlh`` process, read line by line: connected, lost, back, then an arrival."""
    import sys

    from tlh.services.bootstrap import init_practice

    data_dir = tmp_path / "data"
    token = await init_practice(data_dir, "Restart Practice", "UTC", "admin@example.org", "Ada")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    live = Live(url, token, data_dir, tmp_path / "config.toml")

    async def line(stream: Any) -> str:
        return str((await asyncio.wait_for(stream.readline(), 15)).decode())

    first, second = FixedPortServer(data_dir, port), FixedPortServer(data_dir, port)
    first.start()
    proc = None
    try:
        booked = await book(live)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tlh", "--url", url, "--token", booked.clinician_token,
            "room", "watch", "--json", "--count", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert await line(proc.stderr) == "watching (Ctrl-C stops)\n"

        first.stop()  # the watcher notices and retries with backoff
        assert await line(proc.stderr) == "connection lost; retrying in 0.5 s\n"
        second.start()
        notes = [await line(proc.stderr)]
        while notes[-1] != "reconnected\n":  # bounded: backoff 1, 2, 4 s... and 10 notes
            assert notes[-1].startswith("connection lost; retrying in"), notes
            notes.append(await line(proc.stderr))
            assert len(notes) < 10, notes
        participant = await waiting(live, booked.appt_id)
        try:
            event = json.loads(await line(proc.stdout))
        finally:
            await participant.close()
        assert event["type"] == "room.joined"
        assert event["data"]["entry_id"] == participant.entry_id
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        first.stop()
        second.stop()
