"""CLI behaviour that needs no server: help, imports, errors, config, parsing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tlh.cli import config
from tlh.cli.commands.practice import parse_policy_value
from tlh.cli.exit import ExitStatus, exit_status_for
from tlh.cli.main import app
from tlh.cli.output import clean
from tlh.errors import Conflict, InvalidInput, NotFound, TlhError, Unauthenticated, Unavailable

from .conftest import Live

HEAVY = ("aiohttp", "aiortc", "av", "textual", "tinydb")


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(_walk(sub, (*path, name)))
    return found


def test_every_command_and_option_has_help() -> None:
    import typer

    root = typer.main.get_command(app)
    commands = _walk(root)
    assert len(commands) > 35
    names = {" ".join(p) for p, _ in commands}
    for expected in (
        "appt import",
        "appt explain",
        "client contact add",
        "init",
        "restore",
        "invite send",
        "link revoke",
        "consent record-verbal",
        "outbox show",
    ):
        assert expected in names
    for path, command in commands:
        assert (command.help or "").strip(), f"`tlh {' '.join(path)}` has no help"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), (
                    f"`tlh {' '.join(path)}` {param.name} has no help"
                )
            if param.param_type_name == "argument":
                assert (param.help or "").strip(), (
                    f"`tlh {' '.join(path)}` {param.name} has no help"
                )


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from tlh.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
        "import json; print(json.dumps({'code': code, 'heavy': "
        f"[m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
    assert "Usage: tlh" in done.stdout


def test_parsing_options_imports_no_pydantic() -> None:
    """Issue 21: typer 0.29 coerces each option through a pydantic adapter (~75 ms of
    imports on every command, ``tlh dashboard``'s start included); the pin keeps it out."""
    argv = ["--url", "http://127.0.0.1:9", "--token", "t", "--timeout", "5", "--json"]
    argv += ["dashboard", "--warn-after", "5", "--hook", "true", "--no-sound"]
    code = (
        "import sys\n"
        "from tlh.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    code = e.code\n"
        "import json; print(json.dumps({'code': code, "
        "'heavy': sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The dashboard prints no JSON: a usage error, after every option above was parsed.
    assert result == {"code": ExitStatus.USAGE, "heavy": []}
    assert "the dashboard is interactive" in done.stderr


def test_unreachable_server_is_one_line_and_exit_7(offline: Live) -> None:
    result = offline.run("appt", "list", "--date", "2026-03-10")
    assert result.exit_code == ExitStatus.UNAVAILABLE
    assert result.stdout == ""
    assert (
        result.stderr
        == f"error: cannot reach the tlh server at {offline.url}: connection refused\n"
    )
    assert offline.token not in result.stderr


def test_unreachable_through_the_real_entry_point(offline: Live) -> None:
    env = {**os.environ, "TLH_URL": offline.url, "TLH_TOKEN": offline.token}
    env["TLH_CONFIG"] = str(offline.config)
    done = subprocess.run(
        [sys.executable, "-m", "tlh", "staff", "list"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert done.returncode == ExitStatus.UNAVAILABLE
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_missing_token_is_auth_error(offline: Live) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["staff", "list"], env=offline.env())
    assert result.exit_code == ExitStatus.AUTH
    assert result.stderr.startswith("error: no API token")


def test_usage_error_is_exit_2(offline: Live) -> None:
    result = offline.run("appt", "status")
    assert result.exit_code == ExitStatus.USAGE


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("appointments.xlsx", 10, "name it .csv or .json"),
        ("huge.csv", 51 * 1024 * 1024, "imports are limited to 50 MB"),
    ],
)
def test_import_file_checks_before_upload(
    offline: Live, tmp_path: Path, name: str, size: int | None, message: str
) -> None:
    path = tmp_path / name
    if size is not None:
        with open(path, "wb") as file:
            file.truncate(size)  # sparse: no 51 MB written
    result = offline.run("appt", "import", str(path))
    assert result.exit_code == ExitStatus.INVALID, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_export_rejects_unknown_format(offline: Live) -> None:
    result = offline.run("appt", "export", "--format", "xls")
    assert result.exit_code == ExitStatus.USAGE
    assert "csv, json or ics" in result.stderr


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("consent_required", "no", False),
        ("telehealth_enabled", "Yes", True),
        ("window_opens_before_min", "300", 300),
        ("start_statuses", "confirmed, checked_in", ["confirmed", "checked_in"]),
        ("timezone", "Europe/London", "Europe/London"),
    ],
)
def test_policy_values_are_typed(key: str, value: str, expected: object) -> None:
    assert parse_policy_value(key, value) == expected


@pytest.mark.parametrize(
    ("key", "value"), [("nope", "1"), ("consent_required", "maybe"), ("late_cancel_hours", "x")]
)
def test_bad_policy_values_are_invalid(key: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_policy_value(key, value)


def test_clean_shows_control_characters_literally() -> None:
    assert clean("[red]x[/red]") == "[red]x[/red]"
    assert clean("a\x1b[2Jb\n") == "a\\x1b[2Jb\\x0a"
    assert clean(None) == ""


def test_config_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    config.save('http://h:1/"x"', "tlh_abc", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load(path) == config.Saved('http://h:1/"x"', "tlh_abc")
    assert config.load(tmp_path / "absent.toml") == config.Saved()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound("x"), ExitStatus.NOT_FOUND),
        (Conflict("x"), ExitStatus.CONFLICT),
        (InvalidInput("x"), ExitStatus.INVALID),
        (Unauthenticated("x"), ExitStatus.AUTH),
        (Unavailable("x"), ExitStatus.UNAVAILABLE),
        (TlhError("x"), ExitStatus.ERROR),
    ],
)
def test_exit_codes_follow_error_codes(error: TlhError, code: ExitStatus) -> None:
    assert exit_status_for(error) == code


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("token = 5\n", "token must be a string"),
        ('url = "http://h:1"\ntokn = "tlh_x"\n', "unknown key 'tokn' (known: url, token)"),
        ('token = "tlh_x\n', "not valid TOML"),
    ],
)
def test_a_bad_cli_config_is_one_line_naming_the_file_and_key(
    tmp_path: Path, text: str, says: str
) -> None:
    """The CLI's config.toml is checked like every config file; a wrong value is named
    rather than silently ignored (a token of the wrong type used to read as no token)."""
    from typer.testing import CliRunner

    path = tmp_path / "config.toml"
    path.write_text(text)
    env = {"TLH_CONFIG": str(path), "TLH_URL": None, "TLH_TOKEN": None}
    result = CliRunner().invoke(app, ["staff", "list"], env=env)
    assert result.exit_code == ExitStatus.INVALID
    assert result.stderr.startswith(f"error: {path}: ")
    assert says in result.stderr
    assert result.stderr.count("\n") == 1
    assert "tlh_x" not in result.stderr


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[limits]\nkeepalive_timeout_s = '75'\n", "[limits] keepalive_timeout_s must be a number"),
        ('[smtp]\nhost = "m"\npassword = 5\nfrom_address = "p@x"\n', "[smtp] password must be"),
        ("[sever]\n", "unknown section [sever]"),
    ],
)
def test_tlh_serve_with_a_bad_config_is_one_line(tmp_path: Path, text: str, says: str) -> None:
    from typer.testing import CliRunner

    path = tmp_path / "tlh.toml"
    path.write_text(text)
    argv = ["serve", "--data-dir", str(tmp_path / "data"), "--config", str(path)]
    result = CliRunner().invoke(app, argv, env={"TLH_CONFIG": os.devnull})
    assert result.exit_code == ExitStatus.INVALID
    assert result.stderr.startswith(f"error: {path}: {says}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
