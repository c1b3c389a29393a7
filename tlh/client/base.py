"""The plumbing under ``TlhClient``: auth header, JSON in, typed JSON out, errors.

Any non-2xx answer becomes the matching ``tlh.errors`` class (rebuilt from the
server's envelope), so callers catch ``NotFound`` whichever side raised it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from tlh.errors import TlhError, error_from_envelope

from .transport import ProgressCallback, Transport
from .wire import Items

T = TypeVar("T")
_encoder = msgspec.json.Encoder()


def _q(params: Mapping[str, object | None]) -> str:
    """A query string from the non-None params (dates and datetimes as ISO)."""
    pairs = {
        k: v.isoformat() if isinstance(v, date | datetime) else str(v)
        for k, v in params.items()
        if v is not None
    }
    return "?" + urlencode(pairs) if pairs else ""


def _seg(ref: str) -> str:
    """A path segment: record ids and emails, percent-encoded."""
    return quote(ref, safe="@")


def _fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class BaseClient:
    """Connection, authentication and decoding shared by every API method."""

    def __init__(
        self, url: str, token: str, timeout: float = 30.0, ca_file: str | None = None
    ) -> None:
        self.url = url
        self._token = token
        self._transport = Transport(url, timeout, ca_file or os.environ.get("TLH_CA_FILE") or None)
        #: The raw body of the last answer (what ``--json`` prints verbatim).
        self.last_body = b""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection."""
        await self._transport.close()

    def token_matches(self, text: str) -> bool:
        """Whether ``text`` is this client's API token (constant time, on SHA-256 digests)."""
        typed = hashlib.sha256(text.encode()).digest()
        return hmac.compare_digest(typed, hashlib.sha256(self._token.encode()).digest())

    # -- plumbing -------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        wait_s: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[int, bytes]:
        """Raw escape hatch: send ``json`` (or ``body``), return (status, body) unchecked."""
        headers = [("Accept", "application/json")]
        if self._token:
            headers.append(("Authorization", f"Bearer {self._token}"))
        if json is not None:
            body = _encoder.encode(json)
            content_type = "application/json"
        if content_type:
            headers.append(("Content-Type", content_type))
        answer = await self._transport.request(
            method, path, body or b"", headers, wait_s=wait_s, progress=progress
        )
        self.last_body = answer.body
        return answer.status, answer.body

    async def _call(self, method: str, path: str, json: Any = None, **kw: Any) -> bytes:
        status, raw = await self.request(method, path, json, **kw)
        if status >= 300:
            raise self._error(status, raw)
        return raw

    @staticmethod
    def _error(status: int, raw: bytes) -> TlhError:
        try:
            envelope = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            envelope = None
        return error_from_envelope(status, envelope)

    async def _get(self, typ: type[T], method: str, path: str, json: Any = None, **kw: Any) -> T:
        raw = await self._call(method, path, json, **kw)
        try:
            return msgspec.json.decode(raw, type=typ)
        except msgspec.DecodeError as exc:
            raise TlhError(
                f"the server's answer to {method} {path.split('?')[0]} "
                f"does not match this client: {exc}"
            ) from None

    async def _items(
        self, typ: type[T], path: str, json: Any = None, method: str = "GET"
    ) -> list[T]:
        return (await self._get(Items[typ], method, path, json)).items  # type: ignore[valid-type]
