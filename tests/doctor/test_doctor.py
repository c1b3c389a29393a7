"""``tlh doctor`` against a real server, with each part broken in turn: a wrong SMTP
password, a refused Twilio account, an unreachable TURN server, an expired or misnamed
TLS certificate, no token, no server. The mail server is aiosmtpd, the SMS provider a
loopback HTTP endpoint answering Twilio's account route, the STUN server a small UDP
responder speaking RFC 5389 (aioice's message codec), the TURN server Debian's coturn
(installed by `make test`)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from typer.testing import CliRunner, Result

from tests.doctor.coturn import coturn as turn_server
from tests.messaging.support import SmtpServer
from tests.serving import free_port
from tlh.messaging.config import MessagingConfig, SmtpConfig, TwilioConfig

SID = "AC" + "0" * 32
AUTH = "right-token"


class Loop:
    """A background event loop for the servers a test needs besides tlh."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=20)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[Loop]:
    found = Loop()
    yield found
    found.close()


async def start_site(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, int(runner.addresses[0][1])


def twilio_app() -> web.Application:
    """Twilio's account route: 200 with the right Basic credentials, 401 otherwise."""

    async def account(request: web.Request) -> web.Response:
        right = "Basic " + base64.b64encode(f"{SID}:{AUTH}".encode()).decode()
        if request.match_info["sid"] != SID or request.headers.get("Authorization") != right:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        return web.json_response({"sid": SID, "status": "active"})

    app = web.Application()
    app.router.add_get("/2010-04-01/Accounts/{sid}.json", account)
    return app


class StunResponder(asyncio.DatagramProtocol):
    """Answers STUN Binding requests with the sender's address."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        from aioice import stun

        request = stun.parse_message(data)
        answer = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        answer.attributes["XOR-MAPPED-ADDRESS"] = addr
        self.transport.sendto(bytes(answer), addr)


@pytest.fixture
def stun(loop: Loop) -> Iterator[int]:
    async def start() -> Any:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            StunResponder, local_addr=("127.0.0.1", 0)
        )
        return transport

    transport = loop.run(start())
    yield int(transport.get_extra_info("sockname")[1])
    loop.loop.call_soon_threadsafe(transport.close)


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    """coturn on 127.0.0.1 with long-term credentials u / p (UDP and TCP)."""
    with turn_server(tmp_path, free_port()) as port:
        yield port


@pytest.fixture
def twilio(loop: Loop) -> Iterator[str]:
    runner, port = loop.run(start_site(twilio_app()))
    yield f"http://127.0.0.1:{port}"
    loop.run(runner.cleanup())


class Practice:
    """A tlh server on its own data dir, with the settings a test chooses."""

    def __init__(self, root: Path, loop: Loop) -> None:
        from tlh.services.bootstrap import init_practice

        self.root, self.loop = root, loop
        self.data_dir = root / "data"
        self.token = asyncio.run(
            init_practice(self.data_dir, "Doctor Practice", "UTC", "admin@example.org", "Ada Admin")
        )
        self.runner: web.AppRunner | None = None
        self.url = ""

    def serve(
        self,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        listen: str = "127.0.0.1",
        **settings: Any,
    ) -> str:
        from tlh.server.run import bound_port, start
        from tlh.server.settings import Settings

        found = Settings(data_dir=self.data_dir, host=listen, port=0, **settings)
        self.runner = self.loop.run(start(found, ssl_context=ssl_context))
        port = bound_port(self.runner)
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self.runner is not None:
            self.loop.run(self.runner.cleanup())
            self.runner = None

    def doctor(
        self, *args: str, token: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        from tlh.cli.main import app

        argv = [
            "--url",
            self.url,
            "--token",
            self.token if token is None else token,
            "doctor",
            *args,
        ]
        environ = {"TLH_CONFIG": str(self.root / "none.toml"), "COLUMNS": "250", **(env or {})}
        return CliRunner().invoke(app, argv, env=environ)


@pytest.fixture
def practice(tmp_path: Path, loop: Loop) -> Iterator[Practice]:
    found = Practice(tmp_path, loop)
    yield found
    found.stop()


def checks(result: Result) -> dict[str, dict[str, str]]:
    assert result.stdout, result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)["items"]}


def messaging(smtp_port: int, password: str, twilio_base: str, auth: str = AUTH) -> MessagingConfig:
    return MessagingConfig(
        email="smtp",
        sms="twilio",
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=smtp_port,
            security="none",
            username="u",
            password=password,
            from_address="Practice <practice@example.org>",
        ),
        twilio=TwilioConfig(
            account_sid=SID, auth_token=auth, from_number="+15555550199", base_url=twilio_base
        ),
    )


def test_everything_configured_and_working_passes(
    practice: Practice, smtp: SmtpServer, twilio: str, stun: int
) -> None:
    practice.serve(
        messaging=messaging(smtp.port, "pw", twilio),
        ice_servers=({"urls": [f"stun:127.0.0.1:{stun}"]},),
    )
    result = practice.doctor("--json")
    found = checks(result)
    assert result.exit_code == 0, found
    for name in (
        "server",
        "tls",
        "token",
        "echo",
        "email",
        "sms",
        f"ice stun:127.0.0.1:{stun}",
        "disk",
    ):
        assert found[name]["status"] == "ok", (name, found[name])
    assert "logged in to 127.0.0.1" in found["email"]["detail"]
    assert "Ada Admin (admin)" in found["token"]["detail"]
    assert "seen as 127.0.0.1" in found[f"ice stun:127.0.0.1:{stun}"]["detail"]
    assert found["echo"]["detail"].startswith("video and audio came back through the server")
    assert smtp.received.envelopes == []  # nothing was sent


def test_links_to_loopback_fail_while_the_server_listens_for_other_machines(
    practice: Practice,
) -> None:
    # Every message's link would say http://0.0.0.0:PORT/j#...: nobody can open it.
    practice.serve(listen="0.0.0.0", insecure=True)
    result = practice.doctor("--json")
    found = checks(result)
    assert found["links"]["status"] == "fail", found["links"]
    assert "public_url" in found["links"]["fix"]
    assert result.exit_code == 1
    practice.stop()
    practice.serve(
        listen="0.0.0.0",
        insecure=True,
        messaging=MessagingConfig(public_url="https://tele.example.org"),
    )
    fixed = checks(practice.doctor("--json"))
    assert fixed["links"]["status"] == "ok"
    assert "https://tele.example.org" in fixed["links"]["detail"]


def test_links_to_loopback_on_a_loopback_server_only_warn(practice: Practice) -> None:
    practice.serve()
    found = checks(practice.doctor("--json"))
    assert found["links"]["status"] == "warn"
    assert "only this machine" in found["links"]["detail"]


def test_the_table_marks_each_check_and_names_the_fix(practice: Practice) -> None:
    practice.serve()
    result = practice.doctor()
    assert result.exit_code == 0, result.stderr  # warnings only: files instead of mail
    lines = result.stdout.splitlines()
    email = next(line for line in lines if " email " in line)
    assert email.lstrip().startswith("!")
    assert "[messaging] email" in email
    assert any(line.lstrip().startswith("✓") and " server " in line for line in lines)


def test_a_wrong_smtp_password_fails_with_the_fix(
    practice: Practice, smtp: SmtpServer, twilio: str
) -> None:
    practice.serve(messaging=messaging(smtp.port, "wrong", twilio))
    result = practice.doctor("--json")
    found = checks(result)
    assert result.exit_code == 1
    assert found["email"]["status"] == "fail"
    assert "login refused" in found["email"]["detail"]
    assert "username and password" in found["email"]["fix"]
    assert "wrong" not in result.stdout  # the password is never shown
    assert found["sms"]["status"] == "ok"


def test_refused_twilio_credentials_fail(practice: Practice, smtp: SmtpServer, twilio: str) -> None:
    practice.serve(messaging=messaging(smtp.port, "pw", twilio, auth="stale"))
    found = checks(practice.doctor("--json"))
    assert found["sms"]["status"] == "fail"
    assert "account SID or auth token (401)" in found["sms"]["detail"]
    assert "stale" not in json.dumps(found)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_working_turn_server_grants_an_allocation(
    practice: Practice, coturn: int, transport: str
) -> None:
    url = f"turn:127.0.0.1:{coturn}?transport={transport}"
    practice.serve(ice_servers=({"urls": [url], "username": "u", "credential": "p"},))
    found = checks(practice.doctor("--json"))
    assert found[f"ice {url}"]["status"] == "ok", found[f"ice {url}"]
    assert found[f"ice {url}"]["detail"] == "TURN allocation granted (relayed address 127.0.0.1)"


def test_a_wrong_turn_credential_fails_naming_it(practice: Practice, coturn: int) -> None:
    url = f"turn:127.0.0.1:{coturn}"
    practice.serve(ice_servers=({"urls": url, "username": "u", "credential": "nope"},))
    found = checks(practice.doctor("--json"))
    assert found[f"ice {url}"]["status"] == "fail"
    assert found[f"ice {url}"]["detail"] == "the TURN server refused the username or credential"
    assert "nope" not in json.dumps(found)


def test_an_unreachable_turn_server_fails(practice: Practice) -> None:
    closed = free_port()
    url = f"turn:127.0.0.1:{closed}?transport=tcp"
    practice.serve(ice_servers=({"urls": url, "username": "u", "credential": "c"},))
    result = practice.doctor("--json", "--check-timeout", "2")
    found = checks(result)
    assert result.exit_code == 1
    assert found[f"ice {url}"]["status"] == "fail"
    assert "firewall" in found[f"ice {url}"]["fix"]


def test_a_silent_stun_server_fails_within_the_timeout(practice: Practice) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound, never answers
        url = f"stun:127.0.0.1:{silent.getsockname()[1]}"
        practice.serve(ice_servers=({"urls": [url]},))
        found = checks(practice.doctor("--json", "--check-timeout", "1"))
    assert found[f"ice {url}"]["status"] == "fail"
    assert "no answer" in found[f"ice {url}"]["detail"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_context(ca: trustme.CA, *names: str, **validity: datetime) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, **validity).configure_cert(context)
    return context


def ca_env(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return {"TLH_CA_FILE": str(path)}


def test_a_valid_certificate_passes_and_says_until_when(
    practice: Practice, ca: trustme.CA, tmp_path: Path
) -> None:
    practice.serve(tls_context(ca, "localhost"), host="localhost")
    found = checks(practice.doctor("--json", env=ca_env(ca, tmp_path)))
    assert found["tls"]["status"] == "ok"
    assert found["tls"]["detail"].startswith("valid for localhost until ")
    # The echo and the test call go over the same TLS, trusting the same CA.
    assert found["echo"]["status"] == "ok", found["echo"]
    assert found["call"]["status"] == "ok", found["call"]


def test_an_expired_certificate_fails_with_its_date(
    practice: Practice, ca: trustme.CA, tmp_path: Path
) -> None:
    expired = datetime.now(UTC) - timedelta(days=3)
    context = tls_context(
        ca, "localhost", not_before=expired - timedelta(days=90), not_after=expired
    )
    practice.serve(context, host="localhost")
    result = practice.doctor("--json", env=ca_env(ca, tmp_path))
    found = checks(result)
    assert found["tls"]["status"] == "fail"
    assert found["tls"]["detail"] == f"the certificate expired on {expired:%Y-%m-%d}"
    assert "renew" in found["tls"]["fix"]


def test_a_certificate_for_another_name_fails_naming_both(
    practice: Practice, ca: trustme.CA, tmp_path: Path
) -> None:
    practice.serve(tls_context(ca, "tele.example.org"), host="localhost")
    found = checks(practice.doctor("--json", env=ca_env(ca, tmp_path)))
    assert found["tls"]["status"] == "fail"
    assert found["tls"]["detail"] == "the certificate is for tele.example.org, not localhost"


def test_a_certificate_soon_to_expire_warns(
    practice: Practice, ca: trustme.CA, tmp_path: Path
) -> None:
    soon = datetime.now(UTC) + timedelta(days=5)
    practice.serve(tls_context(ca, "localhost", not_after=soon), host="localhost")
    found = checks(practice.doctor("--json", env=ca_env(ca, tmp_path)))
    assert found["tls"]["status"] == "warn"
    assert "days left" in found["tls"]["detail"]


def test_without_a_valid_token_only_the_outside_is_checked(practice: Practice) -> None:
    practice.serve()
    result = practice.doctor("--json", token="tlh_not-a-token")
    found = checks(result)
    assert result.exit_code == 1
    assert found["server"]["status"] == "ok"
    assert found["token"]["status"] == "fail"
    assert found["server checks"]["status"] == "skip"


def test_a_clinician_token_skips_the_server_checks(practice: Practice) -> None:
    from tlh.client import TlhClient

    url = practice.serve()

    async def clinician() -> str:
        async with TlhClient(url, practice.token) as admin:
            return (await admin.staff.add("lee@example.org", "Dr Lee", "clinician")).token

    found = checks(practice.doctor("--json", token=asyncio.run(clinician())))
    assert found["token"]["status"] == "ok"
    assert found["server checks"]["status"] == "skip"
    assert "admin token" in found["server checks"]["detail"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_no_server_fails_once_and_skips_the_rest(practice: Practice, scheme: str) -> None:
    practice.url = f"{scheme}://127.0.0.1:{free_port()}"
    result = practice.doctor("--json")
    found = checks(result)
    assert result.exit_code == 1
    assert found["server"]["status"] == "fail"
    assert "connection refused" in found["server"]["detail"]
    assert "tlh serve" in found["server"]["fix"]
    assert {found[n]["status"] for n in ("tls", "token", "server checks")} == {"skip"}


def test_the_staff_echo_route_wants_a_token_and_an_offer(practice: Practice) -> None:
    import urllib.error
    import urllib.request

    url = practice.serve()

    def post(path: str, body: bytes, token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("/api/v1/media/echo", b'{"sdp": "v=0"}', None) == 401
    assert post("/api/v1/media/echo", b'{"sdp": ""}', practice.token) == 400
    assert post("/api/v1/media/echo", b'{"sdp": "not an offer"}', practice.token) == 400
    assert post("/api/v1/media/echo/end", b"{}", practice.token) == 200
