"""How one server runs: where its data lives, where it listens, what it trusts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlh.errors import InvalidInput
from tlh.messaging.config import SECTIONS as MESSAGING_SECTIONS
from tlh.messaging.config import MessagingConfig, messaging_from_toml


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


#: Config keys by table, and the Settings field each sets.
_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "server": {
        "host": str,
        "port": int,
        "cert": str,
        "key": str,
        "insecure": bool,
        "allowed_origins": list,
    },
    "limits": {
        "max_body_bytes": int,
        "ws_max_message_bytes": int,
        "ws_heartbeat_s": (int, float),
        "keepalive_timeout_s": (int, float),
    },
    "rooms": {"reconnect_grace_s": (int, float), "ice_servers": list},
    "hooks": {"command": list, "url": str, "events": list, "timeout_s": (int, float)},
}
#: Keys whose Settings field has another name than the key (table, key) -> field.
_FIELDS: dict[tuple[str, str], str] = {
    ("hooks", "command"): "hooks_command",
    ("hooks", "url"): "hooks_url",
    ("hooks", "events"): "hooks_events",
    ("hooks", "timeout_s"): "hooks_timeout_s",
}


def load_settings(data_dir: Path, config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (``config``, else ``<data_dir>/tlh.toml`` if present),
    then ``overrides`` (command-line flags that were given: ``None`` means not given).

    An unknown table or key, or a value of the wrong type, is ``InvalidInput`` naming it.
    """
    path = config if config is not None else data_dir / "tlh.toml"
    values: dict[str, Any] = {}
    if config is not None or path.exists():
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from None
        try:
            values["messaging"] = messaging_from_toml(doc)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc.message}") from None
        for table, entries in doc.items():
            if table in MESSAGING_SECTIONS:
                continue
            if table not in _KEYS or not isinstance(entries, dict):
                raise InvalidInput(f"{path}: unknown section [{table}]")
            for key, value in entries.items():
                expected = _KEYS[table].get(key)
                if expected is None:
                    raise InvalidInput(f"{path}: unknown key {key!r} in [{table}]")
                if not isinstance(value, expected) or (isinstance(value, bool) and expected is int):
                    raise InvalidInput(f"{path}: [{table}] {key} has the wrong type")
                values[_FIELDS.get((table, key)) or key] = value
    for key in ("cert", "key"):
        if key in values:
            values[key] = Path(values[key])
    if "allowed_origins" in values:
        values["allowed_origins"] = tuple(str(o) for o in values["allowed_origins"])
    for key in ("hooks_command", "hooks_events"):
        if key in values:
            values[key] = tuple(str(v) for v in values[key])
    if "ice_servers" in values:
        if not all(isinstance(v, dict) and "urls" in v for v in values["ice_servers"]):
            raise InvalidInput(f"{path}: [rooms] ice_servers entries need urls")
        values["ice_servers"] = tuple(dict(v) for v in values["ice_servers"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(data_dir=data_dir, **values)
