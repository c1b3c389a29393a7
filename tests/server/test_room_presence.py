"""Waiting clients are told the clinician is online only while the clinician has a
dashboard, room watch or call page open; "running late" holds either way."""

from __future__ import annotations

import pytest

from .conftest import Practice
from .rooms_helpers import WAIT_S, guest

pytestmark = pytest.mark.timeout(30)


async def test_online_only_while_the_clinician_has_a_page_open(practice: Practice) -> None:
    peer, status = await guest(practice)
    assert status["presence"] == "offline"  # nobody has opened anything yet
    ws = await practice.client.ws_connect("/api/v1/events", headers=practice.auth("clinician"))
    ready = await ws.receive_json(timeout=WAIT_S)
    assert ready["type"] == "events.ready"
    assert (await peer.next("status"))["presence"] == "online"
    # An admin's dashboard says nothing about the clinician.
    admin = await practice.client.ws_connect("/api/v1/events", headers=practice.auth())
    await ws.close()
    assert (await peer.next("status"))["presence"] == "offline"
    status_code, _ = await practice.call(
        "POST", "/api/v1/rooms/presence", role="clinician", json={"presence": "late"}
    )
    assert status_code == 200
    assert (await peer.next("status"))["presence"] == "late"  # said, so true without a page
    await admin.close()
    await peer.ws.close()
