"""Message templates a practice can edit, checked when they are loaded, never when sent.

A template directory holds, for every ``MessageKind``, three files:

- ``<kind>.email.txt`` — the plain-text email; its first line is ``Subject: ...``, the
  second is blank, the rest is the body;
- ``<kind>.email.html`` — the HTML email (every value is HTML-escaped when rendered);
- ``<kind>.sms.txt`` — the text message.

Placeholders are ``{name}`` (``{{`` and ``}}`` are literal braces) and only these names
exist: ``practice_name``, ``date``, ``time``, ``timezone``, ``link``, ``clinician_name``,
``recipient_name``, ``code`` (the identity check's one-time code). Messages carry only
these, never notes or diagnoses.

A line that starts with ``?name `` is kept (without the prefix) only when the value
``name`` is non-empty; one that starts with ``?!name `` only when it is empty; several
prefixes (``?video ?!link ...``) must all hold. That is how a text reminder reads well
with or without its link (policy decides whether automatic texts carry one): render with
``link=""`` to leave it out; and how a reminder of a visit that cannot take place by
video (``video=""``) reads as an ordinary appointment reminder.

Anything else — an unknown placeholder, a malformed brace, a format spec, a missing file —
is an ``InvalidInput`` from ``Templates.load`` naming the file and line.

Languages: the files at the top of the folder are English; each other shipped language
has the same files in its own subfolder (``es/invitation.email.txt``), checked the same
way, and a client whose ``language`` is that one gets them, with the date in that
language. A practice's own folder without such a subfolder (exported before it existed,
or kept English on purpose) sends its own English wording to everyone: its edits (a phone
number, a rule of the practice) are never swapped for the shipped text behind its back.
"""

from __future__ import annotations

import hashlib
import html
import re
import string
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import msgspec

from tlh.domain.language import LANGUAGES, SOURCE_LANGUAGE
from tlh.domain.messages import MessageChannel, MessageKind
from tlh.domain.models import Appointment, Policy
from tlh.domain.timeutil import zone
from tlh.errors import InvalidInput

#: Every placeholder a template may use.
ALLOWED_NAMES: frozenset[str] = frozenset(
    {
        "practice_name",
        "date",
        "time",
        "timezone",
        "link",
        "clinician_name",
        "recipient_name",
        "code",
        # Non-empty when the visit can take place by video under the practice's rules
        # (for ``?video`` / ``?!video`` lines; it prints nothing useful on its own).
        "video",
        # The day-before reminder's one-tap links (``tlh.domain.action_links``): empty
        # where the message may carry no link.
        "confirm_link",
        "cancel_link",
    }
)
#: Kinds added after practices copied their templates: a practice directory without
#: them falls back to the shipped files, so an older copy still loads.
OPTIONAL_KINDS: frozenset[MessageKind] = frozenset(
    {
        MessageKind.IDENTITY_CODE,
        MessageKind.IN_PERSON,
        MessageKind.PORTAL_CODE,
        MessageKind.PORTAL_INVITE,
    }
)

#: The file suffixes of one kind's templates, by channel.
SUFFIXES: dict[MessageChannel, tuple[str, ...]] = {
    MessageChannel.EMAIL: ("email.txt", "email.html"),
    MessageChannel.SMS: ("sms.txt",),
}

_CONDITION = re.compile(r"^\?(!?)([a-z_]+) (.*)$", re.DOTALL)
_SUBJECT = "Subject:"
_FORMATTER = string.Formatter()


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    """One message ready for a transport: ``subject`` is empty and ``html`` None for SMS."""

    subject: str
    text: str
    html: str | None = None


class _Line(msgspec.Struct, frozen=True):
    """One template line: literal text with placeholders, optionally conditional."""

    text: str
    names: tuple[str, ...]
    #: ``(name, keep_when_set)`` for each ``?name`` / ``?!name`` prefix; all must hold.
    conditions: tuple[tuple[str, bool], ...] = ()


_Lines = tuple[_Line, ...]


def _parse_line(raw: str, where: str) -> _Line:
    conditions: list[tuple[str, bool]] = []
    while match := _CONDITION.match(raw):
        negate, name, raw = match.groups()
        if name not in ALLOWED_NAMES:
            raise InvalidInput(
                f"{where}: unknown name {name!r} in condition (allowed: {_allowed()})"
            )
        conditions.append((name, not negate))
    try:
        parts = list(_FORMATTER.parse(raw))
    except ValueError as exc:
        raise InvalidInput(
            f"{where}: malformed braces ({exc}); write {{{{ or }}}} for a brace"
        ) from exc
    names: list[str] = []
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in ALLOWED_NAMES:
            raise InvalidInput(f"{where}: unknown placeholder {{{field}}} (allowed: {_allowed()})")
        if spec or conversion:
            raise InvalidInput(f"{where}: placeholder {{{field}}} takes no format or conversion")
        names.append(field)
    return _Line(raw, tuple(names), tuple(conditions))


def _allowed() -> str:
    return ", ".join(sorted(ALLOWED_NAMES))


def _parse(text: str, name: str, first_line: int = 1) -> _Lines:
    return tuple(
        _parse_line(raw, f"{name} line {number}")
        for number, raw in enumerate(text.splitlines(), start=first_line)
    )


def _read(path: Path) -> str:
    if not path.is_file():
        raise InvalidInput(f"template file {path} is missing")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"template file {path} is not UTF-8 text") from exc


_Set = dict[tuple[MessageKind, str], _Lines]


def _load_set(directory: Path, shipped: Path, label: str) -> _Set:
    """One language's templates from ``directory`` (an optional kind it lacks comes from
    ``shipped``); errors name the file as ``label`` + its name."""
    parsed: _Set = {}
    for kind in MessageKind:
        for suffix in (s for suffixes in SUFFIXES.values() for s in suffixes):
            path = directory / f"{kind.value}.{suffix}"
            if kind in OPTIONAL_KINDS and not path.exists():
                path = shipped / path.name
            text = _read(path)
            name = label + path.name
            if suffix == "email.txt":
                lines = text.splitlines()
                if len(lines) < 3 or not lines[0].startswith(_SUBJECT) or lines[1].strip():
                    raise InvalidInput(
                        f"{name} line 1: an email template starts with "
                        "'Subject: ...' and a blank line"
                    )
                subject = lines[0][len(_SUBJECT) :].strip()
                parsed[(kind, "subject")] = _parse(subject, name)
                parsed[(kind, suffix)] = _parse("\n".join(lines[2:]), name, 3)
            else:
                parsed[(kind, suffix)] = _parse(text, name)
    return parsed


class Templates:
    """A validated set of templates per language; ``render`` fills one in."""

    def __init__(self, sets: Mapping[str, _Set]) -> None:
        self._sets = dict(sets)

    @classmethod
    def load(cls, directory: Path) -> Templates:
        """Read and check every template in ``directory`` and in its language subfolders
        (``InvalidInput`` on any fault)."""
        shipped = default_templates_dir()
        english = _load_set(directory, shipped, "")
        sets = {SOURCE_LANGUAGE: english}
        for language in LANGUAGES:
            if language == SOURCE_LANGUAGE:
                continue
            own = directory / language
            if directory == shipped and not own.is_dir():
                raise InvalidInput(f"the shipped {language}/ templates are missing from {shipped}")
            if own.is_dir():
                sets[language] = _load_set(own, shipped / language, f"{language}/")
            else:
                sets[language] = english  # the practice's own wording (see the module doc)
        return cls(sets)

    def render(
        self,
        kind: MessageKind,
        channel: MessageChannel,
        values: Mapping[str, str],
        language: str | None = None,
    ) -> Rendered:
        """Fill in ``kind``'s template for ``channel`` in ``language`` (English when
        ``None`` or not shipped).

        ``values`` maps placeholder names to text; a placeholder a kept line uses must
        have a value (``InvalidInput`` otherwise: a caller's bug). A ``link`` must be an
        http(s) URL or empty. Line breaks inside values become spaces (no header or
        line injection).
        """
        parsed = self._sets.get(language or SOURCE_LANGUAGE, self._sets[SOURCE_LANGUAGE])
        clean = {k: " ".join(str(v).splitlines()) for k, v in values.items()}
        link = clean.get("link", "")
        if link and not link.startswith(("https://", "http://")):
            raise InvalidInput("a message link must be an http(s) URL")
        if channel is MessageChannel.SMS:
            return Rendered(subject="", text=_fill(parsed, kind, "sms.txt", clean).strip())
        escaped = {k: html.escape(v, quote=True) for k, v in clean.items()}
        return Rendered(
            subject=_fill(parsed, kind, "subject", clean).strip(),
            text=_fill(parsed, kind, "email.txt", clean).strip() + "\n",
            html=_fill(parsed, kind, "email.html", escaped),
        )


def _fill(parsed: _Set, kind: MessageKind, part: str, values: Mapping[str, str]) -> str:
    out: list[str] = []
    for line in parsed[(kind, part)]:
        if any(bool(values.get(name)) is not keep for name, keep in line.conditions):
            continue
        missing = [n for n in line.names if n not in values]
        if missing:
            raise InvalidInput(f"no value for placeholder {{{missing[0]}}} in {kind.value}")
        out.append(line.text.format_map(values))
    return "\n".join(out)


def default_templates_dir() -> Path:
    """The templates shipped with tlh, the one source of them: a practice starts its own
    copy with ``tlh templates export DIR`` and points ``[messaging] templates_dir`` at it."""
    return Path(__file__).parent / "default_templates"


def template_names() -> list[str]:
    """The path of every shipped template inside the folder, kind by kind: the English
    ones (``invitation.email.txt``, ...), then each other language's (``es/...``)."""
    names = [
        f"{kind.value}.{suffix}"
        for kind in MessageKind
        for suffixes in SUFFIXES.values()
        for suffix in suffixes
    ]
    others = [f"{lang}/{name}" for lang in LANGUAGES if lang != SOURCE_LANGUAGE for name in names]
    return names + others


def default_consent_path() -> Path:
    """The consent form shipped with tlh (``config/consent/telehealth.md`` is the copy)."""
    return default_templates_dir() / "consent.md"


def form_hash(text: str) -> str:
    """The consent form's version: SHA-256 hex of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def appointment_values(
    appt: Appointment,
    policy: Policy,
    *,
    link: str = "",
    clinician_name: str = "",
    recipient_name: str = "",
    video: bool = True,
    language: str | None = None,
) -> dict[str, str]:
    """Every placeholder's value for ``appt``, its date and time in the practice's zone.

    ``date`` reads ``Monday, November 23, 2026``, ``time`` ``10:00 AM`` and ``timezone``
    the zone's abbreviation at that moment (``EST``); in another ``language`` as that
    language writes them (``lunes, 23 de noviembre de 2026``, ``10:00``).
    """
    local = appt.start.astimezone(zone(policy.timezone))
    return {
        "practice_name": policy.practice_name,
        "date": format_date(local, language),
        "time": format_time(local, language),
        "timezone": local.tzname() or policy.timezone,
        "link": link,
        "clinician_name": clinician_name,
        "recipient_name": recipient_name,
        "video": "yes" if video else "",
    }


def format_date(local: datetime, language: str | None = None) -> str:
    """``Monday, November 23, 2026`` (no leading zero on the day); another language's
    full date from Babel's CLDR data (``lunes, 23 de noviembre de 2026``)."""
    if language and language != SOURCE_LANGUAGE:
        # Imported here: Babel (~17 ms to import, then the locale's data) is paid by the
        # first message in another language, never by a CLI command loading templates.
        from babel.dates import format_date as babel_date

        return babel_date(local, "full", locale=language)
    return f"{local:%A, %B} {local.day}, {local.year}"


def format_time(local: datetime, language: str | None = None) -> str:
    """``10:00 AM`` / ``3:30 PM`` (no leading zero on the hour); another language's short
    time from Babel (``15:30`` in Spanish)."""
    if language and language != SOURCE_LANGUAGE:
        from babel.dates import format_time as babel_time

        return babel_time(local, "short", locale=language)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
