"""A coturn configuration matching tlh's ``[turn]`` table (``tlh turn config``).

TURN over UDP and TCP on 3478, over TLS on 443 (clients whose network lets only HTTPS
out) or 5349, per-participant credentials checked against the shared secret
(``use-auth-secret``), a fixed relay port range for the firewall, and no relaying into
private, loopback, link-local or multicast addresses: a TURN server must not become a way
into the network it stands in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Ranges coturn refuses to relay to (RFC 1918, CGNAT, loopback, link-local, "this
#: network", IETF protocol assignments, benchmarking, IPv6 unique-local and link-local).
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "::1",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


@dataclass(frozen=True)
class CoturnPlan:
    """What the configuration says; ``secret`` is coturn's ``static-auth-secret``."""

    realm: str
    secret: str = field(repr=False)
    cert: str = "/etc/coturn/fullchain.pem"
    key: str = "/etc/coturn/privkey.pem"
    port: int = 3478
    tls_port: int = 443
    min_port: int = 49152
    max_port: int = 65535
    external_ip: str | None = None
    #: Private addresses relaying may reach after all (tlh's media relay on a LAN).
    allowed_peers: tuple[str, ...] = ()

    def urls(self) -> list[str]:
        """The ``[turn] urls`` tlh hands to pages for this server."""
        return [
            f"turn:{self.realm}:{self.port}?transport=udp",
            f"turn:{self.realm}:{self.port}?transport=tcp",
            f"turns:{self.realm}:{self.tls_port}?transport=tcp",
        ]


def render(plan: CoturnPlan) -> str:
    """``turnserver.conf`` text for ``plan``."""
    lines = [
        "# coturn for tlh (written by `tlh turn config`): /etc/turnserver.conf",
        "# tlh.toml's side:",
        "#   [turn]",
        "#   urls = [" + ", ".join(f'"{u}"' for u in plan.urls()) + "]",
        "#   secret = the static-auth-secret below (or secret_file)",
        f"listening-port={plan.port}",
        f"tls-listening-port={plan.tls_port}",
        f"min-port={plan.min_port}",
        f"max-port={plan.max_port}",
        f"realm={plan.realm}",
        "# Credentials minted by tlh per participant, expiring after the visit.",
        "use-auth-secret",
        f"static-auth-secret={plan.secret}",
        "fingerprint",
        f"cert={plan.cert}",
        f"pkey={plan.key}",
        "no-tlsv1",
        "no-tlsv1_1",
        "no-cli",
        "no-multicast-peers",
        "# Never a way into private networks.",
        *(f"denied-peer-ip={r}" for r in DENIED_PEERS),
        *(f"allowed-peer-ip={a}" for a in plan.allowed_peers),
    ]
    if plan.external_ip:
        lines.append(f"external-ip={plan.external_ip}")
    lines += ["simple-log", "log-file=stdout"]
    return "\n".join(lines) + "\n"
