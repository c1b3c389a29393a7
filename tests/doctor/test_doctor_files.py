"""``tlh doctor`` on who else can read the server's secrets and records (issue 12, item 6):
a ``tlh.toml`` holding the SMTP password in clear and readable by others, and a data dir
open to others, each warn with the fix; a password from ``password_file`` logs in and
leaves nothing to warn about. Against ``tlh serve`` with a real config file, aiosmtpd
asking for a login."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.messaging.support import SmtpServer
from tests.serving import free_port, stop, wait_healthy
from tlh.services.bootstrap import init_practice

pytestmark = pytest.mark.timeout(120)


def _smtp_section(port: int, secret_line: str) -> str:
    return (
        '[messaging]\nemail = "smtp"\n[smtp]\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\nusername = "u"\n{secret_line}\n'
        'from_address = "Practice <practice@example.org>"\n'
    )


def _doctor(tmp_path: Path, config: Path) -> dict[str, dict[str, str]]:
    """Serve the practice with ``config`` and run ``tlh doctor --json`` against it."""
    from tlh.cli.main import app

    data_dir = tmp_path / "data"
    if not (data_dir / "meta.json").exists():
        token = asyncio.run(init_practice(data_dir, "Files", "UTC", "admin@example.org"))
        (tmp_path / "token").write_text(token)
    token = (tmp_path / "token").read_text()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*argv, "--port", str(port), "--config", str(config)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(url, proc, log=log)
        env = {"TLH_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "250"}
        result = CliRunner().invoke(
            app, ["--url", url, "--token", token, "doctor", "--json"], env=env
        )
    finally:
        stop(proc)
    assert result.stdout, result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)["items"]}


def test_a_password_in_a_config_others_can_read_warns_and_a_password_file_does_not(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "tlh.toml"
    config.write_text(_smtp_section(smtp.port, 'password = "pw"'))
    config.chmod(0o644)
    found = _doctor(tmp_path, config)
    assert found["config"]["status"] == "warn"
    assert found["config"]["detail"] == (
        f"{config} holds [smtp] password in clear and group and others can read it"
    )
    assert found["config"]["fix"].startswith(f"chmod 600 {config}")
    assert "pw" not in json.dumps(found["config"])  # the value is never shown
    assert found["email"]["status"] == "ok"
    assert found["data dir"]["status"] == "ok"  # tlh init made it 0700

    config.chmod(0o600)
    assert _doctor(tmp_path, config)["config"]["status"] == "ok"

    # From a file of its own, readable by its owner only: the login works, no warning.
    secret = etc / "smtp-password"
    secret.write_text("pw\n")
    secret.chmod(0o600)
    config.write_text(_smtp_section(smtp.port, 'password_file = "smtp-password"'))
    config.chmod(0o644)
    found = _doctor(tmp_path, config)
    assert found["config"] == {
        "name": "config",
        "status": "ok",
        "detail": "tlh.toml holds no secret in clear",
        "fix": "",
    }
    assert found["email"]["status"] == "ok"
    assert "logged in to 127.0.0.1" in found["email"]["detail"]


def test_a_data_dir_others_can_enter_warns(tmp_path: Path) -> None:
    config = tmp_path / "tlh.toml"
    config.write_text("[server]\n")
    _doctor(tmp_path, config)
    data_dir = tmp_path / "data"
    data_dir.chmod(0o755)
    found = _doctor(tmp_path, config)
    assert found["data dir"]["status"] == "warn"
    assert found["data dir"]["detail"] == (
        f"{data_dir} (patients' records) is open to group and others (mode 755)"
    )
    assert found["data dir"]["fix"] == f"chmod 700 {data_dir}"
