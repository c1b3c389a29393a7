"""Email through the practice's SMTP server (aiosmtplib).

TLS is STARTTLS or implicit, and the certificate is always verified against the host
name (the system's CAs, plus ``ca_file`` for a private CA): there is no switch to turn
verification off. Plain text is accepted only for a loopback relay (checked when the
config is read). Connections are pooled: each concurrent sender reuses an open one.
"""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from tlh.domain.messages import Message, MessageChannel
from tlh.messaging.config import SmtpConfig
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.mime import email_bytes, envelope_sender

#: Idle connections kept open for reuse; more senders than this open their own.
POOL_SIZE = 8


def _cert_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error somewhere in ``exc``'s chain (aiosmtplib wraps it)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def classify(exc: BaseException) -> TransientError | PermanentError:
    """Map an aiosmtplib/ssl/OS error to retry-or-not, with a one-line reason that never
    names the recipient (server replies can echo the address, so they are not copied).
    """
    cert = _cert_failure(exc)
    if cert is not None:
        return PermanentError(f"SMTP certificate not trusted: {cert.verify_message}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return PermanentError(f"SMTP login refused ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = sorted({r.code for r in exc.recipients})
        if all(400 <= c < 500 for c in codes):
            return TransientError(f"SMTP recipient deferred ({codes[0]})")
        return PermanentError(f"SMTP recipient refused ({codes[-1]})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 400 <= exc.code < 500:
            return TransientError(f"SMTP server deferred the message ({exc.code})")
        if exc.code >= 500:
            return PermanentError(f"SMTP server refused the message ({exc.code})")
        return TransientError(f"SMTP server answered {exc.code}")
    if isinstance(exc, ssl.SSLError):
        return PermanentError(f"SMTP TLS failed: {exc.reason or type(exc).__name__}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or (
        type(exc) is aiosmtplib.SMTPException and ("STARTTLS" in str(exc) or "AUTH" in str(exc))
    ):
        # A server without STARTTLS (or login) is a configuration mismatch, and falling
        # back to plain text is never an option.
        return PermanentError(f"SMTP server does not support the configured security: {exc}")
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return TransientError("SMTP server timed out")
    if isinstance(exc, OSError | aiosmtplib.SMTPException):
        return TransientError(f"SMTP server unreachable ({type(exc).__name__})")
    return TransientError(f"SMTP send failed ({type(exc).__name__})")


class SmtpTransport:
    """Sends emails over a small pool of verified TLS connections."""

    channel = MessageChannel.EMAIL

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        # Built once: loading the system CA store costs a few ms per context.
        self._tls = ssl.create_default_context(cafile=config.ca_file)
        self._idle: list[aiosmtplib.SMTP] = []
        self._sender = envelope_sender(config.from_address)
        self._closed = False

    def _new_client(self) -> aiosmtplib.SMTP:
        cfg = self.config
        return aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            timeout=cfg.timeout_s,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            validate_certs=True,
            tls_context=self._tls if cfg.security != "none" else None,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._new_client()
        await client.connect()
        if self.config.username:
            await client.login(self.config.username, self.config.password)
        return client

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        return await self._connect()

    def _checkin(self, client: aiosmtplib.SMTP) -> None:
        if self._closed or len(self._idle) >= POOL_SIZE or not client.is_connected:
            client.close()
        else:
            self._idle.append(client)

    async def _send_once(self, message: Message, raw: bytes, reused: list[bool]) -> str:
        reused.append(bool(self._idle))
        client = await self._checkout()
        try:
            await client.sendmail(self._sender, [message.to], raw)
        except BaseException:
            client.close()
            raise
        self._checkin(client)
        return f"{message.id}"

    async def send(self, message: Message) -> str:
        """Send one email; return its Message-ID's local part (the outbox id)."""
        if self._closed:
            raise TransientError("SMTP transport is closed")
        # Built once per send; the email package is the costliest part of a send.
        raw = email_bytes(message, self.config.from_address)
        reused: list[bool] = []
        try:
            return await self._send_once(message, raw, reused)
        except aiosmtplib.SMTPServerDisconnected:
            # A pooled connection the server dropped while idle: one fresh attempt. Safe,
            # since the server never took the message on a connection that was gone.
            if not reused[0]:
                raise TransientError("SMTP server closed the connection") from None
        except Exception as exc:
            raise classify(exc) from None
        try:
            return await self._send_once(message, raw, [])
        except Exception as exc:
            raise classify(exc) from None

    async def check_login(self) -> None:
        """Connect, log in and quit (``tlh doctor``); raises what ``send`` would."""
        try:
            client = await self._connect()
        except Exception as exc:
            raise classify(exc) from None
        try:
            async with asyncio.timeout(min(self.config.timeout_s, 5.0)):
                await client.quit()
        except Exception:  # logged in is what was asked; a failed QUIT changes nothing
            client.close()

    async def close(self) -> None:
        """Close pooled connections (politely, with QUIT, bounded by the timeout)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                async with asyncio.timeout(min(self.config.timeout_s, 5.0)):
                    await client.quit()
            except Exception:  # a failed QUIT only means the connection is gone already
                client.close()
