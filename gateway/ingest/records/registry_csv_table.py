"""A registry CSV file as a header and numbered rows, with the file's shape checked.

Parsing is the standard :mod:`csv` module's, in strict mode, with the profile's delimiter and
quote character. Line ends may be CR, LF or CRLF (the text is read in universal-newline mode,
so a quoted cell may span lines); the line number of a row is the line it starts on. The
module's field size limit (128 KiB) is left as it is: a larger cell is an error here, not a
reason to hold more memory. Errors name the line and, where there is one, the column; they
never quote cells (patient data), only header names and the profile's own settings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from gateway.errors import RecordError
from gateway.ingest.records.registry_csv_layout import Dialect

__all__ = ["SourceRow", "Table", "read_table"]

# Delimiters a file meant for another profile is likely to use.
_OTHER_DELIMITERS = (";", ",", "\t", "|")
_NUL = "\x00"


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int  # where the row starts (a quoted cell may span lines)
    cells: list[str]


@dataclass(frozen=True, slots=True)
class Table:
    columns: Mapping[str, int]  # header name -> cell index
    rows: tuple[SourceRow, ...]

    def require(self, columns: Iterable[str]) -> None:
        """:raises RecordError: naming every column the header lacks (location line 1)."""
        missing = [name for name in columns if name not in self.columns]
        if missing:
            names = ", ".join(missing)
            raise RecordError(f"the header lacks the column(s) {names}", "line 1")


def read_table(text: str, dialect: Dialect) -> Table:
    """The header and the non-blank rows of ``text``.

    :raises RecordError: for an empty file, malformed CSV (bad quoting, a cell over the size
        limit), a NUL character, a duplicate header name, or a row whose cell count is not
        the header's; a header of one column that holds another delimiter is reported as a
        wrong delimiter.
    """
    if not text.strip():
        raise RecordError("the file is empty", "line 1")
    check_nul = _NUL in text  # the csv module accepts NUL since Python 3.11; we do not
    rows = _rows(text, dialect)
    header = next(rows, None)
    if header is None:
        raise RecordError("the file has no header", "line 1")
    if check_nul:
        _refuse_nul(header, [f"cell {n}" for n in range(1, len(header.cells) + 1)])
    columns = _columns(header, dialect)
    names = [cell.strip() or f"cell {n}" for n, cell in enumerate(header.cells, 1)]
    width = len(header.cells)
    body = []
    for row in rows:
        if len(row.cells) != width:
            raise RecordError(
                f"the row has {len(row.cells)} cells, the header {width}", f"line {row.line}"
            )
        if check_nul:
            _refuse_nul(row, names)
        body.append(row)
    return Table(columns, tuple(body))


def _rows(text: str, dialect: Dialect) -> Iterator[SourceRow]:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=dialect.delimiter,
        quotechar=dialect.quote,
        strict=True,
    )
    start = 1
    try:
        for cells in reader:
            if "".join(cells).strip():  # skips blank lines and rows of empty cells
                yield SourceRow(start, cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        # The module's messages name the problem ("field larger than field limit (131072)",
        # "',' expected after '\"'"), never the cell's content.
        raise RecordError(f"malformed CSV ({exc})", f"line {reader.line_num}") from None


def _refuse_nul(row: SourceRow, names: list[str]) -> None:
    for name, cell in zip(names, row.cells, strict=True):
        if _NUL in cell:
            raise RecordError("a cell holds a NUL character", f"line {row.line}, column {name}")


def _columns(header: SourceRow, dialect: Dialect) -> dict[str, int]:
    names = [cell.strip() for cell in header.cells]
    if len(names) == 1:
        _refuse_other_delimiter(names[0], dialect.delimiter, header.line)
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in columns:
            # Not quoted: a file without its header would show a patient's cell here.
            first = columns[name] + 1
            raise RecordError(
                f"cells {first} and {index + 1} of the header have the same name",
                f"line {header.line}",
            )
        if name:
            columns[name] = index
    return columns


def _refuse_other_delimiter(header: str, delimiter: str, line: int) -> None:
    for other in _OTHER_DELIMITERS:
        if other != delimiter and other in header:
            raise RecordError(
                f"the header is one column: the file seems delimited by {other!r}, "
                f"the profile says {delimiter!r}",
                f"line {line}",
            )
