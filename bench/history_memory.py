"""Start-up time and memory of ``tlh serve`` against the size of the practice's history
(issue 15 item 6: at 1,000,000 appointments both must be at most 1.5x the figures at
10,000).

For each size it makes an encrypted practice (``tlh init``'s default: a key file) and
fills it through the store itself, a month per commit (as a long history accumulates:
about 7,000 appointments a month, 40 clinicians, ending three months ahead), closing and
reopening the store every year of history so generation needs no more memory than a
server does. Each past visit leaves its trail as a practice's does: an invitation email
and a 24-hour reminder email (text and HTML bodies rendered from the default templates
for the visit, and the invitation's .ics) and,
for half, a short reminder text (2.5 messages), a join link, the reminder's confirm and
cancel links, and for four visits in five a session segment with its two participants.
Then it starts ``python -m tlh serve`` on a free port as users run it and reports
process start -> ``/healthz`` 200, how long the server then took to take in what it
leaves for after it listens (a visit's finished trail: ``Partitioning.warm_later``), and
VmRSS once that is done and it has settled (its background jobs' first work done;
median of 3 starts). Last,
what reads of old months cost on the largest practice, in this process.

The history stands, by default, at 20:00 UTC on the last day of this month
(``--as-of month-end``): the store keeps a visit's trail in memory by month, so a month's
end, with the whole month's visits behind it, is when it holds most; ``--as-of now``
measures the day it runs. ``--baseline REF`` also serves the same practices from a
checkout of git ``REF``, side by side.

Run: ``.venv/bin/python bench/history_memory.py`` (1M takes 25 minutes to generate:
about 6 million records, the emails rendered). Memory and start-up are nearly flat from
about 16 months of history on, so ``--sizes 10000,150000`` (2.5 minutes) shows nearly the
same ratios (1,000,000's were a few hundredths higher: its last month ahead holds more
visits, the bench filling months from the oldest);
``--pg`` also runs the same on PostgreSQL (``tests/pgserver.py``'s throw-away cluster),
``--pg-only`` only there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bytecode import write_caches
from verdicts import finish, judged

from tests.serving import free_port, stop, wait_healthy
from tlh.domain.action_links import ActionLink, LinkAction
from tlh.domain.links import Channel, JoinLink, LinkPurpose, ParticipantKind
from tlh.domain.messages import (
    TOKEN_PLACEHOLDER,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from tlh.domain.models import Appointment, Modality, Policy, Role, Staff
from tlh.domain.scope import RECENT
from tlh.domain.sessions import Participation, SessionSegment
from tlh.messaging.ics import appointment_ics
from tlh.messaging.templates import Templates, appointment_values, default_templates_dir
from tlh.services.bootstrap import init_practice
from tlh.services.context import SYSTEM
from tlh.store.base import Put, Repository, note_ops
from tlh.store.capabilities import WarmsUp
from tlh.store.keys import KeySource, NewKeys
from tlh.store.open import store_at

PER_MONTH = 7_000
CLINICIANS = [f"stf_bench{i:02d}" for i in range(40)]
AHEAD_MONTHS = 3
LIMIT = 1.5


def months_ending(now: datetime, count: int) -> list[datetime]:
    """The first instants of ``count`` months ending ``AHEAD_MONTHS`` after ``now``'s."""
    last = now.year * 12 + now.month - 1 + AHEAD_MONTHS
    return [
        datetime((m // 12), m % 12 + 1, 1, tzinfo=UTC) for m in range(last - count + 1, last + 1)
    ]


def month_of(first: datetime, n: int, base: int, rnd: random.Random) -> list[Appointment]:
    """``n`` visits in the weekdays of the month starting ``first``."""
    days = [
        first + timedelta(days=d)
        for d in range(31)
        if (first + timedelta(days=d)).month == first.month
        and (first + timedelta(days=d)).weekday() < 5
    ]
    out = []
    for i in range(n):
        start = rnd.choice(days) + timedelta(hours=8, minutes=30 * rnd.randrange(20))
        k = base + i
        out.append(
            Appointment(
                id=f"apt_b{k:08d}",
                modality=Modality.TELEHEALTH,
                clinician_ids=(rnd.choice(CLINICIANS),),
                client_ids=(f"cli_b{rnd.randrange(20_000):06d}",),
                start=start,
                duration_min=50,
                series_id=f"ser_b{k // 10:07d}" if k % 3 == 0 else None,
                external_id=f"EXT-{k}" if k % 2 == 0 else None,
                created_at=start - timedelta(days=14),
                updated_at=start - timedelta(days=14),
            )
        )
    return out


POLICY = Policy(practice_name="Bench Counseling", timezone="UTC")
LINK = f"https://tlh.example.org/j#{TOKEN_PLACEHOLDER}"
TEMPLATES = Templates.load(default_templates_dir())


def clinician_name(staff_id: str) -> str:
    return f"Dr. Clinician {staff_id.removeprefix('stf_bench')}"


@functools.cache
def ics_form(staff_id: str) -> str:
    """A real invitation .ics of ``staff_id`` (``appointment_ics``, 0.7 ms each), with
    the visit's own fields left to fill: rendering one per visit would take a million
    visits 10 minutes longer to make."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    apt = Appointment(
        id="apt_FORM", modality=Modality.TELEHEALTH, clinician_ids=(staff_id,),
        client_ids=("cli_FORM",), start=start, duration_min=50, created_at=start,
        updated_at=start,
    )  # fmt: skip
    ics = appointment_ics(
        apt, POLICY, link=LINK, practice_name=POLICY.practice_name,
        clinician_name=clinician_name(staff_id), method="REQUEST",
    )  # fmt: skip
    form = ics.replace("{", "{{").replace("}", "}}").replace("apt_FORM", "{uid}")
    form = form.replace("20260105T090000", "{start}").replace("20260105T095000", "{end}")
    return re.sub(r"DTSTAMP:\d{8}T\d{6}Z", "DTSTAMP:{stamp}Z", form)


def bodies(apt: Appointment, kind: MessageKind) -> tuple[str, str, str, str | None]:
    """(subject, text, HTML, .ics) of ``kind``'s email about ``apt``, as the default
    templates render it for this visit (an invitation carries the .ics)."""
    staff = apt.clinician_ids[0]
    values = appointment_values(
        apt, POLICY, link=LINK, clinician_name=clinician_name(staff),
        recipient_name=f"Client {apt.client_ids[0].removeprefix('cli_b')}",
    )  # fmt: skip
    values.update(confirm_link=LINK, cancel_link=LINK)
    body = TEMPLATES.render(kind, MessageChannel.EMAIL, values)
    ics = None
    if kind is MessageKind.INVITATION:
        end = apt.start + timedelta(minutes=apt.duration_min)
        ics = ics_form(staff).format(
            uid=apt.id, start=f"{apt.start:%Y%m%dT%H%M%S}", end=f"{end:%Y%m%dT%H%M%S}",
            stamp=f"{apt.created_at:%Y%m%dT%H%M%S}",
        )  # fmt: skip
    return body.subject, body.text, body.html or "", ics


def trail(apt: Appointment, now: datetime) -> list[msgspec.Struct]:
    """What a visit leaves in the store besides itself (nothing yet for one ahead)."""
    k, start = apt.id.removeprefix("apt_b"), apt.start
    client = apt.client_ids[0]
    booked, day_before = apt.created_at, start - timedelta(days=1)
    out: list[msgspec.Struct] = [
        JoinLink(
            id=f"lnk_b{k}", token_hash=f"{int(k):064x}", purpose=LinkPurpose.JOIN,
            participant=ParticipantKind.CLIENT, client_id=client, appointment_id=apt.id,
            clinician_id=apt.clinician_ids[0], channel=Channel.EMAIL, created_at=booked,
            created_by="system", valid_from=start - timedelta(minutes=15),
            valid_until=start + timedelta(minutes=80),
        ),
    ]  # fmt: skip
    sends = [(MessageKind.INVITATION, booked), (MessageKind.REMINDER_24H, day_before)]
    for kind, at in sends:
        if at > now:
            continue
        subject, text, html, ics = bodies(apt, kind)
        out.append(
            Message(
                id=f"msg_b{k}{kind.value[:3]}", idempotency_key=f"{kind.value}:{apt.id}:email",
                kind=kind, channel=MessageChannel.EMAIL, to=f"p{k}@example.org",
                subject=subject, text=text, html=html, ics=ics, status=MessageStatus.SENT,
                next_attempt_at=at, created_at=at, sent_at=at, appointment_id=apt.id,
                client_id=client, link_id=f"lnk_b{k}" if kind is MessageKind.INVITATION else None,
                action_link_ids=(f"act_b{k}c", f"act_b{k}x")
                if kind is MessageKind.REMINDER_24H else (),
            )
        )  # fmt: skip
    if start > now:
        return out
    out += [
        ActionLink(
            id=f"act_b{k}{a}", token_hash=f"{int(k) * 2 + n:064x}", action=action,
            appointment_id=apt.id, client_id=client, created_at=day_before, valid_until=start,
        )
        for n, (a, action) in enumerate((("c", LinkAction.CONFIRM), ("x", LinkAction.CANCEL)))
    ]  # fmt: skip
    soon = start - timedelta(minutes=15)
    if int(k) % 2 == 0:
        out.append(
            Message(
                id=f"msg_b{k}sms", idempotency_key=f"reminder_soon:{apt.id}:sms",
                kind=MessageKind.REMINDER_SOON, channel=MessageChannel.SMS, to="+15555550100",
                text="Your video visit starts in 15 minutes: https://tlh.example/j#" + "t" * 43,
                status=MessageStatus.SENT, next_attempt_at=soon, created_at=soon, sent_at=soon,
                appointment_id=apt.id, client_id=client,
            )
        )  # fmt: skip
    if int(k) % 5 != 0:
        staff = apt.clinician_ids[0]
        out.append(
            SessionSegment(
                id=f"ses_b{k}", appointment_id=apt.id, clinician_id=staff, started_at=start,
                started_by=staff, ended_at=start + timedelta(minutes=50), ended_by=staff,
                participants=(
                    Participation(peer_id=staff, kind="staff", staff_id=staff, joined_at=start),
                    Participation(peer_id=f"ent_b{k}", kind="client", client_id=client,
                                  channel="email", joined_at=start),
                ),
            )
        )  # fmt: skip
    return out


def clinicians(now: datetime) -> list[Staff]:
    """The 40 clinicians the visits are with, as staff of the practice."""
    return [
        Staff(id=s, email=f"{s}@example.org", name=clinician_name(s), role=Role.CLINICIAN,
              telehealth=True, created_at=now, updated_at=now)
        for s in CLINICIANS
    ]  # fmt: skip


def month_end_evening(now: datetime) -> datetime:
    """20:00 UTC on the last day of ``now``'s month (``now`` itself once later): the
    instant a month's trail in memory is largest, the whole month's visits behind it."""
    first_of_next = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
    evening = first_of_next.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=4)
    return max(now, evening)


async def fill(location: Path | str, keys: KeySource, total: int, as_of: datetime) -> None:
    """``total`` appointments and their trails as they stand at ``as_of`` (visits before
    it have had their reminders and calls), a month per commit, the store reopened every
    12 months."""
    rnd = random.Random(total)
    count = -(-total // PER_MONTH)
    months = months_ending(as_of, count)
    made = 0
    store: Repository | None = None
    for n, first in enumerate(months):
        if store is None:
            store = store_at(location, keys=keys)
            await store.open()
        size = min(PER_MONTH, total - made)
        visits = month_of(first, size, made, rnd)
        batch = [Put(r) for a in visits for r in (a, *trail(a, as_of))]
        if n == 0:
            batch += [Put(s) for s in clinicians(as_of)]
        await store.commit(batch, audit=[note_ops(SYSTEM, "bench.seed", batch)])
        made += size
        if n % 12 == 11 or n == len(months) - 1:
            await store.close()
            store = None


def practice(
    root: Path, total: int, as_of: datetime, url: str | None = None
) -> tuple[Path | str, Path]:
    """A practice holding ``total`` appointments: (data dir or URL, key file). One made
    before under ``root`` as of the same instant (``--data``) is used again."""
    data_dir = root / f"data-{total}"
    key_dir = root / f"keys-{total}"
    made = root / f"as-of-{total}"
    if url is None and made.exists() and made.read_text() == as_of.isoformat():
        (key_file,) = key_dir.iterdir()
        print(f"  {total:,} appointments as made before in {root}", flush=True)
        return data_dir, key_file
    location: Path | str = url or data_dir
    asyncio.run(
        init_practice(
            location, "Bench", "UTC", "admin@example.org", encrypt=NewKeys(key_dir=key_dir)
        )
    )
    (key_file,) = key_dir.iterdir()
    t = time.perf_counter()
    asyncio.run(fill(location, KeySource(key_file=key_file), total, as_of))
    print(f"  generated {total:,} appointments in {time.perf_counter() - t:.1f} s", flush=True)
    if url is not None:
        data_dir.mkdir(mode=0o700)  # serve still takes a dir for its local files
    else:
        made.write_text(as_of.isoformat())
    return location, key_file


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def settled_rss_mb(pid: int, within_mb: float = 1.0, bound_s: float = 6.0) -> float:
    """VmRSS once the server's first background work is done (the outbox, the reminder
    clock's first tick, the idle-call sweep, which start as it answers): four samples a
    quarter second apart within ``within_mb`` of each other, or the last one at
    ``bound_s``."""
    samples = [rss_mb(pid)]
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        time.sleep(0.25)  # sampling a figure, bounded by the deadline
        samples.append(rss_mb(pid))
        last = samples[-4:]
        if len(last) == 4 and max(last) - min(last) <= within_mb:
            break
    return samples[-1]


#: What the server logs once it has taken in what start-up left for later
#: (``tlh.store.partitions.Partitioning.warm_later``).
WARMED = re.compile(
    rb"store: ([0-9]+) record\(s\) of this month's finished trail taken in ([0-9]+) ms"
)


def warm_up_s(log: Path) -> float:
    """Seconds the server took, after it listened, to take in what start-up left for
    later (0: nothing was left, or a tree from before)."""
    found = WARMED.findall(log.read_bytes())
    return int(found[-1][1]) / 1000 if found else 0.0


def taken_in(log: Path, bound_s: float = 3.0) -> None:
    """Wait until the server says it took in what start-up left for later, or (a size or
    a tree that leaves nothing) ``bound_s``."""
    deadline = time.monotonic() + bound_s
    while not WARMED.search(log.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the log the server appends to, bounded by the deadline


def start_once(
    data_dir: Path, key_file: Path, tree: Path, store_url: str | None
) -> tuple[float, float, float]:
    """(seconds from process start to /healthz 200, MB resident once settled, seconds
    after listening that the server took to take in what start-up left for later: the
    settled figure comes after it, so it counts what that took)."""
    port = free_port()
    env = {
        **os.environ,
        "TLH_CONFIG": os.devnull,
        "TLH_KEY_FILE": str(key_file),
        "PYTHONPATH": str(tree),
    }
    cmd = [sys.executable, "-m", "tlh", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if store_url is not None:
        cmd += ["--store", store_url]
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("wb") as sink:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sink, env=env, cwd=tree)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log=log, timeout_s=300)
        took = time.perf_counter() - t
        taken_in(log)
        return took, settled_rss_mb(proc.pid), warm_up_s(log)
    finally:
        stop(proc, timeout_s=120)


def measure(
    data_dir: Path,
    key_file: Path,
    tree: Path,
    store_url: str | None = None,
) -> tuple[float, float, float]:
    """Medians of three starts."""
    runs = [start_once(data_dir, key_file, tree, store_url) for _ in range(3)]
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
    )


async def lookups(data_dir: Path, key_file: Path, total: int) -> None:
    """What reads of old months cost on the largest practice: an old visit by id, an
    import's external-id lookups (the first ones open each month's key index, later ones
    bisect the cached indexes), whose client a client is (a year of key indexes' pairings),
    a client's whole history, an old week of the calendar."""
    store = store_at(data_dir, keys=KeySource(key_file=key_file))
    await store.open()
    if isinstance(store, WarmsUp):
        await store.warmed()  # as a server has, once it listens
    try:
        rnd = random.Random(7)
        before = rss_mb(os.getpid())

        async def timed(label: str, reads: int, read: object) -> None:
            t = time.perf_counter()
            for _ in range(reads):
                await read()  # type: ignore[operator]
            took = (time.perf_counter() - t) / reads * 1000
            print(f"  {label:<44} {took:8.2f} ms each ({reads} reads)")

        print(f"\nreads of old months, {total:,} appointments (in this process):")
        ids = [f"apt_b{rnd.randrange(total // 2):08d}" for _ in range(50)]
        exts = [f"EXT-{2 * rnd.randrange(total // 4)}" for _ in range(200)]
        clients = [f"cli_b{rnd.randrange(20_000):06d}" for _ in range(5)]
        it = iter(ids)
        await timed("get(Appointment, old id)", 50, lambda: store.get(Appointment, next(it)))
        ext = iter(exts[:100])
        await timed(
            "find external_id (first: indexes opened)",
            100,
            lambda: store.find(Appointment, "external_id", next(ext)),
        )
        ext = iter(exts[100:])
        await timed(
            "find external_id (indexes cached)",
            100,
            lambda: store.find(Appointment, "external_id", next(ext)),
        )
        cli = iter(clients)
        await timed(
            "find client_ids (a client's whole history)",
            5,
            lambda: store.find(Appointment, "client_ids", next(cli)),
        )
        year = datetime.now(UTC) - RECENT
        seen = iter(clients[:3] + clients[:3])
        await timed(
            "clinicians_seen (whose client; first: indexes opened)",
            3,
            lambda: store.clinicians_seen(next(seen), year),
        )
        await timed(
            "clinicians_seen (indexes cached)",
            3,
            lambda: store.clinicians_seen(next(seen), year),
        )
        week = datetime.now(UTC) - timedelta(days=3 * 365)
        await timed(
            "appointments_between (a week 3 years ago)",
            5,
            lambda: store.appointments_between(week, week + timedelta(days=7)),
        )
        msgs = iter([f"msg_b{rnd.randrange(total // 2):08d}inv" for _ in range(50)])
        await timed("get(Message, old id)", 50, lambda: store.get(Message, next(msgs)))
        fresh = iter([f"invitation:apt_new{n}:email" for n in range(200)])
        await timed(
            "find idempotency_key (a new message's check)",
            200,
            lambda: store.find(Message, "idempotency_key", next(fresh)),
        )
        apts = iter(ids[:20])
        await timed(
            "find messages of an old visit (its reminders)",
            20,
            lambda: store.find(Message, "appointment_id", next(apts)),
        )
        soon = datetime.now(UTC) + timedelta(days=1)  # the next visits from tomorrow on
        due = (await store.appointments_between(soon, soon + timedelta(days=7)))[:20]
        dues = iter(due)

        async def reminders_of_a_visit_due() -> object:
            apt = next(dues)
            since = apt.created_at - timedelta(days=1)  # as the reminder clock asks
            return await store.find(Message, "appointment_id", apt.id, ending_after=since)

        await timed("find messages of a visit due tomorrow", len(due), reminders_of_a_visit_due)
        await timed(
            "count(Message, status=sent) (a /metrics scrape)",
            20,
            lambda: store.count(Message, "status", MessageStatus.SENT),
        )
        bad = iter([f"{rnd.getrandbits(250):064x}" for _ in range(200)])
        await timed(
            "find token_hash, unknown (a wrong link)",
            200,
            lambda: store.find(JoinLink, "token_hash", next(bad)),
        )
        grew = rss_mb(os.getpid()) - before
        print(f"  this process's RSS grew {grew:.0f} MB over these reads (cached key indexes)")
    finally:
        await store.close()


def verdict(small: float, big: float) -> str:
    ratio = big / small
    return f"{ratio:.2f}x {'ok' if judged(ratio <= LIMIT) else 'OVER'} (<= {LIMIT}x)"


def report(label: str, figures: dict[int, tuple[float, float, float]]) -> None:
    """The figures of each size, and the verdicts of the largest against the smallest.
    Start-up is to the first ``/healthz`` 200; what the server then takes in (a visit's
    finished trail) is printed beside it, and its ratio with it, for information: the
    server answers meanwhile, from the files, and RSS is read once it is done."""
    sizes = sorted(figures)
    print(f"\n{label}")
    print(f"  {'appointments':>12}  {'start-up s':>10}  {'then taking in s':>16}  {'RSS MB':>8}")
    for size in sizes:
        took, rss, warm = figures[size]
        print(f"  {size:>12,}  {took:>10.2f}  {warm:>16.2f}  {rss:>8.1f}")
    if len(sizes) >= 2:
        small, big = figures[sizes[0]], figures[sizes[-1]]
        print(f"  start-up {sizes[-1]:,} vs {sizes[0]:,}: {verdict(small[0], big[0])}")
        print(f"  RSS      {sizes[-1]:,} vs {sizes[0]:,}: {verdict(small[1], big[1])}")
        whole = (big[0] + big[2]) / (small[0] + small[2])
        print(f"  start-up and taking in, {sizes[-1]:,} vs {sizes[0]:,}: {whole:.2f}x (info)")


@contextlib.contextmanager
def checkout(repo: Path, ref: str, root: Path) -> Iterator[Path]:
    """A worktree of git ``ref`` of ``repo`` under ``root``, its bytecode written (the
    baseline tree), removed afterwards."""
    path = root / f"tree-{re.sub(r'[^A-Za-z0-9]', '-', ref)}"
    git = ["git", "-C", str(repo), "worktree"]
    subprocess.run([*git, "add", "--detach", "-q", str(path), ref], check=True)
    try:
        write_caches(path / "tlh")
        yield path
    finally:
        subprocess.run([*git, "remove", "--force", str(path)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument(
        "--as-of",
        choices=("month-end", "now"),
        default="month-end",
        help="the instant the history stands at: the last evening of this month (a month's"
        " trail in memory is largest then: the default) or now",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the same practices served by this git ref's tree, side by side",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="make the practices in DIR and keep them; those made there before as of the"
        " same instant are used again (a million takes 25 minutes to make)",
    )
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--pg-only", action="store_true", help="on PostgreSQL alone")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    now = datetime.now(UTC)
    as_of = month_end_evening(now) if args.as_of == "month-end" else now
    print(f"history as it stands at {as_of:%Y-%m-%d %H:%M} UTC ({args.as_of})")
    tree = Path(__file__).resolve().parents[1]
    # Servers start from bytecode, as an installed tlh does: compiling on each start
    # would add the same 0.15 s to every figure and shrink every ratio.
    write_caches(tree / "tlh")
    with tempfile.TemporaryDirectory(prefix="tlh-history-") as tmp:
        root = Path(args.data or tmp)
        root.mkdir(parents=True, exist_ok=True)
        if args.pg_only:
            pg_figures(root, sizes, tree, as_of)
            return
        dirs = {}
        for size in sizes:
            print(f"embedded store, {size:,} appointments:", flush=True)
            location, key_file = practice(root, size, as_of)
            assert isinstance(location, Path)
            dirs[size] = (location, key_file)
        if args.baseline:
            with checkout(tree, args.baseline, root) as base:
                report(
                    f"embedded store, baseline ({args.baseline})",
                    {s: measure(*dirs[s], base) for s in sizes},
                )
        report("embedded store (this tree)", {s: measure(*dirs[s], tree) for s in sizes})
        asyncio.run(lookups(*dirs[sizes[-1]], sizes[-1]))
        if args.pg:
            pg_figures(root, sizes, tree, as_of)


def pg_figures(root: Path, sizes: list[int], tree: Path, as_of: datetime) -> None:
    from tests.pgserver import running

    # The cluster is made anew each run: so are the practices' local dirs and keys.
    shutil.rmtree(root / "pgdirs", ignore_errors=True)
    (root / "pgdirs").mkdir()
    with running(durable=True) as cluster:
        figures = {}
        for size in sizes:
            print(f"PostgreSQL, {size:,} appointments:", flush=True)
            url = cluster.database()
            _, key_file = practice(root / "pgdirs", size, as_of, url)
            figures[size] = measure(root / "pgdirs" / f"data-{size}", key_file, tree, url)
        report("PostgreSQL store (this tree)", figures)


if __name__ == "__main__":
    main()
    finish()
