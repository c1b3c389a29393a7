"""Where tlh keeps things on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """``TLH_DATA_DIR`` if set, else the platform's user data dir for tlh."""
    env = os.environ.get("TLH_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs  # deferred: only commands that touch a data dir need it

    return Path(platformdirs.user_data_dir("tlh", appauthor=False))


def default_config_file() -> Path:
    """``TLH_CONFIG`` if set, else ``config.toml`` in the platform's user config dir."""
    env = os.environ.get("TLH_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("tlh", appauthor=False)) / "config.toml"


def default_dashboard_file() -> Path:
    """``TLH_DASHBOARD_CONFIG`` if set, else ``dashboard.toml`` beside the CLI config."""
    env = os.environ.get("TLH_DASHBOARD_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config_file().with_name("dashboard.toml")


def default_key_dir() -> Path:
    """Where ``tlh init`` writes a practice's key file and ``tlh serve`` looks for it:
    ``TLH_KEY_DIR`` if set, else ``keys/`` beside the CLI's config file (outside every
    data dir, so a copied data dir or backup does not carry its key)."""
    env = os.environ.get("TLH_KEY_DIR")
    if env:
        return Path(env).expanduser()
    config = default_config_file()
    if config.exists() and not config.is_file():  # TLH_CONFIG=/dev/null: no config dir
        import platformdirs

        return Path(platformdirs.user_config_dir("tlh", appauthor=False)) / "keys"
    return config.parent / "keys"
