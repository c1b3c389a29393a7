"""``tlh doctor``'s self-call: two headless participants meet through this server.

The staff side joins the self-test segment on the staff call socket with the admin's
token; the guest side redeems the one-time link, says hello in the waiting room and is
let in through ``admit`` (the doctor's API call), exactly as a client's page is. Then
both must connect and receive video and audio from each other. Every wait is bounded;
both participants are closed whatever happens. A failure names the step it stopped at.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tlh.errors import TlhError, Unavailable

from .participant import Participant

#: Frames of each kind each side must receive for the call to count.
FRAMES_EACH_WAY = 5
#: The test guest's name in the admin's waiting room.
GUEST_NAME = "tlh doctor (test call)"


@dataclass(frozen=True)
class SelfCallResult:
    """How the self-call went."""

    #: From the guest opening the link to media flowing both ways.
    total_ms: float
    #: Whether the media went through the server's relay (policy or a failed direct path).
    relayed: bool


async def self_call(
    server_url: str,
    staff_token: str,
    session_id: str,
    link_token: str,
    admit: Callable[[str], Awaitable[object]],
    *,
    ssl_context: ssl.SSLContext | None = None,
    within: float = 10.0,
) -> SelfCallResult:
    """Run the call; ``Unavailable`` naming the step that failed (each step ≤ ``within`` s)."""
    staff = Participant(
        server_url,
        staff_token=staff_token,
        staff_session=session_id,
        ssl_context=ssl_context,
        timeout=within,
    )
    guest = Participant(
        server_url,
        link_token=link_token,
        display_name=GUEST_NAME,
        ssl_context=ssl_context,
        timeout=within,
    )
    step = "joining the test session on the staff call socket"
    try:
        await staff.start()
        await staff.wait_state("admitted", within=within)
        step = "opening the guest link and entering the waiting room"
        started = time.monotonic()
        await guest.start()
        await guest.wait_state("waiting", "admitted", within=within)
        step = "letting the guest in"
        if guest.entry_id is None:
            raise Unavailable("the waiting room gave the guest no entry")
        if guest.state == "waiting":  # (an admin with the waiting room off lets in at once)
            await admit(guest.entry_id)
        step = "connecting the media (ICE)"
        await guest.wait_connected(1, within=within)
        step = "video and audio both ways"
        await guest.wait_frames(FRAMES_EACH_WAY, within=within)
        await staff.wait_frames(FRAMES_EACH_WAY, within=within)
        total_ms = (time.monotonic() - started) * 1000
        relayed = any(link.kind == "relay" for link in guest.peers.values())
    except (TlhError, OSError) as exc:
        detail = exc.message if isinstance(exc, TlhError) else type(exc).__name__
        raise Unavailable(f"{step}: {detail}") from None
    finally:
        await guest.close()
        await staff.close()
    return SelfCallResult(total_ms=total_ms, relayed=relayed)
