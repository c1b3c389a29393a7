"""``tlh doctor``'s checks of files on the server's disk: who else can read them.

A ``tlh.toml`` holding a transport secret in clear must be readable by its owner only,
and the data dir (patients' records) must be closed to everyone but the server's user.
Only modes are looked at, never contents beyond whether a secret key is set.
"""

from __future__ import annotations

import stat
from pathlib import Path

from tlh.configfile import read_toml
from tlh.domain.doctor import Check, ok, warn
from tlh.errors import InvalidInput
from tlh.messaging.secret_sources import clear_secrets


def _others(mode: int, bits: int) -> str:
    """Who besides the owner has ``bits`` (read: 0o044) in ``mode``: "group and others"."""
    who = [
        name for name, mask in (("group", bits & 0o070), ("others", bits & 0o007)) if mode & mask
    ]
    return " and ".join(who)


def config_check(config_file: Path | None) -> Check:
    """Warn when ``config_file`` holds a secret in clear and others may read it."""
    if config_file is None:
        return ok("config", "no tlh.toml: no secret in a config file")
    try:
        doc = read_toml(config_file, missing_ok=True) or {}
        mode = stat.S_IMODE(config_file.stat().st_mode)
    except (InvalidInput, OSError):
        return warn("config", f"cannot read {config_file}", f"check {config_file}")
    secrets = clear_secrets(doc)
    readers = _others(mode, 0o044)
    if secrets and readers:
        return warn(
            "config",
            f"{config_file} holds {', '.join(secrets)} in clear and {readers} can read it",
            f"chmod 600 {config_file}, or move the secret to a *_file or *_env key",
        )
    if secrets:
        return ok("config", f"tlh.toml holds {', '.join(secrets)}; only its owner reads it")
    return ok("config", "tlh.toml holds no secret in clear")


def data_dir_check(data_dir: Path) -> Check:
    """Warn when anyone but the data dir's owner may enter or list it."""
    try:
        mode = stat.S_IMODE(data_dir.stat().st_mode)
    except OSError as exc:
        return warn("data dir", f"cannot look at {data_dir}: {exc.strerror}", "check the path")
    readers = _others(mode, 0o055)
    if readers:
        return warn(
            "data dir",
            f"{data_dir} (patients' records) is open to {readers} (mode {mode:o})",
            f"chmod 700 {data_dir}",
        )
    return ok("data dir", "the data dir is open to its owner only")
