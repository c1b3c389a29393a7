"""Issue 3 end to end: ``tlh invite send --date D`` for 1,000 telehealth appointments.

The real ``tlh serve`` (a subprocess on a temp data dir whose config chooses the smtp
transport) sends through aiosmtpd in another process on loopback; the real CLI asks for
the day's invitations. Each message carries an ``.ics``.

Run 1: seconds from the CLI's start to the last message accepted by the SMTP server
(target <= 5 s). Run 2 (another day of 1,000): the SMTP server is killed after a third
of the messages and started again 10 s later; every message must arrive exactly once
(Message-IDs and idempotency keys counted at the SMTP side). The figure printed with it
shows how long the outbox's retry backoff keeps mail waiting after the server is back.

    .venv/bin/python bench/bench_invite_day.py [--count 1000] [--outage 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_invites import SinkServer  # the aiosmtpd child process, shared

from tests.messaging.support import free_port
from tests.seeding import seed as seed_store
from tests.serving import stop, wait_healthy
from tlh.domain.models import Appointment, Client, Modality, Role, Staff, Status
from tlh.domain.timeutil import zone
from tlh.services.bootstrap import init_practice, local_context
from tlh.services.context import new_id
from tlh.store.base import Put

TZ = "America/New_York"
PER_CLINICIAN = 10  # 50-minute sessions on the hour, 08:00 to 17:00
PATCHED = (
    "import sys, datetime, tlh.domain.messages as m; "
    "m.RETRY_BASE = datetime.timedelta(seconds={}); "
    "from tlh.cli.main import main; main(sys.argv[1:])"
)


async def seed(data_dir: Path, days: list[datetime], count: int) -> str:
    """A practice with ``count`` telehealth appointments on each of ``days`` (one commit
    per table: seeding is not what is measured). Returns the admin token."""
    token = await init_practice(data_dir, "Bench Practice", TZ, "admin@example.org")
    async with local_context(data_dir) as ctx:
        now = ctx.clock()
        clinicians = [
            Staff(
                id=new_id("stf"),
                email=f"clin{n}@example.org",
                name=f"Clinician {n}",
                role=Role.CLINICIAN,
                telehealth=True,
                created_at=now,
                updated_at=now,
            )
            for n in range(-(-count // PER_CLINICIAN))
        ]
        clients = [
            Client(
                id=new_id("cli"),
                name=f"Client {n}",
                email=f"client{n}@example.com",
                created_at=now,
                updated_at=now,
            )
            for n in range(count)
        ]
        appts = [
            Appointment(
                id=new_id("apt"),
                modality=Modality.TELEHEALTH,
                status=Status.CONFIRMED,
                clinician_ids=(clinicians[n // PER_CLINICIAN].id,),
                client_ids=(clients[n].id,),
                start=day + timedelta(hours=n % PER_CLINICIAN),
                duration_min=50,
                created_at=now,
                updated_at=now,
            )
            for day in days
            for n in range(count)
        ]
        await seed_store(ctx.store, [Put(s) for s in clinicians])
        await seed_store(ctx.store, [Put(c) for c in clients])
        await seed_store(ctx.store, [Put(a) for a in appts])
    return token


async def wait_for(sink: SinkServer, count: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while len(sink.accepted) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # polling a counter the reader task fills


async def invite_day(url: str, token: str, day: str) -> float:
    """Runs ``tlh invite send --date`` and returns its start time (time.time())."""
    env = {**os.environ, "TLH_URL": url, "TLH_TOKEN": token, "TLH_CONFIG": os.devnull}
    t0 = time.time()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tlh", "invite", "send", "--date", day, "--json",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"tlh invite send failed ({proc.returncode}): {err.decode()[-300:]}")
    print(f"  CLI returned after {time.time() - t0:.2f} s: {out.decode().strip()[:120]}")
    return t0


def summary(sink: SinkServer, count: int, t0: float) -> tuple[int, int, float]:
    ids = Counter(mid for _, mid in sink.accepted)
    dupes = sum(n - 1 for n in ids.values() if n > 1)
    last = max((at for at, _ in sink.accepted), default=t0)
    print(
        f"  accepted {len(sink.accepted)} of {count}; distinct Message-IDs {len(ids)}, "
        f"duplicates {dupes}; last accepted {last - t0:.2f} s after the command started"
    )
    return len(ids), dupes, last - t0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument(
        "--retry-base", type=float, help="what-if: the outbox's first retry delay in seconds"
    )
    args = parser.parse_args()
    count = args.count
    tz = zone(TZ)
    # Three days ahead: out of the 24-hour reminder's reach, so only invitations flow.
    base = (datetime.now(tz) + timedelta(days=3)).replace(hour=8, minute=0, second=0)
    base = base.replace(microsecond=0)
    days = [base, base + timedelta(days=1)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t = time.perf_counter()
        token = await seed(data, days, count)
        print(f"seeded {2 * count} appointments in {time.perf_counter() - t:.1f} s")
        sink = SinkServer(free_port())
        await sink.start()
        config = Path(tmp) / "tlh.toml"
        config.write_text(
            '[messaging]\nemail = "smtp"\n\n[smtp]\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\nsecurity = "none"\n'
            'from_address = "Bench Practice <practice@example.org>"\ntimeout_s = 5\n'
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = ["serve", "--data-dir", str(data), "--config", str(config), "--port", str(port)]
        launch = ["-m", "tlh"]
        if args.retry_base is not None:
            # What-if: the outbox's first retry delay, patched in the server process only.
            launch = ["-c", PATCHED.format(args.retry_base)]
        server = subprocess.Popen(
            [sys.executable, *launch, *serve],
            env={**os.environ, "TLH_CONFIG": os.devnull},
        )  # fmt: skip
        try:
            wait_healthy(url, server)
            print(f"run 1: {count} invitations for {days[0].date()} (target <= 5 s)")
            t0 = await invite_day(url, token, days[0].date().isoformat())
            await wait_for(sink, count, 120)
            summary(sink, count, t0)

            print(f"run 2: {count} invitations, SMTP server down {args.outage:.0f} s mid-way")
            sink.accepted.clear()
            t0 = await invite_day(url, token, days[1].date().isoformat())
            await wait_for(sink, count // 3, 60)
            await sink.stop()
            down_at = time.time()
            print(f"  SMTP server killed after {len(sink.accepted)} messages")
            await asyncio.sleep(args.outage)  # the outage itself, not a synchronisation
            await sink.start()
            back_at = time.time()
            print(f"  SMTP server back after {back_at - down_at:.1f} s")
            await wait_for(sink, count, 600)
            distinct, dupes, _ = summary(sink, count, t0)
            last = max(at for at, _ in sink.accepted)
            print(
                f"  last message accepted {last - back_at:.1f} s after the SMTP server "
                f"came back; all delivered exactly once: {distinct == count and dupes == 0}"
            )
        finally:
            stop(server, timeout_s=30)
            await sink.stop()


if __name__ == "__main__":
    asyncio.run(main())
