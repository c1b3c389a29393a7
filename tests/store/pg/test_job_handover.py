"""The run-once jobs change hands: two ``tlh serve`` on one PostgreSQL, the first holding
the outbox and the reminder clock (advisory locks, ``tlh.store.pg.singleton``). It goes
(killed with SIGKILL, or cut off from the database for a while) and the other takes both
jobs over: a reminder that came due before and an invitation queued after each reach a
real SMTP server once; the one cut off, back, leaves the jobs where they are."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.messaging.support import SmtpServer
from tests.ops.running import serving
from tests.store.pg.failover import connect_as
from tests.store.pg.jobs import JOBS, holds_the_jobs, job_holders, with_smtp
from tests.store.pg.practice import add_clinician, call, init_on, second_server_dir
from tests.store.pg.support import cut_off, eventually, new_role

pytestmark = pytest.mark.timeout(150)

CLIENT_EMAIL = "rowan.handover@example.org"


async def ready(url: str, token: str) -> bool:
    """Whether the server at ``url`` answers ``/readyz`` 200."""
    status, _ = await call(url, token, "GET", "/readyz")
    return status == 200


@pytest.mark.parametrize("how", ["killed", "cut off"])
def test_the_first_servers_jobs_go_on_on_the_other_once(
    tmp_path: Path, pg_url: str, how: str
) -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        data_dir, token, key_file = init_on(tmp_path, pg_url)
        other = second_server_dir(tmp_path, data_dir)
        role = asyncio.run(new_role(pg_url)) if how == "cut off" else None
        if role is not None:
            connect_as(data_dir, pg_url, role)  # so the database can refuse it alone
        for d in (data_dir, other):
            with_smtp(d, smtp.port)
        with serving(data_dir, "--key-file", str(key_file)) as (first, first_url, _):
            asyncio.run(holds_the_jobs(pg_url))
            with serving(other, "--key-file", str(key_file)) as (_, other_url, log):
                went = Went(first, role)
                asyncio.run(_hand_over(pg_url, went, first_url, other_url, token, smtp))
            assert "Traceback" not in log.read_text()
    finally:
        smtp.stop()


class Went:
    """How the first server goes: killed, or cut off (``role``) from the database for a
    while. Nobody waits in its rooms, so the other does not take its id over: let back
    in, it carries on, beside the other that now runs the jobs."""

    def __init__(self, proc: subprocess.Popen[bytes], role: str | None) -> None:
        self.proc, self.role = proc, role

    @contextlib.asynccontextmanager
    async def away(self, url: str) -> AsyncIterator[None]:
        if self.role is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            yield
            return
        async with cut_off(url, self.role):
            yield


async def _hand_over(
    url: str, went: Went, first_url: str, other_url: str, token: str, smtp: SmtpServer
) -> None:
    before = await job_holders(url)
    # A visit whose 24-hour reminder is due now, written while the first server runs.
    await add_clinician(first_url, token, "lee.handover@example.org")
    status, client = await call(first_url, token, "POST", "/api/v1/clients", {
        "name": "Rowan Handover", "email": CLIENT_EMAIL})  # fmt: skip
    assert status == 201, client
    start = datetime.now(UTC) + timedelta(hours=23)
    status, booked = await call(first_url, token, "POST", "/api/v1/appointments?notify=0", {
        "client_ids": [client["id"]], "clinicians": ["lee.handover@example.org"], "start": start.isoformat(),
        "duration_min": 50, "modality": "telehealth", "status": "confirmed"})  # fmt: skip
    assert status == 201, booked
    appt_id = booked["items"][0]["id"]
    async with went.away(url):

        async def taken_over() -> bool:
            now = await job_holders(url)
            return all(
                len(now[j]) == 1 and now[j] != before[j] and now[j][0][1] != went.role for j in JOBS
            )

        await eventually(taken_over, within=30)
        # An invitation queued on the other server, the first one gone.
        status, sent = await call(other_url, token, "POST", "/api/v1/invites", {
            "appointment_id": appt_id, "channel": "email"})  # fmt: skip
        assert status == 201, sent

        def to_client() -> list[str]:
            return [str(m["Subject"]) for m in smtp.received.emails() if CLIENT_EMAIL in m["To"]]

        # Both reach the client: the reminder (the other's clock) and the invitation (its
        # outbox); the first server's tick may have queued the reminder before it went.
        await eventually(lambda: len(to_client()) >= 2, within=60)
        status, outbox = await call(other_url, token, "GET", "/api/v1/outbox")
        assert status == 200, outbox
    mine = [m for m in outbox["items"] if m.get("appointment_id") == appt_id]
    kinds = sorted(m["kind"] for m in mine)
    assert len([k for k in kinds if k.startswith("reminder")]) == 1, kinds
    assert len([k for k in kinds if k == "invitation"]) == 1, kinds
    assert all(m["status"] == "sent" for m in mine), [m["status"] for m in mine]
    assert len(to_client()) == 2  # once each
    if went.role is not None:
        # Back, the first server serves again and leaves the jobs where they are.
        await eventually(lambda: ready(first_url, token), within=30)
        now = await job_holders(url)
        assert all(now[j][0][1] != went.role for j in JOBS)
        assert len(to_client()) == 2
