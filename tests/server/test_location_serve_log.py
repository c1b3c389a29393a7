"""The client's location never reaches the log of ``tlh serve`` (issue 13, item 7): a whole
visit in a real ``tlh serve`` process, a mistyped phone number included, with every line
it writes (the access log and the rest, text and JSON) read back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.serving import free_port, stop, wait_healthy
from tlh.services.bootstrap import init_practice

pytestmark = pytest.mark.timeout(120)

PLACE = "77 Lighthouse Road, Rockland, ME"
PHONE_TYPED = "207.555.0199"
PHONE = "+12075550199"
SECRETS = (PLACE, "Lighthouse", PHONE, PHONE_TYPED, "5550199", "555.0199")


class Visit:
    """JSON calls to the server as staff, and the client's side through its link."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url = http, url
        self.staff = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        sent = {**self.staff, **headers} if "Cookie" not in headers else headers
        async with self.http.request(method, self.url + path, json=body, headers=sent) as r:
            answer = await r.json() if r.status != 204 else None
            return r.status, answer


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_visit_with_a_location_leaves_no_trace_of_it_in_the_log(
    tmp_path: Path, log_format: str
) -> None:
    data_dir = tmp_path / "data"
    token = await init_practice(data_dir, "Harbour", "America/New_York", "a@example.org")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir)]
    argv += ["--port", str(port), "--log-format", log_format]
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        await asyncio.to_thread(wait_healthy, url, proc, log=log)
        async with aiohttp.ClientSession() as http:
            await _visit(Visit(http, url, token))
    finally:
        stop(proc)
    written = log.read_text(errors="replace")
    assert "/api/v1/link/location" in written  # the access log is in it
    if log_format == "json":
        assert all(json.loads(line) for line in written.splitlines() if line.strip())
    for secret in SECRETS:
        assert secret not in written, secret


async def _visit(visit: Visit) -> None:
    origin = {"Origin": visit.url}
    code, made = await visit.call(
        "POST",
        "/api/v1/staff",
        {"email": "lee@example.org", "name": "Lee", "role": "clinician", "telehealth": True},
    )
    assert code == 201, made
    lee = {"Authorization": f"Bearer {made['token']}"}
    code, _ = await visit.call("PATCH", "/api/v1/practice", {"ask_location": "telehealth"})
    assert code == 200
    code, client = await visit.call("POST", "/api/v1/clients", {"name": "Ana", "email": "a@x.org"})
    assert code == 201, client
    await visit.call("POST", "/api/v1/consents/verbal", {"client_id": client["id"], "note": "ok"})
    code, appts = await visit.call(
        "POST",
        "/api/v1/appointments?notify=0",
        {
            "client_ids": [client["id"]],
            "clinicians": ["lee@example.org"],
            "start": datetime.now(UTC).isoformat(),
            "duration_min": 50,
            "modality": "telehealth",
            "status": "confirmed",
        },
    )
    assert code == 201, appts
    appointment_id = appts["items"][0]["id"]
    code, made = await visit.call(
        "POST", "/api/v1/invites/link", {"appointment_id": appointment_id}
    )
    assert code == 201, made
    async with visit.http.post(
        visit.url + "/api/v1/link/redeem",
        json={"token": made["url"].rsplit("#", 1)[1]},
        headers=origin,
    ) as redeemed:
        assert redeemed.status == 200
        cookie = {"Cookie": f"__Host-tlh_link={redeemed.cookies['__Host-tlh_link'].value}"}
    page = {**origin, **cookie}

    ws = await visit.http.ws_connect(visit.url + "/api/v1/link/ws", headers=page)
    await ws.send_json({"type": "hello", "device_id": "phone"})
    async with asyncio.timeout(10):
        assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 4428

    typo = {"place": PLACE, "phone": PHONE_TYPED[:-2]}
    code, err = await visit.call("POST", "/api/v1/link/location", typo, **page)
    assert code == 422, err
    given = {"place": PLACE, "phone": PHONE_TYPED}
    assert (await visit.call("POST", "/api/v1/link/location", given, **page))[0] == 204
    code, shown = await visit.call("GET", "/api/v1/link/location", **page)
    assert (code, shown["phone"]) == (200, PHONE)

    async with visit.http.ws_connect(visit.url + "/api/v1/link/ws", headers=page) as ws:
        await ws.send_json({"type": "hello", "device_id": "phone"})
        status = await ws.receive_json(timeout=10)
        assert status["state"] == "waiting"
        code, admitted = await visit.call(
            "POST", f"/api/v1/rooms/entries/{status['entry_id']}/admit", {}, **lee
        )
        assert code == 200, admitted
        assert admitted["location"]["place"] == PLACE
        code, rooms = await visit.call("GET", "/api/v1/rooms", **lee)
        assert code == 200
        [entry] = rooms["items"][0]["entries"]
        assert entry["location"]["phone"] == PHONE
        code, sessions = await visit.call("GET", "/api/v1/sessions", **lee)
        [segment] = sessions["items"]
        code, _ = await visit.call("POST", f"/api/v1/sessions/{segment['id']}/end", {}, **lee)
        assert code == 200
    # The report's days are the practice's: at 01:00 UTC it is still yesterday there.
    started = datetime.fromisoformat(segment["started_at"])
    day = started.astimezone(ZoneInfo("America/New_York")).date().isoformat()
    for fmt in ("json", "csv"):
        async with visit.http.get(
            f"{visit.url}/api/v1/reports/sessions?from={day}&to={day}&format={fmt}",
            headers=visit.staff,
        ) as report:
            assert report.status == 200
            assert PLACE in await report.text()
