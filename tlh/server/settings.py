"""How one server runs: where its data lives, where it listens, what it trusts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    #: The data dir this server owns (one server per dir, enforced by a lock file).
    data_dir: Path
    #: Address to listen on; anything but loopback needs TLS or ``insecure``.
    host: str = "127.0.0.1"
    #: TCP port; 0 picks a free one (tests).
    port: int = 8765
    #: PEM certificate and key for HTTPS.
    cert: Path | None = None
    key: Path | None = None
    #: Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    insecure: bool = False
    #: Origins allowed on browser websockets besides the server's own.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    #: Largest request body (imports); the importer gives its own clearer limit below it.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Largest websocket message a client may send.
    ws_max_message_bytes: int = 64 * 1024
    #: Seconds between websocket pings (a dead peer is dropped after no pong).
    ws_heartbeat_s: float = 20.0
