"""``tlh doctor``'s TURN checks: the STUN/TURN servers call pages are handed answer, and
with ``[turn]`` coturn grants an allocation to credentials minted as a page's would be.

Which half of ``[turn]`` is missing, and a secret coturn does not share (its 401 to minted
credentials), are told apart; the secret and the credentials are never shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tlh.domain.doctor import Check, fail, ok, warn
from tlh.errors import InvalidInput
from tlh.services import ice_probe
from tlh.services.ice_plan import IcePlan

Probe = Callable[[], Awaitable[Check]]

#: Whom the doctor's own credentials are minted for (the username shows it in coturn's log).
DOCTOR = "tlh-doctor"
_SECRET_FIX = (
    "set [turn] secret (or secret_file) in tlh.toml to the static-auth-secret of coturn's "
    "turnserver.conf (tlh turn config prints a matching one)"
)
_ICE_FIX = "check [rooms] ice_servers in tlh.toml"


def ice_probes(plan: IcePlan, timeout_s: float) -> list[Probe]:
    """The configuration's own problems, then one probe per STUN/TURN URL."""
    found: list[Probe] = [_const(c) for c in _config_checks(plan)]
    if not plan.static and not plan.turn_urls:
        found.append(
            _const(
                warn(
                    "ice",
                    "no STUN/TURN servers: a client behind a strict NAT may reach neither the "
                    "others nor the server's relay",
                    "add [turn] urls and secret in tlh.toml (tlh turn config) for clients "
                    "behind strict NATs",
                )
            )
        )
    for server in plan.static:
        for url in _urls(server):
            found.append(_probe(url, server.get("username"), server.get("credential"), timeout_s))
    if plan.mints:
        minted = plan.servers(DOCTOR)[-1]
        for url in plan.turn_urls:
            found.append(
                _probe(url, minted["username"], minted["credential"], timeout_s, minted=True)
            )
    return found


def _config_checks(plan: IcePlan) -> list[Check]:
    checks: list[Check] = []
    if plan.turn_urls and not plan.turn_secret:
        checks.append(
            fail(
                "turn",
                "[turn] urls are set but no secret: call pages get no TURN credentials",
                _SECRET_FIX,
            )
        )
    elif plan.turn_secret and not plan.turn_urls:
        checks.append(
            fail(
                "turn",
                "[turn] secret is set but no urls: call pages get no TURN server",
                "set [turn] urls in tlh.toml (turn:HOST:3478, turns:HOST:443?transport=tcp)",
            )
        )
    fixed = [s for s in plan.static if s.get("credential") and any(_turn(u) for u in _urls(s))]
    if fixed:
        checks.append(
            warn(
                "turn",
                "a fixed TURN username and password in [rooms] ice_servers reach every page "
                "and never expire",
                "set [turn] secret and urls instead: credentials minted per participant that "
                "expire after the visit (tlh turn config prints coturn's side)",
            )
        )
    return checks


def _urls(server: dict[str, Any]) -> list[str]:
    urls = server.get("urls", ())
    return [urls] if isinstance(urls, str) else [str(u) for u in urls]


def _turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


def _const(check: Check) -> Probe:
    async def probe() -> Check:
        return check

    return probe


def _probe(
    url: str, username: Any, credential: Any, timeout_s: float, *, minted: bool = False
) -> Probe:
    async def probe() -> Check:
        name = f"ice {url}"
        fix = _SECRET_FIX if minted else _ICE_FIX
        try:
            parsed = ice_probe.parse_url(url)
            if parsed.is_turn:
                relayed = await ice_probe.turn_allocate(parsed, username, credential, timeout_s)
                how = " to credentials minted with [turn] secret" if minted else ""
                return ok(name, f"TURN allocation granted{how} (relayed address {relayed[0]})")
            mapped = await ice_probe.stun_binding(parsed, timeout_s)
            return ok(name, f"STUN answered (this server is seen as {mapped[0]})")
        except ice_probe.CredentialsRefused as exc:
            if not minted:
                return fail(name, exc.message, fix)
            return fail(
                name,
                "the TURN server refused the credentials minted with [turn] secret: the secret "
                "differs from coturn's static-auth-secret (or coturn lacks use-auth-secret)",
                fix,
            )
        except InvalidInput as exc:
            return fail(name, exc.message, fix)
        except (OSError, TimeoutError) as exc:
            return fail(
                name,
                f"no answer ({type(exc).__name__})",
                "check the host and port, that the server runs, and the firewall (UDP too)",
            )

    return probe
