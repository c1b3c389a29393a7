"""``tlh templates export``: a practice's own copy of the shipped templates."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from tlh.cli.exit import ExitStatus
from tlh.cli.main import app
from tlh.messaging.templates import Templates, default_templates_dir, template_names

SHIPPED = [*template_names(), "README.md"]


def export(*args: str) -> Result:
    return CliRunner().invoke(app, ["templates", "export", *args], env={"TLH_CONFIG": None})


def test_export_copies_every_shipped_template_and_says_where(tmp_path: Path) -> None:
    target = tmp_path / "practice" / "templates"
    result = export(str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(target / name) for name in SHIPPED]
    assert "templates_dir" in result.stderr
    written = [p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()]
    assert sorted(written) == sorted(SHIPPED)
    assert "es/invitation.email.txt" in SHIPPED
    for name in SHIPPED:
        assert (target / name).read_bytes() == (default_templates_dir() / name).read_bytes()
        # wording, not patients' data: the server's own user may read it
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o644
    Templates.load(target)


def test_export_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert export(str(tmp_path)).exit_code == 0
    edited = tmp_path / "invitation.sms.txt"
    edited.write_text("Our own words: {link}\n")
    refused = export(str(tmp_path))
    assert refused.exit_code == ExitStatus.CONFLICT
    assert refused.stdout == ""
    assert refused.stderr == (
        f"error: {tmp_path / SHIPPED[0]} and {len(SHIPPED) - 1} more already exist: "
        "pass --force to overwrite them\n"
    )
    assert edited.read_text() == "Our own words: {link}\n"
    forced = export(str(tmp_path), "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert json.loads(forced.stdout) == {"dir": str(tmp_path), "files": SHIPPED}
    assert edited.read_bytes() == (default_templates_dir() / edited.name).read_bytes()


def test_export_into_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = export(str(blocker / "templates"))
    assert result.exit_code == ExitStatus.INVALID
    assert result.stderr.startswith(f"error: cannot create {blocker / 'templates'}: ")
    assert result.stderr.count("\n") == 1
