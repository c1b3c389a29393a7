"""Whether a host is this machine: the one check behind every "loopback only" rule (plain
HTTP, an SMTP relay without TLS, host-only ICE candidates, the doctor's TLS verdict)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (IPv6 in brackets or not); names are not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_networks(given: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks (``10.0.0.0/8``), as ``[server] trusted_proxies``
    lists them; ``ValueError`` naming a bad one."""
    found: list[Network] = []
    for raw in given:
        try:
            found.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"[server] trusted_proxies: {raw!r} is not an IP address or network"
            ) from None
    return tuple(found)
