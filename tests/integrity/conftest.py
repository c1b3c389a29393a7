"""A real ``tlh serve`` process on a free loopback port, as users run it, and a way to
fire many requests at it at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serving import free_port, stop, wait_healthy
from tlh.services.bootstrap import init_practice


@dataclass
class Served:
    """A running ``tlh serve``: its URL, admin token, data dir, process and log file."""

    url: str
    token: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(data_dir: Path, token: str) -> Iterator[Served]:
    """``python -m tlh serve`` on ``data_dir`` until the block ends (then SIGINT); its
    log goes to a file beside the data dir (a pipe nobody reads would fill and stall it)."""
    port = free_port()
    env = {**os.environ, "TLH_CONFIG": os.devnull}
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "tlh", "serve",
                "--data-dir", str(data_dir), "--port", str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log=log)
        yield Served(url, token, data_dir, proc, log)
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("integrity") / "data"
    token = asyncio.run(
        init_practice(data_dir, "Race Practice", "America/New_York", "admin@example.org")
    )
    with serve(data_dir, token) as running:
        yield running


class Api:
    """JSON over one keep-alive session, as the CLI and dashboard speak it."""

    def __init__(self, served: Served, session: aiohttp.ClientSession) -> None:
        self.served = served
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        content_type: str = "application/json",
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.served.token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        async with self.session.request(
            method, self.served.url + path, json=body, data=data, headers=headers
        ) as response:
            answer = await response.json() if response.content_length != 0 else None
            return response.status, answer


@pytest.fixture
async def api(served: Served) -> AsyncIterator[Api]:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Api(served, session)
