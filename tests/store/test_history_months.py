"""TinyStore leaves the old months of every table that grows with history on disk
(messages, join links, confirm/cancel links, session segments, as appointments):
what stays out of memory, counting without reading, a data dir of the schema before
(one file per table) split on open, and backups."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.seeding import seed
from tests.store.conftest import action, backup_round_trip, link, message, segment
from tlh.domain.action_links import ActionLink
from tlh.domain.links import JoinLink
from tlh.domain.messages import Message, MessageStatus
from tlh.domain.sessions import SessionSegment
from tlh.store import migrations
from tlh.store.base import Put
from tlh.store.layout import (
    decode_table_file,
    encode_table_file,
    read_manifest,
    read_meta,
    read_table_file,
    write_manifest,
    write_meta,
    write_table_file,
)
from tlh.store.partitions import PARTITIONED
from tlh.store.seal import PLAIN, Codec
from tlh.store.tinystore import TinyStore

#: "Now": with 3 hot months, months before 2026-09 stay on disk.
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SPLIT = ("messages", "links", "action_links", "sessions")


#: A "now" before the history: every month is then in memory.
BEFORE = datetime(2020, 1, 1, tzinfo=UTC)


def opener(data_dir: Path, hot_months: int = 3, now: datetime = NOW) -> TinyStore:
    return TinyStore(data_dir, hot_months=hot_months, clock=lambda: now)


def two_years() -> list[Put]:
    """Two years of weekly visits' messages, links and sessions, and a few ahead."""
    puts: list[Put] = []
    for n in range(110):
        at = datetime(2025, 1, 6, 9, tzinfo=UTC) + timedelta(days=7 * n)
        status = MessageStatus.FAILED if n % 10 == 0 else MessageStatus.SENT
        apt = f"apt_{n:03d}"
        puts += [
            Put(message(f"msg_{n:03d}", at, status, appointment_id=apt, link_id=f"lnk_{n:03d}")),
            Put(link(f"lnk_{n:03d}", at, appointment_id=apt, client_id=f"cli_{n % 2}")),
            Put(action(f"act_{n:03d}", at, appointment_id=apt)),
            Put(segment(f"ses_{n:03d}", at, appointment_id=apt)),
        ]
    return puts


@pytest.fixture
async def seeded(data_dir: Path) -> Path:
    s = opener(data_dir)
    await s.open()
    await seed(s, two_years())
    await s.close()
    return data_dir


async def snapshot_of(s: TinyStore) -> dict[str, list[object]]:
    return {
        "messages": sorted(m.id for m in await s.all(Message)),
        "links": sorted(k.id for k in await s.all(JoinLink)),
        "actions": sorted(a.id for a in await s.all(ActionLink)),
        "sessions": sorted(x.id for x in await s.all(SessionSegment)),
        "finds": [
            await s.get(Message, "msg_003"),
            [k.id for k in await s.find(JoinLink, "client_id", "cli_1")],
            [m.id for m in await s.find(Message, "status", MessageStatus.FAILED)],
        ],
    }


async def answers_with_everything_in_memory(data_dir: Path) -> dict[str, list[object]]:
    """``snapshot_of`` the store over ``data_dir`` opened before its history (every month
    in memory): what each test's store must answer."""
    everything = opener(data_dir, now=BEFORE)
    await everything.open()
    try:
        return await snapshot_of(everything)
    finally:
        await everything.close()


async def test_old_months_of_every_history_table_stay_on_disk(seeded: Path) -> None:
    expected = await answers_with_everything_in_memory(seeded)
    s = opener(seeded)
    await s.open()
    await s.warmed()
    try:
        # Appointments keep 3 months back here ([store] hot_months); a visit's trail
        # keeps this month alone.
        assert s.months_on_disk("appointments") == []  # none stored here
        for table in SPLIT:
            on_disk = s.months_on_disk(table)
            assert on_disk[0] == "2025-01", table
            assert on_disk[-1] == "2026-11", table
        # Memory holds the hot months only: the 10 weeks from December, not 110.
        hot = [p.record for p in two_years() if isinstance(p.record, Message)]
        hot = [m for m in hot if m.created_at >= datetime(2026, 12, 1, tzinfo=UTC)]
        assert len(hot) == 10
        assert sorted(s._tables["messages"]) == sorted(m.id for m in hot)
        assert len(s._tables["sessions"]) == len(s._tables["links"]) == 10
        assert await snapshot_of(s) == expected
    finally:
        await s.close()


WARMED = ("messages", "action_links", "sessions")


async def test_this_month_s_finished_trail_is_taken_in_once_the_server_listens(
    seeded: Path,
) -> None:
    """A visit's trail with nothing still live (messages sent, calls ended, confirm and
    cancel links) stays in its files while the store opens, this month's and those
    ahead too, so the server answers sooner; ``warm_up`` (the server calls it once it
    listens) takes them in. Reads answer the same before and after."""
    expected = await answers_with_everything_in_memory(seeded)
    s = opener(seeded)
    await s.open()
    try:
        for table in WARMED:
            assert "2026-12" in s.months_on_disk(table), table
        assert s.months_on_disk("links")[-1] == "2026-11"  # join links: in memory at once
        assert await snapshot_of(s) == expected  # answered from the files
        await s.warmed()
        for table in WARMED:
            assert s.months_on_disk(table)[-1] == "2026-11", table
            assert "2026-12" in s._parts[table]
        assert len(s._tables["messages"]) == 10
        assert await snapshot_of(s) == expected
        assert await s.find(Message, "idempotency_key", "reminder:msg_100") != []
    finally:
        await s.close()


async def test_a_commit_before_the_warm_up_takes_the_month_in_itself(seeded: Path) -> None:
    """A message written to this month before ``warm_up`` takes the month in with it
    (as a commit to any month on disk does); the warm-up then leaves that month be, and
    nothing is lost or doubled. A store closed before its warm-up ends closes cleanly."""
    s = opener(seeded)
    await s.open()
    try:
        await seed(s, [Put(message("msg_new", NOW))])
        assert "2026-12" not in s.months_on_disk("messages")
        await s.warmed()
        assert len(s._tables["messages"]) == 11
        assert await s.count(Message) == 111
        assert len({m.id for m in await s.all(Message)}) == 111
    finally:
        await s.close()
    again = opener(seeded)
    await again.open()
    again.warm_up()
    await again.close()  # while it warms
    last = opener(seeded)
    await last.open()
    try:
        assert await last.count(Message) == 111
        assert await last.get(Message, "msg_new") == message("msg_new", NOW)
    finally:
        await last.close()


async def test_a_month_that_cannot_be_taken_in_stays_on_disk(
    seeded: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A month file gone between start-up and ``warm_up``: the warm-up says so in one
    line; the month stays where it was, read from its file (once it is back), and the
    other tables' months are taken in."""
    s = opener(seeded)
    await s.open()
    december = seeded / "db" / "messages" / "2026-12.json"
    aside = tmp_path / "2026-12.json"
    shutil.move(december, aside)
    try:
        await s.warmed()
        assert "2026-12" in s.months_on_disk("messages")
        assert "2026-12" not in s.months_on_disk("sessions")
        said = [r.getMessage() for r in caplog.records if "not taken in" in r.getMessage()]
        assert said == [
            "store: messages/2026-12 stays on disk, not taken in: no such file or directory"
        ]
        shutil.move(aside, december)
        assert await s.get(Message, "msg_100") is not None
    finally:
        if aside.exists():
            shutil.move(aside, december)
        await s.close()


async def test_counting_a_status_reads_no_month_on_disk(seeded: Path, tmp_path: Path) -> None:
    """The manifest's entry of each month says how many of its messages hold each
    status: with the month files moved away, the counts are still right."""
    s = opener(seeded)
    await s.open()
    try:
        aside = tmp_path / "aside"
        aside.mkdir()
        for month in s.months_on_disk("messages"):
            shutil.move(seeded / "db" / "messages" / f"{month}.json", aside / f"{month}.json")
        assert await s.count(Message, "status", MessageStatus.FAILED) == 11
        assert await s.count(Message, "status", MessageStatus.SENT) == 99
        assert await s.count(Message, "status", MessageStatus.QUEUED) == 0
        assert await s.count(Message) == 110
        with pytest.raises(FileNotFoundError):
            await s.get(Message, "msg_000")  # the month is read for a record
    finally:
        for moved in (tmp_path / "aside").glob("*.json"):
            shutil.move(moved, seeded / "db" / "messages" / moved.name)
        await s.close()


async def test_a_find_for_what_is_still_open_leaves_ended_months_on_disk(
    seeded: Path, tmp_path: Path
) -> None:
    s = opener(seeded)
    await s.open()
    await s.warmed()
    folder = seeded / "db" / "sessions"
    aside = tmp_path / "aside"
    shutil.copytree(folder, aside)
    try:
        for month in s.months_on_disk("sessions"):
            (folder / f"{month}.json").unlink()
        found = await s.find(SessionSegment, "appointment_id", None, ending_after=NOW)
        assert found == []  # no month on disk with an open one: none read
        with pytest.raises(FileNotFoundError):
            await s.find(SessionSegment, "appointment_id", None)
    finally:
        shutil.rmtree(folder)
        shutil.copytree(aside, folder)
        await s.close()


def as_schema_2(data_dir: Path, codec: Codec = PLAIN) -> None:
    """The data dir as the schema before wrote it: each split table in one file."""
    db = data_dir / "db"
    manifest = read_manifest(data_dir, codec)
    files = list(manifest.files)
    for table in SPLIT:
        docs: dict[str, msgspec.Struct] = {}
        for path in sorted((db / table).glob("*.json")):
            docs.update(read_table_file(path, f"{table}/{path.name}", table, codec))
        shutil.rmtree(db / table)
        write_table_file(db, f"{table}.json", table, docs, codec)
        (db / PARTITIONED[table].id_filter).unlink(missing_ok=True)
        files = [f for f in files if not f.startswith(f"{table}/")] + [f"{table}.json"]
    replaced = msgspec.structs.replace(manifest, files=sorted(files), partitions={})
    write_manifest(data_dir, replaced, codec)
    write_meta(data_dir, 2)


async def test_a_dir_of_the_schema_before_is_split_on_open(seeded: Path) -> None:
    expected = await answers_with_everything_in_memory(seeded)
    as_schema_2(seeded)
    assert (seeded / "db" / "messages.json").exists()
    for _ in range(2):  # split and loaded whole, then indexed: old months on disk
        s = opener(seeded)
        await s.open()
        try:
            assert await snapshot_of(s) == expected
            assert (await s.verify_audit()).ok
        finally:
            await s.close()
    assert read_meta(seeded).schema_version == migrations.CURRENT_VERSION == 4
    assert not (seeded / "db" / "messages.json").exists()
    assert s.months_on_disk("messages")[0] == "2025-01"
    assert list((seeded / "backups").glob("schema-2-before-upgrade-*.tar.gz"))


async def test_a_split_interrupted_after_its_month_files_is_rerun(seeded: Path) -> None:
    """A crash after a table's month files were written but before the manifest named
    them: the next start splits the single file again, and nothing is doubled."""
    as_schema_2(seeded)
    db = seeded / "db"
    (db / "messages").mkdir()
    whole = decode_table_file((db / "messages.json").read_bytes(), "messages")
    (db / "messages" / "2025-01.json").write_bytes(
        encode_table_file("messages", {k: v for k, v in whole.items() if k < "msg_003"})
    )
    s = opener(seeded)
    await s.open()
    try:
        assert await s.count(Message) == 110
        assert len({m.id for m in await s.all(Message)}) == 110
    finally:
        await s.close()


async def test_a_backup_holds_every_table_s_months_on_disk(seeded: Path, tmp_path: Path) -> None:
    restored = await backup_round_trip(opener, seeded, tmp_path, snapshot_of)
    assert restored.months_on_disk("links")


async def test_a_new_key_is_looked_up_without_opening_a_month(seeded: Path, tmp_path: Path) -> None:
    """A message's idempotency key and a link's token hash are in their table's id
    filter: a new one (every message queued, a mistyped link) opens no month on disk,
    with their files moved away here; an old one is found in its month."""
    s = opener(seeded)
    await s.open()
    aside = tmp_path / "aside"
    for table in ("messages", "links"):
        shutil.copytree(seeded / "db" / table, aside / table)
    try:
        old = await s.find(Message, "idempotency_key", "reminder:msg_003")
        assert [m.id for m in old] == ["msg_003"]
        for table in ("messages", "links"):
            for month in s.months_on_disk(table):
                (seeded / "db" / table / f"{month}.json").unlink()
                (seeded / "db" / table / f"{month}.idx").unlink()
        assert await s.find(Message, "idempotency_key", "invitation:apt_new:email") == []
        assert await s.find(JoinLink, "token_hash", "0" * 64) == []
        found = await s.find_many(Message, "idempotency_key", ["new-1", "new-2"])
        assert found == {"new-1": [], "new-2": []}
        with pytest.raises(FileNotFoundError):
            await s.find(Message, "idempotency_key", "reminder:msg_004")
    finally:
        for table in ("messages", "links"):
            shutil.rmtree(seeded / "db" / table)
            shutil.copytree(aside / table, seeded / "db" / table)
        await s.close()


async def test_months_the_clock_leaves_behind_go_back_to_disk(seeded: Path) -> None:
    """A server running while the months turn: at the next checkpoint, the months that
    fell before the cut are left in their files, and every read answers as before."""
    now = [NOW]
    s = TinyStore(seeded, hot_months=3, clock=lambda: now[0])
    await s.open()
    await s.warmed()
    try:
        expected = await snapshot_of(s)
        assert s.months_on_disk("messages")[-1] == "2026-11"
        in_memory = len(s._tables["messages"])
        now[0] = datetime(2027, 2, 15, 12, tzinfo=UTC)  # a visit's trail: from February
        await seed(s, [Put(message("msg_feb", now[0]))])
        await s.checkpoint()
        assert s.months_on_disk("messages")[-3:] == ["2026-11", "2026-12", "2027-01"]
        assert s.months_on_disk("sessions")[-1] == "2027-01"
        assert len(s._tables["messages"]) < in_memory
        assert "2027-01" not in s._parts["messages"]
        assert await s.find(Message, "idempotency_key", "reminder:msg_099") != []
        after = await snapshot_of(s)
        assert after["messages"] == sorted([*expected["messages"], "msg_feb"])
        assert {k: v for k, v in after.items() if k != "messages"} == {
            k: v for k, v in expected.items() if k != "messages"
        }
    finally:
        await s.close()
    again = TinyStore(seeded, hot_months=3, clock=lambda: now[0])
    await again.open()
    await again.warmed()
    try:
        assert again.months_on_disk("messages")[-1] == "2027-01"
        assert await again.count(Message) == 111
    finally:
        await again.close()


@pytest.mark.parametrize("live", ["queued message", "open call"])
async def test_a_month_holding_what_has_not_ended_stays_in_memory_until_it_has(
    data_dir: Path, live: str
) -> None:
    """A visit's trail keeps this month in memory, and an older month while a record of
    it is still live: a message not yet sent (the outbox reads it every few seconds),
    a call not yet ended. Once that ends, the next checkpoint leaves the month on disk."""
    table = "messages" if live == "queued message" else "sessions"
    october, november = datetime(2026, 10, 20, 9, tzinfo=UTC), datetime(2026, 11, 20, 9, tzinfo=UTC)
    if live == "queued message":
        pending: Message | SessionSegment = message("msg_q", november, MessageStatus.QUEUED)
        done = msgspec.structs.replace(
            pending, status=MessageStatus.SENT, sent_at=november + timedelta(minutes=1)
        )
        ended = [message("msg_oct", october), message("msg_nov", november)]
    else:
        pending = msgspec.structs.replace(segment("ses_q", november), ended_at=None)
        done = msgspec.structs.replace(pending, ended_at=november + timedelta(minutes=50))
        ended = [segment("ses_oct", october), segment("ses_nov", november)]
    s = opener(data_dir, hot_months=0)
    await s.open()
    await seed(s, [Put(r) for r in (*ended, pending)])
    await s.close()

    s = opener(data_dir, hot_months=0)
    await s.open()
    try:
        assert s.months_on_disk(table) == ["2026-10"]
        assert "2026-11" in s._parts[table]
        await seed(s, [Put(done)])
        await s.checkpoint()
        assert s.months_on_disk(table) == ["2026-10", "2026-11"]
        assert pending.id not in s._tables[table]
        assert await s.get(type(done), pending.id) == done
    finally:
        await s.close()
    again = opener(data_dir, hot_months=0)
    await again.open()
    try:
        assert again.months_on_disk(table) == ["2026-10", "2026-11"]
    finally:
        await again.close()
