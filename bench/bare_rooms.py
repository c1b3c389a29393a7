"""A bare aiohttp server speaking the waiting room's protocol: the peer of the room
benches (``bench_room_ws.py``, ``soak_rooms.py``).

What a waiting page and a dashboard see of tlh, and nothing else: ``POST
/api/v1/link/redeem`` sets the link cookie, ``/api/v1/link/ws`` takes a ``hello`` and
answers ``status`` (place in line), a staff ``/api/v1/events`` socket hears
``room.joined`` / ``room.reconnected`` / ``room.updated`` with the entry. The same
websocket settings as ``tlh serve`` (heartbeat, no compression, frame limit); no store,
no audit, no checks. Run as a script: ``bare_rooms.py PORT LINKS.json`` (token ->
appointment id), prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

HEARTBEAT_S = 20.0  # tlh.server.settings.Settings.ws_heartbeat_s
MAX_FRAME = 64 * 1024
COOKIE = "__Host-tlh_link"


class Rooms:
    def __init__(self, links: dict[str, str]) -> None:
        self.links = links  # token -> appointment id
        self.sessions: dict[str, str] = {}  # cookie -> appointment id
        self.entries: dict[str, dict[str, Any]] = {}  # appointment id -> entry
        #: Each staff socket's queue of frames (its sender drains it).
        self.staff: dict[web.WebSocketResponse, asyncio.Queue[str]] = {}

    def publish(self, kind: str, entry: dict[str, Any]) -> None:
        text = json.dumps({"type": kind, "at": time.time(), "data": entry})
        for queue in self.staff.values():
            queue.put_nowait(text)


async def redeem(request: web.Request) -> web.Response:
    rooms: Rooms = request.app["rooms"]
    token = (await request.json())["token"]
    cookie = secrets.token_urlsafe(32)
    rooms.sessions[cookie] = rooms.links[token]
    response = web.json_response({"state": "ok"})
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict")
    return response


async def link_ws(request: web.Request) -> web.WebSocketResponse:
    rooms: Rooms = request.app["rooms"]
    appt = rooms.sessions[request.cookies[COOKIE]]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, compress=False, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            break
        frame = json.loads(msg.data)
        if frame.get("type") != "hello":
            continue
        old = rooms.entries.get(appt)
        entry = {"entry_id": old["entry_id"] if old else f"ent_{secrets.token_urlsafe(9)}",
                 "appointment_id": appt, "device_id": frame.get("device_id"),
                 "online": True, "position": len(rooms.entries) + (0 if old else 1)}  # fmt: skip
        rooms.entries[appt] = entry
        await ws.send_str(json.dumps({"type": "status", "state": "waiting", **entry}))
        rooms.publish("room.reconnected" if old else "room.joined", entry)
    entry = rooms.entries.get(appt)
    if entry is not None:
        entry["online"] = False
        rooms.publish("room.updated", entry)
    return ws


async def events(request: web.Request) -> web.WebSocketResponse:
    rooms: Rooms = request.app["rooms"]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, compress=False, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    queue: asyncio.Queue[str] = asyncio.Queue()
    rooms.staff[ws] = queue

    async def pump() -> None:
        while True:
            await ws.send_str(await queue.get())

    sender = asyncio.create_task(pump())
    try:
        await ws.send_str('{"type":"events.ready","data":{}}')
        async for _ in ws:
            pass
    finally:
        del rooms.staff[ws]
        sender.cancel()
    return ws


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def main(port: int, links_file: Path) -> None:
    app = web.Application()
    app["rooms"] = Rooms(json.loads(links_file.read_text()))
    app.router.add_post("/api/v1/link/redeem", redeem)
    app.router.add_get("/api/v1/link/ws", link_ws)
    app.router.add_get("/api/v1/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, keepalive_timeout=75.0, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
