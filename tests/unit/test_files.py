"""The one atomic file writer every layer uses."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlh.files import write_atomic


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files readable by everyone."""
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_old_version_is_kept_as_bak_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    write_atomic(target, b"one", keep_backup=True)
    assert not (tmp_path / "t.json.bak").exists()
    write_atomic(target, b"two", keep_backup=True)
    write_atomic(target, b"three", keep_backup=True)
    assert target.read_bytes() == b"three"
    assert (tmp_path / "t.json.bak").read_bytes() == b"two"
    write_atomic(target, b"four")
    assert (tmp_path / "t.json.bak").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.json.bak"]


@pytest.mark.usefixtures("open_umask")
def test_files_are_private_by_default_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_bytes(b"old")
    target.chmod(0o644)  # replacing a readable file must not keep it readable
    write_atomic(target, b"name,dob\n")
    assert mode_of(target) == 0o600
    write_atomic(tmp_path / "public.txt", b"x", mode=0o644)
    assert mode_of(tmp_path / "public.txt") == 0o644


@pytest.mark.usefixtures("open_umask")
def test_make_dirs_creates_a_private_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "config.toml"
    write_atomic(target, b"url = 'x'\n", make_dirs=True)
    assert target.read_bytes() == b"url = 'x'\n"
    assert mode_of(target.parent) == 0o700


def test_no_folder_means_an_error_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "f", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    write_atomic(target, b"good")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"half")
    monkeypatch.undo()
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]
