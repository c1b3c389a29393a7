"""Twilio and the webhook against local aiohttp servers that speak their protocols."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.messaging.support import sms
from tlh.messaging.config import TwilioConfig, WebhookConfig
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.sms import TwilioTransport, WebhookTransport

SID, TOKEN = "AC123", "secret-token"
SECRET = "hook-secret"


class Provider:
    """Answers scripted (status, body) pairs in turn and records each request."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request.path, dict(request.headers), body))
        status, answer = self.answers.pop(0)
        return web.json_response(answer, status=status)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[Provider, str]]:
    prov = Provider()
    app = web.Application()
    app.router.add_post("/{tail:.*}", prov.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield prov, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def twilio(base: str) -> TwilioTransport:
    return TwilioTransport(
        TwilioConfig(account_sid=SID, auth_token=TOKEN, from_number="+15555550199", base_url=base)
    )


async def test_twilio_posts_the_form_with_basic_auth(provider: tuple[Provider, str]) -> None:
    prov, base = provider
    prov.answers = [(201, {"sid": "SM42", "status": "queued"})]
    transport = twilio(base)
    try:
        assert await transport.send(sms(1)) == "SM42"
    finally:
        await transport.close()
    [(path, headers, body)] = prov.requests
    assert path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    from urllib.parse import parse_qs

    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert form == {
        "To": "+15555550100",
        "From": "+15555550199",
        "Body": "Test practice: your session starts at 10:00.",
    }


async def test_twilio_429_is_transient_then_201_succeeds(provider: tuple[Provider, str]) -> None:
    prov, base = provider
    prov.answers = [(429, {"code": 20429, "message": "Too Many Requests"}), (201, {"sid": "SM1"})]
    transport = twilio(base)
    try:
        with pytest.raises(TransientError, match="429"):
            await transport.send(sms(1))
        assert await transport.send(sms(1)) == "SM1"
    finally:
        await transport.close()


async def test_twilio_400_is_permanent_with_its_reason_scrubbed(
    provider: tuple[Provider, str],
) -> None:
    prov, base = provider
    message = "The 'To' number +15555550100 is not a valid phone number."
    prov.answers = [(400, {"code": 21211, "message": message}), (503, {})]
    transport = twilio(base)
    try:
        with pytest.raises(PermanentError) as err:
            await transport.send(sms(1))
        with pytest.raises(TransientError, match="503"):
            await transport.send(sms(1))
    finally:
        await transport.close()
    assert "is not a valid phone number" in str(err.value)
    assert "21211" in str(err.value)
    assert "5550100" not in str(err.value)


async def test_twilio_unreachable_is_transient() -> None:
    from tests.messaging.support import free_port

    transport = twilio(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(TransientError, match="unreachable"):
            await transport.send(sms(1))
    finally:
        await transport.close()


def verify(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, None), (204, None), (429, TransientError), (502, TransientError), (403, PermanentError)],
)
async def test_webhook_is_signed_and_statuses_map(
    provider: tuple[Provider, str], status: int, outcome: Callable[..., Exception] | None
) -> None:
    prov, base = provider
    prov.answers = [(status, {})]
    transport = WebhookTransport(WebhookConfig(url=f"{base}/sms", secret=SECRET))
    try:
        if outcome is None:
            assert await transport.send(sms(2)) == "msg_s0002"
        else:
            with pytest.raises(outcome):  # type: ignore[call-overload]
                await transport.send(sms(2))
    finally:
        await transport.close()
    [(path, headers, body)] = prov.requests
    assert path == "/sms"
    assert verify(SECRET, body, headers["X-Tlh-Signature"])
    assert not verify("other", body, headers["X-Tlh-Signature"])
    assert json.loads(body) == {
        "id": "msg_s0002",
        "to": "+15555550100",
        "body": "Test practice: your session starts at 10:00.",
        "kind": "reminder_soon",
    }
