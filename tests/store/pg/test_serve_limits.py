"""Two ``tlh serve --store`` on one PostgreSQL, as a practice behind a load balancer
runs them: a portal sign-in code asked for on one server signs in on the other, wrong
codes spread over both lock the address at the one shared limit, and a passkey
challenge handed out by one is answered on the other."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from pathlib import Path

import aiohttp

from tests.ops.running import serving
from tests.store.pg.practice import call, init_on, second_server_dir
from tlh.messaging.file_transport import mail_drop_dir
from tlh.services.portal_signin import MAX_TRIES

EMAIL = "ana.portal@example.org"
#: The page's origin: the public URL ``tlh init --public-url`` wrote.
ORIGIN = {"Origin": "https://tele.example.org"}


def _two_servers_test(
    tmp_path: Path, pg_url: str, steps: Callable[[str, str, list[Path]], Awaitable[None]]
) -> None:
    """Two servers on ``pg_url`` with a portal client ``EMAIL``; ``steps`` against them."""
    data_dir, token, key_file = init_on(tmp_path, pg_url)
    other = second_server_dir(tmp_path, data_dir)
    drops = [mail_drop_dir(data_dir), mail_drop_dir(other)]  # the outbox runs on one
    with (
        serving(data_dir, "--key-file", str(key_file)) as (_, a_url, a_log),
        serving(other, "--key-file", str(key_file)) as (_, b_url, b_log),
    ):
        body = {"name": "Ana Portal", "email": EMAIL}
        status, made = asyncio.run(call(a_url, token, "POST", "/api/v1/clients", body))
        assert status == 201, made
        invite = {"client_id": made["id"]}
        status, said = asyncio.run(call(b_url, token, "POST", "/api/v1/portal/invite", invite))
        assert status in (200, 201, 202), said
        asyncio.run(steps(a_url, b_url, drops))
    for log in (a_log, b_log):
        text = log.read_text()
        assert "Traceback" not in text
        assert EMAIL not in text


def test_a_code_asked_for_via_one_server_signs_in_once_via_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    _two_servers_test(tmp_path, pg_url, _sign_in_across)


def test_wrong_codes_spread_over_two_servers_lock_the_address_at_one_limit(
    tmp_path: Path, pg_url: str
) -> None:
    _two_servers_test(tmp_path, pg_url, _lock_across)


async def _sign_in_across(a_url: str, b_url: str, drops: list[Path]) -> None:
    async with aiohttp.ClientSession(headers=ORIGIN) as http:
        async with http.post(f"{a_url}/api/v1/portal/code", json={"address": EMAIL}) as r:
            assert r.status == 202
        code = await _code_in(drops)
        body = {"address": EMAIL, "code": code}
        async with http.post(f"{b_url}/api/v1/portal/sign-in", json=body) as r:
            assert r.status == 200, await r.text()
        # One time: not again on either server.
        for url in (a_url, b_url):
            async with http.post(f"{url}/api/v1/portal/sign-in", json=body) as r:
                assert r.status == 401


async def _lock_across(a_url: str, b_url: str, _: list[Path]) -> None:
    """Wrong codes sent all at once, alternating between the servers (a balancer's
    round robin): ``MAX_TRIES`` of them are judged in all, the rest refused, and the
    address stays locked on both."""
    body = {"address": EMAIL, "code": "000000"}
    async with aiohttp.ClientSession(headers=ORIGIN) as http:

        async def one(url: str) -> int:
            async with http.post(f"{url}/api/v1/portal/sign-in", json=body) as r:
                return r.status

        burst = await asyncio.gather(*(one((a_url, b_url)[n % 2]) for n in range(12)))
        assert sorted(burst) == [401] * MAX_TRIES + [429] * (12 - MAX_TRIES)
        assert [await one(url) for url in (a_url, b_url)] == [429, 429]


async def _code_in(drops: list[Path]) -> str:
    """The code of the portal sign-in email to ``EMAIL`` (in whichever server's drop)."""
    async with asyncio.timeout(30):
        while True:
            for drop in drops:
                for path in drop.glob("*.eml") if drop.exists() else ():
                    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
                    if EMAIL in str(mail["To"]) and "sign-in code" in str(mail["Subject"]):
                        text = mail.get_body(("plain",))
                        assert text is not None
                        found = re.search(r"\b(\d{6})\b", str(text.get_content()))
                        assert found is not None
                        return found.group(1)
            await asyncio.sleep(0.1)  # the outbox writes it; polled, bounded by the timeout


def test_a_passkey_challenge_from_one_server_is_answered_once_via_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    _two_servers_test(tmp_path, pg_url, _passkey_across)


async def _passkey_across(a_url: str, b_url: str, _: list[Path]) -> None:
    """The page asks A for sign-in options and answers via B: B knows the challenge (the
    passkey itself is refused as not on file, not as an unknown challenge), and only
    once."""
    async with aiohttp.ClientSession(headers=ORIGIN) as http:
        async with http.post(f"{a_url}/api/v1/portal/passkeys/sign-in-options") as r:
            assert r.status == 200
            challenge = (await r.json())["challenge"]
        client_data = {
            "type": "webauthn.get",
            "challenge": challenge,
            "origin": ORIGIN["Origin"],
        }
        unknown = _b64(b"not-on-file")
        assertion = {
            "id": unknown,
            "rawId": unknown,
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(json.dumps(client_data).encode()),
                "authenticatorData": _b64(b"\0" * 37),
                "signature": _b64(b"\0" * 64),
            },
        }
        codes = []
        for url in (b_url, a_url):
            async with http.post(
                f"{url}/api/v1/portal/passkeys/sign-in", json={"credential": assertion}
            ) as r:
                assert r.status == 401
                codes.append((await r.json())["error"]["code"])
    assert codes == ["passkey_unknown", "passkey_expired"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
