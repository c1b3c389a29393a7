"""A real server on a loopback port (own thread and loop) that a test can restart,
and a practice with a clinician whose appointment starts now."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.serving import free_port
from tlh.client import TlhClient

if TYPE_CHECKING:
    from tlh.server.settings import Settings


class Server:
    """A tlh server (``tlh serve``'s runner) on 127.0.0.1:PORT in a background loop;
    stop/start keep the port."""

    def __init__(self, data_dir: Path, keepalive_timeout_s: float | None = None) -> None:
        self.data_dir = data_dir
        self.keepalive_timeout_s = keepalive_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner: Any = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def settings(self) -> Settings:
        """The server's settings (its data dir and port; the rest as ``tlh serve``'s)."""
        from tlh.server.settings import Settings

        found = Settings(data_dir=self.data_dir, port=self.port)
        if self.keepalive_timeout_s is not None:
            found = replace(found, keepalive_timeout_s=self.keepalive_timeout_s)
        return found

    async def _start(self) -> None:
        from tlh.server.run import start

        self.runner = await start(self.settings(), reuse_address=True)

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def start(self) -> None:
        """Serve (from the test's loop: the server's loop does the work)."""
        await asyncio.to_thread(self._run, self._start())

    async def stop(self) -> None:
        """Stop serving: open sockets are closed, the port is freed."""
        await asyncio.to_thread(self._run, self._stop())

    def close(self) -> None:
        self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=20)
        self.loop.close()


@dataclass
class Practice:
    """The server, its admin token, and one clinician with an appointment starting now."""

    server: Server
    admin_token: str
    clinician_token: str
    clinician_email: str
    appt_id: str
    client_name: str

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self) -> TlhClient:
        return TlhClient(self.url, self.admin_token)

    def clinician(self) -> TlhClient:
        return TlhClient(self.url, self.clinician_token)


async def book(server: Server, admin_token: str, client_name: str) -> Practice:
    email = f"clin-{secrets.token_hex(4)}@example.org"
    async with TlhClient(server.url, admin_token) as admin:
        made = await admin.staff.add(email, "Dr Lee", "clinician", telehealth=True)
        client = await admin.clients.add(client_name, email="ana@example.org")
        await admin.consents.verbal(client.id, "agreed by phone")
        appt = (
            await admin.appointments.add(
                client_ids=[client.id],
                clinicians=[email],
                start=(datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                duration_min=50,
                modality="telehealth",
                status="confirmed",
            )
        )[0]
    return Practice(server, admin_token, made.token, email, appt.id, client_name)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "keepalive_s(seconds): the server closes idle connections after this (tlh serve: 75)",
    )


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    from tlh.services.bootstrap import init_practice

    data_dir = tmp_path / "data"
    keepalive = request.node.get_closest_marker("keepalive_s")
    server = Server(data_dir, keepalive.args[0] if keepalive else None)
    server.admin_token = asyncio.run(  # type: ignore[attr-defined]
        init_practice(data_dir, "TUI Practice", "America/New_York", "admin@example.org")
    )
    server._run(server._start())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def practice(server: Server) -> Practice:
    return await book(server, server.admin_token, f"Ana{secrets.token_hex(3)}")  # type: ignore[attr-defined]
