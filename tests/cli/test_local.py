"""The local commands (init, restore) on real data dirs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tlh.cli import config
from tlh.cli.exit import ExitStatus
from tlh.cli.main import app

from .conftest import Live


def _env(tmp_path: Path) -> dict[str, str | None]:
    return {"TLH_CONFIG": str(tmp_path / "config.toml"), "TLH_URL": None, "TLH_TOKEN": None}


def test_init_prints_token_once_and_saves_config(tmp_path: Path) -> None:
    args = [
        "init",
        "--practice",
        "New Practice",
        "--tz",
        "Europe/London",
        "--admin",
        "boss@example.org",
        "--data-dir",
        str(tmp_path / "data"),
        "--url",
        "http://127.0.0.1:9999",
    ]
    result = CliRunner().invoke(app, args, env=_env(tmp_path))
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("tlh_")
    assert token not in result.stderr
    saved = config.load(tmp_path / "config.toml")
    assert saved == config.Saved("http://127.0.0.1:9999", token)
    again = CliRunner().invoke(app, args, env=_env(tmp_path))
    assert again.exit_code == ExitStatus.CONFLICT
    assert again.stderr.startswith("error: ")


def test_init_rejects_a_bad_zone(tmp_path: Path) -> None:
    args = [
        "init",
        "--practice",
        "P",
        "--tz",
        "Mars/Olympus",
        "--admin",
        "a@example.org",
        "--data-dir",
        str(tmp_path / "data"),
    ]
    result = CliRunner().invoke(app, args, env=_env(tmp_path))
    assert result.exit_code == ExitStatus.INVALID
    assert result.stdout == ""


def test_restore_refuses_a_dir_held_by_a_server(live: Live, tmp_path: Path) -> None:
    backup = tmp_path / "b.tar.gz"
    assert live.run("backup", str(backup)).exit_code == 0
    held = CliRunner().invoke(
        app, ["restore", str(backup), "--data-dir", str(live.data_dir)], env=_env(tmp_path)
    )
    assert held.exit_code == ExitStatus.CONFLICT, held.stderr
    fresh = tmp_path / "restored"
    done = CliRunner().invoke(
        app, ["restore", str(backup), "--data-dir", str(fresh)], env=_env(tmp_path)
    )
    assert done.exit_code == 0, done.stderr
    assert (fresh / "meta.json").exists()
