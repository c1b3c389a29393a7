"""The checks of ``tlh doctor`` that need the server's own configuration.

Mail (log in to the SMTP server), texts (the provider accepts the credentials), the
STUN/TURN servers call pages are given (``doctor_turn``), room on the data dir's disk, and who
else can read the config file and the data dir (``tlh.services.doctor_files``). Each check is
bounded by a timeout, runs beside the others, and comes back as a ``Check`` whose fix
names the config key to change. Nothing is sent to anyone.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tlh.domain.doctor import Check, fail, ok, warn
from tlh.messaging.config import MessagingConfig
from tlh.messaging.errors import PermanentError, TransientError
from tlh.net import is_loopback
from tlh.services.auth import require_role
from tlh.services.context import Actor
from tlh.services.doctor_turn import ice_probes
from tlh.services.ice_plan import IcePlan

#: Seconds each network check may take.
CHECK_TIMEOUT_S = 5.0
#: Free space on the data dir's disk below which the doctor warns, and fails.
DISK_WARN_BYTES = 1 << 30
DISK_FAIL_BYTES = 100 << 20

Probe = Callable[[], Awaitable[Check]]


async def run_checks(
    actor: Actor,
    messaging: MessagingConfig,
    ice: IcePlan | Sequence[dict[str, Any]],
    data_dir: Path,
    timeout_s: float = CHECK_TIMEOUT_S,
    *,
    own_url: str = "http://127.0.0.1:8765",
    listen_host: str = "127.0.0.1",
    config_file: Path | None = None,
) -> list[Check]:
    """Every server-side check, run at once; admins only. ``own_url`` is where links
    point without a public URL; ``listen_host`` the address the server listens on;
    ``config_file`` the ``tlh.toml`` the server read (if any)."""
    from tlh.domain.models import Role
    from tlh.services.doctor_files import config_check, data_dir_check

    require_role(actor, Role.ADMIN)
    probes: list[Probe] = [
        lambda: links_check(messaging.public_url, own_url, listen_host),
        lambda: email_check(messaging, timeout_s),
        lambda: sms_check(messaging, timeout_s),
        *ice_probes(IcePlan.of(ice), timeout_s),
        lambda: disk_check(data_dir),
        lambda: asyncio.to_thread(config_check, config_file),
        lambda: asyncio.to_thread(data_dir_check, data_dir),
    ]
    return list(await asyncio.gather(*(bounded(p, timeout_s) for p in probes)))


async def bounded(probe: Probe, timeout_s: float) -> Check:
    """A probe with a hard deadline (a slack margin over its own timeouts)."""
    try:
        async with asyncio.timeout(timeout_s + 2.0):
            return await probe()
    except TimeoutError:
        return fail("check", "a check did not finish in time", "run tlh doctor again")


async def links_check(public_url: str | None, own_url: str, listen_host: str) -> Check:
    """Links in messages must open where clients are: a loopback address only works on
    this machine, and is a failure when the server listens for other machines."""
    base = (public_url or own_url).rstrip("/")
    fix = "set [messaging] public_url in tlh.toml to the address clients' browsers reach"
    if not _this_machine_only(urlsplit(base).hostname or ""):
        return ok("links", f"links in messages point at {base}")
    said = "" if public_url else " (no [messaging] public_url)"
    if not is_loopback(listen_host):  # 0.0.0.0 and real addresses serve other machines
        return fail(
            "links",
            f"links in messages point at {base}{said}, which only this machine opens,"
            f" while the server listens on {listen_host} for others",
            fix,
        )
    return warn(
        "links", f"links in messages point at {base}{said}: only this machine opens them", fix
    )


def _this_machine_only(host: str) -> bool:
    """Loopback, or the "any address" a server listens on (no browser can open it)."""
    import ipaddress

    if is_loopback(host):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


async def email_check(config: MessagingConfig, timeout_s: float) -> Check:
    """Log in to the SMTP server as the outbox would."""
    if config.email != "smtp" or config.smtp is None:
        return warn(
            "email",
            "emails are written to files in the data dir, not sent",
            'set [messaging] email = "smtp" and an [smtp] section in tlh.toml',
        )
    import msgspec

    from tlh.messaging.smtp import SmtpTransport

    smtp = config.smtp
    where = f"{smtp.host}:{smtp.port}"
    transport = SmtpTransport(msgspec.structs.replace(smtp, timeout_s=timeout_s))
    try:
        await transport.check_login()
    except (PermanentError, TransientError) as exc:
        return fail("email", f"{where}: {exc}", _smtp_fix(str(exc)))
    finally:
        await transport.close()
    who = "logged in" if smtp.username else "connected (no login configured)"
    return ok("email", f"{who} to {where} ({smtp.security})")


def _smtp_fix(reason: str) -> str:
    if "login" in reason:
        return "check [smtp] username and password in tlh.toml"
    if "certificate" in reason:
        return "fix the mail server's certificate, or give [smtp] ca_file for a private CA"
    if "security" in reason or "TLS" in reason:
        return "set [smtp] security to what the server speaks (starttls on 587, tls on 465)"
    return "check [smtp] host and port, and that this machine may connect to it"


async def sms_check(config: MessagingConfig, timeout_s: float) -> Check:
    """The SMS provider accepts the credentials (Twilio) or is reachable (webhook)."""
    if config.sms == "twilio" and config.twilio is not None:
        from tlh.messaging.sms import TwilioTransport

        transport = TwilioTransport(config.twilio, timeout_s=timeout_s)
        try:
            await transport.check_account()
        except (PermanentError, TransientError) as exc:
            fix = (
                "check [twilio] account_sid and auth_token in tlh.toml"
                if isinstance(exc, PermanentError)
                else "check [twilio] base_url and this machine's network"
            )
            return fail("sms", str(exc), fix)
        finally:
            await transport.close()
        return ok("sms", "Twilio accepted the account credentials")
    if config.sms == "webhook" and config.webhook is not None:
        parts = urlsplit(config.webhook.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(parts.hostname, port)
            writer.close()
        except (OSError, TimeoutError) as exc:
            return fail(
                "sms",
                f"the SMS webhook at {parts.hostname}:{port} is unreachable ({type(exc).__name__})",
                "check [webhook] url in tlh.toml and that the gateway runs",
            )
        return ok("sms", f"the SMS webhook at {parts.hostname}:{port} accepts connections")
    return warn(
        "sms",
        "texts are written to files in the data dir, not sent",
        'set [messaging] sms = "twilio" (or "webhook") and its section in tlh.toml',
    )


async def disk_check(data_dir: Path) -> Check:
    """Room left on the data dir's disk."""
    free = (await asyncio.to_thread(shutil.disk_usage, data_dir)).free
    shown = f"{free / (1 << 30):.1f} GiB free where the data dir is"
    if free < DISK_FAIL_BYTES:
        return fail("disk", shown, "free space on that disk now: writes will start failing")
    if free < DISK_WARN_BYTES:
        return warn("disk", shown, "free space on that disk, or move the data dir")
    return ok("disk", shown)
