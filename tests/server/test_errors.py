"""Every error path answers with the one envelope and the right status."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tlh.server.http import public
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice

from .conftest import Practice, TlhTestServer, serve_app


def assert_envelope(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert "\n" not in body["error"]["message"]


CASES = [
    ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
    ("GET", "/api/v1/clients/cli_missing", None, 404, "not_found"),
    ("GET", "/api/v1/appointments/apt_missing", None, 404, "not_found"),
    ("POST", "/api/v1/clients", b"{not json", 400, "bad_request"),
    ("POST", "/api/v1/clients", b"[1, 2]", 400, "bad_request"),
    ("POST", "/api/v1/clients", {"name": ""}, 422, "invalid"),
    ("POST", "/api/v1/clients", {"name": "A", "email": "not-an-email"}, 422, "invalid"),
    ("POST", "/api/v1/clients", {"name": "A", "shoe_size": 9}, 422, "invalid"),
    ("POST", "/api/v1/clients", {"name": "bad\x07name"}, 422, "invalid"),
    ("PATCH", "/api/v1/practice", {"timezone": "Mars/Base"}, 422, "invalid"),
    ("PATCH", "/api/v1/practice", {"colour": "red"}, 422, "invalid"),
    ("PATCH", "/api/v1/practice", {"window_opens_before_min": "ten"}, 422, "invalid"),
    (
        "POST",
        "/api/v1/staff",
        {"email": "x@example.org", "name": "X", "role": "boss"},
        422,
        "invalid",
    ),
    (
        "POST",
        "/api/v1/staff",
        {"email": "admin@example.org", "name": "X", "role": "admin"},
        409,
        "conflict",
    ),
    ("GET", "/api/v1/appointments?date=yesterday", None, 422, "invalid"),
    ("GET", "/api/v1/appointments?from=2026-02-01&to=2026-01-01", None, 422, "invalid"),
    ("GET", "/api/v1/appointments/export?format=pdf", None, 422, "invalid"),
    ("POST", "/api/v1/appointments/import", None, 400, "bad_request"),
    ("DELETE", "/api/v1/practice", None, 405, "method_not_allowed"),
    ("GET", "/api/v1/audit?since=last-week", None, 422, "invalid"),
]


@pytest.mark.parametrize(("method", "path", "payload", "status", "code"), CASES)
async def test_error_envelope(
    practice: Practice, method: str, path: str, payload: Any, status: int, code: str
) -> None:
    kwargs: dict[str, Any] = {}
    if isinstance(payload, bytes):
        kwargs["data"] = payload
        kwargs["headers"] = {**practice.auth(), "Content-Type": "application/json"}
    else:
        kwargs["headers"] = practice.auth()
        if payload is not None:
            kwargs["json"] = payload
    response = await practice.client.request(method, path, **kwargs)
    assert response.status == status, await response.text()
    assert_envelope(await response.json(), code)


async def test_error_messages_carry_no_patient_data(practice: Practice) -> None:
    response = await practice.client.post(
        "/api/v1/clients",
        headers=practice.auth(),
        json={"name": "Jordan Secret", "email": "jordan.secret@@example"},
    )
    text = await response.text()
    assert response.status == 422
    assert "jordan" not in text.lower()


async def test_too_large_body(tmp_path: Any, aiohttp_client: Any) -> None:
    token = await init_practice(tmp_path, "P", "UTC", "a@example.org")
    client = await serve_app(aiohttp_client, Settings(data_dir=tmp_path, max_body_bytes=1024))
    response = await client.post(
        "/api/v1/appointments/import",
        data=b"x" * 4096,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert response.status == 413
    assert_envelope(await response.json(), "too_large")


async def test_an_unexpected_error_logs_its_type_and_request_id_never_patient_data(
    tmp_path: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler fails with a client's name and birth date in the exception's text and in
    its locals: the log names the type, the route and a request id; the caller gets the
    same id; neither gets the data."""
    await init_practice(tmp_path, "P", "UTC", "a@example.org")
    server = TlhTestServer(Settings(data_dir=tmp_path, port=0))

    @public
    async def broken(request: web.Request) -> web.Response:
        name, dob = "Jordan Rivera", "1990-04-12"
        raise ValueError(f"client {name} dob {dob}")

    server.app.router.add_post("/api/v1/broken/{ref}", broken)
    client = await aiohttp_client(server)
    with caplog.at_level(logging.DEBUG):
        response = await client.post("/api/v1/broken/cli_1", json={"name": "Jordan Rivera"})
    body = await response.json()
    assert response.status == 500
    for phi in ("Jordan", "Rivera", "1990-04-12"):
        assert phi not in caplog.text
        assert phi not in json.dumps(body)
    assert_envelope(body, "internal")
    request_id = body["error"]["details"]["request_id"]
    assert response.headers["X-Request-Id"] == request_id
    assert request_id in body["error"]["message"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "tlh.server"]
    assert "ValueError" in line
    assert "POST /api/v1/broken/{ref}" in line
    assert request_id in line
    assert "test_errors.py" in line, "where it was raised"


def test_the_served_log_has_no_exception_text_from_any_logger() -> None:
    """``tlh serve``'s log set-up: a service logging a traceback (as the outbox and the
    reminder clock do) writes its type and place, not its text."""
    code = (
        "import logging\n"
        "from tlh.server.run import configure_logging\n"
        "configure_logging()\n"
        "try:\n"
        "    raise ValueError('client Jordan Rivera dob 1990-04-12')\n"
        "except ValueError:\n"
        "    logging.getLogger('tlh.services.outbox').exception('transport sms raised')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "tlh.services.outbox transport sms raised [ValueError at <string>:5" in done.stderr
    for phi in ("Jordan", "Rivera", "1990-04-12"):
        assert phi not in done.stderr
