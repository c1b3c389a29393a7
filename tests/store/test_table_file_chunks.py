"""A table file written in chunks (so a checkpoint does not hold the event loop for
the whole table) is byte for byte the file one encode would write."""

from __future__ import annotations

import msgspec

from tlh.store.layout import ENCODE_CHUNK, encode_table_file


class Doc(msgspec.Struct, frozen=True):
    id: str
    n: int
    text: str = 'a "quoted" \\u2028 line'


def test_chunked_encoding_is_the_single_encoding() -> None:
    for count in (0, 1, ENCODE_CHUNK, ENCODE_CHUNK + 1, 3 * ENCODE_CHUNK + 7):
        docs = {f"d{n}": Doc(id=f"d{n}", n=n) for n in range(count)}
        assert encode_table_file("things", docs) == msgspec.json.encode({"things": docs})
