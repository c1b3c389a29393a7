"""The systemd unit ``tlh service install`` writes: a hardened ``tlh serve``.

The server runs as its own user, sees the file system read-only but for its data dir,
gains no privileges, and gets its TLS key and other secret files as systemd credentials
(``LoadCredential``: read by systemd as root, handed to the service in a private folder,
so the files themselves can stay root's). SIGTERM drains it (``tlh serve``: sockets told
the server is restarting, requests under way finished) within ``TimeoutStopSec``.

The unit's first lines carry a hash of the rest: a unit someone edited is recognised, and
a second install refuses to overwrite it without ``--force``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from tlh.errors import InvalidInput

#: The header line holding the hash of what tlh wrote below it.
MARK = "# tlh-unit-sha256: "
#: systemd credential names: what ``LoadCredential`` accepts and ``$CREDENTIALS_DIRECTORY``
#: then holds.
_CREDENTIAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Paths a unit may hide under ``ProtectHome=yes``: an install there needs read-only.
_HOMES = (Path("/home"), Path("/root"), Path("/run/user"))


@dataclass(frozen=True)
class UnitSpec:
    """What the unit runs and with what."""

    #: The program and its first arguments (``/opt/tlh/bin/tlh`` or ``python -m tlh``).
    command: tuple[str, ...]
    data_dir: Path
    user: str
    port: int = 8765
    #: ``name -> file``: handed to the service as credentials.
    credentials: dict[str, Path] = field(default_factory=dict)
    #: Credentials that are the TLS certificate and key (passed as --cert/--key).
    cert: str | None = None
    key: str | None = None


def credential(given: str) -> tuple[str, Path]:
    """``NAME=PATH`` from the command line."""
    name, sep, path = given.partition("=")
    if not sep or not _CREDENTIAL_NAME.match(name) or not path:
        raise InvalidInput(
            f"--credential {given!r}: give NAME=PATH (NAME of letters, digits, . _ -)"
        )
    where = Path(path).absolute()
    if not where.is_file():
        raise InvalidInput(f"--credential {name}: {where} is not a file")
    return name, where


def _arg(value: str) -> str:
    """One ExecStart argument (systemd's own quoting, not a shell's)."""
    if re.search(r"[\s\"'\\;]", value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _under_home(*paths: Path) -> bool:
    return any(p == home or home in p.parents for p in paths for home in _HOMES)


def body(spec: UnitSpec) -> str:
    """The unit's text below its header."""
    args = [*spec.command, "serve", "--data-dir", str(spec.data_dir), "--log-format", "json"]
    if spec.cert and spec.key:
        args += ["--cert", f"${{CREDENTIALS_DIRECTORY}}/{spec.cert}"]
        args += ["--key", f"${{CREDENTIALS_DIRECTORY}}/{spec.key}"]
    program = Path(spec.command[0])
    home = "read-only" if _under_home(program, spec.data_dir) else "yes"
    low_port = spec.port < 1024
    lines = [
        "[Unit]",
        "Description=tlh telehealth server",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=exec",
        f"User={spec.user}",
        "ExecStart=" + " ".join(_arg(a) for a in args),
        # Nothing but the server's own user reads what it writes (patients' data).
        "UMask=0077",
        "Restart=on-failure",
        "RestartSec=2s",
        # SIGTERM drains: requests under way finish (aiohttp waits up to 60 s).
        "KillSignal=SIGTERM",
        "TimeoutStopSec=90s",
        *(f"LoadCredential={name}:{path}" for name, path in sorted(spec.credentials.items())),
        "",
        "# Hardening: see systemd.exec(5); `systemd-analyze security tlh` rates it.",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={_arg(str(spec.data_dir))}",
        f"ProtectHome={home}",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "RemoveIPC=yes",
        # AF_NETLINK: the media side lists the machine's addresses for ICE candidates.
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        # Only a port below 1024 needs a capability, and then only that one.
        "CapabilityBoundingSet=" + ("CAP_NET_BIND_SERVICE" if low_port else ""),
        *(["AmbientCapabilities=CAP_NET_BIND_SERVICE"] if low_port else []),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def render(spec: UnitSpec) -> str:
    """The whole unit file: the header with the body's hash, then the body."""
    text = body(spec)
    digest = hashlib.sha256(text.encode()).hexdigest()
    header = [
        "# Written by `tlh service install`. Change settings in a drop-in",
        "# (`systemctl edit tlh`): an install over an edited unit refuses without --force.",
        f"{MARK}{digest}",
    ]
    return "\n".join(header) + "\n" + text


def edited(existing: str) -> bool:
    """Whether a unit file on disk was changed since tlh wrote it (or tlh never did)."""
    lines = existing.split("\n", 3)
    if len(lines) < 4 or not lines[2].startswith(MARK):
        return True
    digest = hashlib.sha256(lines[3].encode()).hexdigest()
    return lines[2].removeprefix(MARK).strip() != digest
