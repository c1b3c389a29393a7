"""SMTP against a real aiosmtpd server on loopback: MIME parts, TLS that is always
verified, and the mapping of failures to retry-or-not."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
import trustme

from tests.messaging.support import SmtpServer, email, free_port
from tlh.messaging.config import SmtpConfig
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.smtp import SmtpTransport

FROM = "practice@tele.example.org"


def plain(port: int, **kw: object) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1", port=port, security="none", from_address=FROM, timeout_s=5, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    srv = SmtpServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str) -> SmtpServer:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(ctx)
    srv = SmtpServer(tls_context=ctx)
    srv.start()
    return srv


def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def test_email_arrives_with_text_html_and_ics(server: SmtpServer) -> None:
    transport = SmtpTransport(plain(server.port))
    try:
        provider_id = await transport.send(email(1))
    finally:
        await transport.close()
    assert provider_id == "msg_0001"
    [(mail_from, rcpts, _)] = server.received.envelopes
    assert (mail_from, rcpts) == (FROM, ["client1@example.com"])
    [got] = server.received.emails()
    assert got["Message-ID"] == "<msg_0001@tele.example.org>"
    assert got["Subject"] == "Your telehealth session"
    assert got.get_body(("plain",)).get_content().startswith("Join at https://")  # type: ignore[union-attr]
    assert "<a href=" in got.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [ics] = [p for p in got.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert ics.get_param("method") == "REQUEST"
    assert ics.get_filename() == "invite.ics"
    cal = icalendar.Calendar.from_ical(ics.get_content())
    [event] = cal.walk("VEVENT")
    assert event["UID"] == "apt_1@tlh"
    assert event.decoded("DTSTART").isoformat() == "2026-11-23T15:00:00+00:00"


async def test_one_connection_is_reused_between_sends(server: SmtpServer) -> None:
    transport = SmtpTransport(plain(server.port))
    try:
        await transport.send(email(1))
        first = transport._idle[0]
        await transport.send(email(2))
        assert transport._idle == [first]
    finally:
        await transport.close()
    assert len(server.received.envelopes) == 2


async def test_starttls_with_a_trusted_private_ca_delivers(ca: trustme.CA, tmp_path: Path) -> None:
    srv = tls_server(ca, "127.0.0.1", "localhost")
    config = SmtpConfig(
        host="127.0.0.1", port=srv.port, from_address=FROM, ca_file=ca_file(ca, tmp_path)
    )
    transport = SmtpTransport(config)
    try:
        await transport.send(email(1))
    finally:
        await transport.close()
        srv.stop()
    assert len(srv.received.envelopes) == 1


@pytest.mark.parametrize("trust", [True, False], ids=["wrong-name", "untrusted-ca"])
async def test_a_certificate_that_does_not_verify_fails_permanently(
    ca: trustme.CA, tmp_path: Path, trust: bool
) -> None:
    srv = tls_server(ca, "mail.example.org")
    config = SmtpConfig(
        host="127.0.0.1",
        port=srv.port,
        from_address=FROM,
        ca_file=ca_file(ca, tmp_path) if trust else None,
    )
    transport = SmtpTransport(config)
    try:
        with pytest.raises(PermanentError, match="certificate not trusted") as err:
            await transport.send(email(1))
    finally:
        await transport.close()
        srv.stop()
    assert srv.received.envelopes == []
    assert "client1" not in str(err.value)


async def test_no_server_listening_is_transient() -> None:
    transport = SmtpTransport(plain(free_port()))
    with pytest.raises(TransientError, match="unreachable"):
        await transport.send(email(1))
    await transport.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [("451 4.3.0 try again later", TransientError), ("554 5.7.1 rejected", PermanentError)],
)
async def test_server_replies_map_to_retry_or_not(
    server: SmtpServer, reply: str, error: type[Exception]
) -> None:
    server.handler.reply = reply
    transport = SmtpTransport(plain(server.port))
    try:
        with pytest.raises(error) as err:
            await transport.send(email(1))
    finally:
        await transport.close()
    assert reply[:3] in str(err.value)
    assert "example.com" not in str(err.value)


async def test_starttls_required_but_not_offered_fails_permanently(server: SmtpServer) -> None:
    # The plain test server offers no STARTTLS: never fall back to plain text.
    config = SmtpConfig(host="127.0.0.1", port=server.port, from_address=FROM, timeout_s=5)
    transport = SmtpTransport(config)
    try:
        with pytest.raises(PermanentError, match="STARTTLS"):
            await transport.send(email(1))
    finally:
        await transport.close()
    assert server.received.envelopes == []


def auth_server() -> SmtpServer:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"u", b"pw")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    srv = SmtpServer()
    srv.extra = {"authenticator": check, "auth_require_tls": False}
    srv.start()
    return srv


@pytest.mark.parametrize(("password", "delivered"), [("pw", True), ("wrong", False)])
async def test_login_when_a_username_is_set(password: str, delivered: bool) -> None:
    srv = auth_server()
    transport = SmtpTransport(plain(srv.port, username="u", password=password))
    try:
        if delivered:
            await transport.send(email(1))
        else:
            with pytest.raises(PermanentError, match="login refused"):
                await transport.send(email(1))
    finally:
        await transport.close()
        srv.stop()
    assert len(srv.received.envelopes) == int(delivered)
