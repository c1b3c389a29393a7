"""``tlh invite``, ``link``, ``consent`` and ``outbox`` against a real in-process server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlh.cli.exit import ExitStatus
from tlh.cli.main import app

from .conftest import Live

DAY = "2031-04-15"
URL = re.compile(r"^https?://\S+/j#[A-Za-z0-9_-]{40,}\n$")

NEW_COMMANDS = [
    ("invite", "send"),
    ("invite", "link"),
    ("invite", "quick"),
    ("invite", "guest"),
    ("invite", "website"),
    ("link", "list"),
    ("link", "revoke"),
    ("link", "resend"),
    ("consent", "send"),
    ("consent", "record-verbal"),
    ("consent", "status"),
    ("consent", "revoke"),
    ("consent", "export"),
    ("outbox", "list"),
    ("outbox", "show"),
]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


# -- without a server ----------------------------------------------------------


@pytest.mark.parametrize("command", NEW_COMMANDS, ids=" ".join)
def test_every_new_command_has_help(command: tuple[str, str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], prog_name="tlh")
    assert result.exit_code == 0
    assert f"Usage: tlh {' '.join(command)}" in result.stdout
    assert "--json" in result.stdout or command == ("consent", "export")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "send"], "give an appointment id or --date"),
        (["invite", "send", "apt_x", "--date", DAY], "give an appointment id or --date"),
        (["invite", "send", "apt_x", "--email", "--sms"], "choose one of --email, --sms"),
        (["invite", "send", "--date", DAY, "--to", "a@b.org"], "--to and --contact apply"),
        (["invite", "quick", "cli_x", "--sms", "--copy"], "choose one of"),
        (["consent", "export", "--format", "xls"], "csv or json"),
        (["consent", "record-verbal", "cli_x", "--by", "a@b.org", "--note", " "], "--note"),
        (["outbox", "list", "--status", "lost"], "--status must be"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(offline: Live, args: list[str], message: str) -> None:
    result = offline.run(*args)
    assert result.exit_code == ExitStatus.USAGE, result.stderr
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


# -- against the server ----------------------------------------------------------


@pytest.fixture(scope="module")
def clinician(live: Live) -> tuple[str, str]:
    """A telehealth clinician's email and API token."""
    email = "invite-clin@example.org"
    result = ok(
        live.run("staff", "add", email, "--name", "Ivy Clin", "--role", "clinician", "--telehealth")
    )
    return email, result.stdout.strip()


def add_client(live: Live, name: str, *extra: str) -> str:
    return str(as_json(live.run("client", "add", "--name", name, *extra, "--json"))["id"])


def add_appt(live: Live, client_id: str, clinician: str, start: str) -> str:
    made = as_json(
        live.run(
            "appt", "add", "--client", client_id, "--clinician", clinician,
            "--start", start, "--duration", "50", "--telehealth", "--json",
        )
    )  # fmt: skip
    return str(made["items"][0]["id"])


@pytest.fixture(scope="module")
def booked(live: Live, clinician: tuple[str, str]) -> tuple[str, str]:
    """A client with an email and their telehealth appointment: (client id, appt id)."""
    client_id = add_client(live, "Ines Invitee", "--email", "ines@example.org")
    return client_id, add_appt(live, client_id, clinician[0], f"{DAY}T09:00")


def test_invite_link_prints_only_the_url(live: Live, booked: tuple[str, str]) -> None:
    result = ok(live.run("invite", "link", booked[1]))
    assert URL.match(result.stdout), result.stdout


def test_invite_send_queues_an_email(live: Live, booked: tuple[str, str]) -> None:
    data = as_json(live.run("invite", "send", booked[1], "--json"))
    assert [m["to"] for m in data["messages"]] == ["ines@example.org"]
    assert data["links"][0]["appointment_id"] == booked[1]
    assert data["links"][0]["token_hash"] == ""  # the hash never leaves the server

    human = ok(live.run("invite", "send", booked[1]))
    assert "ines@example.org" in human.stdout
    assert "queued" in human.stderr


def test_missing_address_is_one_line_then_to_adds_it(
    live: Live, clinician: tuple[str, str]
) -> None:
    client_id = add_client(live, "Nora Noaddress")
    appt = add_appt(live, client_id, clinician[0], f"{DAY}T11:00")

    missing = live.run("invite", "send", appt, "--sms")
    assert missing.exit_code == ExitStatus.INVALID, missing.stderr
    assert missing.stdout == ""
    assert missing.stderr.startswith("error: ")
    assert missing.stderr.count("\n") == 1
    assert "--to" in missing.stderr  # the server's hint, shown as is

    sent = as_json(live.run("invite", "send", appt, "--sms", "--to", "+1 212 555 0147", "--json"))
    assert [m["to"] for m in sent["messages"]] == ["+12125550147"]
    record = as_json(live.run("client", "show", client_id, "--json"))
    assert record["phone"] == "+12125550147"


def test_link_list_and_revoke(live: Live, booked: tuple[str, str]) -> None:
    ok(live.run("invite", "link", booked[1]))
    links = as_json(live.run("link", "list", booked[1], "--json"))["items"]
    live_ids = [k["id"] for k in links if k["revoked_at"] is None]
    assert live_ids

    revoked = as_json(live.run("link", "revoke", live_ids[0], "--json"))
    assert revoked["id"] == live_ids[0]
    assert revoked["revoked_at"] is not None

    table = ok(live.run("link", "list", booked[1]))
    row = next(line for line in table.stdout.splitlines() if line.strip().startswith(live_ids[0]))
    assert "America/New_York" in table.stdout
    assert row.rstrip().endswith(tuple("0123456789"))  # revoked: a time, not "no"

    gone = live.run("link", "revoke", "lnk_doesnotexist")
    assert gone.exit_code == ExitStatus.NOT_FOUND
    assert gone.stderr.count("\n") == 1


def test_link_resend_revokes_and_sends_anew(live: Live, booked: tuple[str, str]) -> None:
    first = as_json(live.run("invite", "send", booked[1], "--json"))["links"][0]["id"]
    again = as_json(live.run("link", "resend", first, "--json"))
    assert again["links"][0]["id"] != first
    assert again["messages"]
    links = {k["id"]: k for k in as_json(live.run("link", "list", booked[1], "--json"))["items"]}
    assert links[first]["revoked_at"] is not None


def test_invite_send_date_summarises(live: Live, clinician: tuple[str, str]) -> None:
    day = "2031-04-22"
    reachable = add_client(live, "Dana Day", "--email", "dana@example.org")
    unreachable = add_client(live, "Uma Unreachable")
    add_appt(live, reachable, clinician[0], f"{day}T09:00")
    skipped = add_appt(live, unreachable, clinician[0], f"{day}T10:00")

    result = ok(live.run("invite", "send", "--date", day))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sent 1, skipped 1")
    assert any(line.strip().startswith(f"skipped {skipped}:") for line in lines[1:])

    data = as_json(live.run("invite", "send", "--date", day, "--json"))
    assert [s["appointment_id"] for s in data["skipped"]] == [skipped]


def test_consent_send_then_status(live: Live) -> None:
    client_id = add_client(live, "Cora Consent", "--email", "cora@example.org")
    before = as_json(live.run("consent", "status", client_id, "--json"))["items"]
    assert [c["state"] for c in before] == ["none"]

    sent = as_json(live.run("consent", "send", client_id, "--json"))
    assert sent["record"]["decision"] == "sent"
    assert sent["message"]["to"] == "cora@example.org"

    after = as_json(live.run("consent", "status", client_id, "--json"))["items"]
    assert [(c["client_id"], c["state"]) for c in after] == [(client_id, "sent")]
    table = ok(live.run("consent", "status", client_id))
    assert client_id in table.stdout
    assert "sent" in table.stdout


def test_verbal_consent_needs_the_attesting_clinician(
    live: Live, clinician: tuple[str, str]
) -> None:
    email, token = clinician
    client_id = add_client(live, "Vera Verbal")
    add_appt(live, client_id, email, f"{DAY}T13:00")  # a clinician's own client
    wrong = live.run("consent", "record-verbal", client_id, "--by", email, "--note", "by phone")
    assert wrong.exit_code == ExitStatus.AUTH
    assert "log in as the clinician who took the consent" in wrong.stderr
    assert wrong.stderr.count("\n") == 1

    args = ("consent", "record-verbal", client_id, "--by", email, "--note", "by phone, 9:05")
    record = as_json(live.run(*args, "--json", token=token))
    assert record["decision"] == "verbal"
    state = as_json(live.run("consent", "status", client_id, "--json"))["items"][0]
    assert state["state"] == "valid"

    revoked = as_json(live.run("consent", "revoke", client_id, "--note", "asked", "--json"))
    assert revoked["decision"] == "revoked"
    state = as_json(live.run("consent", "status", client_id, "--json"))["items"][0]
    assert state["state"] == "revoked"


def test_consent_export_to_a_file(live: Live, tmp_path: Path) -> None:
    target = tmp_path / "ledger.json"
    result = ok(live.run("consent", "export", "--format", "json", "--output", str(target)))
    assert result.stdout == ""
    assert isinstance(json.loads(target.read_text()), list | dict)
    csv = ok(live.run("consent", "export"))
    assert "client_id" in csv.stdout.splitlines()[0]


def test_outbox_list_json_and_show(live: Live, booked: tuple[str, str]) -> None:
    ok(live.run("invite", "send", booked[1]))
    items = as_json(live.run("outbox", "list", "--json"))["items"]
    mine = [m for m in items if m["appointment_id"] == booked[1]]
    assert mine
    assert {m["status"] for m in items} <= {"queued", "sending", "sent", "failed"}

    shown = ok(live.run("outbox", "show", mine[0]["id"]))
    assert mine[0]["id"] in shown.stdout
    assert mine[0]["text"].splitlines()[0] in shown.stdout

    queued = as_json(live.run("outbox", "list", "--status", "failed", "--json"))["items"]
    assert all(m["status"] == "failed" for m in queued)


def test_guest_quick_and_website(live: Live, clinician: tuple[str, str]) -> None:
    email = clinician[0]
    assert URL.match(ok(live.run("invite", "guest", "--clinician", email)).stdout)
    client_id = add_client(live, "Quinn Quick", "--email", "quinn@example.org")
    quick = ok(live.run("invite", "quick", client_id, "--clinician", email, "--copy"))
    assert URL.match(quick.stdout), quick.stdout
    snippet = ok(live.run("invite", "website", "--clinician", email)).stdout
    assert snippet.lstrip().startswith("<")
    assert "/j" in snippet
