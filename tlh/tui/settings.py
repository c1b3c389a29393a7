"""The dashboard's own settings file (``dashboard.toml`` beside the CLI config).

Kept apart from the CLI's ``config.toml`` (which holds a token and is rewritten by
``tlh login``) so the Settings screen can save sound, timers and theme without touching
credentials. Read with tomllib and checked key by key: a bad file is refused with one
line naming the file, the key and what is wrong. Written atomically (temp file, fsync,
rename, mode 0600) with every known key, so the file always documents itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tlh.errors import InvalidInput

#: Upper bounds that catch a typo (minutes): a day of waiting, a ten-hour call.
MAX_WARN_AFTER_MIN = 24 * 60
MAX_CALL_TIMER_MIN = 600


@dataclass(frozen=True)
class DashboardSettings:
    """What ``dashboard.toml`` holds; the defaults apply to missing keys."""

    #: Ring the terminal bell on arrival.
    sound: bool = True
    #: Minutes of waiting before the waiting timer turns to the warning colour.
    warn_after_min: float = 10.0
    #: Minutes in session before the in-session timer turns to the warning colour.
    call_timer_min: int = 50
    #: A Textual theme name.
    theme: str = "textual-dark"
    #: Command run on each arrival, one argv word per item (no shell).
    hook: tuple[str, ...] = ()


KEYS = tuple(f.name for f in fields(DashboardSettings))


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _minutes(value: Any, limit: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number of minutes")
    if not 0 < value <= limit:
        raise ValueError(f"must be more than 0 and at most {limit}")
    return float(value)


def warn_after(value: Any) -> float:
    """A valid ``warn_after_min`` (``ValueError`` says what is wrong)."""
    return _minutes(value, MAX_WARN_AFTER_MIN)


def warn_after_flag(value: float) -> float:
    """``--warn-after``, checked like the file's ``warn_after_min``."""
    try:
        return warn_after(value)
    except ValueError as exc:
        raise InvalidInput(f"--warn-after {exc}") from None


def call_timer(value: Any) -> int:
    """A valid ``call_timer_min``: whole minutes (``ValueError`` says what is wrong)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number of minutes")
    return int(_minutes(value, MAX_CALL_TIMER_MIN))


def _hook(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
        raise ValueError('must be a list of words, e.g. ["notify-send", "tlh"]')
    return tuple(value)


def _theme(themes: Collection[str] | None) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a theme name")
        if themes is not None and value not in themes:
            raise ValueError(f"unknown theme {value!r} (try {', '.join(sorted(themes)[:4])}, ...)")
        return value

    return check


def parse(
    data: dict[str, Any], where: Path, themes: Collection[str] | None = None
) -> DashboardSettings:
    """Check every key of a decoded file; ``themes`` (when given) are the valid names."""
    checks: dict[str, Callable[[Any], Any]] = {
        "sound": _bool,
        "warn_after_min": warn_after,
        "call_timer_min": call_timer,
        "theme": _theme(themes),
        "hook": _hook,
    }
    found: dict[str, Any] = {}
    for key, value in data.items():
        if key not in checks:
            raise InvalidInput(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
        try:
            found[key] = checks[key](value)
        except ValueError as exc:
            raise InvalidInput(f"{where}: {key} {exc}") from None
    return DashboardSettings(**found)


def load(path: Path, themes: Collection[str] | None = None) -> DashboardSettings:
    """The settings in ``path`` (the defaults when there is no file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DashboardSettings()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"{path}: cannot read the dashboard settings: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from None
    return parse(data, path, themes)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (control characters escaped, the rest literal)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_toml(settings: DashboardSettings) -> str:
    """Every known key, one per line."""
    warn = settings.warn_after_min
    return (
        "# tlh dashboard settings (see config/dashboard.example.toml)\n"
        f"sound = {'true' if settings.sound else 'false'}\n"
        f"warn_after_min = {int(warn) if warn.is_integer() else warn}\n"
        f"call_timer_min = {settings.call_timer_min}\n"
        f"theme = {toml_string(settings.theme)}\n"
        f"hook = [{', '.join(toml_string(w) for w in settings.hook)}]\n"
    )


def save(settings: DashboardSettings, path: Path) -> None:
    """Replace ``path`` atomically (mode 0600): a crash leaves the old or the new file."""
    from tlh.files import write_atomic

    write_atomic(path, to_toml(settings).encode("utf-8"), make_dirs=True)
