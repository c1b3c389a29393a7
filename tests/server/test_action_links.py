"""One-tap confirm and cancel links in the day-before reminder (issue 13, item 4), against
``tlh serve`` as a practice runs it: the reminder clock queues the reminder, the outbox
writes it to the mail drop with working links, and the links are followed from there.

The practice is seeded into the data dir before the server starts, so the clock's first
tick (at start-up) finds the reminders due: no waiting for the next one.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from tests.maildrop import text_of, wait_delivered
from tests.seeding import seed
from tests.serving import free_port, stop, wait_healthy
from tlh.domain.models import Appointment, Client, Modality, Policy, Reminder, Role, Staff
from tlh.services.bootstrap import init_practice, local_context
from tlh.store.base import POLICY_ID, Put

pytestmark = pytest.mark.timeout(120)

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


async def _seed(data_dir: Path) -> str:
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
        ana = Client(id="cli_ana", name="Ana Client", email="ana@example.org", created_at=NOW, updated_at=NOW)  # fmt: skip
        tex = Client(
            id="cli_tex",
            name="Tex Client",
            phone="+14155552671",
            reminders=(Reminder.SMS,),
            created_at=NOW,
            updated_at=NOW,
        )
        ops = [Put("policy", policy), Put("staff", lee), Put("clients", ana), Put("clients", tex)]
        ops += [Put("appointments", _appt(a, "cli_ana")) for a in HOURS if a != "apt_text"]
        ops.append(Put("appointments", _appt("apt_text", "cli_tex")))
        await seed(ctx.store, ops)
        assert isinstance(ctx.store.get("policy", POLICY_ID), Policy)
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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("actions")
    data_dir = root / "data"
    token = asyncio.run(_seed(data_dir))
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


async def _post(served: Served, path: str, url: str, origin: str | None = "self") -> Any:
    headers = {} if origin is None else {"Origin": served.url if origin == "self" else origin}
    token = url.rsplit("#", 1)[1]
    async with (
        aiohttp.ClientSession(served.url) as http,
        http.post(path, json={"token": token}, headers=headers) as response,
    ):
        return response.status, await response.json()


async def _status(served: Served, appt_id: str) -> str:
    async with (
        aiohttp.ClientSession(served.url, headers=served.admin) as http,
        http.get(f"/api/v1/appointments/{appt_id}") as response,
    ):
        return str((await response.json())["status"])


async def test_the_reminder_carries_two_single_purpose_links_and_stores_no_token(
    served: Served,
) -> None:
    confirm, cancel = served.links["apt_late"]
    assert confirm != cancel
    message = served.stored["apt_late"]
    assert message["channel"] == "email"
    kept = msgspec.json.encode(message).decode()
    for url in (confirm, cancel):
        assert "/a#" in url
        assert url.rsplit("#", 1)[1] not in kept  # the outbox holds placeholders only
    # The HTML part carries the same links (the email's buttons).
    raw = wait_delivered(served.data_dir, message["id"]).read_text()
    assert confirm.rsplit("#", 1)[1] in raw.replace("=\n", "")
    on_disk = b"".join(p.read_bytes() for p in served.data_dir.rglob("*") if p.is_file())
    assert confirm.rsplit("#", 1)[1].encode() not in on_disk
    assert cancel.rsplit("#", 1)[1].encode() not in on_disk


async def test_opening_the_page_and_looking_change_nothing(served: Served) -> None:
    confirm, _ = served.links["apt_ahead"]
    async with aiohttp.ClientSession() as http, http.get(confirm) as response:
        assert response.status == 200  # what a mail scanner fetches: the page, no token
        assert response.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self';" in response.headers["Content-Security-Policy"]
        assert "Confirm" not in await response.text()  # the words come from the look-up
    status, view = await _post(served, "/api/v1/actions/look", confirm)
    assert status == 200
    assert (view["action"], view["ready"], view["clinician_name"]) == ("confirm", True, "Dr. Lee")
    assert view["date"]
    assert "late" not in view
    assert await _status(served, "apt_ahead") == "scheduled"


async def test_a_foreign_origin_changes_nothing(served: Served) -> None:
    confirm, cancel = served.links["apt_ahead"]
    for url in (confirm, cancel):
        for origin in (None, "https://evil.example"):
            status, answer = await _post(served, "/api/v1/actions/use", url, origin)
            assert status == 403, answer
    assert await _status(served, "apt_ahead") == "scheduled"


async def test_confirm_then_a_replay_is_409_and_then_a_late_cancel(served: Served) -> None:
    confirm, cancel = served.links["apt_late"]
    status, done = await _post(served, "/api/v1/actions/use", confirm)
    assert (status, done) == (200, {"action": "confirm", "status": "confirmed", "late": False})
    assert await _status(served, "apt_late") == "confirmed"
    status, answer = await _post(served, "/api/v1/actions/use", confirm)
    assert status == 409
    assert answer["error"]["code"] == "action_refused"
    assert answer["error"]["details"] == {"reason": "used"}
    assert await _status(served, "apt_late") == "confirmed"
    # 20 hours ahead, inside late_cancel_hours (24): a late cancellation.
    status, done = await _post(served, "/api/v1/actions/use", cancel)
    assert (status, done) == (200, {"action": "cancel", "status": "late_cancelled", "late": True})
    day = (NOW + timedelta(hours=20)).astimezone().date()
    async with aiohttp.ClientSession(served.url, headers=served.admin) as http:
        first, last = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
        async with http.get(f"/api/v1/reports/attendance?from={first}&to={last}") as response:
            rows = (await response.json())["items"]
        outcome = {r["appointment_id"]: r["outcome"] for r in rows}
        assert outcome["apt_late"] == "late_cancelled"
        async with http.get("/api/v1/outbox") as response:
            items = (await response.json())["items"]
        told = [
            m for m in items if m["appointment_id"] == "apt_late" and m["kind"] == "cancellation"
        ]
        assert [m["to"] for m in told] == ["ana@example.org"]  # the usual cancellation
        async with http.get("/api/v1/audit?limit=10000") as response:
            entries = (await response.json())["items"]
        by = [
            (e["actor"]["kind"], e["actor"]["id"], e["target"])
            for e in entries
            if e["action"] == "appointment.status.late_cancelled"
        ]
        assert by == [("client", "cli_ana", "apt_late")]  # the client who acted


async def test_a_confirm_link_after_cancellation_is_refused(served: Served) -> None:
    confirm, cancel = served.links["apt_ahead"]
    status, done = await _post(served, "/api/v1/actions/use", cancel)
    assert (status, done["status"], done["late"]) == (200, "cancelled", False)
    status, view = await _post(served, "/api/v1/actions/look", confirm)
    assert (status, view["ready"], view["reason"]) == (200, False, "cancelled")
    assert "date" not in view
    status, answer = await _post(served, "/api/v1/actions/use", confirm)
    assert status == 409
    assert answer["error"]["details"] == {"reason": "cancelled"}
    assert "cancelled" in answer["error"]["message"]
    status, answer = await _post(served, "/api/v1/actions/use", cancel)  # cancelling twice
    assert (status, answer["error"]["details"]) == (409, {"reason": "used"})
    assert await _status(served, "apt_ahead") == "cancelled"


async def test_a_link_of_a_moved_visit_is_gone(served: Served) -> None:
    confirm, _ = served.links["apt_moved"]
    later = (NOW + timedelta(hours=40)).isoformat()
    async with (
        aiohttp.ClientSession(served.url, headers=served.admin) as http,
        http.patch("/api/v1/appointments/apt_moved?notify=0", json={"start": later}) as response,
    ):
        assert response.status == 200, await response.text()
    status, answer = await _post(served, "/api/v1/actions/use", confirm)
    assert status == 410
    assert (answer["error"]["code"], answer["error"]["details"]) == (
        "link_expired",
        {"reason": "moved"},
    )
    assert await _status(served, "apt_moved") == "scheduled"


async def test_the_text_reminder_carries_the_links_when_texts_may(served: Served) -> None:
    assert served.stored["apt_text"]["channel"] == "sms"
    confirm, _ = served.links["apt_text"]
    status, done = await _post(served, "/api/v1/actions/use", confirm)
    assert (status, done["status"]) == (200, "confirmed")


async def test_wrong_tokens_are_rate_limited_and_a_good_one_still_works(served: Served) -> None:
    bad = f"{served.url}/a#{'x' * 43}"
    answers = [await _post(served, "/api/v1/actions/use", bad) for _ in range(10)]
    assert {s for s, _ in answers} == {404}
    assert answers[0][1]["error"]["code"] == "invalid_link"
    status, _ = await _post(served, "/api/v1/actions/look", bad)
    assert status == 429
    _, cancel = served.links["apt_text"]
    status, view = await _post(served, "/api/v1/actions/look", cancel)
    assert (status, view["ready"]) == (200, True)
