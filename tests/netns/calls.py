"""A call between the client's Chromium (behind the NAT) and the clinician's (in the
server's namespace), timed from the click on Admit to the first video frame each way."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, new_page, open_call_page, pass_device_check

from .netns import in_namespace
from .servers import Servers

#: The frames decoded from the connected peer, polled every 50 ms (guarded: the client's
#: call object only exists once it is admitted).
WATCH = """() => {
  window.__frames = 0;
  window.__watch = setInterval(async () => {
    if (!window.tlhCall) return;
    let best = 0;
    for (const peer of window.tlhCall.peers.values()) {
      if (peer.pc.connectionState !== "connected") continue;
      const stats = await peer.pc.getStats();
      stats.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") best = Math.max(best, s.framesDecoded || 0);
      });
    }
    window.__frames = best;
  }, 50);
}"""
#: The selected candidate pair's local side: host/srflx/prflx/relay, and over what.
PATH = """async () => {
  const peer = [...window.tlhCall.peers.values()][0];
  const stats = await peer.pc.getStats();
  let pair = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
  const local = pair && stats.get(pair.localCandidateId);
  return local ? {type: local.candidateType, protocol: local.protocol, relay: local.relayProtocol || ""} : null;
}"""


#: Numbers the visits of a run (each has its own clinician and client).
_VISITS = itertools.count(1)


@dataclass
class Timed:
    """One admitted call: its pages and how long media took each way."""

    client: Any
    staff: Any
    to_client_s: float
    to_staff_s: float
    path: dict[str, str]

    @property
    def first_frame_s(self) -> float:
        return max(self.to_client_s, self.to_staff_s)


def _api(servers: Servers, base: str, method: str, path: str, token: str, body: Any) -> Any:
    """One API call from the server's namespace (as the practice's own staff would)."""

    def send() -> Any:
        context = ssl.create_default_context()
        servers.ca.configure_trust(context)
        request = urllib.request.Request(
            f"{base}{path}",
            method=method,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read())

    return in_namespace(servers.topo.server, send)


def visit(servers: Servers, client_base: str) -> tuple[str, str]:
    """A clinician and a client with consent and a visit now (each case its own, so visits
    never overlap): the client's link (on ``client_base``) and the clinician's call page."""
    base, admin = servers.direct, servers.token
    n = next(_VISITS)
    email = f"lee{n}@example.org"
    staff = {"email": email, "name": "Dr. Lee", "role": "clinician", "telehealth": True}
    clinician = _api(servers, base, "POST", "/api/v1/staff", admin, staff)["token"]
    person = {"name": "Ana Client", "email": f"ana{n}@example.org"}
    client = _api(servers, base, "POST", "/api/v1/clients", admin, person)
    consent = {"client_id": client["id"], "note": "read aloud"}
    _api(servers, base, "POST", "/api/v1/consents/verbal", admin, consent)
    booking = {
        "client_ids": [client["id"]],
        "clinicians": [email],
        "start": datetime.now(UTC).isoformat(),
        "duration_min": 50,
        "modality": "telehealth",
        "status": "confirmed",
    }
    appts = _api(servers, base, "POST", "/api/v1/appointments", admin, booking)
    appointment = {"appointment_id": appts["items"][0]["id"]}
    link = _api(servers, base, "POST", "/api/v1/invites/link", admin, appointment)
    call = _api(servers, base, "POST", "/api/v1/call-links", clinician, appointment)
    token = link["url"].rsplit("#", 1)[1]
    return f"{client_base}/j#{token}", f"{base}/c#{call['url'].rsplit('#', 1)[1]}"


def chromium_in(servers: Servers, namespace: str) -> str:
    """A launcher running Debian's Chromium inside ``namespace`` (Playwright talks to it
    over pipes, which cross namespaces)."""
    script = servers.root / f"chromium-{namespace}"
    script.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
    script.chmod(0o755)
    return str(script)


@asynccontextmanager
async def browsers(servers: Servers) -> AsyncIterator[tuple[Any, Any]]:
    """The client's Chromium behind the NAT and the clinician's by the server."""
    from playwright.async_api import async_playwright

    args = [*CHROMIUM_ARGS, "--ignore-certificate-errors"]
    async with async_playwright() as pw:
        client = await pw.chromium.launch(
            executable_path=chromium_in(servers, servers.topo.client), args=args
        )
        try:
            staff = await pw.chromium.launch(
                executable_path=chromium_in(servers, servers.topo.server), args=args
            )
            try:
                yield client, staff
            finally:
                await staff.close()
        finally:
            await client.close()


async def admitted_call(
    servers: Servers, client_browser: Any, staff_browser: Any, client_base: str
) -> Timed:
    """The client opens their link and waits; the clinician admits them: the call, timed."""
    link, call_link = visit(servers, client_base)
    client = await new_page(client_browser, 360, 640)
    await pass_device_check(client, link)
    staff = await new_page(staff_browser, 1280, 800)
    await open_call_page(staff, call_link)
    admit = staff.locator("#waiting-list button", has_text="Admit")
    await admit.first.wait_for(timeout=20_000)
    for page in (client, staff):
        await page.evaluate(WATCH)
    started = time.monotonic()
    await admit.first.click()

    async def first_frame(page: Any) -> float:
        await page.wait_for_function("() => window.__frames > 0", polling=50, timeout=30_000)
        return time.monotonic() - started

    to_client, to_staff = await asyncio.gather(first_frame(client), first_frame(staff))
    path = await client.evaluate(PATH)
    return Timed(client, staff, to_client, to_staff, path or {})
