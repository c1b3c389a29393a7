"""A message its server was sending when killed is never sent again blindly: two ``tlh
serve`` on one PostgreSQL, the first holding the outbox. Its email reaches a real SMTP
server, which holds the transaction open after the message's data (as a slow relay
would), so the message is ``sending`` when the first server is killed with SIGKILL. The
other server takes the outbox over, marks it failed with the reason staff see ("delivery
unknown after a restart; check and resend"), and goes on sending what comes next."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.messaging.support import Handler, SmtpServer
from tests.ops.running import serving
from tests.store.pg.jobs import JOBS, holds_the_jobs, job_holders, with_smtp
from tests.store.pg.practice import add_clinician, call, init_on, second_server_dir
from tests.store.pg.support import eventually
from tlh.services.outbox import UNKNOWN_AFTER_RESTART

pytestmark = pytest.mark.timeout(150)

STALLED = "sam.stalled@example.org"
AFTER = "alex.after@example.org"


class Stalling(Handler):
    """Holds the first message to ``STALLED`` after its data until ``release`` (the
    sender waits for the reply meanwhile); records every message it is given."""

    def __init__(self, server: SmtpServer) -> None:
        super().__init__(server.received)
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if STALLED in envelope.rcpt_tos and not self.arrived.is_set():
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return reply


def test_a_message_sending_when_its_server_is_killed_is_failed_not_resent(
    tmp_path: Path, pg_url: str
) -> None:
    smtp = SmtpServer()
    stalling = smtp.handler = Stalling(smtp)
    smtp.start()
    try:
        data_dir, token, key_file = init_on(tmp_path, pg_url)
        other = second_server_dir(tmp_path, data_dir)
        for d in (data_dir, other):
            with_smtp(d, smtp.port)
        with serving(data_dir, "--key-file", str(key_file)) as (first, first_url, _):
            asyncio.run(holds_the_jobs(pg_url))
            with serving(other, "--key-file", str(key_file)) as (_, other_url, log):
                asyncio.run(
                    _kill_while_sending(pg_url, first.pid, first_url, other_url, token, stalling)
                )
            assert "Traceback" not in log.read_text()
    finally:
        stalling.release.set()
        smtp.stop()


async def _kill_while_sending(
    url: str, first_pid: int, first_url: str, other_url: str, token: str, stalling: Stalling
) -> None:
    before = await job_holders(url)
    await add_clinician(first_url, token, "lee.stalled@example.org")
    # Five days ahead: no reminder is due, so each client gets the invitation only.
    start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    stalled = await _invited(first_url, token, STALLED, start)
    assert await asyncio.to_thread(stalling.arrived.wait, 30), "the invitation never arrived"
    message = await _message_of(other_url, token, stalled)
    assert message["status"] == "sending"  # handed over, its reply not yet back
    os.kill(first_pid, signal.SIGKILL)

    async def taken_over() -> bool:
        now = await job_holders(url)
        return len(now[JOBS[0]]) == 1 and now[JOBS[0]] != before[JOBS[0]]

    await eventually(taken_over, within=30)

    async def failed() -> bool:
        return (await _message_of(other_url, token, stalled))["status"] == "failed"

    await eventually(failed, within=30)
    message = await _message_of(other_url, token, stalled)
    assert message["last_error"] == UNKNOWN_AFTER_RESTART
    # The relay answers at last; what the other server sends next reaches its client,
    # and the stalled message was not sent a second time before it (one outbox, in order).
    stalling.release.set()
    after = await _invited(other_url, token, AFTER, start + timedelta(hours=1))

    async def sent_after() -> bool:
        return (await _message_of(other_url, token, after))["status"] == "sent"

    await eventually(sent_after, within=30)
    to = [str(m["To"]) for m in stalling.received.emails()]
    assert sum(STALLED in t for t in to) == 1, to
    assert sum(AFTER in t for t in to) == 1, to
    assert (await _message_of(other_url, token, stalled))["status"] == "failed"


async def _invited(url: str, token: str, email: str, start: datetime) -> str:
    """A telehealth visit for a new client with ``email``, booked without notices, then
    invited by email through ``url``: the appointment's id."""
    status, client = await call(url, token, "POST", "/api/v1/clients", {
        "name": "Client " + email.split("@")[0], "email": email})  # fmt: skip
    assert status == 201, client
    status, booked = await call(url, token, "POST", "/api/v1/appointments?notify=0", {
        "client_ids": [client["id"]], "clinicians": ["lee.stalled@example.org"],
        "start": start.isoformat(), "duration_min": 50, "modality": "telehealth",
        "status": "confirmed"})  # fmt: skip
    assert status == 201, booked
    appt_id: str = booked["items"][0]["id"]
    status, sent = await call(url, token, "POST", "/api/v1/invites", {
        "appointment_id": appt_id, "channel": "email"})  # fmt: skip
    assert status == 201, sent
    return appt_id


async def _message_of(url: str, token: str, appt_id: str) -> dict[str, Any]:
    """The one outbox message of the appointment."""
    status, outbox = await call(url, token, "GET", "/api/v1/outbox")
    assert status == 200, outbox
    mine = [m for m in outbox["items"] if m.get("appointment_id") == appt_id]
    assert len(mine) == 1, [
        (m["kind"], m["channel"], m["status"], m.get("last_error")) for m in mine
    ]
    return mine[0]
