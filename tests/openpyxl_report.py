"""The error workbook as removal-batch wrote it with openpyxl, cell by cell, until the
writer moved to writers/xlsx.py (20 s for a 100,000-line report). Kept as the reference
the new writer is compared with: both workbooks must read back the same in openpyxl."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from removal_batch.core.fields import column_letter
from removal_batch.core.problems import PROBLEM_COLUMNS, normalise_problems
from removal_batch.core.raw_table import RawTable

TEXT_COLUMNS: list[str] = [name for name in PROBLEM_COLUMNS if name != "row"]

ERRORS_SHEET = "Errors"
ANNOTATED_SHEET = "Annotated"
COMMENT_AUTHOR = "removal-batch"
RED = "FFC7CE"
YELLOW = "FFEB9C"
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 80

# Shared style objects: openpyxl stores each once and gives cells an index to it.
_RED_FILL = PatternFill(fill_type="solid", start_color="FF" + RED, end_color="FF" + RED)
_YELLOW_FILL = PatternFill(fill_type="solid", start_color="FF" + YELLOW, end_color="FF" + YELLOW)
_BOLD = Font(bold=True)
_SEVERE = frozenset({"fatal", "error"})
# openpyxl turns a str starting with "=" into a formula and "#N/A" etc. into an error value.
_ERROR_CODES = frozenset(ERROR_CODES)
# Control characters XML 1.0 cannot hold (openpyxl refuses them) and lone surrogates
# (they cannot be encoded); shown as U+FFFD so the user still sees something was there.
_NOT_XML = ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]"


def write_errors_xlsx(problems: pd.DataFrame, raw: RawTable | None, path: Path) -> None:
    """Write the problems (sheet Errors) and, given the raw table, the annotated input."""
    frame = _report_frame(problems)
    for name in TEXT_COLUMNS:
        frame[name] = _xlsx_text(frame[name])
    # Write-only mode streams rows to disk: far less memory for large reports.
    book = Workbook(write_only=True)
    _write_errors_sheet(book.create_sheet(ERRORS_SHEET), frame)
    if raw is not None:
        _write_annotated_sheet(book.create_sheet(ANNOTATED_SHEET), frame, raw)
    book.save(path)


def _report_frame(problems: pd.DataFrame) -> pd.DataFrame:
    """The problems in report column order: text columns as str, ``row`` as Int64."""
    frame = normalise_problems(problems)
    for name in TEXT_COLUMNS:
        frame[name] = frame[name].astype(str).astype(object)
    return frame


def _xlsx_text(values: pd.Series) -> pd.Series:
    """Text that fits in an xlsx file (see _NOT_XML)."""
    text = values.astype(str).astype(object)
    if len(text) and text.str.contains(_NOT_XML, regex=True).any():
        text = text.str.replace(_NOT_XML, "\ufffd", regex=True)
    return text


def _string_cell(ws: Any, value: str | None) -> Cell:
    """A cell that holds ``value`` as text, whatever openpyxl would infer from it."""
    cell = WriteOnlyCell(ws, value)
    if value is not None:
        cell.data_type = "s"
    return cell


def _cell_value(ws: Any, value: object) -> object:
    """What to append for one value: None for blank, a forced string cell where needed."""
    if isinstance(value, str):
        if not value:
            return None
        if value.startswith("=") or value in _ERROR_CODES:
            return _string_cell(ws, value)
    return value


def _header(ws: Any, names: list[str]) -> list[Cell]:
    cells = []
    for name in names:
        cell = _string_cell(ws, name)
        cell.font = _BOLD
        cells.append(cell)
    return cells


def _text_width(header: str, values: pd.Series) -> float:
    """Column width from the longest text, within [MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH]."""
    longest = values.str.len().max() if len(values) else 0
    longest = 0 if pd.isna(longest) else int(longest)
    return float(min(max(len(header), longest, MIN_COLUMN_WIDTH) + 2, MAX_COLUMN_WIDTH))


def _number_width(header: str, largest: int) -> float:
    return float(max(len(header), len(str(largest)), MIN_COLUMN_WIDTH) + 2)


def _set_widths(ws: Any, widths: list[float]) -> None:
    # In write-only mode column settings must precede the first row.
    for index, width in enumerate(widths):
        ws.column_dimensions[column_letter(index)].width = width


# --- the Errors sheet -------------------------------------------------------------------


def _write_errors_sheet(ws: Any, frame: pd.DataFrame) -> None:
    rows = [None if value is pd.NA else int(value) for value in frame["row"]]
    largest = int(frame["row"].max()) if frame["row"].notna().any() else 0
    _set_widths(
        ws,
        [
            _number_width(name, largest) if name == "row" else _text_width(name, frame[name])
            for name in PROBLEM_COLUMNS
        ],
    )
    ws.freeze_panes = "A2"
    last = column_letter(len(PROBLEM_COLUMNS) - 1)
    ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"
    ws.append(_header(ws, PROBLEM_COLUMNS))
    columns = [rows if name == "row" else list(frame[name]) for name in PROBLEM_COLUMNS]
    for record in zip(*columns, strict=True):
        ws.append([_cell_value(ws, value) for value in record])


# --- the Annotated sheet ----------------------------------------------------------------


@dataclass
class _Mark:
    """The problems found in one input cell."""

    severe: bool = False
    warned: bool = False
    notes: list[str] = field(default_factory=list)


def _located(frame: pd.DataFrame, raw: RawTable) -> pd.DataFrame:
    """Problems that point at a row of this table (file-level ones have no place here)."""
    located = frame[frame["row"].notna()]
    if raw.sheet:  # another sheet's problem must not colour this sheet's cells
        located = located[located["sheet"].isin(["", raw.sheet])]
    return located.assign(column=located["column"].str.strip().str.upper())


def _row_labels(located: pd.DataFrame) -> dict[int, str]:
    """Per source row: "C: value-not-integer; F: sku-unknown" (code alone without column)."""
    if located.empty:
        return {}
    label = (located["column"] + ": " + located["code"]).where(
        located["column"].ne(""), located["code"]
    )
    joined = label.groupby(located["row"].astype("int64"), sort=False).agg(
        lambda labels: "; ".join(dict.fromkeys(labels))
    )
    return {int(row): str(text) for row, text in zip(joined.index, joined, strict=True)}


def _cell_marks(located: pd.DataFrame, width: int) -> dict[int, dict[int, _Mark]]:
    """Per source row, per raw column index: the problems of that cell."""
    index_of = {column_letter(i): i for i in range(width)}
    marks: dict[int, dict[int, _Mark]] = {}
    for row, letter, severity, code, message in zip(
        located["row"],
        located["column"],
        located["severity"],
        located["code"],
        located["message"],
        strict=True,
    ):
        index = index_of.get(letter)
        if index is None:  # no column, or beyond the table: listed in Problems only
            continue
        mark = marks.setdefault(int(row), {}).setdefault(index, _Mark())
        mark.severe = mark.severe or severity in _SEVERE
        mark.warned = mark.warned or severity == "warning"
        note = f"{code}: {message}" if message else code
        if note not in mark.notes:
            mark.notes.append(note)
    return marks


def _marked_cell(ws: Any, value: str, mark: _Mark) -> Cell:
    cell = _string_cell(ws, value or None)
    # Red for errors, yellow for warnings; a cell with info records only is not coloured,
    # but given a style all the same: openpyxl's write-only mode leaves out an empty cell
    # with the default style, and its comment then lands on the next cell written.
    if mark.severe or mark.warned:
        cell.fill = _RED_FILL if mark.severe else _YELLOW_FILL
    else:
        cell.alignment = Alignment(vertical="bottom")
    text = "\n".join(mark.notes)
    lines = sum(1 + len(note) // 50 for note in mark.notes)
    cell.comment = Comment(text, COMMENT_AUTHOR, height=min(30 + 16 * lines, 400), width=320)
    return cell


def _write_annotated_sheet(ws: Any, frame: pd.DataFrame, raw: RawTable) -> None:
    located = _located(frame, raw)
    labels = _row_labels(located)
    marks = _cell_marks(located, raw.width)
    cells = raw.cells.fillna("")
    text = [_xlsx_text(cells[column]) for column in cells.columns]
    letters = [column_letter(i) for i in range(raw.width)]
    numbers = [int(n) for n in raw.row_numbers]

    # Changed from the shipped code: the width counts only labels of rows in the table.
    label_values = pd.Series([labels[n] for n in numbers if n in labels], dtype=object)
    _set_widths(
        ws,
        [
            _text_width("Problems", label_values),
            _number_width("Row", max(numbers, default=0)),
            *(_text_width(letter, column) for letter, column in zip(letters, text, strict=True)),
        ],
    )
    ws.freeze_panes = "C2"  # header row, and Problems/Row stay in view when scrolling right
    ws.auto_filter.ref = f"A1:{column_letter(raw.width + 1)}{raw.height + 1}"
    ws.append(_header(ws, ["Problems", "Row", *letters]))

    arrays = [column.to_numpy() for column in text]
    grid = zip(*arrays, strict=True) if arrays else (() for _ in numbers)
    for number, values in zip(numbers, grid, strict=True):
        row_marks = marks.get(number)
        out: list[object] = [_cell_value(ws, labels.get(number)), number]
        if row_marks is None:
            out.extend(_cell_value(ws, value) for value in values)
        else:
            for index, value in enumerate(values):
                mark = row_marks.get(index)
                out.append(
                    _cell_value(ws, value) if mark is None else _marked_cell(ws, value, mark)
                )
        ws.append(out)
