"""Error reports: errors.csv (one record per problem) and errors.xlsx (the same records,
plus the input rows with each problem cell coloured and commented).

Every text value is written so that no spreadsheet program runs it as a formula: in the
CSV a risky value gets a leading ``'`` (see safe_text); in the xlsx every text cell is a
string cell, whatever it starts with, and keeps its text unchanged (writers/xlsx.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch.core.fields import arrow_strings, column_letter, is_arrow_text, single_array
from removal_batch.core.problems import PROBLEM_COLUMNS, normalise_problems
from removal_batch.core.raw_table import RawTable
from removal_batch.writers.safe_text import csv_safe
from removal_batch.writers.xlsx import (
    NOTED,
    RED,
    YELLOW,
    Column,
    Comments,
    Sheet,
    write_workbook,
    xml_text,
)

TEXT_COLUMNS: list[str] = [name for name in PROBLEM_COLUMNS if name != "row"]
ERRORS_SHEET = "Errors"
ANNOTATED_SHEET = "Annotated"
COMMENT_AUTHOR = "removal-batch"
COMMENT_WIDTH = 320
MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 80
EXCEL_ROWS = 1_048_576  # rows in a sheet, the header included
_SEVERE = ["fatal", "error"]
_SURROGATES = r"[\ud800-\udfff]"


def write_errors_csv(problems: pd.DataFrame, path: Path) -> None:
    """Write the problems as CSV: UTF-8 with BOM (so Excel detects it), formula-safe text."""
    frame = _report_frame(problems)
    out = pd.DataFrame({name: csv_safe(frame[name]) for name in TEXT_COLUMNS}, index=frame.index)
    # Int64 -> "5", NA -> "" (never "nan", "<NA>" or "5.0").
    out["row"] = frame["row"].astype("string").fillna("").astype(object)
    # errors="replace": a lone surrogate must not lose the whole report.
    with _atomic_open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
        out[PROBLEM_COLUMNS].to_csv(handle, index=False, lineterminator="\r\n")


def write_errors_xlsx(problems: pd.DataFrame, raw: RawTable | None, path: Path) -> None:
    """Write the problems (sheet Errors) and, given the raw table, the annotated input."""
    frame = _report_frame(problems)
    sheets = [_errors_sheet(frame)]
    if raw is not None:
        sheets.append(_annotated_sheet(frame, raw))
    with _atomic_open(path) as handle:
        write_workbook(handle, sheets)


# --- shared helpers ---------------------------------------------------------------------


@contextmanager
def _atomic_open(
    path: Path,
    *,
    encoding: str | None = None,
    newline: str | None = None,
    errors: str | None = None,
) -> Iterator[IO[Any]]:
    """A new file beside ``path`` that replaces ``path`` only once completely written.

    Opened with mode "x" rather than mkstemp so it gets the usual (umask) permissions.
    Text mode when an encoding is given, binary otherwise.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    mode = "xb" if encoding is None else "x"
    try:
        with open(tmp, mode, encoding=encoding, newline=newline, errors=errors) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _report_frame(problems: pd.DataFrame) -> pd.DataFrame:
    """The problems in report column order: text columns as Arrow text, ``row`` as Int64."""
    return normalise_problems(problems)


def _arrow_text(values: pd.Series) -> pa.Array:
    """Cells as Arrow text for the writer: "" for blank; characters XML cannot hold, and
    lone surrogates (which cannot be encoded), shown as U+FFFD so the user still sees
    something was there."""
    if is_arrow_text(values):
        array = arrow_strings(values)
    else:
        text = values.fillna("").astype(str)
        try:
            array = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
        except (UnicodeError, pa.ArrowException):
            clean = text.str.replace(_SURROGATES, "\ufffd", regex=True)
            array = pa.array(clean.to_numpy(dtype=object), type=pa.large_string())
    return xml_text(single_array(pc.fill_null(pc.cast(array, pa.large_string()), "")))


def _joined(values: pd.Series, starts: np.ndarray, separator: str) -> pa.Array:
    """The values of each run (runs start at ``starts``) joined by ``separator``, by
    Arrow in one pass instead of a Python join per run."""
    offsets = pa.array(np.r_[starts, len(values)].astype(np.int32))
    runs = pa.ListArray.from_arrays(offsets, _arrow_text(values))
    return pc.binary_join(runs, pa.scalar(separator, pa.large_string()))


def _width(header: str, text: pa.Array) -> float:
    """Column width from the longest text, within [MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH]."""
    longest = pc.max(pc.utf8_length(text)).as_py() if len(text) else 0
    return float(min(max(len(header), longest or 0, MIN_COLUMN_WIDTH) + 2, MAX_COLUMN_WIDTH))


def _number_width(header: str, largest: int) -> float:
    return float(max(len(header), len(str(largest)), MIN_COLUMN_WIDTH) + 2)


# --- the Errors sheet -------------------------------------------------------------------


def _errors_sheet(frame: pd.DataFrame) -> Sheet:
    if len(frame) > EXCEL_ROWS - 1:
        frame = _within_excel(frame)
    columns, widths = [], []
    for name in PROBLEM_COLUMNS:
        if name == "row":
            missing = frame["row"].isna().to_numpy()
            numbers = frame["row"].fillna(0).to_numpy(dtype=np.int64)
            columns.append(Column(numbers=numbers, missing=missing))
            widths.append(_number_width(name, int(numbers.max(initial=0))))
        else:
            text = _arrow_text(frame[name])
            columns.append(Column(text=text))
            widths.append(_width(name, text))
    return Sheet(ERRORS_SHEET, list(PROBLEM_COLUMNS), columns, len(frame), widths, 0)


def _within_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """The first problems, as many as Excel shows below the header, the last of its rows
    saying how many more the CSV report holds."""
    kept = frame.iloc[: EXCEL_ROWS - 2]
    more = len(frame) - len(kept)
    note = pd.DataFrame({name: [""] for name in TEXT_COLUMNS})
    note["row"] = pd.array([None], dtype="Int64")
    note["message"] = (
        f"{more:,} more problems are not listed here: a sheet holds {EXCEL_ROWS:,} rows. "
        "The .errors.csv report beside this file lists every problem."
    )
    return pd.concat([kept, note[kept.columns]], ignore_index=True)


# --- the Annotated sheet ----------------------------------------------------------------


def _located(frame: pd.DataFrame, raw: RawTable) -> pd.DataFrame:
    """Problems that point at a row of this table (file-level ones have no place here),
    with ``pos``, the row's place in the table."""
    located = frame[frame["row"].notna()]
    if raw.sheet:  # another sheet's problem must not colour this sheet's cells
        located = located[located["sheet"].isin(["", raw.sheet])]
    numbers = pd.Index(np.asarray(raw.row_numbers, dtype=np.int64))
    place = pd.Series(np.arange(len(numbers)), index=numbers)
    place = place[~numbers.duplicated()]  # one place per row number, whatever a reader gave
    pos = located["row"].astype("int64").map(place).fillna(-1).astype("int64")
    located = located.assign(column=located["column"].str.strip().str.upper(), pos=pos)
    return located[located["pos"] >= 0]


def _runs(keys: pd.DataFrame) -> np.ndarray:
    """Where each run of equal rows of ``keys`` (sorted) starts."""
    values = keys.to_numpy()
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    change = (values[1:] != values[:-1]).any(axis=1)
    return np.r_[0, np.flatnonzero(change) + 1]


def _row_labels(located: pd.DataFrame, height: int) -> pa.Array:
    """Per table row: "C: value-not-integer; F: sku-unknown" (code alone without column),
    each label once, in the order found."""
    labels = np.full(height, "", dtype=object)
    if located.empty:
        return _arrow_text(pd.Series(labels))
    label = (located["column"] + ": " + located["code"]).where(
        located["column"].ne(""), located["code"]
    )
    each = pd.DataFrame({"pos": located["pos"].to_numpy(), "label": label.to_numpy()})
    each = each.drop_duplicates().sort_values("pos", kind="stable")
    starts = _runs(each[["pos"]])
    joined = _joined(each["label"], starts, "; ")
    text = pa.array(labels, type=pa.large_string())
    where = np.zeros(height, dtype=bool)
    where[each["pos"].to_numpy()[starts]] = True
    return pc.replace_with_mask(text, pa.array(where), joined)


def _cell_marks(located: pd.DataFrame, width: int) -> tuple[pd.DataFrame, pa.Array]:
    """One record per marked input cell, in cell order: pos, col (raw column index),
    severe and lines (for the box's height); and each cell's comment, the "code: message"
    of its problems. A problem with no column, or one beyond the table, is listed in
    Problems only."""
    col = located["column"].map({column_letter(i): i for i in range(width)})
    marked = located[col.notna()]
    note = (marked["code"] + ": " + marked["message"]).where(
        marked["message"].ne(""), marked["code"]
    )
    each = pd.DataFrame(
        {
            "pos": marked["pos"].to_numpy(),
            "col": col[col.notna()].astype("int64").to_numpy(),
            "severe": marked["severity"].isin(_SEVERE).to_numpy(),
            "warned": marked["severity"].eq("warning").to_numpy(),
            "note": note.to_numpy(),
        }
    ).drop_duplicates(subset=["pos", "col", "note"])
    each = each.sort_values(["pos", "col"], kind="stable")
    starts = _runs(each[["pos", "col"]])
    lines = (1 + each["note"].str.len() // 50).to_numpy(dtype=np.int64)
    marks = pd.DataFrame(
        {
            "pos": each["pos"].to_numpy()[starts],
            "col": each["col"].to_numpy()[starts],
            **{
                flag: np.logical_or.reduceat(each[flag].to_numpy(), starts)
                if len(starts)
                else np.empty(0, dtype=bool)
                for flag in ("severe", "warned")
            },
            "lines": np.add.reduceat(lines, starts) if len(starts) else np.empty(0, np.int64),
        }
    )
    return marks, _joined(each["note"], starts, "\n")


def _annotated_sheet(frame: pd.DataFrame, raw: RawTable) -> Sheet:
    located = _located(frame, raw)
    height, width = raw.height, raw.width
    labels = _row_labels(located, height)
    marks, notes = _cell_marks(located, width)
    numbers = np.asarray(raw.row_numbers, dtype=np.int64)
    # Red for errors, yellow for warnings (SPEC 5); a cell with notes only (order-held,
    # on an order's id) keeps its comment without a colour that would call it a warning.
    style = np.select(
        [marks["severe"].to_numpy(), marks["warned"].to_numpy()], [RED, YELLOW], NOTED
    ).astype(np.int8)
    columns = [Column(text=labels), Column(numbers=numbers)]
    widths = [_width("Problems", labels), _number_width("Row", int(numbers.max(initial=0)))]
    cells = raw.cells
    for index, label in enumerate(cells.columns):
        text = _arrow_text(cells[label])
        styles = None
        here = marks["col"].to_numpy() == index
        if here.any():
            styles = np.zeros(height, dtype=np.int8)
            styles[marks["pos"].to_numpy()[here]] = style[here]
        columns.append(Column(text=text, styles=styles))
        widths.append(_width(column_letter(index), text))
    comments = None
    if len(marks):
        heights = np.minimum(30 + 16 * marks["lines"].to_numpy(dtype=np.int64), 400)
        comments = Comments(
            rows=marks["pos"].to_numpy(dtype=np.int64) + 1,  # below the header row
            columns=marks["col"].to_numpy(dtype=np.int64) + 2,  # after Problems and Row
            text=notes,
            heights=heights,
            width=COMMENT_WIDTH,
            author=COMMENT_AUTHOR,
        )
    header = ["Problems", "Row", *(column_letter(i) for i in range(width))]
    # Problems and Row stay in view when scrolling right.
    return Sheet(ANNOTATED_SHEET, header, columns, height, widths, 2, comments)
