"""The ``tlh.toml`` that ``tlh init`` writes into a new data dir: the choices made there.

Short on purpose: where the server listens (when the CLI reaches it on this machine),
where links in messages point, and how messages leave (written to files until mail is
set up). Every other key keeps its default; ``config/tlh.example.toml`` documents them.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tlh.errors import InvalidInput
from tlh.net import is_loopback


def check_public_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) address with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("--public-url must be an address like https://tlh.example.org")
    return url.strip().rstrip("/")


def listen_address(url: str) -> tuple[str, int] | None:
    """The host and port ``tlh serve`` listens on when the CLI reaches it at ``url`` on
    this machine; ``None`` for another machine or a proxy (the defaults then stand)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or not is_loopback(host):
        return None
    try:
        port = parts.port or 80
    except ValueError:
        return None
    return ("127.0.0.1" if host == "localhost" else host), port


def server_toml(url: str, public_url: str, store_url: str | None = None) -> str:
    """The text of a new data dir's ``tlh.toml`` (``store_url``: the practice is in that
    database, not the data dir)."""
    lines = [
        "# tlh.toml: this practice's server settings, written by `tlh init`.",
        "# `tlh serve --data-dir DIR` reads it from DIR; flags given to `tlh serve` win.",
        "# Every key and its default: config/tlh.example.toml in tlh's source.",
        "",
        "[server]",
    ]
    listen = listen_address(url)
    if listen is None:
        lines += [
            '# host = "127.0.0.1"  # anything but loopback needs cert + key (or insecure)',
            "# port = 8765",
        ]
    else:
        lines += [f"host = {json.dumps(listen[0])}", f"port = {listen[1]}"]
    lines += [
        "",
        "[messaging]",
        "# Where the links in emails and texts point: the address clients' browsers reach.",
        f"public_url = {json.dumps(public_url)}",
        '# "file" writes each email and text to <data dir>/outbox instead of sending it;',
        '# email = "smtp" with an [smtp] section (sms = "twilio" or "webhook") sends them.',
        'email = "file"',
        'sms = "file"',
        "",
    ]
    if store_url is not None:
        lines += [
            "[store]",
            "# The practice's records are in this PostgreSQL database (shared by every",
            "# server of the practice); a password belongs in ~/.pgpass, not here.",
            f"url = {json.dumps(store_url)}",
            "",
        ]
    return "\n".join(lines)
