"""tlh as ``pipx install .`` gives it: a wheel built from this tree, installed in a fresh
venv, run outside the repo. ``tlh init``, ``tlh serve`` (its pages, static files and
default templates from the installed package) and ``tlh demo`` must work there.

The fresh venv borrows the dependencies of the test's own environment (a path file, not
its site: the test environment's editable install of tlh stays out), so the test needs
no network for them; the tlh it runs is the wheel's alone, which it checks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.serving import free_port, stop, wait_healthy

from .running import REPO

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "build", reason="the wheel is built with `python -m build` (pip install build)"
    )
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy of the tree: the build's own leftovers (build/, *.egg-info) stay out of it.
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "tlh", source / "tlh", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("tlh-*.whl")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "borrowed-deps.pth").write_text("\n".join(ours) + "\n")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return env_dir


def outside(venv: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a practice's machine: no repo on the path, its own config."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TLH_DATA_DIR")}
    env.update(
        HOME=str(tmp_path / "home"),
        TLH_CONFIG=str(tmp_path / "home" / "tlh-cli.toml"),
        PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
    )
    return env


def test_the_installed_tlh_is_the_wheels(venv: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tlh, tlh.server; print(tlh.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=outside(venv, tmp_path),
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(venv)), where
    assert str(REPO) not in where


def test_init_and_serve_outside_the_repo(venv: Path, tmp_path: Path) -> None:
    env, tlh = outside(venv, tmp_path), str(venv / "bin" / "tlh")
    port = free_port()
    data = tmp_path / "practice"
    made = subprocess.run(
        [tlh, "init", "--practice", "Wheel Practice", "--tz", "UTC", "--admin", "a@example.org",
         "--data-dir", str(data), "--url", f"http://127.0.0.1:{port}", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [tlh, "serve", "--data-dir", str(data)],
            stdout=subprocess.DEVNULL, stderr=sink, cwd=tmp_path, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log)
        with urllib.request.urlopen(f"{url}/j", timeout=10) as r:
            page = r.read().decode()
        assert r.status == 200
        with urllib.request.urlopen(f"{url}/j.js", timeout=10) as r:
            assert r.status == 200
        assert "/j.js" in page
        # The Spanish catalogue travels in the wheel, read as it is (no build step).
        with urllib.request.urlopen(f"{url}/i18n/es.json", timeout=10) as r:
            assert json.loads(r.read())["Waiting room"] == "Sala de espera"
        listed = subprocess.run(
            [tlh, "staff", "list", "--json"],
            capture_output=True, text=True, cwd=tmp_path, env={**env, "TLH_TOKEN": token},
            check=False,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
    finally:
        stop(proc)


def test_the_demo_runs_outside_the_repo(venv: Path, tmp_path: Path) -> None:
    env, tlh = outside(venv, tmp_path), str(venv / "bin" / "tlh")
    port = free_port()
    proc = subprocess.Popen(
        [tlh, "demo", "--port", str(port), "--no-dashboard", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the demo's one JSON line once it serves
        assert first, proc.stderr.read() if proc.stderr else ""
        info = json.loads(first)
        assert str(port) in json.dumps(info)
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), proc.returncode
