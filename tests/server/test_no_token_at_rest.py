"""No live token at rest (issue 12, item 3): after invitations by email (a real SMTP
server) and SMS (a local gateway), a consent recorded through its link, and staff tokens
issued, not one byte of the data dir nor of a backup holds any of those tokens, and no
staff member reads one back through the API. Run with encryption off (the bare store):
what keeps the tokens out is that they are never written, not that files are sealed.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.messaging.support import SmtpServer
from tests.serving import free_port, stop, wait_healthy
from tlh.services.bootstrap import init_practice

pytestmark = pytest.mark.timeout(120)

TOKEN = re.compile(r"/j#([A-Za-z0-9_-]{40,})")
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+h"
    "HgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)
HOOK_SECRET = "hook-secret-from-the-environment"


class Gateway:
    """A local SMS gateway (the webhook transport's far end): keeps every text."""

    def __init__(self) -> None:
        self.texts: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.texts.append(json.loads(await request.read()))
        self.arrived.set()
        return web.json_response({}, status=200)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    found = Gateway()
    app = web.Application()
    app.router.add_post("/sms", found.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield found, str(server.make_url("/sms"))
    finally:
        await server.close()


@pytest.fixture
def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def _config(tmp_path: Path, smtp_port: int, gateway_url: str) -> Path:
    # Outside the data dir, the webhook secret by environment variable (item 6).
    path = tmp_path / "etc" / "tlh.toml"
    path.parent.mkdir()
    path.write_text(
        "[messaging]\n"
        'email = "smtp"\n'
        'sms = "webhook"\n'
        "[smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp_port}\n"
        'security = "none"\n'
        'from_address = "Practice <practice@example.org>"\n'
        "[webhook]\n"
        f'url = "{gateway_url}"\n'
        'secret_env = "TLH_TEST_HOOK_SECRET"\n'
    )
    return path


async def _until(check: Any, what: str, within: float = 20) -> Any:
    async with asyncio.timeout(within):
        while not (found := await check()):
            await asyncio.sleep(0.05)  # the server is another process: poll its answer
    assert found, what
    return found


def _every_byte(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def _hits(blob: bytes, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value.encode() in blob]


async def test_no_live_token_anywhere_in_the_data_dir_or_a_backup(
    tmp_path: Path, smtp: SmtpServer, gateway: tuple[Gateway, str]
) -> None:
    hub, hook_url = gateway
    data_dir = tmp_path / "data"
    admin_token = await init_practice(data_dir, "Harbour", "UTC", "admin@example.org")
    config = _config(tmp_path, smtp.port, hook_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {**os.environ, "TLH_TEST_HOOK_SECRET": HOOK_SECRET}
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir)]
    argv += ["--port", str(port), "--config", str(config)]
    proc = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    secrets: dict[str, str] = {"admin token": admin_token}
    try:
        await asyncio.to_thread(wait_healthy, url, proc, log=log)
        admin = {"Authorization": f"Bearer {admin_token}"}
        async with aiohttp.ClientSession(url, headers=admin) as http:

            async def call(method: str, path: str, body: Any = None, **kw: Any) -> Any:
                async with http.request(method, path, json=body, **kw) as response:
                    answer = await response.json()
                    assert response.status < 300, (path, response.status, answer)
                    return answer

            made = await call(
                "POST",
                "/api/v1/staff",
                {"email": "desk@example.org", "name": "Desk", "role": "scheduler"},
            )
            secrets["scheduler token"] = made["token"]
            lee = await call(
                "POST",
                "/api/v1/staff",
                {
                    "email": "lee@example.org",
                    "name": "Lee",
                    "role": "clinician",
                    "telehealth": True,
                },
            )
            secrets["clinician token"] = lee["token"]
            client = await call(
                "POST",
                "/api/v1/clients",
                {"name": "Zephyrine Quarrington", "email": "zq@example.org",
                 "phone": "+14155552671", "dob": "1961-02-03"},
            )  # fmt: skip
            start = datetime.now(UTC) + timedelta(days=2)
            booked = await call(
                "POST",
                "/api/v1/appointments?notify=0",
                {"client_ids": [client["id"]], "clinicians": ["lee@example.org"],
                 "start": start.isoformat(), "duration_min": 50, "modality": "telehealth",
                 "status": "confirmed", "notes": "Xylophage notes"},
            )  # fmt: skip
            appt_id = booked["items"][0]["id"]
            await call("POST", "/api/v1/invites", {"appointment_id": appt_id, "channel": "email"})
            await call("POST", "/api/v1/invites", {"appointment_id": appt_id, "channel": "sms"})
            sent = await call(
                "POST", "/api/v1/consents/send", {"client_id": client["id"], "channel": "email"}
            )

            async def two_emails() -> bool:
                return len(smtp.received.emails()) >= 2

            await _until(two_emails, "both emails were delivered")
            async with asyncio.timeout(20):
                await hub.arrived.wait()
            found: dict[str, str] = {}
            for mail in smtp.received.emails():
                body = mail.get_body(("plain",))
                assert body is not None
                token = TOKEN.search(str(body.get_content()))  # type: ignore[attr-defined]
                assert token, "a delivered email carries its link"
                found[str(mail["Subject"])] = token.group(1)
            [text] = hub.texts
            sms_token = TOKEN.search(text["body"])
            assert sms_token, "the delivered text carries its link"
            secrets["sms join token"] = sms_token.group(1)
            assert len(set(found.values())) == 2
            for n, token in enumerate(found.values()):
                secrets[f"email token {n}"] = token

            # The consent link, redeemed and signed as a client does.
            consent_token = await _consent_token(http, sent["message"]["id"], found)
            headers = {"Origin": url}
            async with http.post(
                "/api/v1/link/redeem", json={"token": consent_token}, headers=headers
            ) as redeemed:
                assert redeemed.status == 200
                cookie = redeemed.cookies["__Host-tlh_link"].value
            secrets["link session"] = cookie
            page = {"Cookie": f"__Host-tlh_link={cookie}", "Origin": url}
            form = await call("GET", "/api/v1/link/consent", headers=page)
            await call(
                "POST",
                "/api/v1/link/consent",
                {"decision": "accepted", "form_hash": form["form_hash"],
                 "signed_name": "Zephyrine Quarrington", "signature_png": PNG},
                headers=page,
            )  # fmt: skip

            # Every token works as sent ...
            for name in ("sms join token", "email token 0", "email token 1"):
                async with http.post(
                    "/api/v1/link/redeem", json={"token": secrets[name]}, headers=headers
                ) as response:
                    assert response.status == 200, name
            # ... and no staff member reads one back: not the scheduler, not the admin.
            for who in ("scheduler token", "admin token"):
                auth = {"Authorization": f"Bearer {secrets[who]}"}
                outbox = await call("GET", "/api/v1/outbox", headers=auth)
                assert len(outbox["items"]) == 3
                assert all(m["status"] == "sent" for m in outbox["items"])
                assert _hits(json.dumps(outbox).encode(), secrets) == [], who
            links = await call("GET", f"/api/v1/appointments/{appt_id}/links")
            assert _hits(json.dumps(links).encode(), secrets) == []
            async with http.get("/api/v1/admin/backup") as response:
                assert response.status == 200
                backup = await response.read()
    finally:
        stop(proc)
    assert proc.returncode == 0, log.read_text()
    on_disk = _every_byte(data_dir)
    assert b"Zephyrine" in on_disk  # what was read is the data dir (unsealed here)
    assert _hits(on_disk, secrets) == []
    assert not (data_dir / "outbox").exists()
    with tarfile.open(fileobj=io.BytesIO(backup)) as archive:
        members = [archive.extractfile(m) for m in archive.getmembers() if m.isfile()]
        packed = b"\n".join(f.read() for f in members if f is not None)
    assert b"Zephyrine" in packed
    assert _hits(packed, secrets) == []


async def _consent_token(
    http: aiohttp.ClientSession, message_id: str, found: dict[str, str]
) -> str:
    """The token of the consent email (told apart from the invitation by its subject)."""
    async with http.get(f"/api/v1/outbox/{message_id}") as response:
        subject = (await response.json())["subject"]
    return found[subject]
