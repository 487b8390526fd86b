"""Merged cells in a request sheet.

A merged range keeps its value in its first (top-left) cell; the other cells are blank
in the file, although the sheet shows the value across them all. Read as stored, a
disposition merged down over two orders leaves the second without one, and a quantity
merged over two lines asks for it on the first line only, without a word.

What the sheet shows is taken where it cannot mislead: an order-level value merged down
its column fills the rows below (an order's blank order cells mean "as above" anyway).
An item-level cell covered by a merge (a SKU or a quantity) is an error: whether the
value was meant for each row, or once for all of them, cannot be told, and a guess would
send units nobody asked for or leave out units somebody did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.fields import ORDER_FIELDS, column_letter
from removal_batch.core.raw_table import TEXT, RawTable
from removal_batch.core.read_failures import read_failures


@dataclass
class MergedCells:
    rows: pd.DataFrame  # the request rows, order-level values filled down their merges
    # Item cells a merge covers (core.read_failures); None for
    # none (most files: a frame built per file costs a batch of 1,000 files 0.2 s).
    covered: pd.DataFrame | None


def apply_merged_cells(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int], header_row: int
) -> MergedCells:
    """``rows``: the request frame (``source_row`` holds each row's number); ``columns``:
    each field's column index. Only ranges reaching below the header are looked at."""
    merged = raw.merged
    if merged is None or not len(merged):
        return MergedCells(rows, None)
    first_row, first_col, last_row, last_col = (merged[:, k] for k in range(4))
    # One cell is no merge; a range starting on or above the header is the header's.
    keep = ((last_row > first_row) | (last_col > first_col)) & (first_row > header_row)
    if not keep.any():
        return MergedCells(rows, None)
    first_row, first_col = first_row[keep], first_col[keep]
    last_row, last_col = last_row[keep], last_col[keep]
    top = _top_left_values(raw, first_row, first_col)
    sources = rows["source_row"].to_numpy()
    covered = []
    filled = False
    for name, col in columns.items():
        over = (first_col <= col) & (col <= last_col) & (top != "")
        if not over.any():
            continue
        # The range's rows present in the frame, less the top-left cell itself.
        starts = first_row[over] + (first_col[over] == col)
        lo = np.searchsorted(sources, starts, side="left")
        hi = np.searchsorted(sources, last_row[over], side="right")
        count = np.maximum(hi - lo, 0)
        if not count.any():
            continue
        which = np.repeat(np.arange(len(lo)), count)
        positions = np.repeat(lo, count) + (
            np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        )
        if name in ORDER_FIELDS:
            down = (first_col[over] == col)[which]
            if not down.any():
                continue
            values = rows[name].to_numpy(dtype=object, na_value="").copy()
            values[positions[down]] = top[over][which[down]]
            if not filled:
                rows, filled = rows.copy(), True
            rows[name] = pd.array(values, dtype=TEXT)
            continue
        covered.append(
            _covered_cells(
                name,
                positions,
                sources[positions],
                col,
                first_row[over][which],
                first_col[over][which],
                last_row[over][which],
                last_col[over][which],
                top[over][which],
            )
        )
    found = pd.concat(covered, ignore_index=True) if covered else None
    return MergedCells(rows, found)


def _top_left_values(raw: RawTable, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The trimmed text of each range's first cell ("" where the sheet has none)."""
    cells = raw.cells
    numbers = raw.row_numbers
    at = np.searchsorted(numbers, rows)
    found = (at < len(numbers)) & (numbers[np.minimum(at, len(numbers) - 1)] == rows)
    values = np.full(len(rows), "", dtype=object)
    for col in np.unique(cols[found]):
        here = found & (cols == col)
        if col in cells.columns:
            column = cells[col].to_numpy(dtype=object, na_value="")
            values[here] = [str(v).strip() for v in column[at[here]]]
    return values


def _covered_cells(
    name: str,
    positions: np.ndarray,
    row_numbers: np.ndarray,
    col: int,
    first_row: np.ndarray,
    first_col: np.ndarray,
    last_row: np.ndarray,
    last_col: np.ndarray,
    top: np.ndarray,
) -> pd.DataFrame:
    letter = column_letter(col)
    what = "SKU" if name in ("MerchantSKU", "FNSKU") else "quantity"
    first_cells = pd.Series([column_letter(int(c)) for c in first_col]) + first_row.astype(str)
    last_cells = pd.Series([column_letter(int(c)) for c in last_col]) + last_row.astype(str)
    message = (
        name
        + " of row "
        + pd.Series(row_numbers.astype(str))
        + " is blank: cell "
        + letter
        + pd.Series(row_numbers.astype(str))
        + " is part of the merged cells "
        + first_cells
        + ":"
        + last_cells
        + ", and the '"
        + pd.Series(top, dtype=object).str.slice(0, 60)
        + "' shown there is stored in "
        + first_cells
        + " alone. Unmerge the cells and type the "
        + what
        + " on each row."
    )
    return read_failures(positions, name, message, "merged_cell")
