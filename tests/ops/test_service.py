"""``tlh service install``: a hardened unit systemd accepts, secrets as credentials, and
an edited unit never overwritten without ``--force``."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tlh import tlscert
from tlh.services.bootstrap import init_practice

from .running import tlh_run

pytestmark = pytest.mark.timeout(60)

HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "Restart=on-failure",
    "PrivateTmp=yes",
    "UMask=0077",
    "CapabilityBoundingSet=\n",
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    asyncio.run(init_practice(path, "Service Practice", "UTC", "admin@example.org"))
    return path


def install(data_dir: Path, unit_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return tlh_run(
        "service", "install", "--data-dir", str(data_dir), "--user", "daemon",
        "--unit-dir", str(unit_dir), *extra,
    )  # fmt: skip


def verify(unit: Path) -> None:
    """``systemd-analyze verify`` accepts the unit, with nothing to say about it."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package has it)")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert unit.name not in done.stderr, done.stderr


def test_the_unit_is_hardened_and_systemd_accepts_it(data_dir: Path, tmp_path: Path) -> None:
    done = install(data_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "tlh.service"
    text = unit.read_text()
    for line in HARDENING:
        assert line in text
    assert f"ReadWritePaths={data_dir}" in text
    assert "User=daemon" in text
    assert f"serve --data-dir {data_dir} --log-format json" in text
    assert "LoadCredential" not in text  # no TLS and no secrets given: nothing to hand over
    verify(unit)


def test_tls_files_and_secrets_are_handed_over_as_credentials(
    data_dir: Path, tmp_path: Path
) -> None:
    issued = tlscert.make(tmp_path / "tls", tlscert.Names.parse(["tele.lan"]))
    (data_dir / "tlh.toml").write_text(
        f'[server]\nhost = "0.0.0.0"\nport = 443\ncert = "{issued.cert}"\nkey = "{issued.key}"\n'
    )
    secret = tmp_path / "seal.key"
    secret.write_text("not really a key\n")
    done = install(data_dir, tmp_path, "--credential", f"seal-key={secret}", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "written"
    text = (tmp_path / "tlh.service").read_text()
    assert f"LoadCredential=tls-cert:{issued.cert}" in text
    assert f"LoadCredential=tls-key:{issued.key}" in text
    assert f"LoadCredential=seal-key:{secret}" in text
    assert "--cert ${CREDENTIALS_DIRECTORY}/tls-cert --key ${CREDENTIALS_DIRECTORY}/tls-key" in text
    # Port 443: that one capability and no other.
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n" in text
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE\n" in text
    verify(tmp_path / "tlh.service")


def test_dry_run_prints_the_unit_and_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    done = install(data_dir, tmp_path / "units", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "ProtectSystem=strict" in done.stdout
    assert not (tmp_path / "units").exists()


def test_an_edited_unit_is_kept_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    unit = tmp_path / "tlh.service"
    assert install(data_dir, tmp_path).returncode == 0
    again = install(data_dir, tmp_path, "--json")
    assert json.loads(again.stdout)["state"] == "unchanged"
    edited = unit.read_text().replace("RestartSec=2s", "RestartSec=30s")
    unit.write_text(edited)

    refused = install(data_dir, tmp_path)
    assert refused.returncode == 4
    assert refused.stderr.strip() == (
        f"error: {unit} was edited since tlh wrote it: put your changes in a drop-in"
        " (systemctl edit tlh), or pass --force to replace it (kept as .bak)"
    )
    assert unit.read_text() == edited

    forced = install(data_dir, tmp_path, "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["state"] == "replaced"
    assert "RestartSec=2s" in unit.read_text()
    assert (tmp_path / "tlh.service.bak").read_text() == edited


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (
            ["--credential", "no-equals-sign"],
            "error: --credential 'no-equals-sign': give NAME=PATH",
        ),
        (
            ["--credential", "k=/nonexistent/file"],
            "error: --credential k: /nonexistent/file is not a file",
        ),
    ],
)
def test_bad_credentials_are_one_line(
    data_dir: Path, tmp_path: Path, extra: list[str], says: str
) -> None:
    done = install(data_dir, tmp_path, *extra)
    assert done.returncode == 5
    assert done.stderr.startswith(says)
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tlh.service").exists()


def test_a_dir_without_a_practice_is_refused(tmp_path: Path) -> None:
    done = install(tmp_path / "empty", tmp_path)
    assert done.returncode == 5
    assert (
        done.stderr.strip()
        == f"error: {tmp_path / 'empty'} holds no practice: run `tlh init` first"
    )
