"""Where a transport's secret comes from: ``tlh.toml`` in clear, a file, or the environment.

Each secret key (``[smtp] password``, ``[twilio] auth_token``, ``[webhook] secret``) has
two siblings: ``<key>_file`` names a file holding it (a systemd credential, a Docker or
Kubernetes secret, a 0600 file of the admin's) and ``<key>_env`` an environment
variable. At most one of the three is given; the value is read when the config is loaded,
so a missing file or an unset variable stops ``tlh serve`` with one line naming the key
and where it looked, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The secret key of each transport section.
SECRET_KEYS = {"smtp": "password", "twilio": "auth_token", "webhook": "secret"}

#: Longest secret file read (a password or token, not a document).
_MAX_BYTES = 64 * 1024


def clear_secrets(doc: Mapping[str, Any]) -> list[str]:
    """The secrets a parsed ``tlh.toml`` holds in clear (``"[smtp] password"``, ...)."""
    found = []
    for section, key in SECRET_KEYS.items():
        table = doc.get(section)
        if isinstance(table, Mapping) and table.get(key):
            found.append(f"[{section}] {key}")
    return found


def resolve(
    section: str,
    table: Mapping[str, Any],
    base: Path | None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The secret of ``[section]`` from its key, ``<key>_file`` or ``<key>_env`` (types
    already checked); ``ValueError`` (one line, no value) when none or two are given, the
    file cannot be read, or the variable is unset. A relative file is taken from ``base``
    (the config file's folder)."""
    key = SECRET_KEYS[section]
    inline = table.get(key) or ""
    file = table.get(f"{key}_file")
    env = table.get(f"{key}_env")
    given = [name for name, v in ((key, inline), (f"{key}_file", file), (f"{key}_env", env)) if v]
    if len(given) > 1:
        raise ValueError(f"[{section}] give only one of {', '.join(given)}")
    if file:
        return _read(section, f"{key}_file", Path(file).expanduser(), base)
    if env:
        value = (os.environ if environ is None else environ).get(env, "").strip()
        if not value:
            raise ValueError(f"[{section}] {key}_env: the environment variable {env} is not set")
        return value
    return str(inline)


def _read(section: str, name: str, path: Path, base: Path | None) -> str:
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"[{section}] {name}: cannot read {path}: {exc.strerror}") from None
    if len(data) > _MAX_BYTES:
        raise ValueError(f"[{section}] {name}: {path} is too long for a secret")
    try:
        # A trailing newline is how editors and `echo` end a file, not part of the secret.
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"[{section}] {name}: {path} is not UTF-8 text") from None
    if not value:
        raise ValueError(f"[{section}] {name}: {path} is empty")
    return value
