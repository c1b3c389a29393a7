"""What ``tlh appt add``, ``update`` and ``import`` send and say, through the real ``tlh``
against a running server: a visit turned in person (issue 18, item 4), availability
(item 8), re-imports that move visits (issue 20, item 4) and what an import sends
(issue 20, item 10)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.maildrop import delivered_token
from tlh.cli.exit import ExitStatus

from .conftest import Live

COLUMNS = "external_id,client_external_id,client_name,client_email,clinician_email,start,"
COLUMNS += "duration_min,modality,status"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


def redeem(live: Live, token: str) -> int:
    """The status the client page gets for the link."""
    request = urllib.request.Request(
        f"{live.url}/api/v1/link/redeem",
        data=json.dumps({"token": token}).encode(),
        headers={"Origin": live.url, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def messages_of(live: Live, appt_id: str) -> list[dict[str, Any]]:
    found = as_json(live.run("outbox", "list", "--json"))["items"]
    return [m for m in found if m["appointment_id"] == appt_id]


@pytest.fixture(scope="module")
def doc(live: Live) -> str:
    email = "notices-doc@example.org"
    ok(live.run("staff", "add", email, "--name", "Noa Notices", "--role", "clinician",
                "--telehealth"))  # fmt: skip
    return email


def add_client(live: Live, name: str, email: str) -> str:
    made = as_json(live.run("client", "add", "--name", name, "--email", email, "--json"))
    return str(made["id"])


def test_appt_add_invites_and_in_person_kills_the_link(live: Live, doc: str) -> None:
    client_id = add_client(live, "Ira Inperson", "ira@example.org")
    booked = ok(
        live.run("appt", "add", "--client", client_id, "--clinician", doc,
                 "--start", "2032-03-02T09:00", "--duration", "50", "--telehealth")
    )  # fmt: skip
    assert "queued 1 message(s): 1 invitation by email" in booked.stderr
    appt_id = next(w for w in booked.stdout.split() if w.startswith("apt_"))
    [invitation] = messages_of(live, appt_id)
    token = delivered_token(live.data_dir, invitation["id"])
    assert redeem(live, token) == 200

    ok(live.run("appt", "update", appt_id, "--in-person"))
    assert redeem(live, token) == 404
    told = messages_of(live, appt_id)[-1]
    assert (told["kind"], told["to"]) == ("in_person", "ira@example.org")


def test_no_notify_and_strict_availability_on_appt_add(live: Live, doc: str) -> None:
    client_id = add_client(live, "Sol Strict", "sol@example.org")
    ok(live.run("availability", "set", "--clinician", doc, "--weekday", "tue",
                "--from", "09:00", "--to", "12:00", "--mode", "telehealth_only"))  # fmt: skip
    args = ["appt", "add", "--client", client_id, "--clinician", doc, "--duration", "50"]
    refused = live.run(*args, "--start", "2032-03-09T09:00", "--strict-availability")
    assert refused.exit_code == ExitStatus.CONFLICT, refused.stderr
    assert refused.stderr == (
        "error: Noa Notices sees clients only by video at 2032-03-09 09:00; this visit is in "
        "person; nothing was booked\n"
    )
    warned = ok(live.run(*args, "--start", "2032-03-09T09:00", "--no-notify"))
    assert warned.stderr.splitlines()[0] == (
        "warning: Noa Notices sees clients only by video at 2032-03-09 09:00; this visit is "
        "in person"
    )
    appt_id = next(w for w in warned.stdout.split() if w.startswith("apt_"))
    explained = live.run("appt", "explain", appt_id)
    assert "warning: Noa Notices sees clients only by video" in explained.stderr
    quiet = ok(live.run(*args, "--start", "2032-03-09T10:00", "--telehealth", "--no-notify"))
    # Inside its block, and nobody told: what was booked, and no warning.
    assert [line for line in quiet.stderr.splitlines() if not line.startswith("added ")] == []


def write_csv(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")
    return path


def test_import_says_what_it_creates_and_sends_and_a_move_tells_the_client(
    live: Live, doc: str, tmp_path: Path
) -> None:
    season = write_csv(
        tmp_path,
        "season.csv",
        [
            f"nt-1,NT-C1,Tara Telehealth,tara@example.org,{doc},2032-04-06T11:00,50,telehealth,"
            "confirmed",
            f"nt-2,NT-C2,Ivo Inperson,ivo@example.org,{doc},2032-04-06T13:00,50,in_person,"
            "confirmed",
        ],
    )
    dry = ok(live.run("appt", "import", str(season), "--dry-run"))
    assert dry.stdout.splitlines()[0] == (
        "dry run: would have created 2, updated 0, unchanged 0, rejected 0; new clients 2; "
        "messages 1 (1 invitation by email)"
    )
    assert "Tara Telehealth" in dry.stdout
    assert "Ivo Inperson" in dry.stdout
    assert re.search(
        r"^\s*2\s+invitation\s+email\s+\(new\)\s+new client \(row 2\)", dry.stdout, re.M
    )
    dry_json = as_json(live.run("appt", "import", str(season), "--dry-run", "--json"))
    assert [r["id"] for r in dry_json["rows"]] == [None, None]  # no made-up ids

    real = as_json(live.run("appt", "import", str(season), "--json"))
    assert (real["created"], real["clients_created"]) == (2, 2)
    assert [(m["kind"], m["row"]) for m in real["messages"]] == [("invitation", 2)]
    appt_id = real["rows"][0]["id"]
    [invitation] = messages_of(live, appt_id)
    old = delivered_token(live.data_dir, invitation["id"])

    moved = write_csv(
        tmp_path,
        "moved.csv",
        [
            f"nt-1,NT-C1,Tara Telehealth,tara@example.org,{doc},2032-04-06T11:30,50,telehealth,"
            "confirmed"
        ],
    )
    again = ok(live.run("appt", "import", str(moved)))
    assert again.stdout.splitlines()[0] == (
        "created 0, updated 1, unchanged 0, rejected 0; new clients 0; "
        "messages 1 (1 reschedule by email)"
    )
    assert redeem(live, old) == 404
    assert messages_of(live, appt_id)[-1]["kind"] == "reschedule"

    corrected = write_csv(
        tmp_path,
        "corrected.csv",
        [
            f"nt-1,NT-C1,Tara Telehealth,tara@example.org,{doc},2032-04-06T11:45,50,telehealth,"
            "confirmed"
        ],
    )
    quiet = ok(live.run("appt", "import", str(corrected), "--no-notify"))
    assert "updated 1" in quiet.stdout
    assert "messages 0" in quiet.stdout
    assert messages_of(live, appt_id)[-1]["kind"] == "reschedule"  # nothing new
