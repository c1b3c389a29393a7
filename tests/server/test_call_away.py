"""A participant whose own network drops in a call is away, not gone: the others keep
its tile for the reconnect grace (``peer.away``), and it comes back into the same call."""

from __future__ import annotations

import pytest

from .conftest import Practice
from .rooms_helpers import (
    Peer,
    admit,
    connect,
    guest_link,
    redeemed,
    room_entries,
    start_room_session,
)

pytestmark = pytest.mark.timeout(30)


async def test_a_dropped_participant_is_away_then_back(practice: Practice) -> None:
    session = await start_room_session(practice)
    lee = Peer(
        await practice.client.ws_connect(
            f"/api/v1/call/ws?session={session['id']}", headers=practice.auth("clinician")
        )
    )
    await lee.next("admitted")
    cookie = await redeemed(practice, (await guest_link(practice))["url"])
    guest = await connect(practice, cookie)
    entry_id = (await guest.hello("dev_1"))["entry_id"]
    status, _ = await admit(practice, entry_id)
    assert status == 200
    await guest.next("admitted")
    await lee.next("peer.joined", peer_id=entry_id)

    await guest.ws.close()  # the phone lost its network
    await lee.next("peer.away", peer_id=entry_id)
    assert not any(f["type"] == "peer.left" for f in lee.seen)
    [entry] = await room_entries(practice)
    assert (entry["id"], entry["state"], entry["online"]) == (entry_id, "admitted", False)

    back = await connect(practice, cookie)
    await back.send({"type": "hello", "device_id": "dev_1", "resume": session["id"]})
    admitted = await back.next("admitted")
    assert admitted["peers"][0]["peer_id"] == practice.ids["clinician"]
    joined = await lee.next("peer.joined", peer_id=entry_id)
    assert joined["resumed"] is True  # keep the connection: its media never stopped
    await back.ws.close()
    await lee.ws.close()
