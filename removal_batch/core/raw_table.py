"""The raw table every reader returns: text cells exactly as typed, with their places."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# pandas' string dtype: backed by Arrow when pyarrow is installed, so the .str methods
# every check uses run in compiled code instead of a Python loop per cell.
TEXT = pd.StringDtype(storage="pyarrow", na_value=np.nan)


@dataclass
class RawTable:
    """A grid of text cells from one file (or one sheet of a workbook).

    ``cells`` has columns 0..n-1 (the spreadsheet columns A, B, ...) and holds
    only ``str`` values, "" for a blank cell. ``row_numbers[i]`` is the row the
    user sees in Excel or a text editor for grid row ``i`` (1-based).
    """

    file: str
    cells: pd.DataFrame
    row_numbers: np.ndarray
    sheet: str = ""
    encoding: str = ""
    notes: list[str] = field(default_factory=list)
    # The same cells as Python lists (padded to the width), when the reader had them
    # anyway: scans of a small file then skip converting the columns back.
    lists: list[list[str]] | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        return int(self.cells.shape[1])

    @property
    def height(self) -> int:
        return int(self.cells.shape[0])


def raw_table_from_rows(
    file: str,
    rows: list[list[str]],
    first_row_number: int = 1,
    sheet: str = "",
    encoding: str = "",
) -> RawTable:
    """Build a RawTable from ragged rows of text (short rows are padded with "")."""
    width = max((len(r) for r in rows), default=0)
    # Column by column: a frame of Python objects converted afterwards costs 4x more.
    padded = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
    by_column = list(zip(*padded, strict=True)) if padded else [()] * width
    cells = pd.DataFrame(
        {i: pd.array(list(column), dtype=TEXT) for i, column in enumerate(by_column)},
        index=pd.RangeIndex(len(rows)),
        columns=range(width),
    )
    numbers = np.arange(first_row_number, first_row_number + len(rows), dtype=np.int64)
    return RawTable(
        file=file, cells=cells, row_numbers=numbers, sheet=sheet, encoding=encoding, lists=padded
    )


def head_rows(raw: RawTable, count: int) -> list[list[str]]:
    """The first ``count`` rows as lists of Python strings, for scans of a few rows
    (itertuples over Arrow-backed columns costs milliseconds for fifty rows)."""
    if raw.lists is not None:
        return raw.lists[:count]
    return [
        [c if isinstance(c, str) else "" for c in row]
        for row in raw.cells.iloc[:count].to_numpy(dtype=object).tolist()
    ]


def longest_cell(raw: RawTable) -> tuple[int, int, int]:
    """(length, row number, column index) of the longest cell; (0, 0, 0) for an empty table."""
    best = (0, 0, 0)
    for col in raw.cells.columns:
        lengths = raw.cells[col].str.len().to_numpy()
        if len(lengths) and int(lengths.max()) > best[0]:
            i = int(lengths.argmax())
            best = (int(lengths[i]), int(raw.row_numbers[i]), int(col))
    return best
