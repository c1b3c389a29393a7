"""The clinician's camera and microphone on the call page (/c), in Debian's Chromium.

Before the call: a preview of their own camera, pickers listing the fake devices, a live
microphone level, the choice remembered in this browser (device ids only), and plain help
when the camera is blocked. During the call: another camera or microphone replaces the
track on the connection (no new offer and answer) and the client keeps receiving frames.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .a11y import assert_accessible, assert_visible_focus, in_view
from .browser import (
    FRAMES_FLOWING,
    SHOTS,
    WATCH_FRAMES,
    LiveServer,
    call_link,
    client_link,
    needs_chromium,
    new_page,
    no_overflow,
    pass_device_check,
)

pytestmark = [pytest.mark.timeout(150), needs_chromium]

CHECK = "Check your camera and microphone"
# What the page sends to its one peer, by kind: the track's label and device id.
SENT = """(kind) => {
  const peer = [...window.tlhCall.peers.values()][0];
  const sender = peer.pc.getSenders().find((s) => s.track && s.track.kind === kind);
  return sender && { label: sender.track.label, id: sender.track.getSettings().deviceId,
    live: sender.track.readyState === "live", enabled: sender.track.enabled };
}"""
# The track the preview shows, by kind.
PREVIEWED = """(kind) => {
  const stream = document.getElementById("device-preview").srcObject;
  const track = stream && stream.getTracks().find((t) => t.kind === kind);
  return track ? track.label : null;
}"""
# Video frames the client's page has decoded from the clinician, so far.
DECODED = """async () => {
  let n = 0;
  for (const peer of window.tlhCall.peers.values()) {
    (await peer.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") n = Math.max(n, s.framesDecoded || 0);
    });
  }
  return n;
}"""


def options(page: Any, select: str) -> Any:
    return page.eval_on_selector(
        select, "(s) => [...s.options].map((o) => ({label: o.textContent, value: o.value}))"
    )


async def tab_to(page: Any, element_id: str) -> None:
    """Press Tab until ``element_id`` has the focus (the keyboard reaches it)."""
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


async def in_call(server: LiveServer, browser: Any) -> tuple[Any, Any, str]:
    """A client waiting, and the clinician's page at its device check (the preview
    playing): the client's page, the clinician's page and the clinician's ref."""
    link, clinician = await client_link(server)
    client = await new_page(browser, 360, 640)
    await pass_device_check(client, link)
    staff = await new_page(browser, 1280, 800)
    await staff.goto(await call_link(server, clinician))
    await staff.get_by_role("heading", name=CHECK).wait_for(timeout=10_000)
    await staff.wait_for_function(
        "() => document.getElementById('device-preview').videoWidth > 0", timeout=10_000
    )
    return client, staff, clinician


async def admit_and_watch(client: Any, staff: Any) -> None:
    """Let the client in from the call page, wait for frames both ways."""
    await staff.locator("#waiting-list button", has_text="Admit").first.click()
    for page in (client, staff):
        await page.evaluate(WATCH_FRAMES)
    for page in (client, staff):
        await page.wait_for_function(FRAMES_FLOWING, timeout=20_000)


async def test_the_clinician_sees_and_chooses_the_devices_before_joining(
    live_server: LiveServer, three_cameras: Any
) -> None:
    client, staff, _ = await in_call(live_server, three_cameras)
    # Nothing is joined yet: the call page and its call start after "Continue".
    assert not await staff.locator("#desk").is_visible()
    assert await staff.evaluate("() => window.tlhCall === undefined")
    await staff.wait_for_function(
        "() => document.getElementById('mic-level').value > 0", timeout=10_000
    )
    cameras = await options(staff, "#camera-select")
    assert [c["label"] for c in cameras] == ["fake_device_0", "fake_device_1", "fake_device_2"]
    microphones = [m["label"] for m in await options(staff, "#mic-select")]
    assert "Fake Audio Input 2" in microphones
    assert "working" in (await staff.locator("#device-status").text_content() or "")
    await assert_accessible(staff, "the clinician's device check")

    # By keyboard: the pickers and Continue are reached with Tab, the ring shows.
    await tab_to(staff, "camera-select")
    await assert_visible_focus(staff)
    await staff.locator("#camera-select").select_option(label="fake_device_2")
    await staff.wait_for_function(f"() => ({PREVIEWED})('video') === 'fake_device_2'")
    await staff.locator("#mic-select").select_option(label="Fake Audio Input 2")
    await staff.wait_for_function(f"() => ({PREVIEWED})('audio') === 'Fake Audio Input 2'")
    # Remembered in this browser: the device ids, nothing else.
    saved = json.loads(await staff.evaluate("() => localStorage.getItem('tlh-devices')"))
    chosen = next(c["value"] for c in cameras if c["label"] == "fake_device_2")
    assert saved["camera"] == chosen
    assert set(saved) <= {"camera", "microphone", "speaker"}

    SHOTS.mkdir(exist_ok=True)
    for width, height in ((1280, 800), (768, 1024), (390, 844)):
        await staff.set_viewport_size({"width": width, "height": height})
        await in_view(staff, "#device-continue")
        await in_view(staff, "#device-preview")
        await no_overflow(staff)
        await staff.screenshot(path=str(SHOTS / f"clinician-devices-{width}x{height}.png"))
    await staff.set_viewport_size({"width": 1280, "height": 800})
    await tab_to(staff, "device-continue")
    await assert_visible_focus(staff)
    await staff.keyboard.press("Enter")
    await staff.locator("body[data-ready]").wait_for(state="attached", timeout=15_000)
    await admit_and_watch(client, staff)

    # What goes to the client is what was chosen.
    video = await staff.evaluate(SENT, "video")
    assert video["label"] == "fake_device_2"
    assert video["id"] == chosen
    assert (await staff.evaluate(SENT, "audio"))["label"] == "Fake Audio Input 2"
    camera_now = await staff.eval_on_selector("#call-camera", "(s) => s.selectedOptions[0].text")
    assert camera_now == "fake_device_2"
    await assert_accessible(staff, "the clinician's page in a call, with the device pickers")
    assert staff.js_errors == []


async def test_a_switch_mid_call_keeps_the_call_up(
    live_server: LiveServer, three_cameras: Any
) -> None:
    client, staff, clinician = await in_call(live_server, three_cameras)
    await staff.get_by_role("button", name="Continue", exact=True).click()
    await staff.locator("body[data-ready]").wait_for(state="attached", timeout=15_000)
    await admit_and_watch(client, staff)
    assert (await staff.evaluate(SENT, "video"))["label"] == "fake_device_0"
    offer = "() => [...window.tlhCall.peers.values()][0].pc.localDescription.sdp"
    before = await staff.evaluate(offer)
    await staff.get_by_role("button", name="Mute").click()

    await staff.locator("#call-camera").select_option(label="fake_device_2")
    await staff.wait_for_function(f"() => ({SENT})('video').label === 'fake_device_2'")
    await staff.locator("#devices-note", has_text="Now using fake_device_2").wait_for()
    await staff.locator("#call-mic").select_option(label="Fake Audio Input 1")
    await staff.wait_for_function(f"() => ({SENT})('audio').label === 'Fake Audio Input 1'")
    audio = await staff.evaluate(SENT, "audio")
    assert audio["live"]
    assert audio["enabled"] is False  # still muted after the switch
    # The new camera's frames reach the client, on the same connection, no renegotiation.
    seen = await client.evaluate(DECODED)
    await client.wait_for_function(f"async () => (await ({DECODED})()) > {seen + 30}")
    encoded = """async () => {
      const peer = [...window.tlhCall.peers.values()][0];
      const sent = peer.pc.getSenders().find((s) => s.track && s.track.kind === "video").track;
      const stats = await peer.pc.getStats();
      let source = null;
      stats.forEach((s) => { if (s.type === "media-source" && s.kind === "video") source = s; });
      return source && source.trackIdentifier === sent.id;
    }"""
    await staff.wait_for_function(encoded, timeout=10_000)
    assert await staff.evaluate(offer) == before
    for page in (client, staff):
        states = await page.evaluate(
            "() => [...window.tlhCall.peers.values()].map((p) => p.pc.connectionState)"
        )
        assert states == ["connected"]
    # The old devices are let go: one live track per kind.
    kinds = await staff.evaluate(
        "() => window.tlhCall.stream.getTracks().filter((t) => t.readyState === 'live')"
        ".map((t) => t.kind).sort()"
    )
    assert kinds == ["audio", "video"]

    # The next visit on this browser starts with the devices chosen in the call.
    again = await staff.context.new_page()
    await again.goto(await call_link(live_server, clinician))
    await again.get_by_role("heading", name=CHECK).wait_for(timeout=10_000)
    await again.wait_for_function(f"() => ({PREVIEWED})('video') === 'fake_device_2'")
    await again.wait_for_function(f"() => ({PREVIEWED})('audio') === 'Fake Audio Input 1'")
    assert staff.js_errors == []
    assert client.js_errors == []


async def test_a_blocked_camera_is_explained_on_the_clinician_page(
    live_server: LiveServer, browser: Any
) -> None:
    _, clinician = await client_link(live_server)
    staff = await new_page(browser, 390, 844)
    # The camera blocked as a browser does (NotAllowedError); the microphone allowed.
    await staff.add_init_script(
        "const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);"
        "navigator.mediaDevices.getUserMedia = (c) => c && c.video"
        " ? Promise.reject(new DOMException('blocked', 'NotAllowedError')) : real(c);"
    )
    await staff.goto(await call_link(live_server, clinician))
    await staff.get_by_role("heading", name=CHECK).wait_for(timeout=10_000)
    help_text = staff.locator("#device-help")
    await help_text.wait_for(state="visible", timeout=10_000)
    said = await help_text.text_content() or ""
    assert "blocking the camera." in said  # the camera, not the microphone
    assert "Allow" in said
    status = await staff.locator("#device-status").text_content() or ""
    assert "Camera: not available" in status
    assert "Microphone: working" in status
    await in_view(staff, "#device-continue")
    await no_overflow(staff)
    await assert_accessible(staff, "the clinician's device check, camera blocked")
    SHOTS.mkdir(exist_ok=True)
    await staff.screenshot(path=str(SHOTS / "clinician-camera-blocked-390x844.png"))

    # The call page opens anyway; choosing a camera there says why it cannot be used.
    await staff.get_by_role("button", name="Continue anyway").click()
    await staff.locator("body[data-ready]").wait_for(state="attached", timeout=15_000)
    await staff.locator("#call-camera").select_option(index=0)
    await staff.locator("#devices-note", has_text="your browser blocks it").wait_for()
    assert staff.js_errors == []


async def test_the_client_page_sends_the_camera_chosen_in_its_device_check(
    live_server: LiveServer, three_cameras: Any
) -> None:
    """The same device step on /j: the camera chosen there is the one the call sends
    (Chromium passed over the choice when it was only "ideal")."""
    link, clinician = await client_link(live_server)
    client = await new_page(three_cameras, 360, 640)
    await client.goto(link)
    await client.get_by_role("heading", name=CHECK).wait_for(timeout=10_000)
    await client.get_by_text("Choose a different camera").click()
    await client.locator("#camera-select").select_option(label="fake_device_2")
    await client.wait_for_function(f"() => ({PREVIEWED})('video') === 'fake_device_2'")
    await client.get_by_role("button", name="Continue", exact=True).click()
    await client.get_by_role("heading", name="Waiting room").wait_for(timeout=10_000)
    staff = await new_page(three_cameras, 1280, 800)
    await staff.goto(await call_link(live_server, clinician))
    await staff.get_by_role("button", name="Continue", exact=True).click()
    await admit_and_watch(client, staff)
    assert (await client.evaluate(SENT, "video"))["label"] == "fake_device_2"
