"""The CLI against a real server: exit codes, stdout and stderr checked apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tlh.cli.exit import ExitStatus

from .conftest import Live

DAY = "2031-03-10"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


@pytest.fixture(scope="session")
def clinician(live: Live) -> str:
    """A telehealth clinician's email."""
    email = "lee@example.org"
    result = live.run(
        "staff", "add", email, "--name", "Lee Clin", "--role", "clinician", "--telehealth"
    )
    ok(result)
    assert result.stdout.strip().startswith("tlh_")
    assert "shown only once" in result.stderr
    return email


@pytest.fixture(scope="session")
def client_id(live: Live) -> str:
    made = as_json(
        live.run(
            "client", "add", "--name", "Casey Client", "--email", "casey@example.org", "--json"
        )
    )
    return str(made["id"])


def test_staff_list_json_is_the_wire_format(live: Live, clinician: str) -> None:
    data = as_json(live.run("staff", "list", "--json"))
    emails = {s["email"] for s in data["items"]}
    assert {"admin@example.org", clinician} <= emails


def test_global_json_option_works_too(live: Live) -> None:
    data = as_json(live.run("--json", "practice", "show"))
    assert data["practice_name"] == "CLI Practice"


def test_wrong_token_is_auth_exit_code(live: Live) -> None:
    result = live.run("staff", "list", token="tlh_wrong")
    assert result.exit_code == ExitStatus.AUTH
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "tlh_wrong" not in result.stderr


def test_not_found_is_exit_3(live: Live) -> None:
    result = live.run("appt", "show", "apt_doesnotexist")
    assert result.exit_code == ExitStatus.NOT_FOUND
    assert result.stderr.count("\n") == 1


def test_markup_and_control_characters_in_names_are_literal(live: Live) -> None:
    ok(live.run("client", "add", "--name", "[red]Mallory[/red]"))
    result = ok(live.run("client", "list", "--search", "Mallory"))
    assert "[red]Mallory[/red]" in result.stdout
    assert "\x1b" not in result.stdout


def test_practice_set_then_show(live: Live) -> None:
    ok(live.run("practice", "set", "window_opens_before_min", "15"))
    assert as_json(live.run("practice", "show", "--json"))["window_opens_before_min"] == 15
    bad = live.run("practice", "set", "no_such_field", "1")
    assert bad.exit_code == ExitStatus.INVALID


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("start_statuses", "confirmed,cancelled", "start_statuses cannot include cancelled"),
        ("window_opens_before_min", "100000", "between 0 and 1440 minutes; got 100000"),
        ("idle_logoff_min", "0", "idle_logoff_min must be between 1 and 480"),
        ("consent_link_days", "0", "consent_link_days must be between 1 and 90"),
    ],
)
def test_a_setting_out_of_its_range_is_refused_and_nothing_changes(
    live: Live, field: str, value: str, says: str
) -> None:
    before = as_json(live.run("practice", "show", "--json"))
    bad = live.run("practice", "set", field, value)
    assert bad.exit_code == ExitStatus.INVALID
    assert says in bad.stderr
    assert bad.stderr.count("\n") == 1, bad.stderr
    assert as_json(live.run("practice", "show", "--json")) == before


def test_appointment_round_trip(live: Live, clinician: str, client_id: str) -> None:
    made = as_json(
        live.run(
            "appt",
            "add",
            "--client",
            client_id,
            "--clinician",
            clinician,
            "--start",
            f"{DAY}T10:00",
            "--duration",
            "50",
            "--telehealth",
            "--json",
        )
    )
    appt_id = made["items"][0]["id"]
    listed = as_json(live.run("appt", "list", "--date", DAY, "--json"))
    assert appt_id in {a["id"] for a in listed["items"]}
    human = ok(live.run("appt", "list", "--date", DAY))
    assert appt_id in human.stdout
    assert f"{DAY} 10:00" in human.stdout, "times are shown in the practice's zone"
    # People read names: the clinician's and the client's, not their ids.
    assert "Lee Clin" in human.stdout
    assert "Casey Client" in human.stdout
    assert client_id not in human.stdout
    explained = live.run("appt", "explain", appt_id, "--at", f"{DAY}T10:00:00-04:00")
    first, verdict = explained.stdout.splitlines()[:2]
    assert first.startswith(appt_id)
    assert "10:00 (America/New_York)" in first
    assert "Casey Client with Lee Clin" in first
    assert verdict == f"at {DAY} 10:00: cannot start"  # scheduled, not confirmed
    assert explained.exit_code == ExitStatus.ERROR
    # The same answer with --json: the exit code does not depend on the format.
    as_data = live.run("appt", "explain", appt_id, "--at", f"{DAY}T10:00:00-04:00", "--json")
    assert json.loads(as_data.stdout)["can_start"] is False
    assert as_data.exit_code == ExitStatus.ERROR
    ok(live.run("appt", "status", appt_id, "confirmed"))
    updated = as_json(live.run("appt", "update", appt_id, "--duration", "45", "--json"))
    assert updated["duration_min"] == 45
    cancelled = as_json(live.run("appt", "cancel", appt_id, "--json"))
    assert cancelled["status"] in ("cancelled", "late_cancelled")


def _csv(rows: list[str]) -> str:
    return "external_id,client_name,clinician_email,start,duration_min\n" + "\n".join(rows) + "\n"


def test_import_happy_path_and_dry_run(live: Live, clinician: str, tmp_path: Path) -> None:
    path = tmp_path / "week.csv"
    path.write_text(
        _csv([f"ext-{i},Imported {i},{clinician},2031-04-0{i}T09:00,50" for i in range(1, 4)])
    )
    dry = ok(live.run("appt", "import", str(path), "--dry-run"))
    assert "would have created 3" in dry.stdout
    assert (
        as_json(live.run("appt", "list", "--from", "2031-04-01", "--to", "2031-04-03", "--json"))[
            "items"
        ]
        == []
    )
    real = ok(live.run("appt", "import", str(path)))
    assert real.stdout.startswith("created 3, updated 0, unchanged 0, rejected 0")
    again = ok(live.run("appt", "import", str(path)))
    assert "unchanged 3" in again.stdout


def test_import_bad_rows_name_row_and_column(live: Live, clinician: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        _csv(
            [
                f"bad-1,Someone,{clinician},2031-05-01T09:00,50",
                f"bad-2,Other,{clinician},not-a-time,50",
            ]
        )
    )
    result = live.run("appt", "import", str(path))
    assert result.exit_code == ExitStatus.INVALID
    assert "row 3, column start:" in result.stderr
    assert "nothing was imported" in result.stderr
    assert "Other" not in result.stderr, "no patient data in errors"
    partial = live.run("appt", "import", str(path), "--partial")
    assert partial.exit_code == ExitStatus.INVALID
    assert "created 1" in partial.stdout
    assert "rejected 1" in partial.stdout


def test_export_to_stdout_and_file(live: Live, tmp_path: Path) -> None:
    out = ok(
        live.run("appt", "export", "--from", "2031-04-01", "--to", "2031-04-03", "--format", "csv")
    )
    assert out.stdout.startswith("external_id")
    target = tmp_path / "a.ics"
    ok(
        live.run(
            "appt",
            "export",
            "--from",
            "2031-04-01",
            "--to",
            "2031-04-03",
            "--format",
            "ics",
            "--output",
            str(target),
        )
    )
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR")


@pytest.mark.parametrize(
    "argv",
    [
        ["appt", "export", "--output"],
        ["consent", "export", "--output"],
        ["audit", "export", "--output"],
        ["backup"],
    ],
)
def test_an_export_that_cannot_be_written_is_one_line(
    live: Live, tmp_path: Path, argv: list[str]
) -> None:
    """Every export and the backup write files the same way: a missing folder is one
    line naming the file and exit 5 (invalid), never a traceback, and nothing is left behind."""
    target = tmp_path / "no-such-folder" / "out.bin"
    result = live.run(*argv, str(target))
    assert result.exit_code == ExitStatus.INVALID, result.output
    assert result.stderr == f"error: cannot write {target}: No such file or directory\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_availability_set_list_remove(live: Live, clinician: str) -> None:
    block = as_json(
        live.run(
            "availability",
            "set",
            "--clinician",
            clinician,
            "--weekday",
            "tue",
            "--from",
            "09:00",
            "--to",
            "17:00",
            "--json",
        )
    )
    listed = ok(live.run("availability", "list", "--clinician", clinician))
    assert block["id"] in listed.stdout
    assert "tue" in listed.stdout
    ok(live.run("availability", "remove", block["id"]))
    assert block["id"] not in ok(live.run("availability", "list")).stdout


def test_a_value_the_schema_refuses_is_one_line_and_adds_nothing(live: Live) -> None:
    """The client builds its request from the struct the server decodes: a role that is
    none is refused in the server's words (never echoing the value), exit INVALID."""
    bad = live.run("staff", "add", "odd@example.org", "--name", "Odd", "--role", "Odd Jordan")
    assert bad.exit_code == ExitStatus.INVALID
    assert bad.stderr == "error: role must be one of admin, scheduler, clinician\n"
    listed = as_json(live.run("staff", "list", "--json"))
    assert "odd@example.org" not in [s["email"] for s in listed["items"]]


def test_staff_token_and_disable(live: Live) -> None:
    ok(live.run("staff", "add", "temp@example.org", "--name", "Temp", "--role", "scheduler"))
    fresh = ok(live.run("staff", "token", "temp@example.org")).stdout.strip()
    assert as_json(
        live.run("staff", "list", "--json"),
    )  # admin still fine
    me = live.run("staff", "list", token=fresh)
    assert me.exit_code == 0
    ok(live.run("staff", "disable", "temp@example.org"))
    assert live.run("staff", "list", token=fresh).exit_code == ExitStatus.AUTH


def test_audit_and_backup(live: Live, tmp_path: Path) -> None:
    verify = ok(live.run("audit", "verify"))
    assert verify.stdout.startswith("audit log intact")
    entries = as_json(live.run("audit", "list", "--limit", "5", "--json"))["items"]
    assert 0 < len(entries) <= 5
    target = tmp_path / "backup.tar.gz"
    ok(live.run("backup", str(target)))
    assert target.read_bytes()[:2] == b"\x1f\x8b"


def test_login_saves_config(live: Live) -> None:
    from typer.testing import CliRunner

    from tlh.cli.main import app

    result = CliRunner().invoke(
        app, ["login", "--url", live.url, "--token", live.token], env=live.env()
    )
    ok(result)
    assert "admin@example.org" in result.stderr
    assert live.token not in result.stdout + result.stderr
    again = CliRunner().invoke(app, ["staff", "list", "--json"], env=live.env())
    assert ok(again).stdout.startswith('{"items"')
