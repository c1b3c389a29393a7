"""What the embedded store's other history tables weigh in a server's memory: the ones
that grow with the number of visits (messages, join links, session segments,
consents) stay in memory whole (only appointments are split into hot and cold months).

For each table it stores ``--count`` records of a realistic size (a reminder email is
its text and HTML bodies, as the default templates render them: ~0.9 kB + ~2.8 kB),
closes the store, then opens it in a fresh process and reports the resident memory the
table adds per record and per 1,000,000 appointments (at the ratio given for each: a
practice sends ~2.5 messages per visit, makes a link per telehealth visit, ...).

Run: ``.venv/bin/python bench/history_tables.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tlh.domain.consent import ConsentDecision, ConsentRecord
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import Message, MessageChannel, MessageKind, MessageStatus
from tlh.domain.sessions import Participation, SessionSegment
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note_ops
from tlh.store.tinystore import TinyStore, init_data_dir

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
TEXT = "x" * 880
HTML = "<p>" + "y" * 2780 + "</p>"


def message(n: int) -> Message:
    return Message(
        id=f"msg_{n:08d}", idempotency_key=f"reminder_24h:apt_{n:08d}:email",
        kind=MessageKind.REMINDER_24H, channel=MessageChannel.EMAIL,
        to=f"person{n}@example.org", subject="Your appointment tomorrow", text=TEXT,
        html=HTML, status=MessageStatus.SENT, next_attempt_at=T0, created_at=T0,
        sent_at=T0, appointment_id=f"apt_{n:08d}", client_id=f"cli_{n % 20000:06d}",
    )  # fmt: skip


def link(n: int) -> JoinLink:
    return JoinLink(
        id=f"lnk_{n:08d}", token_hash=f"{n:064x}", purpose=LinkPurpose.JOIN,
        participant=ParticipantKind.CLIENT, client_id=f"cli_{n % 20000:06d}",
        appointment_id=f"apt_{n:08d}", channel=Channel.EMAIL, created_at=T0,
        created_by="system", valid_from=T0, valid_until=T0 + timedelta(hours=2),
    )  # fmt: skip


def session(n: int) -> SessionSegment:
    return SessionSegment(
        id=f"ses_{n:08d}", appointment_id=f"apt_{n:08d}", clinician_id="stf_01",
        started_at=T0, started_by="stf_01", ended_at=T0 + timedelta(minutes=50),
        ended_by="stf_01",
        participants=(
            Participation(peer_id="stf_01", kind="staff", staff_id="stf_01", joined_at=T0),
            Participation(
                peer_id=f"ent_{n}", kind="client", client_id=f"cli_{n % 20000:06d}",
                channel="email", joined_at=T0,
            ),
        ),
    )  # fmt: skip


def consent(n: int) -> ConsentRecord:
    return ConsentRecord(
        id=f"cns_{n:08d}", client_id=f"cli_{n:06d}", decision=ConsentDecision.ACCEPTED,
        form_hash=f"{n:064x}", at=T0, signed_name="A Person", source="link",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    )  # fmt: skip


#: Table, record factory, records per appointment in a typical practice.
TABLES = {
    "messages": (message, 2.5),
    "links": (link, 1.0),
    "sessions": (session, 0.8),
    "consents": (consent, 0.02),
}

PROBE = """
import asyncio, sys
from tlh.store.tinystore import TinyStore
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
async def main():
    s = TinyStore(sys.argv[1])
    before = rss()
    await s.open()
    print(rss() - before)
    await s.close()
asyncio.run(main())
"""


async def fill(data_dir: Path, table: str, count: int) -> None:
    make = TABLES[table][0]
    store = TinyStore(data_dir, checkpoint_ops=10**9, checkpoint_bytes=1 << 40)
    await store.open()
    for start in range(0, count, 10_000):
        batch = [Put(make(n)) for n in range(start, min(count, start + 10_000))]
        await store.commit(batch, audit=[note_ops(SYSTEM, "bench.seed", batch)])
    await store.close()


def weigh(root: Path, table: str, count: int) -> int:
    data_dir = init_data_dir(root / table)
    asyncio.run(fill(data_dir, table, count))
    empty = init_data_dir(root / f"{table}-empty")
    probe = [sys.executable, "-c", PROBE]
    full = int(subprocess.run([*probe, str(data_dir)], capture_output=True, check=True).stdout)
    base = int(subprocess.run([*probe, str(empty)], capture_output=True, check=True).stdout)
    return full - base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    print(f"{'table':>10}  {'bytes/record':>12}  {'per appt':>8}  {'MB at 1M appointments':>22}")
    with tempfile.TemporaryDirectory(prefix="tlh-tables-") as tmp:
        for table, (_, ratio) in TABLES.items():
            per = weigh(Path(tmp), table, args.count) / args.count
            at_1m = per * ratio * 1_000_000 / 2**20
            print(f"{table:>10}  {per:>12,.0f}  {ratio:>8}  {at_1m:>22,.0f}", flush=True)


if __name__ == "__main__":
    main()
