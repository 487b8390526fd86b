"""Workbooks (.xlsx, .xlsm, .xls, .ods) through python-calamine.

Cells come back typed; they are turned into the text the user sees, so that a
SKU typed as 00123 keeps its zeros and a long number is never 1.23E+11.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from removal_batch.core.raw_table import TEXT, RawTable
from removal_batch.readers import HeaderProbe, ReadError, ReadLimits

PREFERRED_SHEET = "removal request"
PEEK_ROWS = 50


def cell_text(value: Any) -> str:
    """One typed cell as the text a person reads in Excel."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)


def _column_text(values: np.ndarray) -> np.ndarray:
    """Text for one column; most columns are already all text, so check that first."""
    if all(type(v) is str for v in values):
        return values
    return np.array([cell_text(v) for v in values], dtype=object)


def _grid(rows: list[list[Any]], start: tuple[int, int]) -> pd.DataFrame:
    """Typed rows at (row, col) offset -> text frame whose columns are absolute indexes."""
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        return pd.DataFrame(dtype=TEXT)
    block = np.empty((len(rows), width), dtype=object)
    for i, row in enumerate(rows):
        block[i, : len(row)] = row
    frame = pd.DataFrame(
        {start[1] + j: _column_text(block[:, j]) for j in range(width)}, dtype=TEXT
    )
    if start[1]:
        # Leading empty columns keep their letters: column 0 is always A.
        for j in range(start[1]):
            frame.insert(j, j, "")
    return frame


def _open(path: Path) -> Any:
    import python_calamine

    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise ReadError(
            "file-unreadable",
            "The workbook is password-protected. Save an unprotected copy and drop that in.",
        ) from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several types, and Rust panics
        raise ReadError("file-unreadable", _damaged(exc)) from exc


def _damaged(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    lowered = detail.lower()
    if "password" in lowered or "encrypt" in lowered:
        return "The workbook is password-protected. Save an unprotected copy and drop that in."
    return (
        "The workbook cannot be opened: it is damaged, truncated or not really a "
        f"spreadsheet ({detail}). Open it in Excel, save it again, and drop in the new copy."
    )


def _sheet_order(book: Any) -> list[str]:
    """'Removal Request' first if present, then the visible worksheets in order."""
    import python_calamine

    visible = [
        meta.name
        for meta in book.sheets_metadata
        if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        and meta.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    preferred = [n for n in visible if n.strip().lower() == PREFERRED_SHEET]
    return preferred + [n for n in visible if n not in preferred]


def _read_sheet(book: Any, sheet: str, nrows: int | None) -> tuple[pd.DataFrame, int]:
    try:
        handle = book.get_sheet_by_name(sheet)
        start = handle.start or (0, 0)
        rows = handle.to_python(skip_empty_area=True, nrows=nrows)
    except ReadError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError as exc:
        raise ReadError("file-too-large", "The sheet is too large to read.") from exc
    except BaseException as exc:
        raise ReadError("file-unreadable", _damaged(exc)) from exc
    return _grid(rows, start), int(start[0])


def read_workbook(path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits) -> RawTable:
    book = _open(path)
    try:
        sheets = _sheet_order(book)
        if not sheets:
            raise ReadError("file-empty", "The workbook has no visible worksheet.")
        chosen = None
        for sheet in sheets:
            peek, first_row = _read_sheet(book, sheet, PEEK_ROWS)
            table = RawTable(
                file=name,
                cells=peek,
                row_numbers=np.arange(first_row + 1, first_row + 1 + len(peek), dtype=np.int64),
                sheet=sheet,
            )
            if header_probe(table) or sheet.strip().lower() == PREFERRED_SHEET:
                chosen = sheet
                break
        if chosen is None:
            chosen = sheets[0]
        handle = book.get_sheet_by_name(chosen)
        if handle.total_height > limits.max_rows + 100 and handle.height > limits.max_rows + 100:
            raise ReadError(
                "file-too-large",
                f"Sheet '{chosen}' has {handle.height:,} rows; the limit is "
                f"{limits.max_rows:,}. Split it into smaller files.",
            )
        cells, first_row = _read_sheet(book, chosen, limits.max_rows + 101)
    finally:
        # Closing a half-read workbook must not hide the real problem.
        with contextlib.suppress(Exception):
            book.close()
    numbers = np.arange(first_row + 1, first_row + 1 + len(cells), dtype=np.int64)
    return RawTable(file=name, cells=cells, row_numbers=numbers, sheet=chosen, encoding="")
