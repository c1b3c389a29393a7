"""The staff event stream (``/api/v1/events``), a websocket.

aiohttp is imported inside ``staff_events`` only, so ``import tlh.client`` stays light
for every command that does not stream events.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncGenerator

import msgspec

from tlh.api.events import StaffEvent
from tlh.errors import Forbidden, Unauthenticated, Unavailable

from .http import Http


async def staff_events(
    http: Http, heartbeat: float = 20.0, *, dashboard: bool = False
) -> AsyncGenerator[StaffEvent, None]:
    """Staff events as they happen, until the server closes the socket.

    ``dashboard=True`` marks the stream as this user's dashboard: opening another
    one elsewhere supersedes it (a ``dashboard.superseded`` event, then the end).

    Raises Unavailable when the server cannot be reached (callers retry with
    backoff); the server's refusal (401/403) is raised as its error.
    """
    import aiohttp  # ~250 ms: only the commands that stream events pay for it

    transport = http.transport
    endpoint = transport.endpoint
    scheme = "wss" if endpoint.scheme == "https" else "ws"
    url = f"{scheme}://{endpoint.host_header}{endpoint.base_path}/api/v1/events"
    if dashboard:
        url += "?dashboard=1"
    context: ssl.SSLContext | bool = True
    if endpoint.scheme == "https" and transport._ca_file:
        context = ssl.create_default_context(cafile=transport._ca_file)
    headers = {"Authorization": f"Bearer {http.token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=transport.timeout)
    decoder = msgspec.json.Decoder(StaffEvent)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            ws = await session.ws_connect(
                url, headers=headers, heartbeat=heartbeat, compress=0, ssl=context
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise Unauthenticated("the server refused the event stream: bad token") from None
            if exc.status == 403:
                raise Forbidden("the server refused the event stream") from None
            raise Unavailable(f"the event stream was refused (HTTP {exc.status})") from None
        except (aiohttp.ClientError, OSError, TimeoutError):
            raise Unavailable(f"cannot reach the tlh server at {endpoint.url}") from None
        async with ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                try:
                    yield decoder.decode(msg.data)
                except (msgspec.ValidationError, msgspec.DecodeError):
                    continue
