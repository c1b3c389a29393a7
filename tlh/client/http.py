"""The plumbing every part of ``TlhClient`` shares: auth header, a ``tlh.api`` struct
in, a typed answer out, errors.

Any non-2xx answer becomes the matching ``tlh.errors`` class (rebuilt from the
server's envelope), so callers catch ``NotFound`` whichever side raised it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from tlh.api.envelope import Empty, Items
from tlh.api.validation import explain
from tlh.errors import InvalidInput, TlhError, error_from_envelope

from .transport import ProgressCallback, Transport

T = TypeVar("T")
_encoder = msgspec.json.Encoder()
#: The body of a POST that carries no fields.
EMPTY = Empty()


def query(params: Mapping[str, object | None]) -> str:
    """A query string from the non-None params (dates and datetimes as ISO)."""
    pairs = {
        k: v.isoformat() if isinstance(v, date | datetime) else str(v)
        for k, v in params.items()
        if v is not None
    }
    return "?" + urlencode(pairs) if pairs else ""


def seg(ref: str) -> str:
    """A path segment: record ids and emails, percent-encoded."""
    return quote(ref, safe="@")


def build(typ: type[T], fields: Mapping[str, object]) -> T:
    """The request struct ``typ`` from keyword fields (``None``: not given, left out).

    A value the server would refuse for its type is refused here the same way
    (``InvalidInput`` naming the field), before anything is sent.
    """
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v is not None}, typ)
    except msgspec.ValidationError as exc:
        raise InvalidInput(explain(exc, typ)) from None


class Http:
    """One server, one staff token: the connection every part of the client shares."""

    def __init__(
        self, url: str, token: str, timeout: float = 30.0, ca_file: str | None = None
    ) -> None:
        self.url = url
        self.token = token
        self.transport = Transport(url, timeout, ca_file or os.environ.get("TLH_CA_FILE") or None)
        #: The raw body of the last answer (what ``--json`` prints verbatim).
        self.last_body = b""

    async def close(self) -> None:
        """Close the connection."""
        await self.transport.close()

    def token_matches(self, text: str) -> bool:
        """Whether ``text`` is this client's API token (constant time, on SHA-256 digests)."""
        typed = hashlib.sha256(text.encode()).digest()
        return hmac.compare_digest(typed, hashlib.sha256(self.token.encode()).digest())

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
        """Send ``json`` (a struct, or anything msgspec encodes) or ``body``; return
        (status, body) unchecked."""
        headers = [("Accept", "application/json")]
        if self.token:
            headers.append(("Authorization", f"Bearer {self.token}"))
        if json is not None:
            body = _encoder.encode(json)
            content_type = "application/json"
        if content_type:
            headers.append(("Content-Type", content_type))
        answer = await self.transport.request(
            method, path, body or b"", headers, wait_s=wait_s, progress=progress
        )
        self.last_body = answer.body
        return answer.status, answer.body

    async def call(self, method: str, path: str, json: Any = None, **kw: Any) -> bytes:
        """The answer's body; a non-2xx answer raises its ``tlh.errors`` class."""
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

    async def get(self, typ: type[T], method: str, path: str, json: Any = None, **kw: Any) -> T:
        """The answer decoded as ``typ`` (a ``tlh.api`` struct or a domain record)."""
        raw = await self.call(method, path, json, **kw)
        try:
            return msgspec.json.decode(raw, type=typ)
        except msgspec.DecodeError as exc:
            raise TlhError(
                f"the server's answer to {method} {path.split('?')[0]} "
                f"does not match this client: {exc}"
            ) from None

    async def items(
        self, typ: type[T], path: str, json: Any = None, method: str = "GET", **kw: Any
    ) -> list[T]:
        """The ``items`` of a list answer, each decoded as ``typ``."""
        return (await self.get(Items[typ], method, path, json, **kw)).items  # type: ignore[valid-type]


class Part:
    """One concept's calls (``client.rooms``, ``client.staff``...), on the shared ``Http``."""

    def __init__(self, http: Http) -> None:
        self._http = http
