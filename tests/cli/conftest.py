"""A real server on a free loopback port (own thread and loop) and a CLI runner for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from typer.testing import CliRunner, Result

from tlh.server.run import bound_port, start
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice


class ServerThread:
    """A tlh server for ``settings`` (``tlh serve``'s runner) in a background loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        """The running application (to seed its store directly)."""
        assert self.runner is not None
        return self.runner.app

    def start(self) -> str:
        self.thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=20)
        return f"http://127.0.0.1:{port}"

    async def _start(self) -> int:
        self.runner = await start(self.settings)
        return bound_port(self.runner)

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=20)
        self.loop.close()


@dataclass
class Live:
    """A running practice: its URL, admin token, data dir and a config file path."""

    url: str
    token: str
    data_dir: Path
    config: Path
    runner: CliRunner = field(default_factory=CliRunner)

    def env(self) -> dict[str, str | None]:
        return {
            "TLH_CONFIG": str(self.config),
            "TLH_URL": None,
            "TLH_TOKEN": None,
            "TLH_DEBUG": None,
            "COLUMNS": "200",
        }

    def run(self, *args: str, token: str | None = None) -> Result:
        """``tlh --url URL --token TOKEN args...``; exit code, stdout, stderr kept apart."""
        from tlh.cli.main import app

        argv = ["--url", self.url, "--token", token or self.token, *args]
        return self.runner.invoke(app, argv, env=self.env())


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("cli")
    data_dir = root / "data"
    token = asyncio.run(
        init_practice(
            data_dir, "CLI Practice", "America/New_York", "admin@example.org", "Ada Admin"
        )
    )
    server = ServerThread(Settings(data_dir=data_dir, port=0))
    url = server.start()
    try:
        yield Live(url, token, data_dir, root / "config.toml")
    finally:
        server.stop()


@pytest.fixture
def offline(tmp_path: Path) -> Live:
    """CLI plumbing without a server: a URL where nothing listens."""
    from tests.serving import free_port

    return Live(
        f"http://127.0.0.1:{free_port()}", "tlh_not_a_real_token", tmp_path, tmp_path / "c.toml"
    )
