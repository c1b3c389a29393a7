"""Calls across real networks (issue 14 item 3): network namespaces with the server, coturn
and nginx in one, the client's Chromium behind a NAT (nftables masquerade) in another.

(a) UDP open: a direct path (through the NAT, found by STUN or peer-reflexive);
(b) every UDP packet from the client dropped but those to coturn's 3478: relayed by coturn
    over UDP; then every UDP packet dropped (and TURN's TCP port): relayed over TLS on 443,
    both with credentials tlh minted for that client;
(c) the client reaches tlh through nginx in front of it (websockets pass through);
(d) the client's network gone for 5 s mid-call: ICE restarts on the same connection and the
    call resumes without a new admission.
Admission to first frame per path and the proxy's cost per request are printed at the end.
"""

from __future__ import annotations

import asyncio
import http.client
import ssl
import statistics
import time

import pytest

from tests.e2e.browser import needs_chromium

from .calls import admitted_call, browsers
from .conftest import FIGURES
from .netns import CLIENT_IP, TURN_IP, in_namespace
from .servers import PROXY_PORT, TURN_SECRET, Servers

pytestmark = [pytest.mark.timeout(180), needs_chromium]

#: The client's ICE username fragment (an ICE restart changes it).
UFRAG = (
    "() => /a=ice-ufrag:(\\S+)/.exec("
    "[...window.tlhCall.peers.values()][0].pc.localDescription.sdp)[1]"
)
#: The issue's verdicts: admission to first frame.
DIRECT_S, TURN_TLS_S = 1.0, 2.0


def _figure(name: str, seconds: float, limit: float, path: dict[str, str]) -> None:
    verdict = "ok" if seconds <= limit else "OVER"
    how = f"{path.get('type', '?')}/{path.get('relay') or path.get('protocol', '?')}"
    FIGURES[name] = f"{name:<28} {seconds * 1000:6.0f} ms  (≤ {limit:.0f} s: {verdict}; path {how})"


async def test_a_udp_open_connects_directly_through_the_nat(network: Servers) -> None:
    async with browsers(network) as (client, staff):
        call = await admitted_call(network, client, staff, network.direct)
        assert call.path["type"] in ("srflx", "prflx", "host"), call.path
        assert call.path["type"] != "relay"
        _figure("(a) direct, UDP open", call.first_frame_s, DIRECT_S, call.path)
        assert call.client.js_errors == []
        assert call.staff.js_errors == []


async def test_b_udp_blocked_goes_through_turn_over_tls_on_443(network: Servers) -> None:
    network.topo.block(f"ip saddr {CLIENT_IP} meta l4proto udp", "tcp dport 3478")
    try:
        async with browsers(network) as (client, staff):
            call = await admitted_call(network, client, staff, network.direct)
            assert call.path == {"type": "relay", "protocol": "udp", "relay": "tls"}, call.path
            # coturn relayed for credentials tlh minted for this client; tlh never logs them.
            turn = await call.client.evaluate(
                "() => window.tlhCall.iceServers.find((s) => s.username)"
            )
            assert turn["username"].endswith(":" + await call.client.evaluate("window.tlhCall.me"))
            logged = (network.root / "python.log").read_text()
            assert turn["credential"] not in logged
            assert TURN_SECRET not in logged
            _figure("(b) TURN/TLS 443, UDP blocked", call.first_frame_s, TURN_TLS_S, call.path)
    finally:
        network.topo.unblock()


async def test_b_direct_udp_blocked_goes_through_turn_over_udp(network: Servers) -> None:
    # Only the client's UDP to coturn's listening port gets through the router: no direct
    # path to the clinician, but TURN over UDP (the common case behind a strict NAT).
    network.topo.block(
        f"ip saddr {CLIENT_IP} ip daddr != {TURN_IP} meta l4proto udp",
        f"ip saddr {CLIENT_IP} ip daddr {TURN_IP} udp dport != 3478",
    )
    try:
        async with browsers(network) as (client, staff):
            call = await admitted_call(network, client, staff, network.direct)
            assert call.path == {"type": "relay", "protocol": "udp", "relay": "udp"}, call.path
            _figure("(b) TURN/UDP, direct blocked", call.first_frame_s, TURN_TLS_S, call.path)
    finally:
        network.topo.unblock()


def _round_trips(servers: Servers, port: int, count: int = 40) -> float:
    """Median ms of a request on a kept-alive HTTPS connection from the client's network."""

    def measure() -> float:
        context = ssl.create_default_context()
        servers.ca.configure_trust(context)
        conn = http.client.HTTPSConnection(servers.direct[8:], port, context=context, timeout=10)
        taken = []
        try:
            for _ in range(count + 5):
                began = time.perf_counter()
                conn.request("GET", "/healthz")
                answer = conn.getresponse()
                answer.read()
                assert answer.status == 200
                taken.append(time.perf_counter() - began)
        finally:
            conn.close()
        return statistics.median(taken[5:]) * 1000  # the first few warm the connection

    return in_namespace(servers.topo.client, measure)


async def test_c_through_nginx_in_front_of_tlh(network: Servers) -> None:
    async with browsers(network) as (client, staff):
        call = await admitted_call(network, client, staff, network.proxied)
        assert call.client.url.startswith(network.proxied)
        _figure("(c) via nginx", call.first_frame_s, DIRECT_S, call.path)
        assert call.client.js_errors == []
    direct = await asyncio.to_thread(_round_trips, network, 443)
    proxied = await asyncio.to_thread(_round_trips, network, PROXY_PORT)
    FIGURES["proxy"] = (
        f"request round trip from the client: tlh direct {direct:.2f} ms, via nginx "
        f"{proxied:.2f} ms (+{proxied - direct:.2f} ms)"
    )


async def test_d_a_5_s_network_drop_resumes_by_ice_restart(network: Servers) -> None:
    async with browsers(network) as (client, staff):
        call = await admitted_call(network, client, staff, network.direct)
        page = call.client
        me = await page.evaluate(
            "() => { const p = [...window.tlhCall.peers.values()][0]; p.pc.__tag = 'first';"
            " return window.tlhCall.me; }"
        )
        ufrag = await page.evaluate(UFRAG)
        network.topo.block(f"ip saddr {CLIENT_IP}", f"ip daddr {CLIENT_IP}")
        try:
            await page.wait_for_function(
                "() => [...window.tlhCall.peers.values()][0].pc.iceConnectionState !== 'connected'",
                polling=100,
                timeout=15_000,
            )
            await asyncio.sleep(5)  # the outage itself, not a wait for an event
        finally:
            network.topo.unblock()
        back = time.monotonic()
        before = await page.evaluate("() => window.__frames")
        await page.wait_for_function(
            f"() => window.__frames > {before}", polling=100, timeout=45_000
        )
        await call.staff.evaluate("() => { window.__frames = 0; }")
        await call.staff.wait_for_function("() => window.__frames > 0", timeout=30_000)
        resumed = time.monotonic() - back
        state = await page.evaluate(
            "() => { const p = [...window.tlhCall.peers.values()][0];"
            " return {tag: p.pc.__tag, me: window.tlhCall.me}; }"
        )
        assert state == {"tag": "first", "me": me}  # the same connection, the same place
        assert await page.evaluate(UFRAG) != ufrag  # new ICE credentials: ICE restarted
        assert not await page.get_by_role("heading", name="Waiting room").is_visible()
        FIGURES["drop"] = (
            f"(d) 5 s drop: frames again {resumed * 1000:.0f} ms after the network returned"
        )
