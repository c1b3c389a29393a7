"""The one way tlh reads a TOML config file, and says what is wrong with one.

Every config file (the server's ``tlh.toml`` with its ``[messaging]`` part, the
dashboard's ``dashboard.toml``, the CLI's ``config.toml``) is read the same way:
``read_toml`` parses it, ``decode`` turns it into a frozen msgspec struct with
``forbid_unknown_fields`` (typed fields with their defaults and docs), then the struct's
own small ``validate`` checks ranges and rules across keys. Every mistake is one line
naming the file, the section and the key::

    tlh.toml: [limits] keepalive_timeout_s must be a number
    tlh.toml: unknown key 'prot' in [server] (known: host, port, ...)
    dashboard.toml: warn_after_min must be more than 0 and at most 1440

Values are never echoed (a config file holds passwords and tokens), except a bad choice
among fixed words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from tlh.errors import InvalidInput

T = TypeVar("T")

#: msgspec's "- at `$.server.port[0]`" as steps: a name or an index.
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def must_be(words: str) -> msgspec.Meta:
    """A field's ``Annotated`` note saying what its value must be, for error lines
    (``must_be("a number of minutes")``); without one the type says it."""
    return msgspec.Meta(extra={"must_be": words})


def invalid(file: Path | str | None, message: str) -> InvalidInput:
    """``message`` as the one line of an ``InvalidInput``, led by the file when known."""
    return InvalidInput(f"{file}: {message}" if file is not None else message)


def read_toml(path: Path, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """The parsed file; ``None`` when it does not exist and ``missing_ok``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return None
        raise invalid(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise invalid(path, f"cannot read it: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise invalid(path, f"not valid TOML: {exc}") from None


def decode(
    data: Mapping[str, Any],
    cls: type[T],
    *,
    file: Path | str | None = None,
    section: str | None = None,
) -> T:
    """``data`` as a ``cls`` (strict types: ``"80"`` is not a port, ``true`` not a number).

    ``section`` names the table ``data`` came from, when ``cls`` is one table's struct.
    """
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        raise invalid(file, problem(exc, cls, section)) from None


@contextmanager
def checking(file: Path | str | None) -> Iterator[None]:
    """Around a struct's ``validate()``: its ``ValueError`` becomes the file's one line."""
    try:
        yield
    except ValueError as exc:
        raise invalid(file, str(exc)) from None


def problem(exc: msgspec.ValidationError, cls: type, section: str | None = None) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.server.port`" in a person's words:
    "[server] port must be a whole number"."""
    text = str(exc).replace("`", "")
    detail, _, where = text.partition(" - at $")
    steps = [name or index for name, index in _STEP.findall(where)]
    spot = _Spot.find(mi.type_info(cls), steps, section)
    if detail.startswith("Object contains unknown field "):
        key = detail.removeprefix("Object contains unknown field ")
        return spot.unknown(key)
    if detail.startswith("Object missing required field "):
        key = detail.removeprefix("Object missing required field ")
        return f"{spot.label(key)} is required"
    if detail.startswith("Invalid enum value "):
        return f"{spot.label()} must be {_words(spot.type)}, not {detail.split(' ', 3)[3]}"
    if detail.startswith("Expected "):
        return f"{spot.label()} must be {spot.must_be or _words(spot.type)}"
    return f"{spot.label()}: {detail[:1].lower()}{detail[1:]}"


class _Spot:
    """Where in a struct an error is: the tables above it, its key, its type."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.key = ""
        self.type: mi.Type = mi.AnyType()
        self.must_be: str | None = None

    @classmethod
    def find(cls, top: mi.Type, steps: list[str], section: str | None) -> _Spot:
        spot = cls()
        if section is not None:
            spot.tables.append(section)
        current = _plain(top)
        for step in steps:
            if spot.must_be is not None:
                break  # inside a field that says in words what it must be: name the field
            if isinstance(current, mi.StructType) and not spot.key:
                field = next((f for f in current.fields if f.encode_name == step), None)
                if field is None:
                    break
                spot.must_be = _note(field.type)
                current = _plain(field.type)
                if isinstance(current, mi.StructType):
                    spot.tables.append(step)
                else:
                    spot.key = step
            else:
                spot.key += f"[{step}]"
                current = _plain(_item(current))
        spot.type = current
        return spot

    def label(self, key: str | None = None) -> str:
        """``[server] port``, ``[smtp]``, or a bare ``sound`` in a file without tables."""
        parts = [f"[{'.'.join(self.tables)}]"] if self.tables else []
        if key or self.key:
            parts.append(key or self.key)
        return " ".join(parts)

    def unknown(self, key: str) -> str:
        """An unknown table at the top of a file of tables, else an unknown key."""
        struct = self.type
        fields = struct.fields if isinstance(struct, mi.StructType) else ()
        if fields and not self.tables and all(_is_table(f.type) for f in fields):
            return f"unknown section [{key}]"
        known = ", ".join(f.encode_name for f in fields)
        where = f" in {self.label()}" if self.tables else ""
        return f"unknown key {key!r}{where} (known: {known})"


def _note(kind: mi.Type) -> str | None:
    if isinstance(kind, mi.Metadata) and kind.extra:
        note = kind.extra.get("must_be")
        return note if isinstance(note, str) else None
    return None


def _plain(kind: mi.Type) -> mi.Type:
    """The type without its notes, and without ``None`` when it is optional."""
    while isinstance(kind, mi.Metadata):
        kind = kind.type
    if isinstance(kind, mi.UnionType):
        rest = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        if len(rest) == 1:
            return _plain(rest[0])
    return kind


def _is_table(kind: mi.Type) -> bool:
    return isinstance(_plain(kind), mi.StructType | mi.DictType)


def _item(kind: mi.Type) -> mi.Type:
    if isinstance(kind, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return kind.item_type
    if isinstance(kind, mi.DictType):
        return kind.value_type
    return mi.AnyType()


def _words(kind: mi.Type) -> str:
    """What a value of ``kind`` is, as a person says it."""
    kind = _plain(kind)
    simple: dict[type[mi.Type], str] = {
        mi.BoolType: "true or false",
        mi.IntType: "a whole number",
        mi.FloatType: "a number",
        mi.StrType: "a string",
        mi.StructType: "a section",
        mi.DictType: "a table",
    }
    for known, words in simple.items():
        if isinstance(kind, known):
            return words
    if isinstance(kind, mi.LiteralType):
        return " or ".join(repr(v) for v in kind.values)
    if isinstance(kind, mi.ListType | mi.VarTupleType):
        return f"a list of {_words(kind.item_type).removeprefix('a ')}s"
    if isinstance(kind, mi.UnionType):
        return " or ".join(_words(t) for t in kind.types if not isinstance(t, mi.NoneType))
    return "of another type"
