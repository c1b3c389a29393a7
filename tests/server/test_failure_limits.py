"""Bad tokens hold off the guesser, never the user (issue 19, item 8).

Every request of the test client comes from 127.0.0.1: one address, as a practice
behind a NAT or a reverse proxy looks to the server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tlh.services.auth import hash_token

from .call_helpers import make_call_link, redeem_call
from .conftest import Practice
from .outreach_helpers import add_appointment, add_client, redeem, token_in

WRONG = "tlh_" + "x" * 32


def _audit(practice: Practice) -> list[dict[str, Any]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def _client_link(practice: Practice) -> str:
    client_id = await add_client(practice)
    appt = await add_appointment(
        practice, client_id, start=datetime.now(UTC) + timedelta(minutes=5)
    )
    status, made = await practice.call(
        "POST", "/api/v1/invites/link", json={"appointment_id": appt["id"]}
    )
    assert status == 201, made
    return token_in(made["url"])


async def test_ten_bad_client_tokens_lock_out_no_valid_link_or_staff_login(
    practice: Practice,
) -> None:
    link = await _client_link(practice)
    for n in range(10):
        assert (await redeem(practice, f"{n}" * 43)).status == 404
    assert (await redeem(practice, "q" * 43)).status == 429
    assert (await redeem(practice, link)).status == 200
    # Staff logins have a budget of their own: untouched by the client guesses.
    assert (await redeem_call(practice, await make_call_link(practice))).status == 200
    assert (await redeem_call(practice, "A" * 43)).status == 404


async def test_bad_staff_logins_lock_out_no_client_link(practice: Practice) -> None:
    link = await _client_link(practice)
    for _ in range(10):
        assert (await redeem_call(practice, "A" * 43)).status == 404
    assert (await redeem_call(practice, "B" * 43)).status == 429
    assert (await redeem(practice, "q" * 43)).status == 404  # counted, not blocked
    assert (await redeem(practice, link)).status == 200
    assert (await redeem_call(practice, await make_call_link(practice))).status == 200


async def _me(practice: Practice, token: str) -> Any:
    return await practice.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_bearer_guessing_is_throttled_and_audited(practice: Practice) -> None:
    for n in range(10):
        wrong = await _me(practice, f"{WRONG}{n}")
        assert wrong.status == 401
        assert (await wrong.json())["error"]["code"] == "unauthenticated"
    limited = await _me(practice, WRONG)
    assert limited.status == 429
    assert (await limited.json())["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # A valid token from the same address still works, on REST and the event stream.
    assert (await _me(practice, practice.tokens["clinician"])).status == 200
    async with practice.client.ws_connect("/api/v1/events", headers=practice.auth()) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "events.ready"
    failed = [e for e in _audit(practice) if e["action"] == "auth.failed"]
    assert len(failed) == 1  # one per address per minute, however many guesses
    assert failed[0]["source"] == "127.0.0.1"
    assert failed[0]["target"] == f"token:{hash_token(f'{WRONG}0')[:12]}"
    assert WRONG not in json.dumps(_audit(practice))


async def test_a_missing_token_is_401_and_not_counted(practice: Practice) -> None:
    for _ in range(12):
        assert (await practice.client.get("/api/v1/me")).status == 401
    assert not [e for e in _audit(practice) if e["action"] == "auth.failed"]
    assert (await _me(practice, WRONG)).status == 401  # not 429: nothing counted before


async def test_a_flood_of_bad_tokens_writes_a_bounded_audit(practice: Practice) -> None:
    before = len(_audit(practice))
    answers = [(await _me(practice, f"{WRONG}{n}")).status for n in range(60)]
    assert answers == [401] * 10 + [429] * 50
    assert len(_audit(practice)) - before == 1
