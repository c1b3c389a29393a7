"""Every change and every read of a client's record lands in the audit log, ids only."""

from __future__ import annotations

import json

from .conftest import Practice

NAME, EMAIL, PHONE = "Quinn Zephyr", "quinn.zephyr@example.org", "+1 202 555 0177"


def _entries(practice: Practice) -> list[dict[str, object]]:
    path = practice.data_dir / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_changes_and_reads_are_audited_without_phi(practice: Practice) -> None:
    status, client = await practice.call(
        "POST",
        "/api/v1/clients",
        json={"name": NAME, "email": EMAIL, "phone": PHONE, "dob": "1990-01-02",
              "clinicians": ["lee@example.org"]},
    )  # fmt: skip
    assert status == 201
    cid = client["id"]
    status, _ = await practice.call("GET", f"/api/v1/clients/{cid}", role="clinician")
    assert status == 200  # Lee's client: assigned to him
    await practice.call("PATCH", f"/api/v1/clients/{cid}", json={"phone": "+1 202 555 0178"})
    await practice.call("POST", "/api/v1/clients/search", json={"q": "zephyr"}, role="scheduler")
    status, made = await practice.call(
        "POST",
        "/api/v1/appointments",
        json={
            "client_ids": [cid],
            "clinicians": ["lee@example.org"],
            "start": "2030-03-04T10:00",
            "duration_min": 30,
        },
    )
    assert status == 201
    appt = made["items"][0]["id"]
    await practice.call("POST", f"/api/v1/appointments/{appt}/cancel")
    export = await practice.client.get(
        "/api/v1/appointments/export?from=2030-03-01&to=2030-03-31&format=csv",
        headers=practice.auth(),
    )
    assert export.status == 200

    entries = _entries(practice)
    seen = {(e["action"], e["target"], e["actor"]["id"]) for e in entries}  # type: ignore[index]
    assert ("client.create", cid, practice.ids["admin"]) in seen
    assert ("client.read", cid, practice.ids["clinician"]) in seen
    assert ("client.update", cid, practice.ids["admin"]) in seen
    assert ("client.read", cid, practice.ids["scheduler"]) in seen  # the search result
    assert ("appointment.create", appt, practice.ids["admin"]) in seen
    assert ("appointment.status.cancelled", appt, practice.ids["admin"]) in seen
    assert ("client.read.export", cid, practice.ids["admin"]) in seen
    assert all(e["source"] == "127.0.0.1" for e in entries if e["actor"]["kind"] == "staff")  # type: ignore[index]

    raw = (practice.data_dir / "audit" / "audit.jsonl").read_text().lower()
    for secret in ("quinn", "zephyr", "2025550177", "2025550178", "1990-01-02"):
        assert secret not in raw


async def test_verify_names_an_edited_line(practice: Practice) -> None:
    await practice.call("POST", "/api/v1/clients", json={"name": "A"})
    status, ok = await practice.call("GET", "/api/v1/audit/verify")
    assert status == 200
    assert ok["ok"] is True
    path = practice.data_dir / "audit" / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    target = next(n for n, line in enumerate(lines) if '"client.create"' in line)
    lines[target] = lines[target].replace('"client.create"', '"client.delete"')
    path.write_text("".join(lines))
    status, broken = await practice.call("GET", "/api/v1/audit/verify")
    assert status == 200
    assert broken["ok"] is False
    assert broken["problems"][0]["line"] == target + 1
