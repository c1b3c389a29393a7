"""Staff websockets end when the sign-in they were opened with ends.

A websocket is authenticated once, at the upgrade. A token revoked (a new one issued),
a staff member disabled or moved to a role the route does not take, or a page logged
out or signed in by a token since revoked must end the sockets opened with it too: a
dismissed clinician must not stay in a client's call or keep receiving the practice's
events. The routes that end a sign-in call ``close_signed_out`` before they answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

from tlh.domain.models import Role
from tlh.services import auth
from tlh.services.context import Context
from tlh.services.staff_web import StaffWeb, signed_in_staff

#: How long ``close_signed_out`` waits for the closed sockets' handlers to finish.
HANDLER_WAIT_S = 5.0
#: The close reason a signed-out socket gets (clients reconnect and are refused).
SIGNED_OUT = b"signed out"


@dataclass(slots=True, eq=False)
class _Open:
    """One open socket: the sign-in it was opened with (a token's hash or a cookie
    session, never both), its request, and whether its handler is done."""

    staff_id: str
    roles: Collection[Role]
    token_hash: str | None
    session: str | None
    #: Whose transport is cut if a close takes too long.
    request: web.Request
    #: Set by ``discard``, when the handler has finished (left its call).
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: Being closed by a sign-out (no second close; still awaited until ``discard``).
    closing: bool = False


class StaffSockets:
    """The open staff websockets and the sign-in each was opened with."""

    def __init__(self) -> None:
        self._open: dict[web.WebSocketResponse, _Open] = {}
        #: Told ``(staff_id, True)`` when a staff member's first socket opens and
        #: ``(staff_id, False)`` when their last one closes (their clients see whether
        #: they are online: ``Rooms.staff.connected``).
        self.on_presence: Callable[[str, bool], Awaitable[None]] | None = None

    async def add(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        staff_id: str,
        session: str | None,
        roles: Collection[Role],
    ) -> None:
        """Remember ``ws``, opened by ``staff_id`` with this request's credential on a
        route that takes ``roles``."""
        bearer = auth.bearer_of(request.headers.get("Authorization", ""))
        first = not self.holds(staff_id)
        self._open[ws] = _Open(
            staff_id,
            roles,
            auth.hash_token(bearer) if bearer else None,
            None if bearer else session,
            request,
        )
        if first and self.on_presence is not None:
            await self.on_presence(staff_id, True)

    def holds(self, staff_id: str) -> bool:
        """Whether the staff member has a socket open (dashboard, room watch, call page)."""
        return any(o.staff_id == staff_id for o in self._open.values())

    async def discard(self, ws: web.WebSocketResponse) -> None:
        """The socket's handler is done with it (called last, after leaving any call)."""
        found = self._open.pop(ws, None)
        if found is not None:
            found.done.set()
            if self.on_presence is not None and not self.holds(found.staff_id):
                await self.on_presence(found.staff_id, False)

    async def close_signed_out(self, ctx: Context, staff_web: StaffWeb) -> int:
        """Close every socket whose sign-in no longer holds and wait for their handlers
        to finish, so a call they were in is left when this returns; returns how many.

        All at once and within ``HANDLER_WAIT_S`` in all: a close that waits on a dead
        laptop's buffer or close frame past that has its connection cut instead.
        """
        ended = {
            ws: found
            for ws, found in self._open.items()
            if not found.closing and not await _holds(ctx, staff_web, found)
        }
        if not ended:
            return 0
        closing: dict[web.WebSocketResponse, asyncio.Task[None]] = {}
        for ws, found in ended.items():
            found.closing = True
            closing[ws] = asyncio.ensure_future(self._end(ws, found.done))
        _, late = await asyncio.wait(closing.values(), timeout=HANDLER_WAIT_S)
        for ws, task in closing.items():
            if task in late:
                task.cancel()
                transport = ended[ws].request.transport
                if transport is not None:
                    transport.abort()
        await asyncio.gather(*late, return_exceptions=True)
        return len(ended)

    @staticmethod
    async def _end(ws: web.WebSocketResponse, done: asyncio.Event) -> None:
        with contextlib.suppress(ConnectionError):  # gone already: nothing to end
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=SIGNED_OUT)
        await done.wait()


async def _holds(ctx: Context, staff_web: StaffWeb, cred: _Open) -> bool:
    """Whether the socket's sign-in still holds: its token is live (or its page session
    is open and the token that signed the page in is), and the role takes the route."""
    if cred.token_hash is not None:
        staff = await auth.token_holder(ctx, cred.token_hash)
    else:
        grant = staff_web.holder(cred.session) if cred.session is not None else None
        staff = await signed_in_staff(ctx, grant) if grant is not None else None
    return staff is not None and staff.id == cred.staff_id and bool(staff.roles & set(cred.roles))
