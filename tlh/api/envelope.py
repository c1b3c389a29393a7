"""The shapes every answer shares (lists, the error envelope, a bare acknowledgement),
and what a PATCH body sets."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class Items(msgspec.Struct, Generic[T], kw_only=True):
    """``{"items": [...]}``, the shape of every list answer."""

    items: list[T]


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What went wrong: a stable ``code`` (``tlh.errors``), one line, optional details."""

    code: str
    message: str
    details: Any = None


class ErrorEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """``{"error": {"code", "message", "details"}}``, the body of every error answer."""

    error: ErrorInfo


class Ok(msgspec.Struct, frozen=True, kw_only=True):
    """``{"ok": true}``: done, nothing else to say."""

    ok: bool = True


class Empty(msgspec.Struct, frozen=True, kw_only=True):
    """``{}``: a POST that carries no fields (unknown ones are ignored)."""


def changed_fields(changes: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body's struct sets (those not left ``UNSET``), by name."""
    return {
        name: value
        for name in changes.__struct_fields__
        if (value := getattr(changes, name)) is not msgspec.UNSET
    }
