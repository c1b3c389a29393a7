"""The call UI's WebRTC mesh (call.js) between two Chromium pages, signalling relayed by
the test itself: negotiation, glare, a rejoin, screen share, controls, receive-only."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import (
    FRAMES_FLOWING,
    SHOTS,
    WATCH_FRAMES,
    LiveServer,
    needs_chromium,
    new_page,
    no_overflow,
)

pytestmark = [pytest.mark.timeout(120), needs_chromium]

# -- the mesh alone: two pages, call.js, signalling relayed by the test itself --

START_CALL = """async (devices) => {
  const { Call } = await import("/call.js");
  const stream = devices
    ? await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
    : new MediaStream();
  for (const section of document.querySelectorAll("section")) section.hidden = true;
  document.getElementById("call").hidden = false;
  document.body.classList.add("in-call");
  window.tlhCall = new Call({
    root: document.getElementById("call"),
    stream,
    send: (frame) => window.relay(JSON.stringify(frame)),
  });
}"""


async def _mesh_pair(
    server: LiveServer, browser: Any, a_has_devices: bool = True
) -> tuple[Any, Any]:
    pages = {"a": await new_page(browser, 360, 640), "b": await new_page(browser, 800, 600)}
    for me, page in pages.items():
        other = pages["b" if me == "a" else "a"]

        async def relay(raw: str, me: str = me, other: Any = other) -> None:
            await other.evaluate(
                "([from, raw]) => { const f = JSON.parse(raw);"
                " window.tlhCall.signal({ type: 'signal', from, data: f.data }); }",
                [me, raw],
            )

        await page.goto(f"{server.url}/j")
        await page.expose_function("relay", relay)
        await page.evaluate(START_CALL, a_has_devices or me == "b")
    return pages["a"], pages["b"]


async def test_the_mesh_connects_renegotiates_and_survives_a_rejoin(
    live_server: LiveServer, browser: Any
) -> None:
    a, b = await _mesh_pair(live_server, browser)
    # b is in the call; a is admitted as the newcomer and offers.
    await b.evaluate(
        "() => window.tlhCall.peerJoined({peer_id: 'a', label: 'Ana', kind: 'client'})"
    )
    await a.evaluate(
        "() => window.tlhCall.admitted({peer_id: 'a', session_id: 's1',"
        " peers: [{peer_id: 'b', label: 'Dr. Lee', kind: 'staff'}], ice_servers: []})"
    )
    for page in (a, b):
        await page.evaluate(WATCH_FRAMES)
    for page in (a, b):
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    assert await a.locator(".tile .label").text_content() == "Dr. Lee"

    # Both sides restart ICE at once (glare): perfect negotiation settles it.
    for page in (a, b):
        await page.evaluate("() => { window.__frames = 0; }")
    await a.evaluate("() => window.tlhCall.peers.get('b').pc.restartIce()")
    await b.evaluate("() => window.tlhCall.peers.get('a').pc.restartIce()")
    connected = (
        "() => [...window.tlhCall.peers.values()].every((p) => p.pc.connectionState"
        " === 'connected' && p.pc.signalingState === 'stable')"
    )
    for page in (a, b):
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
        await page.wait_for_function(connected, timeout=20_000)

    # a "reloads": b is told a joined again and replaces the old connection.
    await b.evaluate(
        "() => window.tlhCall.peerJoined({peer_id: 'a', label: 'Ana', kind: 'client'})"
    )
    await a.evaluate(
        "() => window.tlhCall.admitted({peer_id: 'a', session_id: 's1',"
        " peers: [{peer_id: 'b', label: 'Dr. Lee', kind: 'staff'}], ice_servers: []})"
    )
    for page in (a, b):
        await page.evaluate("() => { window.__frames = 0; }")
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    assert await b.locator(".tile").count() == 1

    # Screen share swaps the sent video track, and back.
    sent = (
        "() => window.tlhCall.peers.get('b').pc.getSenders()"
        ".find((s) => s.track && s.track.kind === 'video').track.label"
    )
    camera = await a.evaluate(sent)
    await a.get_by_role("button", name="Share screen").click()
    await a.get_by_role("button", name="Stop sharing").wait_for(timeout=10_000)
    assert (await a.evaluate(sent)).startswith("screen")
    await b.evaluate("() => { window.__frames = 0; }")
    await b.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    await a.get_by_role("button", name="Stop sharing").click()
    await a.get_by_role("button", name="Share screen").wait_for(timeout=10_000)
    assert await a.evaluate(sent) == camera

    # The controls: mute and camera off act on the tracks; the quality hint appears.
    await a.get_by_role("button", name="Mute").click()
    assert await a.evaluate("() => window.tlhCall.stream.getAudioTracks()[0].enabled") is False
    await a.get_by_role("button", name="Camera off").click()
    assert await a.evaluate("() => window.tlhCall.stream.getVideoTracks()[0].enabled") is False
    await a.get_by_role("button", name="Hide me").click()
    assert await a.locator("#self.hidden-self").count() == 1
    await a.wait_for_function(
        "() => /Connection: (good|fair|poor)/.test("
        "document.getElementById('call-quality').textContent)",
        timeout=10_000,
    )
    await a.locator("#self").focus()
    before = await a.locator("#self").bounding_box()
    await a.keyboard.press("ArrowLeft")
    after = await a.locator("#self").bounding_box()
    assert before is not None
    assert after is not None
    assert after["x"] < before["x"]
    SHOTS.mkdir(exist_ok=True)
    await a.screenshot(path=str(SHOTS / "mesh-360x640.png"))
    await no_overflow(a)
    await b.evaluate("() => window.tlhCall.peerLeft({peer_id: 'a'})")
    assert await b.locator(".tile").count() == 0
    assert a.js_errors == []
    assert b.js_errors == []


async def test_a_newcomer_without_camera_or_microphone_still_sees_the_others(
    live_server: LiveServer, browser: Any
) -> None:
    a, b = await _mesh_pair(live_server, browser, a_has_devices=False)
    await b.evaluate(
        "() => window.tlhCall.peerJoined({peer_id: 'a', label: 'Ana', kind: 'client'})"
    )
    await a.evaluate(
        "() => window.tlhCall.admitted({peer_id: 'a', session_id: 's1',"
        " peers: [{peer_id: 'b', label: 'Dr. Lee', kind: 'staff'}], ice_servers: []})"
    )
    await a.evaluate(WATCH_FRAMES)
    await a.wait_for_function(FRAMES_FLOWING, timeout=20_000)
    kinds = await a.evaluate(
        "() => window.tlhCall.peers.get('b').pc.getTransceivers()"
        ".map((t) => t.receiver.track.kind + ':' + t.currentDirection).sort()"
    )
    assert kinds == ["audio:recvonly", "video:recvonly"]
