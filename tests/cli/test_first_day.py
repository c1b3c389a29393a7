"""A practice's first day with the CLI (issue 20): clients named as people name them, a
clinician signed in from the line the admin gives them, readable audit lines, relative
days, the version, completion scripts per shell, documented exit codes, and where the
file transport put a message."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tlh.cli.exit import MEANINGS, ExitStatus
from tlh.cli.main import app
from tlh.messaging.file_transport import mail_drop_dir

from .conftest import Live

ROOT = Path(__file__).resolve().parents[2]


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    return result


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


def new_client(live: Live, name: str, *extra: str) -> str:
    return str(as_json(live.run("client", "add", "--name", name, *extra, "--json"))["id"])


def new_clinician(live: Live) -> str:
    email = f"doc-{secrets.token_hex(4)}@example.org"
    ok(live.run("staff", "add", email, "--name", "Dr Day", "--role", "clinician", "--telehealth"))
    return email


# -- the command itself ---------------------------------------------------------------


def test_version() -> None:
    from tlh import __version__

    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0
    assert done.stdout == f"tlh {__version__}\n"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _tlh_completion tlh"),
        ("zsh", "#compdef tlh"),
        ("fish", "complete --command tlh"),
        ("powershell", "Register-ArgumentCompleter"),
    ],
)
def test_show_completion_prints_the_named_shells_script(shell: str, marker: str) -> None:
    done = CliRunner().invoke(app, ["--show-completion", shell])
    assert done.exit_code == 0, done.stderr
    assert marker in done.stdout
    assert "_TLH_COMPLETE" in done.stdout


def test_show_completion_without_a_shell_detects_it_and_a_wrong_one_is_usage() -> None:
    detected = CliRunner().invoke(app, ["--show-completion"])
    assert detected.exit_code == 0
    assert "tlh" in detected.stdout
    wrong = CliRunner().invoke(app, ["--show-completion", "tcsh"])
    assert wrong.exit_code == ExitStatus.USAGE
    assert "bash, zsh, fish" in wrong.stderr


def test_the_completion_script_completes_json_after_a_command() -> None:
    env = {"_TLH_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "tlh appt list --js"}
    done = subprocess.run(
        [sys.executable, "-m", "tlh"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**_environ(), **env},
    )
    assert '"--json"' in done.stdout, done.stderr


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_exit_codes_are_documented_in_help_and_readme() -> None:
    helped = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "2000"})
    readme = (ROOT / "README.md").read_text()
    for code, meaning in MEANINGS.items():
        assert f"{int(code)} {meaning}" in " ".join(helped.stdout.split()), code
        assert f"| {int(code)} | {meaning} |" in readme, code
    assert set(MEANINGS) == set(ExitStatus)


# -- clients named the way people name them -------------------------------------------


def test_a_client_is_named_by_email_external_id_or_full_name(live: Live) -> None:
    tag = secrets.token_hex(3)
    email = f"jordan-{tag}@example.org"
    client_id = new_client(
        live, f"Jordan Rivera {tag}", "--email", email, "--external-id", f"EXT-{tag}"
    )
    for ref in (email, email.upper(), f"ext-{tag}", f"jordan rivera {tag}", client_id):
        shown = as_json(live.run("client", "show", ref, "--json"))
        assert shown["id"] == client_id, ref
    sent = as_json(live.run("consent", "send", email, "--json"))
    assert sent["record"]["client_id"] == client_id
    clinician = new_clinician(live)
    made = as_json(
        live.run(
            "appt", "add", "--client", f"Jordan Rivera {tag}", "--clinician", clinician,
            "--start", "2034-02-01T09:00", "--duration", "50", "--json",
        )
    )  # fmt: skip
    assert made["items"][0]["client_ids"] == [client_id]


def test_an_ambiguous_name_lists_the_candidates_and_the_error_names_nobody(live: Live) -> None:
    name = f"Sam Twin {secrets.token_hex(3)}"
    first, second = new_client(live, name), new_client(live, name)
    done = live.run("consent", "status", name)
    assert done.exit_code == ExitStatus.INVALID
    assert done.stdout == ""
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error == ["error: 2 clients have that name, email or external id"]
    assert first in done.stderr
    assert second in done.stderr  # the list to choose from, by id
    assert name not in error[0]


def test_nobody_by_that_name_is_not_found_with_close_matches(live: Live) -> None:
    tag = secrets.token_hex(3)
    client_id = new_client(live, f"Robin Close {tag}")
    done = live.run("client", "show", f"Close {tag}")  # part of the name only
    assert done.exit_code == ExitStatus.NOT_FOUND
    assert done.stderr.splitlines()[-1] == (
        "error: no client has that id, email, external id or full name"
    )
    assert client_id in done.stderr  # offered as a close match
    nothing = live.run("client", "show", f"nobody-{tag}@example.org")
    assert nothing.exit_code == ExitStatus.NOT_FOUND
    assert len(nothing.stderr.splitlines()) == 1


def test_a_missing_staff_member_is_named_in_the_error(live: Live) -> None:
    done = live.run("staff", "show", "nobody@example.org")
    assert done.exit_code == ExitStatus.NOT_FOUND
    assert done.stderr == "error: no staff member has the id or email 'nobody@example.org'\n"


# -- a clinician's sign-in --------------------------------------------------------------


def test_staff_invite_prints_the_line_the_clinician_runs(live: Live, tmp_path: Path) -> None:
    email = f"lee-{secrets.token_hex(3)}@example.org"
    done = ok(live.run("staff", "invite", email, "--name", "Dr. Morgan Lee", "--telehealth"))
    line = done.stdout.strip()
    assert re.fullmatch(rf"tlh login --url {re.escape(live.url)} --token tlh_\S+", line)
    assert "give them this line privately" in done.stderr
    assert "works only on this machine" in done.stderr  # a loopback URL: say so
    # On "their machine" (another config file), the line as printed signs them in.
    theirs = {"TLH_CONFIG": str(tmp_path / "lee.toml"), "TLH_URL": None, "TLH_TOKEN": None}
    argv = line.split()[1:]
    signed_in = CliRunner().invoke(app, argv, env=theirs)
    assert signed_in.exit_code == 0, signed_in.stderr
    assert f"logged in as {email} (clinician)" in signed_in.stderr
    rooms = CliRunner().invoke(app, ["room", "list"], env=theirs)
    assert rooms.exit_code == 0, rooms.stderr
    assert "Dr. Morgan Lee" in rooms.stderr  # their own room, with no --clinician
    # Inviting them again gives a new line; the old token stops working.
    again = ok(live.run("staff", "invite", email))
    assert again.stdout.strip() != line
    assert "their earlier ones no longer work" in again.stderr
    assert CliRunner().invoke(app, ["room", "list"], env=theirs).exit_code == ExitStatus.AUTH


def test_staff_invite_of_someone_new_needs_their_name(live: Live) -> None:
    done = live.run("staff", "invite", f"new-{secrets.token_hex(3)}@example.org")
    assert done.exit_code == ExitStatus.USAGE
    assert "give their --name" in done.stderr


# -- reading the day ------------------------------------------------------------------


def test_audit_list_reads_as_names_local_times_and_short_hashes(live: Live) -> None:
    table = ok(live.run("audit", "list", "--limit", "5")).stdout
    assert '{"kind"' not in table  # no raw JSON actor column
    assert "(admin)" in table  # the admin by name and role
    assert "at (America/New_York)" in table
    assert not re.search(r"[0-9a-f]{64}", table)  # hashes shortened, not wrapped
    assert re.search(r"\b[0-9a-f]{12}\b", table)
    entries = as_json(live.run("audit", "list", "--limit", "5", "--json"))["items"]
    assert all(len(e["hash"]) == 64 for e in entries)  # --json keeps everything


def test_day_words_mean_the_practices_today(live: Live) -> None:
    today = datetime.now(ZoneInfo("America/New_York")).date()
    clinician = new_clinician(live)
    client_id = new_client(live, f"Tomas Tomorrow {secrets.token_hex(3)}")
    made = as_json(
        live.run(
            "appt", "add", "--client", client_id, "--clinician", clinician,
            "--start", "tomorrow 09:00", "--duration", "50", "--json",
        )
    )["items"][0]  # fmt: skip
    start = datetime.fromisoformat(made["start"]).astimezone(ZoneInfo("America/New_York"))
    assert (start.date(), start.hour) == (today + timedelta(days=1), 9)
    listed = as_json(live.run("appt", "list", "--date", "tomorrow", "--json"))["items"]
    assert made["id"] in {a["id"] for a in listed}
    yesterday = as_json(live.run("appt", "list", "--date", "yesterday", "--json"))["items"]
    assert made["id"] not in {a["id"] for a in yesterday}


def test_a_message_the_file_transport_wrote_says_where(live: Live) -> None:
    client_id = new_client(live, f"Fay File {secrets.token_hex(3)}", "--email", "fay@example.org")
    sent = as_json(live.run("consent", "send", client_id, "--json"))
    message_id = sent["message"]["id"]
    deadline = time.monotonic() + 10
    while True:  # the outbox worker writes it within moments (bounded)
        shown = as_json(live.run("outbox", "show", message_id, "--json"))
        if shown["status"] == "sent":
            break
        assert time.monotonic() < deadline, "the message was not written"
        time.sleep(0.05)
    table = ok(live.run("outbox", "list", "--status", "sent")).stdout
    row = next(line for line in table.splitlines() if message_id in line)
    drop = mail_drop_dir(live.data_dir)  # beside the data dir, not in it
    assert f"written to {drop}" in row
    assert " sent " not in f" {row} "
    fields = ok(live.run("outbox", "show", message_id)).stdout
    assert f"written to {drop / message_id}.eml" in fields
