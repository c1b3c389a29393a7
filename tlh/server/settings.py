"""How one server runs: where its data lives, where it listens, what it trusts.

``Settings`` holds every value with its default and meaning; ``tlh.toml`` sets them by
table (``[server]``, ``[limits]``, ``[rooms]``, ``[hooks]``, and the messaging tables),
read the way every config file is (``tlh.configfile``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tlh.configfile import checking, decode, read_toml
from tlh.messaging.config import SECTIONS as MESSAGING_SECTIONS
from tlh.messaging.config import MessagingConfig, messaging_from_toml
from tlh.store.keys import KeySource


@dataclass(frozen=True)
class Settings:
    #: The data dir this server owns (one server per dir, enforced by a lock file).
    data_dir: Path
    #: Where an encrypted data dir's key comes from (``--key-file``, ``TLH_KEY_FILE``,
    #: ``TLH_PASSPHRASE``, else the key file ``tlh init`` wrote in the config dir).
    keys: KeySource = field(default_factory=KeySource)
    #: Address to listen on; anything but loopback needs TLS or ``insecure``.
    host: str = "127.0.0.1"
    #: TCP port; 0 picks a free one (tests).
    port: int = 8765
    #: PEM certificate and key for HTTPS.
    cert: Path | None = None
    key: Path | None = None
    #: Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    insecure: bool = False
    #: Browser origins allowed besides the server's own and the public URL (on every
    #: page's requests and sockets: ``tlh.server.origin``).
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    #: Largest request body (imports); the importer gives its own clearer limit below it.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Largest websocket message a client may send.
    ws_max_message_bytes: int = 64 * 1024
    #: Seconds between websocket pings (a dead peer is dropped after no pong).
    ws_heartbeat_s: float = 20.0
    #: Seconds an idle keep-alive HTTP connection stays open (aiohttp's ``run_app``
    #: default); tests shorten it to show what clients do when it closes.
    keepalive_timeout_s: float = 75.0
    #: Email and SMS transports, templates and the public URL used in links.
    messaging: MessagingConfig = field(default_factory=MessagingConfig)
    #: Seconds a waiting-room entry keeps its place after its socket drops.
    reconnect_grace_s: float = 60.0
    #: Seconds a room session (no appointment) may stay with nobody in its call before it
    #: is closed (``tlh.services.idle_sessions``).
    empty_session_grace_s: float = 300.0
    #: STUN/TURN servers handed to call pages (RTCIceServer dicts: urls, username?,
    #: credential?). Empty: host candidates only (same network, or the media relay).
    ice_servers: tuple[dict[str, Any], ...] = ()
    #: A program run for each room event, the event as JSON on stdin (never a shell).
    hooks_command: tuple[str, ...] = ()
    #: A URL each room event is POSTed to as JSON.
    hooks_url: str | None = None
    #: Which events reach the hooks (empty: every ``room.*`` event).
    hooks_events: tuple[str, ...] = ()
    #: Seconds a hook may take before it is abandoned.
    hooks_timeout_s: float = 10.0


def own_url(settings: Settings) -> str:
    """The server's own address, for links when no public URL is configured."""
    scheme = "https" if settings.cert else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{scheme}://{host}:{settings.port}"


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A table of ``tlh.toml``: each key given sets the ``Settings`` field of its name (the
    defaults and what each means are there, and in ``config/tlh.example.toml``)."""


class ServerTable(_Table, frozen=True):
    """``[server]``: where and how the server listens."""

    host: str | UnsetType = UNSET
    port: int | UnsetType = UNSET
    cert: str | UnsetType = UNSET
    key: str | UnsetType = UNSET
    insecure: bool | UnsetType = UNSET
    allowed_origins: tuple[str, ...] | UnsetType = UNSET


class LimitsTable(_Table, frozen=True):
    """``[limits]``: sizes and timeouts of requests and sockets."""

    max_body_bytes: int | UnsetType = UNSET
    ws_max_message_bytes: int | UnsetType = UNSET
    ws_heartbeat_s: float | UnsetType = UNSET
    keepalive_timeout_s: float | UnsetType = UNSET


class RoomsTable(_Table, frozen=True):
    """``[rooms]``: waiting rooms and calls."""

    reconnect_grace_s: float | UnsetType = UNSET
    empty_session_grace_s: float | UnsetType = UNSET
    ice_servers: tuple[dict[str, Any], ...] | UnsetType = UNSET


class HooksTable(_Table, frozen=True):
    """``[hooks]``: its keys set the ``hooks_``-prefixed ``Settings`` fields."""

    command: tuple[str, ...] | UnsetType = UNSET
    url: str | UnsetType = UNSET
    events: tuple[str, ...] | UnsetType = UNSET
    timeout_s: float | UnsetType = UNSET


class ServerFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``tlh.toml`` but for its messaging sections (``tlh.messaging.config`` reads those)."""

    server: ServerTable = ServerTable()
    limits: LimitsTable = LimitsTable()
    rooms: RoomsTable = RoomsTable()
    hooks: HooksTable = HooksTable()

    def values(self) -> dict[str, Any]:
        """The ``Settings`` fields the file sets, by name."""
        found: dict[str, Any] = {}
        for name in self.__struct_fields__:
            prefix = "hooks_" if name == "hooks" else ""
            table = msgspec.structs.asdict(getattr(self, name))
            found.update({prefix + k: v for k, v in table.items() if v is not UNSET})
        for key in ("cert", "key"):
            if key in found:
                found[key] = Path(found[key])
        return found

    def validate(self) -> None:
        """What the types cannot say (``ValueError`` naming the key)."""
        servers = self.rooms.ice_servers
        if servers is not UNSET and not all("urls" in v for v in servers):
            raise ValueError("[rooms] ice_servers entries need urls")
        grace = self.rooms.empty_session_grace_s
        if grace is not UNSET and not 1 <= grace <= 24 * 3600:
            raise ValueError("[rooms] empty_session_grace_s must be 1 to 86400 seconds")


def load_settings(data_dir: Path, config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (``config``, else ``<data_dir>/tlh.toml`` if present),
    then ``overrides`` (command-line flags that were given: ``None`` means not given).

    An unknown table or key, or a value of the wrong type, is ``InvalidInput`` naming it.
    """
    path = config if config is not None else data_dir / "tlh.toml"
    values: dict[str, Any] = {}
    doc = read_toml(path, missing_ok=config is None)
    if doc is not None:
        values["messaging"] = messaging_from_toml(doc, path)
        rest = {k: v for k, v in doc.items() if k not in MESSAGING_SECTIONS}
        found = decode(rest, ServerFile, file=path)
        with checking(path):
            found.validate()
        values.update(found.values())
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(data_dir=data_dir, **values)
