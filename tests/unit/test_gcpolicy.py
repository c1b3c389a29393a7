"""The server's collector policy: what survives a full collection is frozen, and what is
still garbage is collected as before."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from tlh.server import gcpolicy


class Node:
    """A cycle member (weak-referenceable)."""

    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def policy() -> Iterator[None]:
    gcpolicy.install()
    try:
        yield
    finally:
        gcpolicy.uninstall()
        gc.unfreeze()


def test_the_survivors_of_a_full_collection_are_frozen(policy: None) -> None:
    kept = [Node() for _ in range(1_000)]
    frozen = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert gc.is_tracked(kept[0])
    assert not any(o is kept[0] for o in gc.get_objects(2))  # not walked again


def test_new_garbage_cycles_are_still_collected(policy: None) -> None:
    gc.collect()  # everything alive now is frozen
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


def test_installing_twice_adds_one_callback(policy: None) -> None:
    gcpolicy.install()
    assert gc.callbacks.count(gcpolicy._freeze_survivors) == 1
