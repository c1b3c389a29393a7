"""The journal's framing: a torn tail is dropped, a bad middle record is corruption."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlh.errors import StoreCorrupt
from tlh.store.journal import Journal, frame


def _journal(tmp_path: Path, payloads: list[bytes]) -> Journal:
    j = Journal(tmp_path)
    j.open_for_append()
    for p in payloads:
        j.append(p)
    j.close()
    return j


def test_append_and_replay_in_order(tmp_path: Path) -> None:
    j = _journal(tmp_path, [b'{"seq":1}', b'{"seq":2}'])
    assert [p for _, _, p in j.replay()] == [b'{"seq":1}', b'{"seq":2}']


@pytest.mark.parametrize("cut", [1, 5, 18, 25, -1])
def test_torn_last_record_is_dropped_and_truncated(tmp_path: Path, cut: int) -> None:
    j = _journal(tmp_path, [b'{"seq":1}'])
    path = j.files()[0]
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(frame(b'{"seq":2,"ops":[]}')[:cut])
    assert [p for _, _, p in j.replay()] == [b'{"seq":1}']
    assert path.stat().st_size == good


def test_crc_failing_last_record_is_dropped(tmp_path: Path) -> None:
    j = _journal(tmp_path, [b'{"seq":1}', b'{"seq":2}'])
    path = j.files()[0]
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # inside the last payload
    path.write_bytes(bytes(data))
    assert [p for _, _, p in j.replay()] == [b'{"seq":1}']


def test_bad_middle_record_is_corruption(tmp_path: Path) -> None:
    j = _journal(tmp_path, [b'{"seq":1}', b'{"seq":2}', b'{"seq":3}'])
    path = j.files()[0]
    data = bytearray(path.read_bytes())
    second = data.index(b"\n") + 1
    data[second + 20] ^= 0x01
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match=r"line 2, offset \d+") as info:
        list(j.replay())
    assert str(path) in info.value.message
    assert path.read_bytes() == before


def test_torn_tail_of_an_older_file_is_corruption(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.open_for_append()
    j.append(b'{"seq":1}')
    old = j.rotate()
    j.append(b'{"seq":2}')
    j.close()
    with old[0].open("ab") as f:
        f.write(b"0000")
    with pytest.raises(StoreCorrupt):
        list(j.replay())


def test_rotate_returns_folded_files_and_drop_removes_them(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.open_for_append()
    j.append(b"{}")
    old = j.rotate()
    assert [p.name for p in old] == ["000001.wal"]
    j.append(b'{"x":1}')
    j.drop(old)
    j.close()
    assert [p.name for p in j.files()] == ["000002.wal"]
    assert [p for _, _, p in j.replay()] == [b'{"x":1}']
