"""1,000 invitation emails through the outbox to a local SMTP server (aiosmtpd).

Run 1: seconds from ``enqueue`` to the last message accepted by the server (target 5 s).
Run 2: the SMTP server is stopped for 10 s in the middle; every message must still be
delivered exactly once (Message-IDs counted at the server). Retries follow the real
backoff (30 s after a failure), so run 2 takes about a minute.

    .venv/bin/python bench/bench_invites.py [--count 1000] [--outage 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.messaging.support import RecordingBus, free_port, open_context
from tlh.domain.messages import Message, MessageChannel, MessageKind
from tlh.messaging.config import SmtpConfig
from tlh.messaging.mime import email_bytes
from tlh.messaging.smtp import SmtpTransport
from tlh.services.context import SYSTEM, utcnow
from tlh.services.outbox import OutboxWorker, enqueue

FROM = "Example Practice <practice@example.org>"
PARAGRAPH = (
    "Your telehealth session with Example Practice is on Monday, November 23 at 10:00 AM "
    "(America/New_York). A few minutes before, open the link below on your phone or "
    "computer; you will be asked to allow your camera and microphone. "
)


def ics(n: int, start: datetime) -> str:
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    end = (start + timedelta(minutes=50)).strftime("%Y%m%dT%H%M%SZ")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tlh//bench//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VEVENT\r\nUID:apt_{n:05d}@tlh\r\nDTSTAMP:{stamp}\r\nDTSTART:{stamp}\r\n"
        f"DTEND:{end}\r\nSUMMARY:Telehealth session\r\n"
        "DESCRIPTION:Join at https://tele.example.org/j\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def messages(count: int, run: str) -> list[Message]:
    now = utcnow()
    text = (PARAGRAPH * 4) + "\nhttps://tele.example.org/j#" + "T" * 43 + "\n"
    html = "<html><body>" + f"<p>{PARAGRAPH}</p>" * 4 + "<a href='#'>Join</a></body></html>"
    return [
        Message(
            id=f"msg_{run}{n:05d}",
            idempotency_key=f"bench:{run}:{n}",
            kind=MessageKind.INVITATION,
            channel=MessageChannel.EMAIL,
            to=f"client{n}@example.com",
            subject="Your telehealth session",
            text=text,
            html=html,
            ics=ics(n, now + timedelta(days=1)),
            next_attempt_at=now,
            created_at=now,
            appointment_id=f"apt_{n:05d}",
        )
        for n in range(count)
    ]


class SinkServer:
    """aiosmtpd in a child process (a mail server is another process, with its own
    core); it prints ``<unix time> <Message-ID>`` per accepted message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.accepted: list[tuple[float, str]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(self.port), stdout=subprocess.PIPE
        )
        assert self._proc.stdout is not None
        first = await self._proc.stdout.readline()
        if first != b"ready\n":
            raise SystemExit(f"the SMTP sink did not start on port {self.port}: {first!r}")
        self._reader = asyncio.create_task(self._read(self._proc.stdout))

    async def _read(self, out: asyncio.StreamReader) -> None:
        while line := await out.readline():
            at, _, mid = line.decode().strip().partition(" ")
            self.accepted.append((float(at), mid))

    async def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()  # like a mail server that dies
            await self._proc.wait()
            assert self._reader is not None
            await self._reader
            self._proc = None


def serve(port: int) -> None:
    """The child: an SMTP sink on ``port`` printing each accepted Message-ID."""
    from aiosmtpd.controller import Controller

    pattern = re.compile(rb"^Message-ID:\s*(\S+)", re.M | re.I)

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            found = pattern.search(envelope.content)  # type: ignore[attr-defined]
            mid = found.group(1).decode() if found else "-"
            sys.stdout.write(f"{time.time():.6f} {mid}\n")
            sys.stdout.flush()
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


async def run(count: int, outage_s: float, workdir: Path, name: str) -> None:
    server = SinkServer(free_port())
    await server.start()
    try:
        config = SmtpConfig(host="127.0.0.1", port=server.port, security="none", from_address=FROM)
        async with open_context(workdir / name, lambda: datetime.now(UTC)) as ctx:  # type: ignore[arg-type]
            assert isinstance(ctx.events, RecordingBus)
            sub = ctx.events.subscribe(maxsize=10 * count)
            worker = OutboxWorker(ctx, {MessageChannel.EMAIL: SmtpTransport(config)})
            await worker.start()
            batch = messages(count, name)
            size = len(email_bytes(batch[0], FROM))
            t0 = time.time()
            await enqueue(ctx, SYSTEM, batch)
            done = 0
            stopped_at: float | None = None
            while done < count:
                if outage_s and stopped_at is None and len(server.accepted) >= count // 3:
                    await server.stop()
                    stopped_at = time.time()
                    print(f"  SMTP server killed after {len(server.accepted)} messages")
                if (
                    stopped_at is not None
                    and stopped_at > 0
                    and time.time() - stopped_at >= outage_s
                ):
                    await server.start()
                    print(f"  SMTP server back after {time.time() - stopped_at:.1f} s")
                    stopped_at = -1.0
                    worker.wake()
                try:
                    event = await asyncio.wait_for(sub.get(), 0.5)
                except TimeoutError:
                    continue
                if event.type in ("message.sent", "message.failed"):
                    done += 1
            await worker.close()
    finally:
        await server.stop()  # never leave the child behind
    failed = [e for e in await ctx.store.all(Message) if e.status != "sent"]  # type: ignore[attr-defined]
    ids = Counter(mid for _, mid in server.accepted)
    dupes = sum(n - 1 for n in ids.values() if n > 1)
    last = max(at for at, _ in server.accepted)
    print(
        f"  {count} messages of {size / 1024:.1f} KB: last accepted {last - t0:.2f} s after "
        f"enqueue; distinct Message-IDs at the server {len(ids)}, duplicates {dupes}, "
        f"not sent {len(failed)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("run 1: burst through a local SMTP server (target <= 5 s)")
        await run(args.count, 0.0, Path(tmp), "a")
        print(f"run 2: the SMTP server stopped for {args.outage:.0f} s in the middle")
        await run(args.count, args.outage, Path(tmp), "b")


if __name__ == "__main__":
    asyncio.run(main())
