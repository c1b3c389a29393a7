"""Waiting for a server to close its idle keep-alive connections (no sleeping)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


async def idle_connections_closed(url: str, timeout_s: float = 10.0) -> None:
    """Return once the server at ``url`` has closed the idle connections of requests
    answered before this call: a connection opened now, asked one thing and left idle is
    closed by the keep-alive timer after theirs, which went idle first."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass  # the answer, then EOF once the server closes this idle connection
    finally:
        writer.close()
