"""A data dir the server cannot write: read-only, full, world-writable. Each gets a clear
one-line reason, the right status, nothing internal in an answer, and nothing lost.

The read-only and full disks are real: a read-only bind mount and a small tmpfs, made
in a private mount namespace for the server alone (skipped where that is not allowed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.serving import free_port, stop, wait_healthy
from tlh.services.bootstrap import init_practice

from .conftest import Api, Served


def _namespaces_or_skip() -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not permitted here: {probe.stderr.strip()}")


def _practice(tmp_path: Path) -> tuple[Path, str]:
    data_dir = tmp_path / "data"
    token = asyncio.run(init_practice(data_dir, "Disk Practice", "UTC", "admin@example.org"))
    return data_dir, token


def _serve_once(data_dir: Path, *wrap: str) -> subprocess.CompletedProcess[str]:
    """``tlh serve`` expected to refuse at start-up (bounded by a timeout)."""
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir)]
    argv += ["--port", str(free_port())]
    return subprocess.run([*wrap, *argv], capture_output=True, text=True, env=env, timeout=60)


def test_a_read_only_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    _namespaces_or_skip()
    data_dir, _ = _practice(tmp_path)
    mount = f"mount --bind {data_dir} {data_dir} && mount -o remount,bind,ro {data_dir} && "
    done = _serve_once(data_dir, "unshare", "-m", "sh", "-c", mount + 'exec "$@"', "sh")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: cannot open the data dir {data_dir}: read-only file system"]


def test_a_world_writable_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir, _ = _practice(tmp_path)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700  # as `tlh init` makes it
    data_dir.chmod(0o777)
    done = _serve_once(data_dir)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"data dir {data_dir} is writable by every user" in done.stderr


@contextlib.contextmanager
def _serve_on_small_disk(source: Path, token: str, tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    """The practice copied onto a 4 MiB tmpfs filled to its last 128 KiB, served from a
    private mount namespace; yields the server and the filler file (as seen from here,
    through the server's /proc root) whose removal frees the disk."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    port = free_port()
    script = (
        f"mount -t tmpfs -o size=4m tmpfs {mnt} && cp -a {source} {mnt}/data && "
        f"dd if=/dev/zero of={mnt}/spare bs=128k count=1 2>/dev/null && "
        f"(dd if=/dev/zero of={mnt}/filler bs=64k 2>/dev/null; true) && rm {mnt}/spare && "
        'exec "$@"'
    )
    log = tmp_path / "serve.log"
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    argv = [sys.executable, "-m", "tlh", "serve", "--data-dir", f"{mnt}/data"]
    argv += ["--port", str(port)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", script, "sh", *argv], stderr=sink, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log)
        yield (
            Served(url, token, mnt / "data", proc, log),
            Path(f"/proc/{proc.pid}/root{mnt}/filler"),
        )
    finally:
        stop(proc)


@pytest.fixture
def practice(tmp_path: Path) -> tuple[Path, str]:
    return _practice(tmp_path / "source")


async def test_a_full_disk_answers_507_loses_nothing_and_says_so_in_the_log(
    practice: tuple[Path, str], tmp_path: Path
) -> None:
    _namespaces_or_skip()
    with _serve_on_small_disk(*practice, tmp_path) as (served, filler):
        async with aiohttp.ClientSession() as session:
            api = Api(served, session)
            stored: list[str] = []
            answer: tuple[int, dict[str, object]] = (0, {})
            for n in range(2000):  # the disk fills long before
                answer = await api.call("POST", "/api/v1/clients", {"name": f"Fullness Person {n}"})
                if answer[0] != 201:
                    break
                stored.append(str(answer[1]["id"]))
            status, body = answer
            assert status == 507, body
            error = body["error"]
            assert isinstance(error, dict)
            assert error["code"] == "storage_full"
            assert "/" not in str(error["message"])  # no server path
            assert "disk is full" in str(error["message"])
            assert len(stored) > 5
            # A read that cannot be audited is not served either. The audit log's last
            # page may still hold a few lines (how many depends on record sizes): reads
            # are served, each audited, until its line no longer fits.
            reads = [(await api.call("GET", f"/api/v1/clients/{stored[0]}"))[0]]
            while reads[-1] == 200 and len(reads) < 100:
                reads.append((await api.call("GET", f"/api/v1/clients/{stored[0]}"))[0])
            assert reads[-1] == 507, reads
            print(f"reads served before the audit log was full: {len(reads) - 1}")
            # Room again: the server carries on without a restart, and what was stored
            # before is all there.
            filler.unlink()
            for cid in stored:
                assert (await api.call("GET", f"/api/v1/clients/{cid}"))[0] == 200
            again = await api.call("POST", "/api/v1/clients", {"name": "After Space Freed"})
            assert again[0] == 201, again
            _, verdict = await api.call("GET", "/api/v1/audit/verify")
            assert verdict["ok"], verdict["problems"]
        log = served.log_text()
    assert "disk is full" in log
    assert "Traceback" not in log
    assert "Fullness Person" not in log


def test_backups_and_exports_are_written_for_their_owner_only(
    served: Served, tmp_path: Path
) -> None:
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    auth = ["--url", served.url, "--token", served.token]
    backup = tmp_path / "practice.tar.gz"
    export = tmp_path / "audit.jsonl"
    for argv in (["backup", str(backup)], ["audit", "export", "--output", str(export)]):
        done = subprocess.run(
            [sys.executable, "-m", "tlh", *auth, *argv],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    for path in (backup, export):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
