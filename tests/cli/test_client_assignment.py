"""A client assigned to a clinician from the CLI: that clinician sees them, the others do
not, and the assignment can be replaced or cleared (issue 12, minimum necessary)."""

from __future__ import annotations

import json

from tlh.cli.exit import ExitStatus

from .conftest import Live
from .room_helpers import cli


async def _clinician(live: Live, email: str, name: str) -> str:
    added = await cli(live, "staff", "add", email, "--name", name, "--role", "clinician")
    assert added.exit_code == 0, added.stderr
    return str(added.stdout.strip())


async def _visible(live: Live, token: str) -> set[str]:
    listed = await cli(live, "client", "list", "--json", token=token)
    assert listed.exit_code == 0, listed.stderr
    return {c["id"] for c in json.loads(listed.stdout)["items"]}


async def test_a_client_assigned_from_the_cli_is_seen_by_that_clinician_only(live: Live) -> None:
    kim = await _clinician(live, "kim@example.org", "Dr. Kim")
    ray = await _clinician(live, "ray@example.org", "Dr. Ray")
    added = await cli(
        live, "client", "add", "--name", "Noa Assigned", "--clinician", "kim@example.org",
        "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    noa = json.loads(added.stdout)
    assert len(noa["clinician_ids"]) == 1
    assert noa["id"] in await _visible(live, kim)
    assert noa["id"] not in await _visible(live, ray)
    shown = await cli(live, "client", "show", noa["id"], token=kim)
    assert shown.exit_code == 0, shown.stderr
    assert "assigned to" in shown.stdout

    moved = await cli(live, "client", "update", noa["id"], "--clinician", "ray@example.org")
    assert moved.exit_code == 0, moved.stderr
    assert noa["id"] in await _visible(live, ray)
    assert noa["id"] not in await _visible(live, kim)
    hidden = await cli(live, "client", "show", noa["id"], token=kim)
    assert hidden.exit_code == ExitStatus.NOT_FOUND, hidden.stdout

    cleared = await cli(live, "client", "update", noa["id"], "--no-clinicians", "--json")
    assert cleared.exit_code == 0, cleared.stderr
    assert json.loads(cleared.stdout)["clinician_ids"] == []
    assert noa["id"] not in await _visible(live, ray)


async def test_assigning_to_someone_who_is_not_a_clinician_is_refused(live: Live) -> None:
    both = await cli(
        live, "client", "add", "--name", "Ivo Nobody", "--clinician", "nobody@example.org"
    )
    assert both.exit_code != 0
    assert "Traceback" not in both.stdout + both.stderr
    assert "nobody@example.org" in both.stderr
    listed = await cli(live, "client", "list", "--json")
    assert "Ivo Nobody" not in listed.stdout
    conflicting = await cli(
        live, "client", "update", "x", "--clinician", "a@example.org", "--no-clinicians"
    )
    assert conflicting.exit_code == ExitStatus.USAGE
    assert "--no-clinicians" in conflicting.stderr
