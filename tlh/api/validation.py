"""msgspec's validation errors in plain words, naming the field and never the value.

msgspec says ``Expected `int | null`, got `str` - at `$.duration_min```; people are
told ``duration_min must be a whole number or null``. A rejected value is never repeated
(it may be a patient's name or address): enum and literal errors list what is allowed,
read from the struct itself.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import inspect

#: msgspec's names of JSON types, as people say them.
_KINDS = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "an object",
    "datetime": "a date-time (ISO 8601)",
    "date": "a date (YYYY-MM-DD)",
    "time": "a time (HH:MM)",
    "bytes": "base64 text",
}
#: Known fields listed after an unknown one, up to this many (a long list helps nobody).
_LISTED = 8
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_TYPE = re.compile(r"Expected `(?P<kinds>[^`]+)`(?:, got `[^`]+`)?")
_LENGTH = re.compile(r"Expected `(?P<kind>[^`]+)` of length (?P<op>[<>]=) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `(?P<kind>[^`]+)` (?P<op>[<>]=?) (?P<n>[-0-9.e+]+)")
_ENUM = re.compile(r"Invalid (?:enum )?value .*")
_ENCODED = re.compile(r"Invalid RFC3339 encoded (?P<kind>\w+)")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def where(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(msgspec's message without the place, the place as ``$.a.b[0]``; ``$`` for the
    whole document)."""
    text = str(exc)
    message, _, place = text.partition(" - at `")
    return message, place.rstrip("`") or "$"


def explain(exc: msgspec.ValidationError, typ: Any) -> str:
    """One line for ``exc`` raised decoding ``typ``: the field and what it must be."""
    message, place = where(exc)
    path = _segments(place)
    field = _name(path)
    if found := _MISSING.fullmatch(message):
        return f"{_name([*path, found['name']])} is required"
    if found := _UNKNOWN.fullmatch(message):
        known = sorted(_fields(_resolve(typ, path)))
        hint = f" (expected one of: {', '.join(known)})" if 0 < len(known) <= _LISTED else ""
        return f"unknown field {found['name']!r}{hint}"
    subject = field or "the value"
    if found := _LENGTH.fullmatch(message):
        n = int(found["n"])
        unit = "characters" if found["kind"] == "str" else "items"
        if found["op"] == ">=":
            return f"{subject} must not be empty" if n == 1 else f"{subject} needs {n} {unit}"
        return f"{subject} must be at most {n} {unit}"
    if found := _BOUND.fullmatch(message):
        bound = f"{float(found['n']):g}"
        side = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
        return f"{subject} must be {side[found['op']]} {bound}"
    if found := _TYPE.fullmatch(message):
        return f"{subject} must be {_kinds(found['kinds'])}"
    if _ENUM.fullmatch(message):
        allowed = _allowed(_resolve(typ, path))
        if allowed:
            return f"{subject} must be one of {', '.join(allowed)}"
        return f"{subject} has a value that is not allowed"
    if found := _ENCODED.fullmatch(message):
        return f"{subject} must be {_kinds(found['kind'])}"
    if message == "Number out of range":
        return f"{subject} is out of range"
    # Anything else msgspec says (a malformed date-time...), without quoted values.
    reason = _QUOTED.sub("a value", message[:1].lower() + message[1:])
    return f"{subject}: {reason}" if field else reason


def _kinds(names: str) -> str:
    parts = [_KINDS.get(n.strip(), n.strip()) for n in names.split("|")]
    return " or ".join(dict.fromkeys(parts))


def _segments(place: str) -> list[str | int]:
    """``$.a[0].b`` as ``["a", 0, "b"]``."""
    out: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", place.removeprefix("$")):
        out.append(name if name else int(index))
    return out


def _name(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _resolve(typ: Any, path: list[str | int]) -> list[inspect.Type]:
    """The types that may sit at ``path`` inside ``typ`` (several, through unions)."""
    found = _expand([inspect.type_info(typ)])
    for part in path:
        step: list[inspect.Type] = []
        for info in found:
            if isinstance(info, inspect.StructType | inspect.DataclassType) and isinstance(
                part, str
            ):
                step += [f.type for f in info.fields if f.encode_name == part]
            elif isinstance(
                info,
                inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType,
            ):
                step.append(info.item_type)
            elif isinstance(info, inspect.DictType):
                step.append(info.value_type)
        found = _expand(step)
    return found


def _expand(types: list[inspect.Type]) -> list[inspect.Type]:
    out: list[inspect.Type] = []
    for info in types:
        if isinstance(info, inspect.UnionType):
            out += _expand(list(info.types))
        elif isinstance(info, inspect.Metadata):
            out += _expand([info.type])
        else:
            out.append(info)
    return out


def _fields(types: list[inspect.Type]) -> list[str]:
    return [
        f.encode_name for info in types if isinstance(info, inspect.StructType) for f in info.fields
    ]


def _allowed(types: list[inspect.Type]) -> list[str]:
    values: list[str] = []
    for info in types:
        if isinstance(info, inspect.EnumType):
            values += [str(member.value) for member in info.cls]
        elif isinstance(info, inspect.LiteralType):
            values += [str(v) for v in info.values]
        elif isinstance(info, inspect.StructType) and info.cls.__struct_config__.tag is not None:
            values.append(str(info.cls.__struct_config__.tag))
    return values
