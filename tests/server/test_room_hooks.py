"""Hooks: a command and a URL hear room events; a broken hook never holds up the room."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tlh.domain.audience import EVERYONE
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice
from tlh.services.events import EventBus
from tlh.services.hooks import HookRunner

from .conftest import Practice, serve_app
from .outreach_helpers import add_clinician
from .rooms_helpers import WAIT_S, guest

# Appends its stdin as one line to the file named in argv[1].
WRITER = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"


async def _wait_for_lines(path: Path, n: int) -> list[dict[str, Any]]:
    async def poll() -> list[dict[str, Any]]:
        while True:
            if path.exists():
                lines = path.read_text().splitlines()
                if len(lines) >= n:
                    return [json.loads(line) for line in lines]
            await asyncio.sleep(0.02)  # polling a file another process writes

    return await asyncio.wait_for(poll(), WAIT_S * 2)


async def test_command_hook_gets_room_events_on_stdin(tmp_path: Path, aiohttp_client: Any) -> None:
    out = tmp_path / "hook.jsonl"
    data_dir = tmp_path / "data"
    admin_token = await init_practice(data_dir, "P", "UTC", "admin@example.org")
    settings = Settings(
        data_dir=data_dir,
        port=0,
        hooks_command=(sys.executable, "-c", WRITER, str(out)),
        hooks_events=("room.joined",),
    )
    client = await serve_app(aiohttp_client, settings)
    practice = Practice(client, data_dir, {"admin": admin_token}, {})
    await add_clinician(practice, "lee@example.org", "Lee")
    peer, hello = await guest(practice, display_name="Sam Guest")
    [event] = await _wait_for_lines(out, 1)
    assert event["type"] == "room.joined"
    assert event["data"]["entry_id"] == hello["entry_id"]
    # Ids only: the guest's typed name never reaches the hook.
    assert "Sam" not in json.dumps(event)
    # Only the configured events: leaving is not delivered.
    await peer.send({"type": "leave"})
    await peer.next("status", state="left")
    assert len(out.read_text().splitlines()) == 1


async def test_url_hook_receives_a_post_and_failures_do_not_block(tmp_path: Path) -> None:
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await got.put(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    bus = EventBus()
    failing = HookRunner(bus, command=("/nonexistent/program",))
    hooks = HookRunner(bus, url=str(server.make_url("/hook")), timeout_s=2)
    try:
        await failing.start()
        await hooks.start()
        bus.publish("session.started", {"session_id": "ses_1"}, EVERYONE)  # not a room.* event
        bus.publish("room.admitted", {"entry_id": "ent_1", "by": "stf_1"}, EVERYONE)
        posted = await asyncio.wait_for(got.get(), WAIT_S)
        assert posted["type"] == "room.admitted"
        assert posted["data"] == {"entry_id": "ent_1", "by": "stf_1"}
        assert got.empty()
    finally:
        await hooks.close()
        await failing.close()
        await server.close()


async def test_a_hanging_command_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    hooks = HookRunner(
        bus, command=(sys.executable, "-c", "import time; time.sleep(30)"), timeout_s=0.3
    )
    await hooks.start()
    try:
        with caplog.at_level(logging.WARNING, logger="tlh.services.hooks"):
            bus.publish("room.joined", {"entry_id": "ent_secret_1"}, EVERYONE)

            async def cut_off() -> None:
                while "timed out" not in caplog.text:
                    await asyncio.sleep(0.02)  # polling the log the runner writes to

            await asyncio.wait_for(cut_off(), WAIT_S)
        # Failures are logged without the event's payload.
        assert "ent_secret_1" not in caplog.text
    finally:
        await hooks.close()
