"""``POST /api/v1/clients/lookup``: the clients named by id, nothing more read; a
clinician gets only their own, and an unknown id and another clinician's client answer
alike."""

from __future__ import annotations

import json

from .conftest import Practice


def _reads(practice: Practice, role: str) -> list[str]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        e["target"]
        for e in entries
        if e["action"] == "client.read" and e["actor"]["id"] == practice.ids[role]
    ]


async def _client(practice: Practice, name: str) -> str:
    status, made = await practice.call("POST", "/api/v1/clients", json={"name": name})
    assert status == 201
    return str(made["id"])


async def test_lookup_reads_only_the_clients_named_each_audited(practice: Practice) -> None:
    ana, ben, _cy = [await _client(practice, n) for n in ("Ana", "Ben", "Cy")]
    status, found = await practice.call(
        "POST", "/api/v1/clients/lookup", json={"ids": [ben, "cli_unknown", ana, ben]}
    )
    assert status == 200
    assert [c["id"] for c in found["items"]] == [ben, ana]  # the order asked, once each
    assert [c["name"] for c in found["items"]] == ["Ben", "Ana"]
    assert sorted(_reads(practice, "admin")) == sorted([ana, ben])  # not Cy, not everyone


async def test_a_clinician_gets_only_their_own_clients(practice: Practice) -> None:
    theirs, other = await _client(practice, "Theirs"), await _client(practice, "Other")
    status, _ = await practice.call(
        "POST",
        "/api/v1/appointments",
        json={
            "client_ids": [theirs],
            "clinicians": ["lee@example.org"],
            "start": "2030-03-04T10:00",
            "duration_min": 30,
        },
    )
    assert status == 201
    status, found = await practice.call(
        "POST", "/api/v1/clients/lookup", role="clinician", json={"ids": [other, theirs]}
    )
    assert status == 200
    assert [c["id"] for c in found["items"]] == [theirs]
    assert _reads(practice, "clinician") == [theirs]
    # Someone else's client and no client at all look the same.
    status, none = await practice.call(
        "POST", "/api/v1/clients/lookup", role="clinician", json={"ids": [other]}
    )
    assert (status, none) == (200, {"items": []})


async def test_bad_lookups_are_refused_with_one_line(practice: Practice) -> None:
    for body in ({}, {"ids": "cli_1"}, {"ids": [1]}, {"ids": ["x"] * 1001}, {"ids": [], "q": 1}):
        status, answer = await practice.call("POST", "/api/v1/clients/lookup", json=body)
        assert status in (400, 422), (body, status)
        assert "\n" not in answer["error"]["message"]
    response = await practice.client.post("/api/v1/clients/lookup", json={"ids": []})
    assert response.status == 401
