"""``tlh dashboard`` is registered, and the rest of the CLI does not pay for Textual."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from tlh.cli.main import app


def test_dashboard_is_a_command() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--hook" in result.stdout


def test_the_cli_imports_no_textual_until_the_dashboard_runs() -> None:
    code = (
        "import sys, tlh.cli.main, tlh.cli.commands.dashboard;"
        "print(sorted(m for m in ('textual', 'aiortc', 'av') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"


def test_the_dashboard_imports_no_media_stack() -> None:
    code = (
        "import sys, tlh.tui.app;"
        "print(sorted(m for m in ('aiortc', 'av', 'tlh.server', 'tlh.store') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"
