"""Reading an uploaded table (CSV or JSON) into rows of text cells, with clear errors.

Row numbers follow the spreadsheet convention, so a person can find the row in the
program they edit the file with: in a CSV file the header is row 1 and the first
data row is row 2 (a cell with a quoted line break still counts as one row). In a
JSON file the first object is row 2 as well (its 1-based index in the list + 1), so
the same data gives the same row numbers in either format. Encoding problems, which
happen before rows exist, are reported by physical *line* instead.

Errors carry ``details=[{"row", "column", "reason"}]`` and never echo cell values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import msgspec

from tlh.errors import InvalidInput, TooLarge

#: Largest upload accepted: bigger files are almost certainly the wrong file.
MAX_IMPORT_BYTES = 50 * 1024 * 1024

#: The header of an appointment import, and of a CSV export (so an export re-imports).
IMPORT_COLUMNS: tuple[str, ...] = (
    "external_id",
    "client_external_id",
    "client_name",
    "client_email",
    "client_phone",
    "client_dob",
    "client_language",
    "clinician_email",
    "start",
    "duration_min",
    "modality",
    "kind",
    "status",
    "repeat",
    "notes",
)

#: Columns every appointment import must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("clinician_email", "start", "duration_min")

#: A cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Format = Literal["csv", "json"]


class TableRow(NamedTuple):
    """One data row: its spreadsheet row number and its non-empty cells by column."""

    row: int
    cells: dict[str, str]


def row_error(row: int, column: str, reason: str) -> dict[str, Any]:
    """One entry of an error's ``details`` list."""
    return {"row": row, "column": column, "reason": reason}


def describe(error: dict[str, Any]) -> str:
    """The one-line form of a detail entry: ``row 3, column start: <reason>``."""
    if error.get("column"):
        return f"row {error['row']}, column {error['column']}: {error['reason']}"
    return f"row {error['row']}: {error['reason']}"


def summarise(errors: Sequence[dict[str, Any]]) -> str:
    """One line for a list of row errors: the first one, and how many more there are."""
    first = describe(errors[0])
    if len(errors) == 1:
        return first
    return f"{first} (and {len(errors) - 1} more errors, see details)"


def unescape_formula(cell: str) -> str:
    """Undo the export's ``'`` prefix on a cell that would otherwise be a formula."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def read_table(
    data: bytes,
    fmt: Format,
    allowed: Sequence[str] = IMPORT_COLUMNS,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> list[TableRow]:
    """The rows of an uploaded CSV or JSON file, cells stripped, empty cells dropped.

    Raises ``TooLarge`` over ``MAX_IMPORT_BYTES`` and ``InvalidInput`` for an empty,
    undecodable or malformed file, unknown or missing columns, or ragged rows.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(
            f"the file is {len(data) / 1048576:.1f} MB; "
            f"the limit is {MAX_IMPORT_BYTES // 1048576} MB"
        )
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise InvalidInput("the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InvalidInput(f"line {line} contains a NUL byte", [row_error(line, "", "NUL byte")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InvalidInput(
            f"the file is not UTF-8 (invalid byte at line {line}); save it as UTF-8 and try again",
            [row_error(line, "", "not UTF-8")],
        ) from None
    if fmt == "csv":
        return _read_csv(text, allowed, required)
    if fmt == "json":
        return _read_json(text, allowed, required)
    raise InvalidInput(f"unknown import format {fmt!r} (allowed: csv, json)")


def _check_columns(columns: Sequence[str], allowed: Sequence[str], row: int = 1) -> None:
    for column in columns:
        if column not in allowed:
            raise InvalidInput(
                f"unknown column {column!r} (allowed: {', '.join(allowed)})",
                [row_error(row, column, "unknown column")],
            )


def _read_csv(text: str, allowed: Sequence[str], required: Sequence[str]) -> list[TableRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as err:
        raise InvalidInput(
            f"line {reader.line_num} is not valid CSV ({err})",
            [row_error(reader.line_num, "", "not valid CSV")],
        ) from None
    header = [name.strip().lower() for name in records[0]]
    _check_columns(header, allowed)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise InvalidInput(
                f"column {column!r} appears twice in the header",
                [row_error(1, column, "duplicate column")],
            )
        seen.add(column)
    for column in required:
        if column not in seen:
            raise InvalidInput(
                f"missing required column {column!r}", [row_error(1, column, "missing column")]
            )

    rows: list[TableRow] = []
    ragged: list[dict[str, Any]] = []
    # Spreadsheet numbering: the header is row 1; blank lines still occupy a row.
    width = len(header)
    for number, record in enumerate(records[1:], start=2):
        if len(record) == width:
            # One comprehension per row (a 10,000-row file has 60,000 cells); the formula
            # unescape only for a cell that starts with a quote. A blank row has no cells.
            cells = {
                column: value if value[0] != "'" else unescape_formula(value)
                for column, cell in zip(header, record, strict=True)
                if (value := cell.strip())
            }
            if cells:
                rows.append(TableRow(number, cells))
        elif any(cell.strip() for cell in record):
            ragged.append(
                row_error(
                    number, "", f"row {number} has {len(record)} cells, the header has {width}"
                )
            )
    if ragged:
        raise InvalidInput(
            ragged[0]["reason"]
            + (f" (and {len(ragged) - 1} more rows, see details)" if len(ragged) > 1 else ""),
            ragged,
        )
    if not rows:
        raise InvalidInput("the file has a header but no rows")
    return rows


def _cell_text(value: Any) -> str | None:
    """A JSON value as cell text; ``None`` when it is not a string or a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _read_json(text: str, allowed: Sequence[str], required: Sequence[str]) -> list[TableRow]:
    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError as err:
        raise InvalidInput(f"the file is not valid JSON ({err})") from None
    except RecursionError:  # msgspec's answer to nesting past the recursion limit
        raise InvalidInput("the file is nested too deeply to be a table of appointments") from None
    if isinstance(doc, dict) and set(doc) == {"appointments"}:
        doc = doc["appointments"]
    if not isinstance(doc, list):
        raise InvalidInput('the JSON file must be a list of objects or {"appointments": [...]}')
    if not doc:
        raise InvalidInput("the file has no rows")

    rows: list[TableRow] = []
    errors: list[dict[str, Any]] = []
    # The first object is row 2, like the first data row under a CSV header.
    for number, item in enumerate(doc, start=2):
        if not isinstance(item, dict):
            errors.append(row_error(number, "", "not a JSON object"))
            continue
        _check_columns([str(key) for key in item], allowed, number)
        cells: dict[str, str] = {}
        for column, value in item.items():
            cell = _cell_text(value)
            if cell is None:
                errors.append(row_error(number, column, "must be a string or a number"))
            elif cell:
                cells[column] = cell
        errors.extend(
            row_error(number, column, "missing required column")
            for column in required
            if column not in item
        )
        rows.append(TableRow(number, cells))
    if errors:
        raise InvalidInput(summarise(errors), errors)
    return rows
