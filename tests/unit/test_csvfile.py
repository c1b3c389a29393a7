"""Reading uploaded CSV/JSON tables: row numbers, columns and encoding errors."""

from __future__ import annotations

import json

import pytest

from tlh.errors import InvalidInput, TooLarge
from tlh.services.csvfile import TableRow, read_table

HEADER = "external_id,clinician_email,start,duration_min,client_name,notes\n"
ROW = "e1,doc@example.com,2026-12-01T09:00,50,Ada,hello\n"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(rows)).encode()


def test_reads_rows_with_spreadsheet_numbers() -> None:
    rows = read_table(csv_bytes(ROW, "e2,doc@example.com,2026-12-02T09:00,30,,\n"), "csv")
    assert rows[0] == TableRow(
        2,
        {
            "external_id": "e1",
            "clinician_email": "doc@example.com",
            "start": "2026-12-01T09:00",
            "duration_min": "50",
            "client_name": "Ada",
            "notes": "hello",
        },
    )
    assert rows[1].row == 3
    assert "client_name" not in rows[1].cells  # empty cells are dropped


def test_header_order_is_free_and_case_insensitive() -> None:
    data = b"Duration_Min , START,clinician_email\n50,2026-12-01T09:00,doc@example.com\n"
    (row,) = read_table(data, "csv")
    assert row.cells == {
        "duration_min": "50",
        "start": "2026-12-01T09:00",
        "clinician_email": "doc@example.com",
    }


def test_utf8_bom_is_accepted() -> None:
    (row,) = read_table(b"\xef\xbb\xbf" + csv_bytes(ROW), "csv")
    assert row.cells["external_id"] == "e1"


def test_quoted_newline_is_one_row() -> None:
    rows = read_table(
        csv_bytes(
            'e1,doc@example.com,2026-12-01T09:00,50,Ada,"two\nlines"\n', ROW.replace("e1", "e2")
        ),
        "csv",
    )
    assert rows[0].cells["notes"] == "two\nlines"
    assert [r.row for r in rows] == [2, 3]


def test_blank_lines_are_skipped_but_counted() -> None:
    rows = read_table(csv_bytes(ROW, "\n", ",,,,,\n", ROW.replace("e1", "e2")), "csv")
    assert [r.row for r in rows] == [2, 5]


def test_formula_escape_is_undone() -> None:
    (row,) = read_table(csv_bytes(ROW.replace("hello", "'=1+1")), "csv")
    assert row.cells["notes"] == "=1+1"


@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"^the file is empty$"):
        read_table(data, "csv")


def test_header_only() -> None:
    with pytest.raises(InvalidInput, match=r"^the file has a header but no rows$"):
        read_table(csv_bytes(), "csv")


def test_latin1_bytes_name_the_line() -> None:
    data = csv_bytes(ROW, ROW.replace("Ada", "Zoë")).replace(
        "Zoë".encode(), "Zoë".encode("latin-1")
    )
    with pytest.raises(InvalidInput) as err:
        read_table(data, "csv")
    assert err.value.message == (
        "the file is not UTF-8 (invalid byte at line 3); save it as UTF-8 and try again"
    )
    assert err.value.details == [{"row": 3, "column": "", "reason": "not UTF-8"}]


def test_nul_byte_names_the_line() -> None:
    with pytest.raises(InvalidInput, match=r"^line 2 contains a NUL byte$"):
        read_table(csv_bytes(ROW.replace("hello", "he\x00llo")), "csv")


def test_unknown_column_lists_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        read_table(csv_bytes(ROW, header=HEADER.replace("notes", "foo")), "csv")
    assert err.value.message.startswith("unknown column 'foo' (allowed: external_id, ")
    assert err.value.details == [{"row": 1, "column": "foo", "reason": "unknown column"}]


def test_missing_required_column() -> None:
    with pytest.raises(InvalidInput, match=r"^missing required column 'start'$") as err:
        read_table(b"clinician_email,duration_min\ndoc@example.com,50\n", "csv")
    assert err.value.details == [{"row": 1, "column": "start", "reason": "missing column"}]


def test_duplicate_column() -> None:
    with pytest.raises(InvalidInput, match="column 'start' appears twice"):
        read_table(b"start,clinician_email,duration_min,start\n", "csv")


def test_wrong_cell_count_names_every_ragged_row() -> None:
    data = csv_bytes(ROW, "e2,doc@example.com,50\n", ROW, "e4,a,b,c,d,e,f\n")
    with pytest.raises(InvalidInput) as err:
        read_table(data, "csv")
    assert err.value.message == "row 3 has 3 cells, the header has 6 (and 1 more rows, see details)"
    assert [d["row"] for d in err.value.details] == [3, 5]


def test_too_large_message_at_real_limit() -> None:
    data = b"x" * (60 * 1024 * 1024)
    with pytest.raises(TooLarge, match=r"^the file is 60.0 MB; the limit is 50 MB$"):
        read_table(data, "csv")


def test_malformed_csv_quote() -> None:
    with pytest.raises(InvalidInput, match="not valid CSV"):
        read_table(csv_bytes('e1,doc@example.com,"2026"x,50,Ada,\n'), "csv")


# -- JSON -----------------------------------------------------------------------------


def test_json_list_and_wrapped_list_read_alike() -> None:
    items = [
        {"clinician_email": "doc@example.com", "start": "2026-12-01T09:00", "duration_min": 50},
        {
            "clinician_email": "doc@example.com",
            "start": "2026-12-02T09:00",
            "duration_min": 50.0,
            "notes": None,
        },
    ]
    plain = read_table(json.dumps(items).encode(), "json")
    wrapped = read_table(json.dumps({"appointments": items}).encode(), "json")
    assert plain == wrapped
    assert [r.row for r in plain] == [2, 3]
    assert plain[1].cells["duration_min"] == "50"
    assert "notes" not in plain[1].cells


def test_json_bad_values_and_missing_columns_have_row_and_column() -> None:
    items = [
        {"clinician_email": "doc@example.com", "start": "2026-12-01T09:00", "duration_min": 50},
        {"clinician_email": "doc@example.com", "start": True, "duration_min": [50]},
        {"clinician_email": "doc@example.com", "duration_min": 50},
    ]
    with pytest.raises(InvalidInput) as err:
        read_table(json.dumps(items).encode(), "json")
    assert err.value.details == [
        {"row": 3, "column": "start", "reason": "must be a string or a number"},
        {"row": 3, "column": "duration_min", "reason": "must be a string or a number"},
        {"row": 4, "column": "start", "reason": "missing required column"},
    ]
    assert err.value.message.startswith("row 3, column start: must be a string or a number (and 2")


def test_json_unknown_key() -> None:
    items = [{"clinician_email": "a", "start": "b", "duration_min": 1, "foo": 1}]
    with pytest.raises(InvalidInput, match=r"^unknown column 'foo'") as err:
        read_table(json.dumps(items).encode(), "json")
    assert err.value.details[0]["row"] == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "the file is not valid JSON"),
        (b'{"rows": []}', "must be a list of objects"),
        (b"[]", "the file has no rows"),
        (b"[1]", "row 2: not a JSON object"),
        (b"[" * 5000 + b"]" * 5000, "the file is nested too deeply"),
    ],
)
def test_json_shape_errors(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_table(data, "json")


def test_windows_line_endings() -> None:
    data = csv_bytes(ROW, ROW.replace("e1", "e2")).replace(b"\n", b"\r\n")
    rows = read_table(data, "csv")
    assert [r.cells["notes"] for r in rows] == ["hello", "hello"]
    assert [r.row for r in rows] == [2, 3]
