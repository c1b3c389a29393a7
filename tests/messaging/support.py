"""Shared test pieces: a real SMTP server on loopback, a movable clock, an event
recorder on the real bus, a real store in tmp_path, and message factories."""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.seeding import seed
from tlh.domain.audience import Audience, Shown
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.domain.models import Policy
from tlh.services.context import Actor, Context
from tlh.services.events import Event, EventBus, Subscription
from tlh.store.base import Put
from tlh.store.layout import init_data_dir
from tlh.store.tinystore import TinyStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADMIN = Actor(kind="staff", id="stf_admin")
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tlh//test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:apt_1@tlh\r\nDTSTAMP:20261122T120000Z\r\n"
    "DTSTART:20261123T150000Z\r\nDTEND:20261123T155000Z\r\nSUMMARY:Telehealth session\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def free_port() -> int:
    """A free TCP port on loopback (aiosmtpd's ``Controller(port=0)`` fails).

    Taken below Linux's ephemeral range (32768+): a client retrying a port where nothing
    listens can otherwise connect to itself and squat the port the server comes back on.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RecordingBus(EventBus):
    """The real event bus, also keeping every event for assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(
        self, type: str, data: dict[str, Any], audience: Audience, shown: Shown | None = None
    ) -> None:
        self.published.append((type, data))
        super().publish(type, data, audience, shown)


async def wait_events(sub: Subscription, type: str, n: int, timeout: float = 10.0) -> list[Event]:
    """The next ``n`` events of ``type`` on ``sub`` (others are skipped), or a timeout."""
    got: list[Event] = []

    async def collect() -> None:
        while len(got) < n:
            event = await sub.get()
            if event.type == type:
                got.append(event)

    await asyncio.wait_for(collect(), timeout)
    return got


@asynccontextmanager
async def open_context(data_dir: Path, clock: Clock) -> AsyncIterator[Context]:
    """A context over a real TinyStore in ``data_dir`` (created on first use)."""
    if not (data_dir / "meta.json").exists():
        init_data_dir(data_dir)
    store = TinyStore(data_dir)
    await store.open()
    try:
        if await store.count(Policy) == 0:
            await seed(store, [Put(Policy(practice_name="Test practice"))])
        yield Context(store=store, audit=store.audit, events=RecordingBus(), clock=clock)
    finally:
        await store.close()


def email(n: int = 1, **kw: Any) -> Message:
    """An invitation email with text, HTML and an .ics."""
    base: dict[str, Any] = {
        "id": f"msg_{n:04d}",
        "idempotency_key": f"invite:{n}",
        "kind": MessageKind.INVITATION,
        "channel": MessageChannel.EMAIL,
        "to": f"client{n}@example.com",
        "subject": "Your telehealth session",
        "text": "Join at https://tele.example.org/j#TOKEN\n" + "Plain text. " * 40,
        "html": "<p>Join <a href='https://tele.example.org/j#TOKEN'>here</a></p>",
        "ics": ICS,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "appointment_id": "apt_1",
        "client_id": "cli_1",
    }
    base.update(kw)
    return Message(**base)


def sms(n: int = 1, **kw: Any) -> Message:
    """A reminder text."""
    base: dict[str, Any] = {
        "id": f"msg_s{n:04d}",
        "idempotency_key": f"sms:{n}",
        "kind": MessageKind.REMINDER_SOON,
        "channel": MessageChannel.SMS,
        "to": "+15555550100",
        "text": "Test practice: your session starts at 10:00.",
        "next_attempt_at": NOW,
        "created_at": NOW,
        "appointment_id": "apt_1",
        "client_id": "cli_1",
    }
    base.update(kw)
    return Message(**base)


@dataclass
class Received:
    """What the SMTP server accepted (the handler runs on the server's thread)."""

    envelopes: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emails(self) -> list[EmailMessage]:
        with self.lock:
            datas = [e[2] for e in self.envelopes]
        return [message_from_bytes(d, policy=policy.default) for d in datas]  # type: ignore[misc]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.emails()]


class Handler:
    def __init__(self, received: Received) -> None:
        self.received = received
        #: Set to e.g. "451 try later" or "550 no" to refuse the next messages.
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        with self.received.lock:
            self.received.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1, restartable on the same port (to play "down, then up")."""

    def __init__(self, tls_context: ssl.SSLContext | None = None, port: int | None = None):
        self.port = port or free_port()
        self.received = Received()
        self.handler = Handler(self.received)
        self.tls_context = tls_context
        #: More aiosmtpd ``SMTP`` parameters (an authenticator, ...).
        self.extra: dict[str, Any] = {}
        self._controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls_context is not None:
            kwargs = {"tls_context": self.tls_context, "require_starttls": True}
        kwargs.update(self.extra)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class RecordingTransport:
    """A transport that keeps each message exactly as it was handed over; each send takes
    the next scripted outcome (an exception to raise, or ``None``: sent)."""

    def __init__(self, *script: Exception | None) -> None:
        self.channel = MessageChannel.EMAIL
        self.script = list(script)
        self.got: list[Message] = []

    async def send(self, message: Message) -> str:
        self.got.append(message)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        return f"p-{message.id}"

    async def close(self) -> None:
        """Nothing to release."""
