"""The real app over a real data dir, through aiohttp's test client, served with
``tlh serve``'s runner settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner

from tlh.server.app import create_app
from tlh.server.run import listening, make_runner
from tlh.server.settings import Settings
from tlh.services.bootstrap import init_practice


class TlhTestServer(TestServer):
    """aiohttp's test server running the app as ``tlh serve`` does (``make_runner``)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(create_app(settings))
        self.settings = settings

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        # aiohttp's test defaults (handler cancellation, an hour's keep-alive) are not
        # what users run: they are left out.
        return make_runner(self.settings, self.app)

    async def start_server(self, **kwargs: Any) -> None:
        await super().start_server(**kwargs)
        assert self.runner is not None
        listening(self.runner)  # as ``tlh serve`` does once it listens


async def serve_app(aiohttp_client: Any, settings: Settings) -> TestClient[Any, Any]:
    """A test client of the app for ``settings``, served as ``tlh serve`` serves it."""
    client: TestClient[Any, Any] = await aiohttp_client(TlhTestServer(settings))
    return client


@dataclass
class Practice:
    client: TestClient
    data_dir: Path
    tokens: dict[str, str]  # role -> token
    ids: dict[str, str]  # role -> staff id

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def call(self, method: str, path: str, role: str = "admin", **kw: Any) -> Any:
        response = await self.client.request(method, path, headers=self.auth(role), **kw)
        return response.status, await response.json()


async def make_practice(data_dir: Path, aiohttp_client: Any, **settings: Any) -> Practice:
    """An admin, a scheduler and a clinician (Lee) on a server with ``settings``."""
    admin_token = await init_practice(
        data_dir, "Test Practice", "America/New_York", "admin@example.org"
    )
    client = await serve_app(aiohttp_client, Settings(data_dir=data_dir, port=0, **settings))
    practice = Practice(client, data_dir, {"admin": admin_token}, {})
    status, me = await practice.call("GET", "/api/v1/me")
    assert status == 200
    practice.ids["admin"] = me["id"]
    for role, email in (("scheduler", "desk@example.org"), ("clinician", "lee@example.org")):
        status, made = await practice.call(
            "POST",
            "/api/v1/staff",
            json={"email": email, "name": role.title(), "role": role, "telehealth": True},
        )
        assert status == 201, made
        practice.tokens[role] = made["token"]
        practice.ids[role] = made["staff"]["id"]
    return practice


@pytest.fixture
async def practice(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Practice]:
    return await make_practice(tmp_path / "data", aiohttp_client)
