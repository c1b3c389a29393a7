"""The in-memory indexes' id sets: one id is held as itself, several as a tuple, and a
reader never sees the characters of a lone id as ids."""

from __future__ import annotations

from tlh.store import idset


def test_one_id_is_held_bare_and_several_as_a_tuple() -> None:
    index: dict[str, idset.Ids] = {}
    idset.add(index, "k", "apt_1")
    assert index["k"] == "apt_1"
    assert idset.members(index["k"]) == ("apt_1",)
    idset.add(index, "k", "apt_2")
    assert index["k"] == ("apt_1", "apt_2")
    idset.discard(index, "k", "apt_1")
    assert index["k"] == "apt_2"
    idset.discard(index, "k", "apt_2")
    assert "k" not in index
    assert idset.members(index.get("k")) == ()


def test_discarding_part_of_a_lone_id_takes_nothing() -> None:
    index: dict[str, idset.Ids] = {"k": "apt_12"}
    for wrong in ("apt_1", "a", "12", ""):
        idset.discard(index, "k", wrong)
    assert index == {"k": "apt_12"}


def test_bulk_builds_and_adds_keep_the_same_shape() -> None:
    built = idset.build([("a", "x1"), ("b", "y1"), ("a", "x2")])
    assert built == {"a": ("x1", "x2"), "b": "y1"}
    idset.add_many(built, [("b", "y2"), ("c", "z1")])
    assert built == {"a": ("x1", "x2"), "b": ("y1", "y2"), "c": "z1"}


def test_a_lone_id_costs_no_tuple() -> None:
    lone = idset.build([(f"tok{n}", f"lnk_{n:012d}") for n in range(1000)])
    assert all(type(ids) is str for ids in lone.values())
