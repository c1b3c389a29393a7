"""``tlh`` as users run it, for the operations tests: the CLI as a child process, and
``tlh serve`` on a free loopback port with its log in a file."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.serving import free_port, stop, wait_healthy

REPO = Path(__file__).resolve().parents[2]


def tlh(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
    """``python -m tlh ARGS`` with no CLI config of the tester's."""
    return subprocess.Popen(
        [sys.executable, "-m", "tlh", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TLH_CONFIG": os.devnull, **(env or {})},
        **kw,
    )


def tlh_run(*args: str, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``tlh ARGS`` to its end."""
    proc = tlh(*args, **kw)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@contextlib.contextmanager
def serving(
    data_dir: Path,
    *args: str,
    port: int | None = None,
    log: Path | None = None,
    context: ssl.SSLContext | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``tlh serve --data-dir DIR ARGS`` until the block ends (then SIGINT): the process,
    its URL and its log file (stderr). ``context``: it serves https, trusted by that."""
    port = port or free_port()
    log = log or data_dir.parent / f"serve-{port}.log"
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir),
             "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=env,
        )  # fmt: skip
    url = f"{'https' if context else 'http'}://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log, context=context)
        yield proc, url, log
    finally:
        if proc.poll() is None:
            stop(proc)


async def api(
    http: aiohttp.ClientSession, url: str, token: str, method: str, path: str, **kw: Any
) -> Any:
    """``method path`` on a served tlh as the admin or staff member of ``token``: its JSON
    answer (``None`` for another type); anything but 2xx fails the test."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.request(method, f"{url}{path}", headers=headers, **kw) as r:
        assert r.status < 300, await r.text()
        return await r.json() if r.content_type == "application/json" else None


async def redeem(http: aiohttp.ClientSession, url: str, link_url: str) -> str:
    """The join link in ``link_url`` opened by its holder: the link cookie."""
    token = link_url.split("#", 1)[1]
    async with http.post(
        f"{url}/api/v1/link/redeem", json={"token": token}, headers={"Origin": url}
    ) as r:
        assert r.status == 200, await r.text()
        return str(r.cookies["__Host-tlh_link"].value)
