"""Staff websockets end when the sign-in they were opened with ends.

A websocket is authenticated once, at the upgrade. A token revoked (a new one issued),
a staff member disabled or moved to a role the route does not take, or a page logged
out must end the sockets opened with it too: a dismissed clinician must not stay in a
client's call or keep receiving the practice's events. The routes that end a sign-in
call ``close_signed_out`` before they answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from dataclasses import dataclass

from aiohttp import WSCloseCode, web

from tlh.domain.models import Role, Staff
from tlh.services import auth
from tlh.services.context import Context
from tlh.services.staff_web import StaffWeb

#: How long ``close_signed_out`` waits for the closed sockets' handlers to finish.
HANDLER_WAIT_S = 5.0
#: The close reason a signed-out socket gets (clients reconnect and are refused).
SIGNED_OUT = b"signed out"


@dataclass(frozen=True, slots=True)
class _Credential:
    """What a socket was opened with: a token's hash or a cookie session (never both)."""

    staff_id: str
    roles: Collection[Role]
    token_hash: str | None
    session: str | None


class StaffSockets:
    """The open staff websockets and the sign-in each was opened with."""

    def __init__(self) -> None:
        self._open: dict[web.WebSocketResponse, _Credential] = {}
        #: Set when the socket's handler has finished (left its call): ``discard``.
        self._done: dict[web.WebSocketResponse, asyncio.Event] = {}
        #: Each socket's request, whose transport is cut if a close takes too long.
        self._requests: dict[web.WebSocketResponse, web.Request] = {}

    def add(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        staff_id: str,
        session: str | None,
        roles: Collection[Role],
    ) -> None:
        """Remember ``ws``, opened by ``staff_id`` with this request's credential on a
        route that takes ``roles``."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        self._open[ws] = _Credential(
            staff_id,
            roles,
            auth.hash_token(bearer) if bearer else None,
            None if bearer else session,
        )
        self._done[ws] = asyncio.Event()
        self._requests[ws] = request

    def discard(self, ws: web.WebSocketResponse) -> None:
        """The socket's handler is done with it (called last, after leaving any call)."""
        self._open.pop(ws, None)
        self._requests.pop(ws, None)
        done = self._done.pop(ws, None)
        if done is not None:
            done.set()

    def __len__(self) -> int:
        return len(self._open)

    async def close_signed_out(self, ctx: Context, staff_web: StaffWeb) -> int:
        """Close every socket whose sign-in no longer holds and wait for their handlers
        to finish, so a call they were in is left when this returns; returns how many.

        All at once and within ``HANDLER_WAIT_S`` in all: a close that waits on a dead
        laptop's buffer or close frame past that has its connection cut instead.
        """
        ended = [ws for ws, cred in self._open.items() if not _holds(ctx, staff_web, cred)]
        if not ended:
            return 0
        closing = {ws: asyncio.ensure_future(self._end(ws, self._done.get(ws))) for ws in ended}
        for ws in ended:
            self._open.pop(ws, None)
        _, late = await asyncio.wait(closing.values(), timeout=HANDLER_WAIT_S)
        for ws, task in closing.items():
            if task in late:
                task.cancel()
                request = self._requests.get(ws)
                transport = request.transport if request is not None else None
                if transport is not None:
                    transport.abort()
        await asyncio.gather(*late, return_exceptions=True)
        return len(ended)

    @staticmethod
    async def _end(ws: web.WebSocketResponse, done: asyncio.Event | None) -> None:
        with contextlib.suppress(ConnectionError):  # gone already: nothing to end
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=SIGNED_OUT)
        if done is not None:
            await done.wait()


def _holds(ctx: Context, staff_web: StaffWeb, cred: _Credential) -> bool:
    if cred.token_hash is not None:
        holder = auth.token_holder(ctx, cred.token_hash)
        if holder is None or holder.id != cred.staff_id:
            return False
    elif cred.session is None or staff_web.holder(cred.session) != cred.staff_id:
        return False
    staff = ctx.store.get("staff", cred.staff_id)
    return isinstance(staff, Staff) and staff.active and staff.role in cred.roles
