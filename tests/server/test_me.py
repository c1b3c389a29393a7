"""``PATCH /api/v1/me``: any staff member renames themself, and only themself."""

from __future__ import annotations

import json

from .conftest import Practice


def _audit(practice: Practice) -> list[dict[str, object]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_clinician_renames_themself_and_it_is_audited(practice: Practice) -> None:
    status, me = await practice.call(
        "PATCH", "/api/v1/me", role="clinician", json={"name": "  Dr Robin Lee "}
    )
    assert status == 200, me
    assert me["name"] == "Dr Robin Lee"
    assert me["id"] == practice.ids["clinician"]
    status, again = await practice.call("GET", "/api/v1/me", role="clinician")
    assert again["name"] == "Dr Robin Lee"
    status, admin = await practice.call("GET", "/api/v1/me")
    assert admin["name"] != "Dr Robin Lee"
    last = _audit(practice)[-1]
    assert last["action"] == "staff.update"
    assert last["target"] == practice.ids["clinician"]


async def test_an_empty_name_is_refused_in_one_line(practice: Practice) -> None:
    status, answer = await practice.call(
        "PATCH", "/api/v1/me", role="clinician", json={"name": " "}
    )
    assert status == 422
    assert answer["error"]["code"] == "invalid"
    assert answer["error"]["message"] == "name is empty"
    status, me = await practice.call("GET", "/api/v1/me", role="clinician")
    assert me["name"] == "Clinician"


async def test_other_fields_and_a_missing_name_are_bad_requests(practice: Practice) -> None:
    status, answer = await practice.call(
        "PATCH", "/api/v1/me", role="scheduler", json={"name": "Desk", "role": "admin"}
    )
    assert status == 400
    assert answer["error"]["message"] == "unknown field 'role' (expected one of: name)"
    status, answer = await practice.call("PATCH", "/api/v1/me", role="scheduler", json={})
    assert status == 400
    assert "name is required" in answer["error"]["message"]
    status, me = await practice.call("GET", "/api/v1/me", role="scheduler")
    assert (me["name"], me["role"]) == ("Scheduler", "scheduler")
