"""A practice on PostgreSQL as a practice sets one up: ``tlh init --store`` into one
server's data dir, more servers with a copy of its ``tlh.toml``, and JSON calls to them."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp

from tests.ops.running import tlh_run
from tests.serving import free_port


def init_on(tmp_path: Path, url: str, name: str = "a") -> tuple[Path, str, Path]:
    """``tlh init --store URL`` into a fresh data dir: the dir, the admin token and the
    key file init wrote (in a config dir of the test's own)."""
    data_dir = tmp_path / name
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TLH_CONFIG": str(tmp_path / "cli.toml")}
    done = tlh_run(
        "--json", "init", "--practice", "Shared Practice", "--tz", "America/New_York",
        "--admin", "admin@example.org", "--data-dir", str(data_dir),
        "--url", f"http://127.0.0.1:{free_port()}", "--public-url", "https://tele.example.org",
        "--store", url,
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["encrypted"] is True
    return data_dir, said["token"], Path(said["key_file"])


def second_server_dir(tmp_path: Path, first: Path) -> Path:
    """Another server's data dir: its own copy of the practice's tlh.toml (which names
    the database), nothing else."""
    other = tmp_path / "b"
    other.mkdir()
    shutil.copy(first / "tlh.toml", other / "tlh.toml")
    return other


async def call(
    url: str, token: str, method: str, path: str, body: object = None
) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as r,
    ):
        return r.status, await r.json()


async def add_clinician(url: str, token: str, email: str) -> None:
    """A telehealth clinician with ``email``, added through ``url``."""
    body = {"email": email, "name": "Lee", "role": "clinician", "telehealth": True}
    status, made = await call(url, token, "POST", "/api/v1/staff", body)
    assert status == 201, made


async def readiness(token: str, *urls: str) -> list[tuple[int, dict]]:  # type: ignore[type-arg]
    """Each server's ``/readyz`` once one of them serves the rooms (bounded wait: the
    first to start takes the rooms' lock moments after it answers ``/healthz``)."""
    async with asyncio.timeout(20):
        while True:
            found = [await call(url, token, "GET", "/readyz") for url in urls]
            if any(status == 200 for status, _ in found):
                return found
            await asyncio.sleep(0.1)  # polling the lock's take, bounded by the timeout
