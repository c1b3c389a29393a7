"""The dashboard's own settings file (``dashboard.toml`` beside the CLI config).

Kept apart from the CLI's ``config.toml`` (which holds a token and is rewritten by
``tlh login``) so the Settings screen can save sound, timers and theme without touching
credentials. Read like every config file (``tlh.configfile``): a bad file is refused with
one line naming the file, the key and what is wrong. Written atomically (temp file, fsync,
rename, mode 0600) with every known key, so the file always documents itself.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

import msgspec

from tlh.configfile import checking, decode, must_be, read_toml
from tlh.errors import InvalidInput

#: Upper bounds that catch a typo (minutes): a day of waiting, a ten-hour call.
MAX_WARN_AFTER_MIN = 24 * 60
MAX_CALL_TIMER_MIN = 600
#: What ``hook`` must be, in the error line.
_WORDS = 'a list of words, e.g. ["notify-send", "tlh"]'


class DashboardSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``dashboard.toml`` holds; the defaults apply to missing keys."""

    #: Ring the terminal bell on arrival.
    sound: Annotated[bool, must_be("true or false")] = True
    #: Minutes of waiting before the waiting timer turns to the warning colour.
    warn_after_min: Annotated[float, must_be("a number of minutes")] = 10.0
    #: Minutes in session before the in-session timer turns to the warning colour.
    call_timer_min: Annotated[int, must_be("a whole number of minutes")] = 50
    #: A Textual theme name.
    theme: Annotated[str, must_be("a theme name")] = "textual-dark"
    #: Command run on each arrival, one argv word per item (no shell).
    hook: Annotated[tuple[str, ...], must_be(_WORDS)] = ()

    def validate(self, themes: Collection[str] | None = None) -> None:
        """The ranges and names types cannot say (``ValueError`` naming the key);
        ``themes`` (when given) are the valid theme names."""
        try:
            warn_after(self.warn_after_min)
        except ValueError as exc:
            raise ValueError(f"warn_after_min {exc}") from None
        try:
            call_timer(self.call_timer_min)
        except ValueError as exc:
            raise ValueError(f"call_timer_min {exc}") from None
        if not self.theme:
            raise ValueError("theme must be a theme name")
        if themes is not None and self.theme not in themes:
            some = ", ".join(sorted(themes)[:4])
            raise ValueError(f"theme unknown theme {self.theme!r} (try {some}, ...)")
        if not all(self.hook):
            raise ValueError(f"hook must be {_WORDS}")


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
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number of minutes")
    return int(_minutes(value, MAX_CALL_TIMER_MIN))


def load(path: Path, themes: Collection[str] | None = None) -> DashboardSettings:
    """The settings in ``path`` (the defaults when there is no file); ``themes`` (when
    given) are the valid theme names."""
    data = read_toml(path, missing_ok=True)
    if data is None:
        return DashboardSettings()
    settings = decode(data, DashboardSettings, file=path)
    with checking(path):
        settings.validate(themes)
    return settings


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
