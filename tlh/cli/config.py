"""The CLI's config file: the server URL and token saved by ``tlh login`` / ``tlh init``.

TOML, read with tomllib, written atomically with mode 0600 (it holds a token).
Precedence: ``--url``/``--token`` options, then ``TLH_URL``/``TLH_TOKEN``, then this file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tlh.errors import InvalidInput
from tlh.files import write_atomic

DEFAULT_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Saved:
    """What the config file holds."""

    url: str | None = None
    token: str | None = None


def config_path() -> Path:
    """Where the config file lives (``TLH_CONFIG`` overrides)."""
    from tlh.paths import default_config_file

    return default_config_file()


def load(path: Path | None = None) -> Saved:
    """The saved URL and token (empty when there is no file)."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Saved()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc}") from None
    url, token = data.get("url"), data.get("token")
    return Saved(url if isinstance(url, str) else None, token if isinstance(token, str) else None)


def save(url: str, token: str, path: Path | None = None) -> Path:
    """Write the URL and token (mode 0600, atomically); returns the file's path."""
    path = path or config_path()
    # JSON string escaping is valid TOML basic-string escaping for these values.
    text = f"url = {json.dumps(url)}\ntoken = {json.dumps(token)}\n"
    write_atomic(path, text.encode("utf-8"), make_dirs=True)
    return path
