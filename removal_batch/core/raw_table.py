"""The raw table every reader returns: text cells exactly as typed, with their places."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.fields import arrow_strings, is_arrow_text

# pandas' string dtype: backed by Arrow when pyarrow is installed, so the .str methods
# every check uses run in compiled code instead of a Python loop per cell.
TEXT = pd.StringDtype(storage="pyarrow", na_value=np.nan)


# The text a reader gives a formula cell whose result was never saved (a workbook written
# by a program that does not calculate): "#NOT CALCULATED =1+1". Led by '#' as Excel's own
# errors are, so that no typed text ("=> fragile" in a note) is taken for one.
NOT_CALCULATED = "#NOT CALCULATED "

# What a spreadsheet shows in a cell whose formula failed: Excel's error values, and
# LibreOffice's Err:502 and kin. Typed into Excel, these become the error itself.
SPREADSHEET_ERROR = (
    r"#(?:N/A|REF!|VALUE!|DIV/0!|NAME\?|NULL!|NUM!|SPILL!|CALC!|FIELD!|BLOCKED!|CONNECT!"
    r"|BUSY!|UNKNOWN!|PYTHON!|EXTERNAL!|GETTING_DATA)|Err:[0-9]{3}"
)
# What the common ones mean, in words a person fixing the formula can act on.
ERROR_MEANINGS = {
    "#N/A": "a lookup in the formula found nothing",
    "#REF!": "the formula points at cells that were deleted",
    "#DIV/0!": "the formula divides by zero",
    "#VALUE!": "the formula got text where it needs a number",
    "#NAME?": "the formula uses a name the spreadsheet does not know",
}


def error_meaning(values: pd.Series) -> pd.Series:
    """What each spreadsheet error in ``values`` means (a general phrase for the rare ones)."""
    return values.map(ERROR_MEANINGS).fillna("the formula in the cell failed")


# How well a peek shows a request table (core.shape.has_request_header; readers choose a
# workbook's sheet by it): none; the header of an inventory report; a header naming some
# request fields; one naming every required field (or a feed's key lines).
NO_HEADER, INVENTORY_HEADER, SOME_FIELDS, REQUEST_HEADER = 0, 1, 2, 3


@dataclass(frozen=True)
class FarCells:
    """Cells a workbook holds far to the right of its table (a stray value in column XFD),
    left out of the cells read: ``first`` holds the first few as (row as the user sees it,
    column from 0, text), ``count`` all of them; ``after`` is the last column read."""

    first: list[tuple[int, int, str]]
    count: int
    after: int


@dataclass(frozen=True)
class ColumnChoice:
    """The columns a caller reads of a text file, chosen from a peek at its header.
    ``header_row`` (0-based record) and ``header_width`` (its cells up to the last named
    one) let the reader notice a record with values past the header: a cell holding the
    delimiter moved the values after it one column to the right."""

    positions: list[int]
    header_row: int
    header_width: int


class RawTable:
    """A grid of text cells from one file (or one sheet of a workbook).

    ``cells`` has columns 0..n-1 (the spreadsheet columns A, B, ...) and holds
    only ``str`` values, "" for a blank cell. ``row_numbers[i]`` is the row the
    user sees in Excel or a text editor for grid row ``i`` (1-based).

    A reader that has the cells as Python lists anyway (the csv module's rows) may give
    ``lists`` instead of ``cells``: the frame is then built only when something asks for
    it. Recognising a small file works on the lists, and most never need the frame.
    """

    def __init__(
        self,
        file: str,
        cells: pd.DataFrame | None = None,
        *,
        row_numbers: np.ndarray,
        sheet: str = "",
        encoding: str = "",
        lists: list[list[str]] | None = None,
        hidden_rows: np.ndarray | None = None,
        other_request_sheets: list[str] | None = None,
        sheet_hidden: bool = False,
        merged: np.ndarray | None = None,
        far_cells: FarCells | None = None,
        date_cells: np.ndarray | None = None,
        scaled_cells: dict[tuple[int, int], str] | None = None,
        hidden_columns: np.ndarray | None = None,
    ) -> None:
        if cells is None and lists is None:
            raise ValueError("a RawTable needs its cells, or their rows as lists")
        self.file = file
        self._cells = cells
        self.row_numbers = row_numbers
        self.sheet = sheet
        self.encoding = encoding
        # The same cells as Python lists (padded to the width), when the reader had them.
        self.lists = lists
        self._width = len(lists[0]) if lists else 0
        # Rows the workbook hides (row numbers as the user sees them); read all the same.
        self.hidden_rows = hidden_rows if hidden_rows is not None else np.zeros(0, np.int64)
        # Columns the workbook hides (from 0 for A); read all the same.
        self.hidden_columns = (
            hidden_columns if hidden_columns is not None else np.zeros(0, np.int64)
        )
        # A workbook's other sheets that hold a whole request table, and were not read.
        self.other_request_sheets = other_request_sheets or []
        # The sheet read is hidden in the workbook (a "Removal Request" sheet is read all
        # the same): the user may not know it is there.
        self.sheet_hidden = sheet_hidden
        # A workbook's merged ranges, one per row: first row, first column, last row, last
        # column (rows as the user sees them, columns from 0 for A).
        self.merged = merged
        # Values far to the right of the table, not read (a sheet stretched by them).
        self.far_cells = far_cells
        # A workbook's cells that held a date or time (row as the user sees it, column
        # from 0): read as ISO text, which is no id anyone typed.
        self.date_cells = date_cells if date_cells is not None else np.zeros((0, 2), np.int64)
        # A workbook's numbers whose format shows another number (5000 as 5 in #,##0,):
        # (row as the user sees it, column from 0) -> what the format does, in words.
        self.scaled_cells = scaled_cells or {}
        # A text file's cells per record as written, before short records were padded
        # (None: not known, or every record alike), and its delimiter: a record longer
        # than its header row had a value holding the delimiter (readers.text).
        self.record_widths: np.ndarray | None = None
        self.delimiter = ""

    @property
    def cells(self) -> pd.DataFrame:
        if self._cells is None:
            self._cells = _text_frame(self.lists or [], self._width)
        return self._cells

    @cells.setter
    def cells(self, frame: pd.DataFrame) -> None:
        self._cells = frame

    @property
    def width(self) -> int:
        if self._cells is None:
            return self._width
        return int(self._cells.shape[1])

    @property
    def height(self) -> int:
        if self._cells is None:
            return len(self.lists or [])
        return int(self._cells.shape[0])

    def __repr__(self) -> str:
        return f"RawTable(file={self.file!r}, sheet={self.sheet!r}, {self.height} x {self.width})"


def delimiter_name(delimiter: str) -> str:
    """A delimiter as a message names it: "comma", "tab"."""
    names = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "vertical bar"}
    return names.get(delimiter, repr(delimiter) if delimiter else "delimiter")


def longer_records(widths: np.ndarray, header_row: int) -> np.ndarray:
    """Positions (counted from the record below the header) of the records with more cells
    than the header record and than most records: a value holding the delimiter added a
    cell even where the record's last value is blank, leaving nothing past the header to
    see. Records a program padded alike (the header not) are the common width, not a
    shift."""
    if header_row >= len(widths):
        return np.array([], dtype=np.int64)
    allowed = int(widths[header_row])
    below = widths[header_row + 1 :]
    if len(below) >= 2:
        counts = np.bincount(below)
        if counts.max() * 2 > len(below):
            allowed = max(allowed, int(counts.argmax()))
    return np.flatnonzero(below > allowed)


def _text_frame(rows: list[list[str]], width: int) -> pd.DataFrame:
    """Rows of equal width -> a frame of Arrow-backed text columns 0..width-1."""
    # Column by column: a frame of Python objects converted afterwards costs 4x more.
    by_column = list(zip(*rows, strict=True)) if rows else [()] * width
    return pd.DataFrame(
        {i: pd.array(list(column), dtype=TEXT) for i, column in enumerate(by_column)},
        index=pd.RangeIndex(len(rows)),
        columns=range(width),
    )


def raw_table_from_rows(
    file: str,
    rows: list[list[str]],
    first_row_number: int = 1,
    sheet: str = "",
    encoding: str = "",
) -> RawTable:
    """Build a RawTable from ragged rows of text (short rows are padded with "")."""
    width = max((len(r) for r in rows), default=0)
    padded = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
    numbers = np.arange(first_row_number, first_row_number + len(rows), dtype=np.int64)
    return RawTable(file, row_numbers=numbers, sheet=sheet, encoding=encoding, lists=padded)


def head_rows(raw: RawTable, count: int) -> list[list[str]]:
    """The first ``count`` rows as lists of Python strings, for scans of a few rows
    (itertuples over Arrow-backed columns costs milliseconds for fifty rows)."""
    if raw.lists is not None:
        return raw.lists[:count]
    return [
        [c if isinstance(c, str) else "" for c in row]
        for row in raw.cells.iloc[:count].to_numpy(dtype=object).tolist()
    ]


def longest_cell(raw: RawTable, over: int = 0) -> tuple[int, int, int]:
    """(length, row number, column index) of the longest cell longer than ``over``
    characters; (0, 0, 0) when there is none. A column none of whose cells is over
    ``over`` bytes long (a character is at least one byte) is passed over without
    counting its characters."""
    import pyarrow.compute as pc

    best = (0, 0, 0)
    for col in raw.cells.columns:
        values = raw.cells[col]
        if is_arrow_text(values):
            most = pc.max(pc.binary_length(arrow_strings(values))).as_py()
            if most is None or most <= max(over, best[0]):
                continue
        lengths = values.str.len().to_numpy()
        if len(lengths) and int(lengths.max()) > max(over, best[0]):
            i = int(lengths.argmax())
            best = (int(lengths[i]), int(raw.row_numbers[i]), int(col))
    return best
