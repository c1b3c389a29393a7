"""Whether a host is this machine: the one check behind every "loopback only" rule (plain
HTTP, an SMTP relay without TLS, host-only ICE candidates, the doctor's TLS verdict)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (IPv6 in brackets or not); names are not resolved."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
