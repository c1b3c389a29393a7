"""Debian's Janus in a private network, and just enough of its HTTP API to drive a videoroom.

Issue 6 asks for tlh's relay CPU per forwarded stream as a ratio to Janus's, under the
same publisher/subscriber load. This module is the Janus side's plumbing, kept apart from
the benchmark so the smoke test can use it too.

Janus never gathers ICE candidates on a loopback interface (measured: with
``ice_enforce_list`` set to ``lo`` or ``127.0.0.1`` it falls back to every other
interface, IPv6 included). So the Janus side runs in a network namespace of its own
(``unshare -rn``, no privileges needed): inside it there is ``lo`` and one veth pair
whose end ``bench0`` has 198.18.0.1 (the benchmarking range) and leads nowhere. Janus
gathers on that address only, its HTTP API listens on the namespace's 127.0.0.1, and
the aiortc peers run in the same namespace; nothing in there can reach, or be reached
from, a real network.

- ``isolated(argv)``: the command line that runs ``argv`` in such a namespace;
- ``running_janus()`` starts ``/usr/bin/janus`` from a generated configuration in a
  temporary directory: only the videoroom plugin and the plain-HTTP transport are in the
  folders it loads from, the admin API is off, no STUN/TURN, no IPv6, no mDNS. The
  process is terminated (then killed) on the way out, whatever happened;
- ``JanusSession`` is a small async client of the HTTP API: create a session, attach
  handles, synchronous requests, asynchronous requests answered through the session's
  long poll, a keepalive, and destroy;
- ``publish`` / ``subscribe`` do the videoroom's offer/answer with aiortc peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.messaging.support import free_port

JANUS = Path("/usr/bin/janus")
VIDEOROOM = "janus.plugin.videoroom"
START_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0
KEEPALIVE_SECONDS = 20.0  # Janus drops a session after 60 s of silence
ICE_ADDRESS = "198.18.0.1"
#: Brings up the namespace's ``lo`` and a veth pair, ``bench0`` with ``ICE_ADDRESS``.
NETWORK_SETUP = (
    "ip link set lo up && ip link add bench0 type veth peer name bench1 && "
    f"ip addr add {ICE_ADDRESS}/24 dev bench0 && ip link set bench0 up && "
    "ip link set bench1 up"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


class JanusError(RuntimeError):
    """Janus refused a request or did not answer in time (one line, no SDP)."""


def janus_module(kind: str, name: str) -> Path:
    """The installed shared object ``name`` of Janus's ``kind`` folder (plugins, transports)."""
    for folder in (Path("/usr/lib") / "janus", *Path("/usr/lib").glob("*/janus")):
        candidate = folder / kind / name
        if candidate.exists():
            return candidate
    raise JanusError(f"Janus's {name} is not installed (apt-get install janus)")


def isolated(argv: list[str]) -> list[str]:
    """``argv`` run in a new, private network namespace with ``NETWORK_SETUP`` done."""
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("ip") is None:
        raise JanusError("the Janus bench needs unshare (util-linux) and ip (iproute2)")
    return [unshare, "-rn", "sh", "-c", f'{NETWORK_SETUP} && exec "$@"', "sh", *argv]


def dies_with_parent(signum: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``signum`` when the process that started it dies,
    so a killed bench leaves no Janus (nor namespace) behind."""
    libc = ctypes.CDLL(None, use_errno=True)

    def arrange() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum)

    return arrange


def write_config(root: Path, port: int) -> Path:
    """A minimal configuration under ``root``: videoroom + HTTP on 127.0.0.1:``port``."""
    for kind, name in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        (root / kind).mkdir()
        (root / kind / name).symlink_to(janus_module(kind, name))
    (root / "none").mkdir()  # no event handlers, no loggers
    (root / "janus.jcfg").write_text(
        f"""general: {{
  configs_folder = "{root}"
  plugins_folder = "{root}/plugins"
  transports_folder = "{root}/transports"
  events_folder = "{root}/none"
  loggers_folder = "{root}/none"
  debug_level = 3
  session_timeout = 60
}}
media: {{
  ipv6 = false
}}
nat: {{
  ice_enforce_list = "{ICE_ADDRESS}"
  ignore_mdns = true
}}
"""
    )
    (root / "janus.transport.http.jcfg").write_text(
        f"""general: {{
  json = "compact"
  base_path = "/janus"
  http = true
  port = {port}
  ip = "127.0.0.1"
  https = false
}}
admin: {{
  admin_http = false
  admin_https = false
}}
"""
    )
    (root / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return root / "janus.jcfg"


@dataclass
class Janus:
    """A running Janus: its API root and process id (for its CPU time)."""

    url: str
    pid: int
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process (all its threads) so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def last_log_line(self) -> str:
        return (self.log.read_text(errors="replace").strip().splitlines() or ["(no log)"])[-1]


@contextlib.asynccontextmanager
async def running_janus() -> AsyncIterator[Janus]:
    """Start Janus (API on 127.0.0.1), wait until it answers, terminate it on the way out."""
    if not JANUS.exists():
        raise JanusError("Janus is not installed (apt-get install janus)")
    with tempfile.TemporaryDirectory(prefix="tlh-janus-") as tmp:
        root = Path(tmp)
        port = free_port()
        config = write_config(root, port)
        log = root / "janus.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                str(JANUS), "-C", str(config), "-F", str(root), "-o",
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                preexec_fn=dies_with_parent(signal.SIGTERM),
            )  # fmt: skip
        janus = Janus(f"http://127.0.0.1:{port}/janus", proc.pid, log)
        try:
            await _until_ready(janus, proc)
            yield janus
        finally:
            await _stop(proc)


async def _until_ready(janus: Janus, proc: asyncio.subprocess.Process) -> None:
    """Poll ``/info`` until it answers, the process exits or ``START_TIMEOUT`` passes."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(START_TIMEOUT / 0.1)):
            if proc.returncode is not None:
                raise JanusError(f"Janus exited ({proc.returncode}): {janus.last_log_line()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{janus.url}/info") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)  # nothing to wait on but the port answering
    raise JanusError(f"Janus did not answer within {START_TIMEOUT:g} s: {janus.last_log_line()}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class JanusSession:
    """One Janus session over HTTP: handles, requests, the event long poll, a keepalive."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.root = url
        self.url = ""
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._up: dict[int, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def create(self) -> None:
        reply = await self._post(self.root, {"janus": "create"})
        self.url = f"{self.root}/{reply['data']['id']}"
        self._tasks = [asyncio.create_task(self._poll()), asyncio.create_task(self._keepalive())]

    async def attach(self, plugin: str = VIDEOROOM) -> int:
        reply = await self._post(self.url, {"janus": "attach", "plugin": plugin})
        return int(reply["data"]["id"])

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request: the plugin's data from the HTTP reply itself."""
        reply = await self._post(f"{self.url}/{handle}", {"janus": "message", "body": body})
        return _plugin_data(reply)

    async def send(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous plugin request: Janus acks, the answer comes by the long poll."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        transaction = f"t{next(self._ids)}"
        waiter = self._pending[transaction] = asyncio.get_running_loop().create_future()
        try:
            await self._post(f"{self.url}/{handle}", message, transaction)
            async with asyncio.timeout(REQUEST_TIMEOUT):
                event = await waiter
        except TimeoutError:
            raise JanusError(f"no answer to {body.get('request')!r} within 10 s") from None
        finally:
            self._pending.pop(transaction, None)
        return _plugin_data(event), event.get("jsep")

    async def webrtc_up(self, handle: int) -> None:
        """Wait for Janus's ``webrtcup`` on ``handle``: its PeerConnection is ready."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                await self._up.setdefault(handle, asyncio.Event()).wait()
        except TimeoutError:
            raise JanusError("Janus's PeerConnection did not come up within 10 s") from None

    async def destroy(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.url:
            with contextlib.suppress(aiohttp.ClientError, JanusError, TimeoutError):
                await self._post(self.url, {"janus": "destroy"})

    async def _post(
        self, url: str, message: dict[str, Any], transaction: str | None = None
    ) -> dict[str, Any]:
        message["transaction"] = transaction or f"t{next(self._ids)}"
        async with (
            asyncio.timeout(REQUEST_TIMEOUT),
            self.http.post(url, json=message) as response,
        ):
            reply = dict(await response.json(content_type=None))
        if reply.get("janus") == "error":
            raise JanusError(f"Janus: {reply['error'].get('reason', reply['error'])}")
        return reply

    async def _poll(self) -> None:
        """The long poll: hands each event answering a pending request to its waiter, and
        notes which handles' PeerConnections are up."""
        while True:
            async with self.http.get(self.url, params={"maxev": "10"}) as response:
                events = await response.json(content_type=None)
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "webrtcup":
                    self._up.setdefault(int(event["sender"]), asyncio.Event()).set()
                waiter = self._pending.get(event.get("transaction", ""))
                if waiter is not None and not waiter.done() and event.get("janus") != "ack":
                    waiter.set_result(event)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            await self._post(self.url, {"janus": "keepalive"})


def _plugin_data(reply: dict[str, Any]) -> dict[str, Any]:
    data = dict(reply.get("plugindata", {}).get("data", {}))
    if "error" in data:
        raise JanusError(f"videoroom: {data['error']}")
    return data


async def create_room(session: JanusSession, handle: int) -> int:
    """A temporary VP8/Opus room with room for one publisher; its number."""
    data = await session.request(
        handle,
        {"request": "create", "publishers": 1, "videocodec": "vp8", "audiocodec": "opus",
         "permanent": False, "is_private": True},
    )  # fmt: skip
    return int(data["room"])


async def publish(session: JanusSession, room: int, pc: RTCPeerConnection) -> int:
    """Join ``room`` as its publisher with ``pc``'s offer; the publisher's feed id."""
    handle = await session.attach()
    joined, _ = await session.send(
        handle, {"request": "join", "ptype": "publisher", "room": room, "display": "bench"}
    )
    await pc.setLocalDescription(await pc.createOffer())
    _, answer = await session.send(
        handle, {"request": "publish", "audio": True, "video": True}, _jsep(pc)
    )
    if answer is None:
        raise JanusError("Janus accepted the publisher without an answer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    await session.webrtc_up(handle)  # subscribers may join a feed only once it is up
    return int(joined["id"])


async def subscribe(session: JanusSession, room: int, feed: int, pc: RTCPeerConnection) -> None:
    """Subscribe ``pc`` to ``feed``: Janus offers, ``pc`` answers, then ``start``."""
    handle = await session.attach()
    _, offer = await session.send(
        handle,
        {"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": feed}]},
    )
    if offer is None:
        raise JanusError("Janus attached the subscriber without an offer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await session.send(handle, {"request": "start", "room": room}, _jsep(pc))


def _jsep(pc: RTCPeerConnection) -> dict[str, Any]:
    description = pc.localDescription
    return {"type": description.type, "sdp": description.sdp, "trickle": False}
