"""The CLI's config file: the server URL and token saved by ``tlh login`` / ``tlh init``.

TOML, read like every config file (``tlh.configfile``), written atomically with mode 0600
(it holds a token). Precedence: ``--url``/``--token`` options, then ``TLH_URL``/``TLH_TOKEN``,
then this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from tlh.configfile import decode, read_toml
from tlh.files import write_atomic

DEFAULT_URL = "http://127.0.0.1:8765"


class Saved(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the config file holds."""

    #: The server's address (``http://127.0.0.1:8765`` when none is saved).
    url: str | None = None
    #: The API token ``tlh login`` or ``tlh init`` saved.
    token: str | None = None


def config_path() -> Path:
    """Where the config file lives (``TLH_CONFIG`` overrides)."""
    from tlh.paths import default_config_file

    return default_config_file()


def load(path: Path | None = None) -> Saved:
    """The saved URL and token (empty when there is no file)."""
    path = path or config_path()
    data = read_toml(path, missing_ok=True)
    return Saved() if data is None else decode(data, Saved, file=path)


def save(url: str, token: str, path: Path | None = None) -> Path:
    """Write the URL and token (mode 0600, atomically); returns the file's path."""
    path = path or config_path()
    # JSON string escaping is valid TOML basic-string escaping for these values.
    text = f"url = {json.dumps(url)}\ntoken = {json.dumps(token)}\n"
    write_atomic(path, text.encode("utf-8"), make_dirs=True)
    return path
