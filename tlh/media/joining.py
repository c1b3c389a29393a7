"""Getting a call socket exactly as the pages do: redeem, keep the cookie, open the socket.

The link cookie is ``__Host-``/``Secure``: aiohttp's cookie jar drops it over
``http://127.0.0.1`` (tests, demos), so it is carried by hand from the redeem answer to
the socket request. Every request sends the page's Origin. Staff join with their
Bearer token on the staff call socket.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from tlh.errors import (
    Forbidden,
    TlhError,
    Unauthenticated,
    Unavailable,
    error_from_envelope,
)

LINK_COOKIE = "__Host-tlh_link"


class Joiner:
    """Opens participant and staff call sockets on one server through one HTTP session."""

    def __init__(
        self, http: aiohttp.ClientSession, origin: str, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.http = http
        self.origin = origin
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True

    async def link_socket(
        self, token: str, close_s: float, location: tuple[str, str] | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        """Redeem a join link and open /api/v1/link/ws with its cookie (``location``:
        the place and phone to give first, as the page does when the practice asks)."""
        cookie = await self._cookie("/api/v1/link/redeem", {"token": token}, LINK_COOKIE)
        headers = {"Cookie": f"{LINK_COOKIE}={cookie}"}
        if location is not None:
            place, phone = location
            await self._post("/api/v1/link/location", {"place": place, "phone": phone}, headers)
        return await self._socket("/api/v1/link/ws", headers, close_s)

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        """POST as the page does; the server's error as a ``TlhError`` (its one line)."""
        try:
            async with self.http.post(
                self.origin + path,
                json=body,
                headers={"Origin": self.origin, **headers},
                ssl=self._ssl,
            ) as answer:
                raw = await answer.read()
                if answer.status >= 300:
                    raise _error(answer.status, raw)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(exc) from None

    async def staff_socket(
        self, staff_token: str, close_s: float, session_id: str | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        """/api/v1/call/ws with a Bearer header, optionally on one segment (``?session=``).

        Not through a call-link: redeeming one would open a staff web session that
        could supersede the clinician's own page.
        """
        path = "/api/v1/call/ws" + (f"?session={quote(session_id)}" if session_id else "")
        return await self._socket(path, {"Authorization": f"Bearer {staff_token}"}, close_s)

    async def _cookie(self, path: str, body: dict[str, Any], name: str) -> str:
        """POST as the page does and return the session cookie the answer sets."""
        try:
            async with self.http.post(
                self.origin + path, json=body, headers={"Origin": self.origin}, ssl=self._ssl
            ) as answer:
                raw = await answer.read()
                if answer.status != 200:
                    raise _error(answer.status, raw)
                cookie = answer.cookies.get(name)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(exc) from None
        if cookie is None:
            raise TlhError("the server accepted the link but set no session cookie")
        return str(cookie.value)

    async def _socket(
        self, path: str, headers: dict[str, str], close_s: float
    ) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self.http.ws_connect(
                self.origin + path,
                headers={"Origin": self.origin, **headers},
                ssl=self._ssl,
                autoping=True,
                compress=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=close_s),
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise _refused(exc.status) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> Unavailable:
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc)
        return Unavailable(f"cannot reach the tlh server at {self.origin}: {reason}")


def _error(status: int, raw: bytes) -> TlhError:
    """The server's error envelope as the matching error (its one-line message)."""
    try:
        envelope = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        envelope = None
    return error_from_envelope(status, envelope)


def _refused(status: int) -> TlhError:
    """The socket was refused before the upgrade (auth or Origin)."""
    if status == 401:
        return Unauthenticated("the server refused the call socket: not signed in")
    if status == 403:
        return Forbidden("the server refused the call socket: origin or role not allowed")
    return TlhError(f"the server refused the call socket (HTTP {status})")
