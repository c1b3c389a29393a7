"""``tlh portal invite|list|revoke`` and ``tlh client contact add --portal`` against the
real server (issue 13): the invitation goes through the outbox; a client with neither
email nor phone is one clear line, exit non-zero, nothing sent; revoke ends sessions."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from email import message_from_bytes, policy
from typing import Any

import aiohttp

from tlh.messaging.file_transport import mail_drop_dir

from .conftest import Live
from .room_helpers import cli


async def _json(live: Live, *argv: str) -> Any:
    done = await cli(live, *argv, "--json")
    assert done.exit_code == 0, (argv, done.stderr)
    return json.loads(done.stdout)


def _email() -> str:
    return f"portal-{secrets.token_hex(4)}@example.org"


def _plain(raw: bytes) -> str:
    """The plain-text part of an email file."""
    body = message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def _delivered_text(live: Live, message_id: str) -> str:
    """The plain text of a delivered email (the file transport's mail drop)."""
    path = mail_drop_dir(live.data_dir) / f"{message_id}.eml"
    async with asyncio.timeout(10):
        while not path.exists():
            await asyncio.sleep(0.05)  # the worker writes it; bounded by the timeout
    return _plain(path.read_bytes())


async def _sign_in(live: Live, address: str) -> str:
    """Sign in to the portal as the page does; the session cookie."""
    drop = mail_drop_dir(live.data_dir)
    before = set(drop.glob("*.eml")) if drop.exists() else set()
    origin = {"Origin": live.url}
    async with aiohttp.ClientSession(headers=origin) as http:
        async with http.post(f"{live.url}/api/v1/portal/code", json={"address": address}) as r:
            assert r.status == 202
        code = None
        async with asyncio.timeout(10):
            while code is None:
                for path in set(drop.glob("*.eml")) - before:
                    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
                    if address in str(mail["To"]) and "sign-in code" in str(mail["Subject"]):
                        found = re.search(r"\b(\d{6})\b", _plain(path.read_bytes()))
                        assert found is not None
                        code = found.group(1)
                await asyncio.sleep(0.05)  # polled, bounded by the timeout
        body = {"address": address, "code": code}
        async with http.post(f"{live.url}/api/v1/portal/sign-in", json=body) as r:
            assert r.status == 200, await r.text()
            return str(r.cookies["__Host-tlh_portal"].value)


async def _me_status(live: Live, cookie: str) -> int:
    headers = {"Cookie": f"__Host-tlh_portal={cookie}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{live.url}/api/v1/portal/me", headers=headers) as r,
    ):
        return r.status


async def test_invite_list_and_revoke_a_client(live: Live) -> None:
    email = _email()
    made = await _json(live, "client", "add", "--name", "Iris Portal", "--email", email)
    sent = await _json(live, "portal", "invite", made["id"])
    assert sent["channel"] == "email"
    text = await _delivered_text(live, sent["message_id"])
    assert "/p" in text
    assert "Iris Portal" in text

    cookie = await _sign_in(live, email)
    listed = await _json(live, "portal", "list")
    row = next(r for r in listed["items"] if r["client_id"] == made["id"])
    assert (row["email"], row["sessions"]) == (True, 1)
    assert row["last_sign_in"]
    people = await cli(live, "portal", "list")
    assert "Iris Portal" in people.stdout

    revoked = await _json(live, "portal", "revoke", made["id"])
    assert revoked == {"sessions_ended": 1}
    assert await _me_status(live, cookie) == 401
    listed = await _json(live, "portal", "list")
    assert made["id"] not in {r["client_id"] for r in listed["items"]}


async def test_a_caregiver_is_added_with_portal_access_invited_by_text_and_revoked(
    live: Live,
) -> None:
    child = await _json(live, "client", "add", "--name", "Kai Child", "--email", _email())
    carer = _email()
    added = await _json(
        live, "client", "contact", "add", child["id"], "--name", "Pat Carer",
        "--email", carer, "--phone", "+12025550143", "--portal",
    )  # fmt: skip
    contact = added["contacts"][0]
    assert contact["portal"] is True
    sent = await _json(live, "portal", "invite", child["id"], "--contact", contact["id"], "--sms")
    assert sent["channel"] == "sms"
    cookie = await _sign_in(live, carer)
    done = await _json(live, "portal", "revoke", child["id"], "--contact", contact["id"])
    assert done == {"sessions_ended": 1}
    assert await _me_status(live, cookie) == 401


async def test_a_client_with_neither_email_nor_phone_gets_no_invitation(live: Live) -> None:
    made = await _json(live, "client", "add", "--name", "Nell Nowhere")
    before = await _json(live, "outbox", "list")
    done = await cli(live, "portal", "invite", made["id"])
    assert done.exit_code != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "neither an email address nor a phone number; nothing was sent" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert await _json(live, "outbox", "list") == before
    texted = await cli(live, "portal", "invite", made["id"], "--sms")
    assert "no mobile number on file" in texted.stderr
