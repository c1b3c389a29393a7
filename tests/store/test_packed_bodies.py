"""The embedded store keeps a sent message's bodies compressed in memory
(``tlh.store.bodies``): every read, file and backup still gives the message as stored,
and memory holds a few hundred bytes of it instead of the ~8 kB of its bodies."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from tests.store.conftest import backup_round_trip
from tlh.domain.messages import (
    TOKEN_PLACEHOLDER,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from tlh.domain.models import Appointment, Modality, Policy
from tlh.messaging.ics import appointment_ics
from tlh.messaging.templates import Templates, appointment_values, default_templates_dir
from tlh.services.context import SYSTEM
from tlh.store.base import Put, note, note_ops
from tlh.store.bodies import is_packed, unpack
from tlh.store.layout import encode_table_file, read_table_file, write_table_file
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import PLAIN
from tlh.store.tinystore import TinyStore, init_data_dir

NOW = datetime.now(UTC).replace(microsecond=0)
POLICY = Policy(practice_name="Riverside Counseling", timezone="America/New_York")
LINK = f"https://tlh.example.org/j#{TOKEN_PLACEHOLDER}"


def email(n: int, status: MessageStatus = MessageStatus.SENT) -> Message:
    """A reminder email as the server renders one (text, HTML and .ics), made now."""
    apt = Appointment(
        id=f"apt_{n:05d}",
        clinician_ids=("stf_1",),
        client_ids=(f"cli_{n:05d}",),
        start=NOW + timedelta(days=1, minutes=30 * (n % 16)),
        duration_min=50,
        modality=Modality.TELEHEALTH,
        created_at=NOW,
        updated_at=NOW,
    )
    values = appointment_values(
        apt, POLICY, link=LINK, clinician_name="Dr. María López", recipient_name=f"Client {n}"
    )
    values.update(confirm_link=LINK, cancel_link=LINK)
    body = Templates.load(default_templates_dir()).render(
        MessageKind.REMINDER_24H, MessageChannel.EMAIL, values
    )
    ics = appointment_ics(
        apt,
        POLICY,
        link=LINK,
        practice_name=POLICY.practice_name,
        clinician_name="Dr. María López",
        method="REQUEST",
    )
    return Message(
        id=f"msg_{n:05d}",
        idempotency_key=f"reminder_24h:{apt.id}:email",
        kind=MessageKind.REMINDER_24H,
        channel=MessageChannel.EMAIL,
        to=f"client{n}@example.org",
        subject=body.subject,
        text=body.text,
        html=body.html,
        ics=ics,
        status=status,
        next_attempt_at=NOW,
        created_at=NOW,
        sent_at=NOW if status is MessageStatus.SENT else None,
        appointment_id=apt.id,
        client_id=f"cli_{n:05d}",
    )


async def stored(data_dir: Path, messages: list[Message]) -> None:
    s = TinyStore(data_dir)
    await s.open()
    ops = [Put(m) for m in messages]
    await s.commit(ops, audit=[note_ops(SYSTEM, "test.seed", ops)])
    await s.close()


async def heap_of_open(data_dir: Path) -> tuple[int, TinyStore]:
    """Bytes the Python heap grew by opening the store over ``data_dir`` (still open)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        s = TinyStore(data_dir)
        await s.open()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, s
    finally:
        tracemalloc.stop()


async def test_a_sent_email_costs_memory_a_few_hundred_bytes(tmp_path: Path) -> None:
    sent = [email(n) for n in range(1001)]
    whole = sum(len(m.text) + len(m.html or "") + len(m.ics or "") for m in sent[1:]) / 1000
    assert whole > 4000  # characters of bodies a message: what there is to keep small
    one, many = init_data_dir(tmp_path / "one"), init_data_dir(tmp_path / "many")
    await stored(one, sent[:1])
    await stored(many, sent)
    base, s = await heap_of_open(one)
    await s.close()
    grown, s = await heap_of_open(many)
    try:
        per_message = (grown - base) / 1000
        assert per_message < 2500, f"{per_message:.0f} bytes of memory a sent email"
        # ... and what is read back is the message as stored
        assert await s.get(Message, "msg_00500") == sent[500]
    finally:
        await s.close()


async def test_every_read_gives_the_bodies_back(data_dir: Path) -> None:
    sent = [email(n) for n in range(3)]
    queued = email(3, MessageStatus.QUEUED)
    await stored(data_dir, [*sent, queued])
    s = TinyStore(data_dir)
    await s.open()
    try:
        assert await s.get(Message, "msg_00001") == sent[1]
        assert await s.find(Message, "appointment_id", "apt_00002") == [sent[2]]
        assert await s.find(Message, "link_id", None) == [*sent, queued]
        many = await s.find_many(Message, "appointment_id", ["apt_00000", "apt_00001"])
        assert many == {"apt_00000": [sent[0]], "apt_00001": [sent[1]]}
        assert await s.get_many(Message, ["msg_00000", "msg_00002"]) == {
            "msg_00000": sent[0],
            "msg_00002": sent[2],
        }
        assert sorted(await s.all(Message), key=lambda m: m.id) == [*sent, queued]
        by_month = [m async for month in s.month_by_month("messages") for m in month]
        assert sorted(by_month, key=lambda m: m.id) == [*sent, queued]

        # The outbox marks the queued one sent; a later change sees its bodies.
        seen: list[Message | None] = []

        def mark_sent(m: Message | None) -> Message | None:
            seen.append(m)
            assert m is not None
            return msgspec.structs.replace(m, status=MessageStatus.SENT, sent_at=NOW)

        done = await s.update(
            Message, queued.id, mark_sent, audit=[note(SYSTEM, "test.sent", queued.id)]
        )
        assert seen == [queued]
        assert await s.get(Message, queued.id) == done
        again = await s.update(
            Message, queued.id, lambda m: m, audit=[note(SYSTEM, "test.sent", queued.id)]
        )
        assert again == done
    finally:
        await s.close()


def month_file(data_dir: Path, message: Message) -> Path:
    split = PARTITIONED["messages"]
    return data_dir / "db" / split.file(split.month_of(message))


def read_month(data_dir: Path, message: Message) -> dict[str, msgspec.Struct]:
    path = month_file(data_dir, message)
    return read_table_file(path, path.name, "messages", PLAIN)


async def test_files_and_backups_hold_the_bodies_packed(tmp_path: Path) -> None:
    sent = [email(n) for n in range(20)]
    source = init_data_dir(tmp_path / "practice")
    await stored(source, sent)
    s = TinyStore(source)
    await s.open()
    await s.checkpoint()
    await s.close()
    on_disk = read_month(source, sent[0])
    assert all(is_packed(m) for m in on_disk.values())
    assert {i: unpack(m) for i, m in on_disk.items()} == {m.id: m for m in sent}
    whole = len(encode_table_file("messages", {m.id: m for m in sent}))
    assert month_file(source, sent[0]).stat().st_size < whole / 3

    async def answers(store: TinyStore) -> object:
        found = [await store.get(Message, m.id) for m in sent]
        assert found == sent
        return found

    await backup_round_trip(TinyStore, source, tmp_path, answers)


async def test_a_month_written_whole_reads_the_same_and_is_packed_when_rewritten(
    data_dir: Path,
) -> None:
    sent = [email(n) for n in range(3)]
    await stored(data_dir, sent)
    s = TinyStore(data_dir)
    await s.open()
    await s.checkpoint()
    await s.close()
    # The month as a tlh before packing wrote it (schema 3): the bodies whole.
    split = PARTITIONED["messages"]
    month = split.month_of(sent[0])
    write_table_file(data_dir / "db", split.file(month), "messages", {m.id: m for m in sent}, PLAIN)
    again = TinyStore(data_dir)
    await again.open()
    try:
        assert [await again.get(Message, m.id) for m in sent] == sent
        more = email(3)
        await again.commit([Put(more)], audit=[note(SYSTEM, "test.seed", more.id)])
        await again.checkpoint()
    finally:
        await again.close()
    on_disk = read_month(data_dir, sent[0])
    assert all(is_packed(m) for m in on_disk.values())
    assert {i: unpack(m) for i, m in on_disk.items()} == {m.id: m for m in [*sent, more]}
