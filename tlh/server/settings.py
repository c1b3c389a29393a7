"""How one server runs: where its data lives, where it listens, what it trusts.

``Settings`` holds every value with its default and meaning; ``tlh.toml`` sets them by
table (``[server]``, ``[limits]``, ``[rooms]``, ``[hooks]``, and the messaging tables),
read the way every config file is (``tlh.configfile``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from tlh.configfile import checking, decode, read_toml
from tlh.messaging.config import SECTIONS as MESSAGING_SECTIONS
from tlh.messaging.config import MessagingConfig, messaging_from_toml
from tlh.net import parse_networks
from tlh.store.keys import KeySource
from tlh.store.partitions import DEFAULT_HOT_MONTHS


@dataclass(frozen=True)
class Settings:
    #: The data dir this server owns (one server per dir, enforced by a lock file).
    data_dir: Path
    #: Where an encrypted data dir's key comes from (``--key-file``, ``TLH_KEY_FILE``,
    #: ``TLH_PASSPHRASE``, else the key file ``tlh init`` wrote in the config dir).
    keys: KeySource = field(default_factory=KeySource)
    #: The shared store of several servers: a ``postgresql://`` URL (``--store``,
    #: ``TLH_STORE``, ``[store] url``); ``None``: the embedded store in ``data_dir``. A
    #: password belongs in libpq's password file (``~/.pgpass``, ``PGPASSFILE``), not
    #: here; the URL is never logged or shown with one.
    store_url: str | None = field(default=None, repr=False)
    #: The embedded store keeps appointment months from this many months back (and every
    #: later one) in memory; older ones stay on disk and are read when asked for
    #: (``[store] hot_months``), so memory and start-up do not grow with history
    #: (``tlh.store.partitions.DEFAULT_HOT_MONTHS``: 0, this month and those to come). A
    #: visit's trail keeps this month.
    store_hot_months: int = DEFAULT_HOT_MONTHS
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
    #: Reverse proxies (addresses or CIDR networks) whose ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` are believed (``tlh.server.forwarded``); nobody else's are.
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    #: A file holding the token Prometheus scrapes ``/metrics`` with; ``None``: metrics
    #: off (``/metrics`` is 404). ``$CREDENTIALS_DIRECTORY`` in it is expanded.
    metrics_token_file: Path | None = None
    #: The log's shape: ``text`` (a line per event) or ``json`` (an object per line,
    #: for journald or Loki); never patients' data either way (``tlh.server.logformat``).
    log_format: str = "text"
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
    #: How many pages' hellos the server handles at once. A burst (every page back after
    #: a restart, a class arriving together) takes turns: each waits with its one frame
    #: read, not with all a hello holds until its entry is written, so memory stays flat.
    hello_concurrency: int = 64
    #: Seconds a room session (no appointment) may stay with nobody in its call before it
    #: is closed (``tlh.services.idle_sessions``).
    empty_session_grace_s: float = 300.0
    #: STUN/TURN servers handed to call pages (RTCIceServer dicts: urls, username?,
    #: credential?). Empty: host candidates only (same network, or the media relay).
    ice_servers: tuple[dict[str, Any], ...] = ()
    #: TURN URLs call pages get per-participant credentials for (``[turn] urls``).
    turn_urls: tuple[str, ...] = ()
    #: The secret shared with coturn's ``static-auth-secret``; never shown or logged.
    turn_secret: str | None = field(default=None, repr=False)
    #: Seconds a minted TURN credential outlives its visit's scheduled end.
    turn_ttl_s: int = 3600
    #: A program run for each room event, the event as JSON on stdin (never a shell).
    hooks_command: tuple[str, ...] = ()
    #: A URL each room event is POSTed to as JSON.
    hooks_url: str | None = None
    #: Which events reach the hooks (empty: every ``room.*`` event).
    hooks_events: tuple[str, ...] = ()
    #: Seconds a hook may take before it is abandoned.
    hooks_timeout_s: float = 10.0
    #: The ``tlh.toml`` these settings came from (``tlh doctor`` checks who can read it).
    config_file: Path | None = None


#: The schemes a shared store's URL may have (libpq's).
STORE_SCHEMES = ("postgresql://", "postgres://")


def check_store_url(url: str, what: str = "--store") -> str:
    """``url`` if it names a PostgreSQL database, else ``ValueError`` naming ``what``
    (never echoing the URL: it may hold a password)."""
    if not url.startswith(STORE_SCHEMES):
        raise ValueError(f"{what} must be a postgresql:// URL")
    return url


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
    trusted_proxies: tuple[str, ...] | UnsetType = UNSET
    log_format: Literal["text", "json"] | UnsetType = UNSET


class LimitsTable(_Table, frozen=True):
    """``[limits]``: sizes and timeouts of requests and sockets."""

    max_body_bytes: int | UnsetType = UNSET
    ws_max_message_bytes: int | UnsetType = UNSET
    ws_heartbeat_s: float | UnsetType = UNSET
    keepalive_timeout_s: float | UnsetType = UNSET


class RoomsTable(_Table, frozen=True):
    """``[rooms]``: waiting rooms and calls."""

    reconnect_grace_s: float | UnsetType = UNSET
    hello_concurrency: int | UnsetType = UNSET
    empty_session_grace_s: float | UnsetType = UNSET
    ice_servers: tuple[dict[str, Any], ...] | UnsetType = UNSET


class TurnTable(_Table, frozen=True):
    """``[turn]``: per-participant TURN credentials shared with coturn (``turn_`` fields)."""

    urls: tuple[str, ...] | UnsetType = UNSET
    secret: str | UnsetType = UNSET
    #: A file holding the secret (systemd ``LoadCredential``), instead of ``secret``.
    secret_file: str | UnsetType = UNSET
    ttl_s: int | UnsetType = UNSET


class HooksTable(_Table, frozen=True):
    """``[hooks]``: its keys set the ``hooks_``-prefixed ``Settings`` fields."""

    command: tuple[str, ...] | UnsetType = UNSET
    url: str | UnsetType = UNSET
    events: tuple[str, ...] | UnsetType = UNSET
    timeout_s: float | UnsetType = UNSET


class StoreTable(_Table, frozen=True):
    """``[store]``: where the practice's records live (``store_``-prefixed fields)."""

    url: str | UnsetType = UNSET
    hot_months: int | UnsetType = UNSET


class MetricsTable(_Table, frozen=True):
    """``[metrics]``: its keys set the ``metrics_``-prefixed ``Settings`` fields."""

    token_file: str | UnsetType = UNSET


class ServerFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``tlh.toml`` but for its messaging sections (``tlh.messaging.config`` reads those)."""

    server: ServerTable = ServerTable()
    limits: LimitsTable = LimitsTable()
    rooms: RoomsTable = RoomsTable()
    hooks: HooksTable = HooksTable()
    turn: TurnTable = TurnTable()
    metrics: MetricsTable = MetricsTable()
    #: ``[store]`` (not named ``store``: that name is the records', tests/test_architecture).
    store_table: StoreTable = msgspec.field(default_factory=StoreTable, name="store")

    def values(self) -> dict[str, Any]:
        """The ``Settings`` fields the file sets, by name."""
        found: dict[str, Any] = {}
        for name in self.__struct_fields__:
            prefix = f"{name}_" if name in ("hooks", "turn", "metrics") else ""
            if name == "store_table":
                prefix = "store_"
            table = msgspec.structs.asdict(getattr(self, name))
            found.update({prefix + k: v for k, v in table.items() if v is not UNSET})
        for key in ("cert", "key", "metrics_token_file"):
            if key in found:
                found[key] = Path(found[key])
        if "turn_secret_file" in found:
            found["turn_secret"] = _secret_from(Path(found.pop("turn_secret_file")))
        return found

    def validate(self) -> None:
        """What the types cannot say (``ValueError`` naming the key)."""
        servers = self.rooms.ice_servers
        if servers is not UNSET and not all("urls" in v for v in servers):
            raise ValueError("[rooms] ice_servers entries need urls")
        turn = self.turn
        for url in turn.urls or ():
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"[turn] urls: {url!r} is not a turn: or turns: URL")
        if turn.secret is not UNSET and turn.secret_file is not UNSET:
            raise ValueError("[turn] takes secret or secret_file, not both")
        if turn.secret is not UNSET and not turn.secret:
            raise ValueError("[turn] secret is empty")
        if turn.ttl_s is not UNSET and not 60 <= turn.ttl_s <= 12 * 3600:
            raise ValueError("[turn] ttl_s must be 60 to 43200 seconds")
        if self.store_table.url is not UNSET:
            check_store_url(self.store_table.url, "[store] url")
        hot = self.store_table.hot_months
        if hot is not UNSET and not 0 <= hot <= 1200:
            raise ValueError("[store] hot_months must be 0 to 1200")
        if self.server.trusted_proxies is not UNSET:
            parse_networks(self.server.trusted_proxies)
        turns = self.rooms.hello_concurrency
        if turns is not UNSET and not 1 <= turns <= 100_000:
            raise ValueError("[rooms] hello_concurrency must be 1 to 100000")
        grace = self.rooms.empty_session_grace_s
        if grace is not UNSET and not 1 <= grace <= 24 * 3600:
            raise ValueError("[rooms] empty_session_grace_s must be 1 to 86400 seconds")


def _secret_from(path: Path) -> str:
    """The TURN secret in a file (its first line), or ``ValueError`` naming the file."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"[turn] secret_file {path}: {exc.strerror or 'unreadable'}") from None
    except UnicodeDecodeError:
        raise ValueError(f"[turn] secret_file {path} is not text") from None
    if not secret:
        raise ValueError(f"[turn] secret_file {path} is empty")
    return secret


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
            values.update(found.values())  # reads [turn] secret_file
            values["config_file"] = path
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(data_dir=data_dir, **values)
