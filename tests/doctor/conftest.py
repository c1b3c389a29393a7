"""Fixtures the doctor's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.messaging.support import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) that requires login as ``u`` / ``pw``."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (b"u", b"pw")
        return AuthResult(success=good, handled=False)

    srv = SmtpServer()
    srv.extra = {"authenticator": check, "auth_require_tls": False}
    srv.start()
    yield srv
    srv.stop()
