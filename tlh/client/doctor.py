"""The checks of ``tlh doctor`` seen from the admin's machine, then the server's own.

Is the server reachable, is its TLS certificate valid for its name and not about to
expire, does the token sign in, and what the server finds of its mail, texts, STUN/TURN
servers and disk (``GET /api/v1/admin/doctor``). When a check fails, the ones that need
it are skipped rather than failing again. Nothing here prints: the command shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tlh.domain.doctor import Check, CheckStatus, fail, ok, skip, warn
from tlh.errors import TlhError
from tlh.net import is_loopback

from .transport import Endpoint

if TYPE_CHECKING:
    from .api import TlhClient

#: A certificate expiring sooner than this is a warning.
CERT_WARN_DAYS = 14
#: OpenSSL's verify codes the doctor explains (X509_V_ERR_*).
_EXPIRED = 10
_HOSTNAME_MISMATCH = 62


async def local_checks(
    client: TlhClient, url: str, token: str, ca_file: str | None, timeout_s: float
) -> list[Check]:
    """Server reachable, TLS, token, echo; then the server's checks and a real call
    through it (admins only)."""
    tls = await tls_check(url, ca_file, timeout_s)
    try:
        health = await client.health()
    except TlhError as exc:
        broken_tls = tls.status == CheckStatus.FAIL
        return [
            fail(
                "server",
                f"{url}: {'the TLS certificate is refused' if broken_tls else exc.message}",
                "fix the certificate (the tls line)"
                if broken_tls
                else "start it with `tlh serve`, or check --url / TLH_URL",
            ),
            tls if broken_tls else skip("tls", "the server is unreachable"),
            skip("token", "the server is unreachable"),
            skip("server checks", "the server is unreachable"),
        ]
    checks = [ok("server", f"tlh {health.version} answers at {url}"), tls]
    try:
        me = await client.staff.me()
    except TlhError as exc:
        checks.append(
            fail("token", exc.message, "get a new token from an admin: tlh staff token EMAIL")
        )
        checks.append(skip("server checks", "no valid token"))
        return checks
    checks.append(ok("token", f"signed in as {me.name} ({me.role.value})"))
    checks.append(await echo_check(client, url, timeout_s))
    if me.role.value != "admin":
        checks.append(skip("server checks", "mail, texts, STUN/TURN and disk need an admin token"))
        return checks
    try:
        checks.extend(await client.admin.doctor())
    except TlhError as exc:
        checks.append(fail("server checks", exc.message, "see the server's log"))
    checks.append(await call_check(client, url, token, ca_file, timeout_s))
    return checks


async def call_check(
    client: TlhClient, url: str, token: str, ca_file: str | None, timeout_s: float
) -> Check:
    """A real call through the server: the admin on the staff call socket and a headless
    guest through a one-time link, let in from the waiting room (``tlh.media``)."""
    try:
        from tlh.media.selfcall_probe import self_call
    except ImportError as exc:  # a CLI-only install without the media stack
        return skip("call", f"the media stack is not installed ({exc.name})")
    try:
        made = await client.admin.self_call()
    except TlhError as exc:
        return fail("call", exc.message, "see the server's log")
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    try:
        result = await self_call(
            url,
            token,
            made.session_id,
            urlsplit(made.url).fragment,
            client.rooms.admit,
            ssl_context=context,
            within=max(timeout_s, 5.0),
        )
    except TlhError as exc:
        return fail(
            "call",
            f"a test call through the server failed at {exc.message}",
            "run `tlh doctor` again with --check-timeout 20; if it still fails, "
            "add a TURN server ([rooms] ice_servers) or see the server's log",
        )
    finally:
        with contextlib.suppress(TlhError):
            await client.sessions.end(made.session_id)
        with contextlib.suppress(TlhError):
            await client.links.revoke(made.link_id)
    how = "through the server's relay" if result.relayed else "directly"
    return ok(
        "call",
        f"a test guest was let in from the waiting room; video and audio flowed both ways "
        f"{how} ({result.total_ms:.0f} ms from the link to media)",
    )


async def echo_check(client: TlhClient, url: str, timeout_s: float) -> Check:
    """Media both ways through the server's echo peer (aiortc, imported only here)."""
    try:
        from tlh.media.echo_probe import FRAMES_BACK, echo_round_trip
    except ImportError as exc:  # a CLI-only install without the media stack
        return skip("echo", f"the media stack is not installed ({exc.name})")
    loopback = is_loopback(Endpoint.parse(url).host)
    try:
        result = await echo_round_trip(client.media.echo_offer, loopback=loopback, within=timeout_s)
    except TlhError as exc:
        return fail("echo", exc.message, "see the server's log; try again in a minute if busy")
    finally:
        with contextlib.suppress(TlhError):
            await client.media.echo_end()
    if result.video_ms is None or result.audio_ms is None:
        missing = " and ".join(
            k for k, v in (("video", result.video_ms), ("audio", result.audio_ms)) if v is None
        )
        return fail(
            "echo",
            f"no {missing} came back within {timeout_s:g} s",
            "open UDP between this machine and the server, or add a TURN server "
            "([rooms] ice_servers)",
        )
    return ok(
        "echo",
        f"video and audio came back through the server "
        f"({result.video_ms:.0f} ms and {result.audio_ms:.0f} ms for {FRAMES_BACK} frames)",
    )


async def tls_check(url: str, ca_file: str | None, timeout_s: float) -> Check:
    """The server's certificate: trusted, for this name, and how long it stays valid."""
    endpoint = Endpoint.parse(url)
    if endpoint.scheme != "https":
        if is_loopback(endpoint.host):
            return ok("tls", "plain HTTP on this machine (browsers allow cameras on localhost)")
        return warn(
            "tls",
            "plain HTTP: browsers refuse cameras and the token crosses the network in clear",
            "serve over HTTPS: tlh serve --cert CERT --key KEY (or behind a TLS proxy)",
        )
    context = ssl.create_default_context(cafile=ca_file)
    try:
        der = await _peer_certificate(endpoint, context, timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return await _explain(endpoint, exc, timeout_s)
    except ssl.SSLError as exc:
        return fail(
            "tls", f"TLS handshake failed ({exc.reason})", "check the server's --cert and --key"
        )
    except (OSError, TimeoutError):
        return skip("tls", "could not connect to read the certificate")
    expires = _not_after(der)
    days = (expires - datetime.now(UTC)).days
    shown = f"valid for {endpoint.host} until {expires:%Y-%m-%d}"
    if days < CERT_WARN_DAYS:
        return warn(
            "tls", f"{shown}: {days} days left", "renew the certificate and restart tlh serve"
        )
    return ok("tls", shown)


async def _peer_certificate(endpoint: Endpoint, context: ssl.SSLContext, timeout_s: float) -> bytes:
    async with asyncio.timeout(timeout_s):
        _, writer = await asyncio.open_connection(
            endpoint.host, endpoint.port, ssl=context, server_hostname=endpoint.host
        )
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
    finally:
        writer.close()
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return bytes(der)


async def _explain(
    endpoint: Endpoint, exc: ssl.SSLCertVerificationError, timeout_s: float
) -> Check:
    """Say why the certificate is refused, reading it without verification."""
    blind = ssl.create_default_context()
    blind.check_hostname = False
    blind.verify_mode = ssl.CERT_NONE
    try:
        der = await _peer_certificate(endpoint, blind, timeout_s)
    except (OSError, TimeoutError):
        der = b""
    if exc.verify_code == _EXPIRED and der:
        return fail(
            "tls",
            f"the certificate expired on {_not_after(der):%Y-%m-%d}",
            "renew it and restart tlh serve with the new --cert/--key",
        )
    if exc.verify_code == _HOSTNAME_MISMATCH:
        names = ", ".join(_names(der)) if der else "other names"
        return fail(
            "tls",
            f"the certificate is for {names}, not {endpoint.host}",
            "use the URL of a name the certificate holds, or issue one for this name",
        )
    return fail(
        "tls",
        f"the certificate is not trusted ({exc.verify_message})",
        "set TLH_CA_FILE to the CA that signed it, or use a certificate from a public CA",
    )


def _not_after(der: bytes) -> datetime:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc


def _names(der: bytes) -> list[str]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    ]


def worst(checks: list[Check]) -> CheckStatus:
    """The worst status among the checks (``fail`` beats ``warn`` beats ``ok``)."""
    order = (CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.SKIP, CheckStatus.OK)
    found = {c.status for c in checks}
    return next((s for s in order if s in found), CheckStatus.OK)
