"""Workbooks (.xlsx, .xlsm, .xls, .ods) through python-calamine.

Cells come back typed; they are turned into the text the user sees, so that a
SKU typed as 00123 keeps its zeros and a long number is never 1.23E+11.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import os
import pickle
import re
import signal
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from removal_batch import forking
from removal_batch.core.fields import EXCEL_CELL_CHARS
from removal_batch.core.raw_table import REQUEST_HEADER, TEXT, FarCells, RawTable
from removal_batch.core.wording import megabytes, sizes_apart
from removal_batch.faults import checkpoint
from removal_batch.readers import (
    OLE_MAGIC,
    ZIP_MAGIC,
    HeaderProbe,
    PendingRead,
    ReadError,
    ReadLimits,
    forerun,
)
from removal_batch.readers.forerun import (
    PREFERRED_SHEET,
    READER_ALLOWANCE,
    named_as_what_it_is,
    sheet_order,
    sheet_rows,
    too_many_rows,
    vm_size,
)
from removal_batch.readers.ods_xml import ods_extras
from removal_batch.readers.sheet_xml import (
    ALL_DIGITS_KEPT,
    EXACT_BELOW,
    CellTexts,
    PaddedCells,
    SheetExtras,
    digits_trusted,
    pad_like_excel,
    sheet_extras,
    sheet_sizes,
)
from removal_batch.readers.xls_cells import xls_extras

PEEK_ROWS = 50

# Zip bombs. Deflate cannot compress better than about 1032 to 1, and real sheets
# compress 5-20 to 1: a large part near the ceiling is one byte repeated, not data.
BOMB_RATIO = 1000
BOMB_MIN_BYTES = 10 * 1024 * 1024
# Excel's own limit on the characters of one cell (EXCEL_CELL_CHARS): a shared string is
# copied into every cell that uses it, so one far longer string multiplies memory by the
# cells that use it.
# Characters of markup-free text per byte of XML: at most 1 (UTF-8 and entities only ever
# take more bytes per character), and at least 1/10 (the longest reference, &#x10FFFF;).
_MAX_BYTES_PER_CHAR = 10
_MAX_RUN_BYTES = (EXCEL_CELL_CHARS + 1) * _MAX_BYTES_PER_CHAR
_SCAN_CHUNK = 1 << 20
_LT = ord("<")


def cell_text(value: Any) -> str:
    """One typed cell as the text a person reads in Excel."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and digits_trusted(value):
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


def _column_text(values: np.ndarray) -> tuple[Any, np.ndarray]:
    """Text for one column, as cell_text would give cell by cell, as an Arrow string array,
    and the positions of the cells that held a date or time (_DATE_TYPES).

    Most columns are all text; a quantity column is floats under a text header. Whole
    floats, by far the commonest number, are formatted by Arrow's integer cast, and only
    the other cells (the header, an odd value, a date) go through cell_text one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return pa.array(values, type=pa.large_string()), _NO_CELLS
    # Exact types (bool is an int and datetime a date, but each is written its own way);
    # map(type) runs in C, a Python test per cell does not.
    types = np.fromiter(map(type, values), dtype=object, count=len(values))
    floats = np.flatnonzero(types == float)  # noqa: E721 - elementwise, over a column
    numbers = values[floats].astype(np.float64)
    # NaN fails the first test (NaN != NaN), inf the second.
    size = np.abs(numbers)
    exact = size < EXACT_BELOW  # NaN and inf too are not: no remainder taken of them
    trusted = (size < ALL_DIGITS_KEPT) | (exact & (np.where(exact, numbers, 0.0) % 10 != 0))
    whole = (numbers == np.floor(numbers)) & trusted
    by_arrow = np.zeros(len(values), dtype=bool)
    by_arrow[floats[whole]] = True
    text = np.empty(len(values), dtype=object)  # None where Arrow's digits go
    plain = ~by_arrow & (types == str)  # noqa: E721
    text[plain] = values[plain]
    others = np.flatnonzero(~by_arrow & ~plain)
    odd = values[others]
    text[others] = [cell_text(v) for v in odd]
    dates = others[[isinstance(v, _DATE_TYPES) for v in odd]] if len(odd) else _NO_CELLS
    column = pa.array(text, type=pa.large_string(), from_pandas=True)
    if not by_arrow.any():
        return column, dates
    digits = pc.cast(pa.array(numbers[whole].astype(np.int64)), pa.large_string())
    return pc.replace_with_mask(column, pa.array(by_arrow), digits), dates


_NO_CELLS = np.zeros(0, dtype=np.int64)


def _block(rows: list[list[Any]], width: int) -> np.ndarray:
    """Rows as one object matrix; calamine's rows are all one width, filled in one step."""
    if all(len(row) == width for row in rows):
        block = np.empty((len(rows), width), dtype=object)
        block[:] = rows
        return block
    block = np.full((len(rows), width), "", dtype=object)
    for i, row in enumerate(rows):
        block[i, : len(row)] = row
    return block


# A cell holding one of these reads as ISO text: in an id column, no id anyone typed.
_DATE_TYPES = (dt.date, dt.time, dt.timedelta)


def _grid(rows: list[list[Any]], start: tuple[int, int]) -> tuple[pd.DataFrame, np.ndarray]:
    """Typed rows at (row, col) offset -> text frame whose columns are absolute indexes,
    and the cells that held dates (_date_cells)."""
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        return pd.DataFrame(dtype=TEXT), np.zeros((0, 2), np.int64)
    block = _block(rows, width)
    columns, found = {}, []
    for j in range(width):
        text, at = _column_text(block[:, j])
        columns[start[1] + j] = pd.array(text, dtype=TEXT)
        if len(at):
            found.append(np.column_stack([at + start[0] + 1, np.full(len(at), start[1] + j)]))
    frame = pd.DataFrame(columns)
    dates = np.concatenate(found).astype(np.int64) if found else np.zeros((0, 2), np.int64)
    if start[1]:
        # Leading empty columns keep their letters: column 0 is always A.
        for j in range(start[1]):
            frame.insert(j, j, "")
    return frame, dates


def _too_large(message: str) -> ReadError:
    return ReadError("file-too-large", message + " Save a smaller copy and drop that in.")


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a zip workbook (.xlsx, .xlsm, .ods, .xlsb) that would expand beyond the limits.

    Reads the central directory only: the sizes it declares are the most calamine will
    inflate (its zip reader stops with an error at a part larger than declared). The one
    part that is read is sharedStrings.xml, and only when it is large enough to hold a
    string over Excel's cell limit. A file that is not a readable zip is left to calamine,
    which says why it cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            if handle.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
                return
        archive = zipfile.ZipFile(path)
    except Exception:  # not a zip zipfile can read: calamine reports it as unreadable
        return
    with archive:
        parts = archive.infolist()
        total = sum(info.file_size for info in parts)
        if total > limits.max_uncompressed_bytes:
            raise _too_large(
                "The workbook would expand to {} when opened; the limit is {} "
                "(max_uncompressed_bytes in the settings).".format(
                    *sizes_apart(total, limits.max_uncompressed_bytes)
                )
            )
        for info in parts:
            if info.file_size > BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(
                info.compress_size, 1
            ):
                raise _too_large(
                    f"The workbook would expand to {megabytes(total)} when opened, and its part "
                    f"{info.filename} is compressed over {BOMB_RATIO:,} to 1, which no real "
                    "spreadsheet is: it looks built to exhaust the reader (a zip bomb)."
                )
        for info in parts:
            if _is_shared_strings(info) and _has_overlong_string(archive, info):
                raise _too_large(
                    "The workbook holds a cell text longer than "
                    f"{EXCEL_CELL_CHARS:,} characters, Excel's limit for one cell; it is "
                    "repeated in every cell that uses it, so reading it could take far more "
                    "memory than the file's size."
                )
        expanded = _shared_text_bytes(archive, parts, limits.max_uncompressed_bytes)
        if expanded > limits.max_uncompressed_bytes:
            raise _too_large(
                "The workbook's cells would hold {} of text once read, each shared text "
                "copied into every cell that uses it; the limit is {} "
                "(max_uncompressed_bytes in the settings).".format(
                    *sizes_apart(expanded, limits.max_uncompressed_bytes)
                )
            )


# The fewest bytes a cell using a shared string takes in a sheet: <c t="s"><v>0</v></c>.
_SHARED_CELL_BYTES = 22
# Larger shared-strings parts are not read here (a bomb needs only a small one).
_SHARED_PART_READ = 64 << 20
_SHARED_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,64}:)?si[\s>/]")
_SHARED_CELL = re.compile(
    rb'<(?:[A-Za-z_][\w.-]{0,64}:)?c\b[^<>]{0,1024}?\bt="s"[^<>]{0,1024}>\s*'
    rb"<(?:[A-Za-z_][\w.-]{0,64}:)?v>\s*([0-9]{1,10})\s*<"
)


def _shared_text_bytes(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo], limit: int) -> int:
    """About how many bytes of text the sheets' cells hold once each shared string is
    copied into every cell that uses it (an upper bound: a string's markup counts too).
    One 32,000-character string used in 20,000 cells is a 473 KB file that took 4 GB and
    80 s to read. Cheap for a real workbook: the sheets' size bounds the cells that can
    use a string, and only a product of that and the longest string over ``limit`` is
    looked at closer. 0 where it cannot be told, or cannot be over ``limit``."""
    shared = [p for p in parts if _names_shared_strings(p)]
    sheets = [p for p in parts if p.filename.lower().startswith("xl/worksheets/sheet")]
    if not shared or not sheets or shared[0].file_size > _SHARED_PART_READ:
        return 0
    try:
        data = archive.read(shared[0])
        marks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _LT)
        longest = int(np.diff(marks).max()) if len(marks) > 1 else len(data)
        most_cells = sum(p.file_size for p in sheets) // _SHARED_CELL_BYTES
        if longest * most_cells <= limit:
            return 0
        starts = np.array([m.start() for m in _SHARED_ITEM.finditer(data)], dtype=np.int64)
        if not len(starts):
            return 0
        sizes = np.diff(np.append(starts, len(data)))
        total = 0
        for sheet in sheets:
            text = archive.read(sheet)
            used = np.array([int(m.group(1)) for m in _SHARED_CELL.finditer(text)], dtype=np.int64)
            used = used[used < len(sizes)]
            total += int(sizes[used].sum())
        return total
    except Exception:  # damaged, encrypted, unsupported compression: calamine reports it
        return 0


def _names_shared_strings(info: zipfile.ZipInfo) -> bool:
    # Part names are case-insensitive in OOXML.
    return info.filename.lower().rsplit("/", 1)[-1] == "sharedstrings.xml"


def _is_shared_strings(info: zipfile.ZipInfo) -> bool:
    # Too small a part cannot hold a string over the cell limit.
    return _names_shared_strings(info) and info.file_size > EXCEL_CELL_CHARS


def _has_overlong_string(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """True when the part holds a run of text over EXCEL_CELL_CHARS characters.

    Streams the part in chunks and stops at the first such run, so memory stays at a
    chunk plus one run of at most _MAX_RUN_BYTES. Text holds no "<" and a character takes
    at least one byte, so only the gaps between two "<" wider than the limit need a closer
    look; numpy finds them in a few ms per 10 MB, and inflating the part costs about 20 ms
    per 10 MB (a 27 MB part: under 50 ms, against 1.8 s for calamine to read that
    workbook). A part that cannot be read is left to calamine.
    """
    try:
        with archive.open(info) as stream:
            carry = b""  # the last run of the chunk before, from its "<"
            while chunk := stream.read(_SCAN_CHUNK):
                buffer = carry + chunk if carry else chunk
                marks = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == _LT)
                if not len(marks):  # before the first "<" (carry always starts with one)
                    continue
                for i in np.flatnonzero(np.diff(marks) > EXCEL_CELL_CHARS + 1):
                    if _overlong(buffer[marks[i] + 1 : marks[i + 1]]):
                        return True
                carry = buffer[marks[-1] :]
                if len(carry) > _MAX_RUN_BYTES:
                    return True
            return _overlong(carry[1:])
    except Exception:  # damaged, encrypted, unsupported compression: calamine reports it
        return False


def _overlong(run: bytes) -> bool:
    """Whether one markup-free run ("t>text", after its "<") has text over the limit."""
    if len(run) > _MAX_RUN_BYTES:
        return True
    if run.startswith(b"![CDATA["):
        text = run[len(b"![CDATA[") :].removesuffix(b"]]>")
    else:
        text = run.partition(b">")[2]
    if len(text) <= EXCEL_CELL_CHARS:
        return False
    return len(html.unescape(text.decode("utf-8", "replace"))) > EXCEL_CELL_CHARS


def _open(path: Path) -> Any:
    import python_calamine

    ahead = forerun.opened_book(path)  # opened while the command imported pandas
    if ahead is not None:
        return ahead
    try:
        if named_as_what_it_is(path):
            return python_calamine.CalamineWorkbook.from_path(str(path))
        # An .xlsx saved under an .xls name (or .txt): calamine picks its reader by the
        # name when given a path, and by the content when given the bytes.
        with path.open("rb") as handle:
            return python_calamine.CalamineWorkbook.from_filelike(handle)
    except python_calamine.PasswordError as exc:
        raise ReadError("file-unreadable", _PASSWORD) from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several types, and Rust panics
        raise ReadError(
            "file-unreadable", _PASSWORD if _encrypted(path) else _damaged(exc)
        ) from exc


_PASSWORD = (
    "The workbook is password-protected (encrypted). Open it in Excel, clear the password "
    "(File > Info > Protect Workbook > Encrypt with Password), save it, and drop in that copy."
)


def _encrypted(path: Path) -> bool:
    """An encrypted .xlsx or .xlsb is an OLE container holding an EncryptedPackage stream,
    and an encrypted .xls a FILEPASS record: calamine, handed the bytes, called them
    damaged, and "save it again" left them encrypted. Asked only once calamine failed."""
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except OSError:
        return False
    if not data.startswith(OLE_MAGIC):
        return False
    if "EncryptedPackage".encode("utf-16-le") in data:
        return True
    try:
        import xlrd

        # Its warnings go to stdout (into `--json`'s output) unless given somewhere else.
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
        book.release_resources()
    except Exception as exc:  # noqa: BLE001 - any failure but this one says nothing more
        return "encrypted" in str(exc).lower()
    return False


def _damaged(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    lowered = detail.lower()
    if "password" in lowered or "encrypt" in lowered:
        return _PASSWORD
    return (
        "The workbook cannot be opened: it is damaged, truncated or not really a "
        f"spreadsheet ({detail}). Open it in Excel, save it again, and drop in the new copy."
    )


def _hidden_sheets(book: Any) -> set[str]:
    import python_calamine

    return {
        m.name
        for m in book.sheets_metadata
        if m.visible != python_calamine.SheetVisibleEnum.Visible
    }


@contextlib.contextmanager
def _sheet_errors() -> Iterator[None]:
    """calamine's failures on a sheet as file problems (it raises several types, and
    Rust panics): out of memory is a sheet too large, anything else a damaged file."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError as exc:
        raise ReadError("file-too-large", "The sheet is too large to read.") from exc
    except BaseException as exc:
        raise ReadError("file-unreadable", _damaged(exc)) from exc


def _sheet(book: Any, sheet: str) -> Any:
    """The parsed sheet: calamine parses all of it here, so each sheet is got once."""
    ahead = forerun.parsed_sheet(book, sheet)  # parsed while the command imported pandas
    if ahead is not None:
        return ahead
    with _sheet_errors():
        return book.get_sheet_by_name(sheet)


@dataclass
class _Sheet:
    """One sheet as read: its text cells from ``first_row`` (0-based), the cells that held
    dates, and the values left out far to the right."""

    cells: pd.DataFrame
    first_row: int
    dates: np.ndarray
    far: FarCells | None


def _read_sheet(handle: Any, nrows: int | None) -> _Sheet:
    with _sheet_errors():
        start = handle.start or (0, 0)
        rows = forerun.sheet_values(handle, nrows) if nrows is not None else None
        if rows is None:
            rows = forerun.rows_of(handle, nrows)
    rows, far = _without_far_cells(rows, start)
    cells, dates = _grid(rows, start)
    return _Sheet(cells, int(start[0]), dates, far)


# A request table is about 15 columns; a sheet wider than this has a stray cell far out.
WIDE_SHEET = 1024
# Empty columns after the table's last one from which a value counts as stray.
FAR_GAP = 256


def _without_far_cells(
    rows: list[list[Any]], start: tuple[int, int]
) -> tuple[list[list[Any]], FarCells | None]:
    """The rows without the columns past the table and the empty gap after it, and the
    values those held. One value in column XFD stretches every row to 16,384 cells; read
    as columns, a 13-row sheet took 7 s and 1,000 rows 23 s and 1 GB."""
    width = max((len(row) for row in rows), default=0)
    if start[1] + width <= WIDE_SHEET:
        return rows, None
    # The table's columns: those holding a value among the sheet's first 1,024, up to the
    # first gap of more than FAR_GAP empty ones. Every row counts (a column of notes may
    # begin far down); a sheet this wide fits in memory only with a few thousand rows.
    near = min(width, WIDE_SHEET)
    block = np.full((len(rows), near), "", dtype=object)
    for i, row in enumerate(rows):
        block[i, : min(len(row), near)] = row[:near]
    used = np.flatnonzero((block != "").any(axis=0))
    if not len(used):
        return rows, None
    gaps = np.flatnonzero(np.diff(used) > FAR_GAP)
    cut = int(used[gaps[0]] if len(gaps) else used[-1]) + 1
    if cut >= width:
        return rows, None
    first: list[tuple[int, int, str]] = []
    count = 0
    for i, row in enumerate(rows):
        beyond = row[cut:]
        if beyond.count("") == len(beyond):
            continue
        valued = [(j, v) for j, v in enumerate(beyond) if v != ""]
        count += len(valued)
        first += [(start[0] + i + 1, start[1] + cut + j, cell_text(v)) for j, v in valued]
        del first[5:]
    return [row[:cut] for row in rows], FarCells(first, count, start[1] + cut - 1)


def _merged_ranges(handle: Any) -> np.ndarray | None:
    """calamine's merged ranges of an .xlsx or .xls sheet ((row, col) pairs from 0) as
    RawTable keeps them; None where it has none to give (an .ods's are read from its XML)."""
    with contextlib.suppress(Exception):
        ranges = handle.merged_cell_ranges
        if ranges:
            merged = np.array([[a[0], a[1], b[0], b[1]] for a, b in ranges], dtype=np.int64)
            merged[:, [0, 2]] += 1
            return merged
    return None


def read_workbook(path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits) -> RawTable:
    return begin_workbook(path, name, header_probe, limits).result()


def begin_workbook(
    path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits
) -> PendingRead:
    """Start reading a workbook in its child process (ReadError now if it is a zip bomb)."""
    check_zip(path, limits)
    claimed = forerun.claim(path, name, limits, header_probe)
    if claimed is not None:  # its child has been reading it since the command started
        pid, report = claimed
        return PendingRead(
            lambda: _forerun_result(pid, report, path, name, header_probe, limits),
            lambda: _stop_child(pid, report),
        )
    if not hasattr(os, "fork"):
        table = _read_workbook_here(path, name, header_probe, limits)
        return PendingRead(lambda: table)
    return _start_child(path, name, header_probe, limits)


def _start_child(
    path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits
) -> PendingRead:
    """Read in a forked child with a memory cap; a crash or abort there is a file problem,
    not the end of the batch."""
    cap = vm_size() + READER_ALLOWANCE
    result = forerun.result_file()
    pid = forking.fork()
    if pid == 0:  # the child: read, leave the result, and leave without cleanup
        code = 1
        try:
            forerun.confine_child(cap)
            serve_read(path, name, header_probe, limits, result)
            code = 0
        finally:
            os._exit(code)
    return PendingRead(lambda: _child_result(pid, result), lambda: _stop_child(pid, result))


def serve_read(
    path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits, result_fd: int
) -> None:
    """The child's work: read, and leave what came of it in the result file (see
    forerun.result_file)."""
    checkpoint("workbook-child-read")
    try:
        result: tuple[str, Any] = ("ok", _read_workbook_here(path, name, header_probe, limits))
    except ReadError as exc:
        result = ("error", (exc.code, exc.message))
    except MemoryError:
        result = ("error", ("file-too-large", _TOO_BIG))
    except BaseException as exc:  # noqa: BLE001 - anything the reader raises
        result = ("error", ("file-unreadable", _damaged(exc)))
    forerun.write_result(result_fd, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def _stop_child(pid: int, result_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(result_fd)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


class _NotServed(Exception):
    """The forerun's child stopped before reading (see forerun.NOT_SERVED)."""


def _forerun_result(
    pid: int, result_fd: int, path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits
) -> RawTable:
    try:
        return _child_result(pid, result_fd)
    except _NotServed:
        pass
    except ReadError as exc:
        # Out of memory is the usual child's to say: the forerun's cap also holds the
        # imports it did itself, which the usual child's does not (forerun.IMPORT_ALLOWANCE).
        if exc.message != _TOO_BIG:
            raise
    return _start_child(path, name, header_probe, limits).result()


def _child_result(pid: int, result_fd: int) -> RawTable:
    """The child's result, once it has ended. The result is taken from a file, in one read,
    not from a pipe while the child writes it: 14 MB for 100,000 lines through a 64 KB pipe
    took this thread 200 reads, each waiting for the GIL behind the snapshot's thread."""
    try:
        _, status = os.waitpid(pid, 0)
        data = forerun.read_result(result_fd) if status == 0 else b""
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    finally:
        with contextlib.suppress(OSError):
            os.close(result_fd)
    if data:  # whole: the child wrote it all before it ended cleanly
        kind, payload = pickle.loads(data)
        if kind == "ok":
            return payload
        raise ReadError(*payload)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == forerun.NOT_SERVED:
        raise _NotServed
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGABRT):
        raise ReadError("file-too-large", _TOO_BIG)
    raise ReadError(
        "file-unreadable",
        "The workbook made the spreadsheet reader fail; it is damaged or not really a "
        "workbook. Open it in Excel, save it again, and drop in the new copy.",
    )


_TOO_BIG = (
    "The workbook needs more memory to read than allowed: it declares far more cells than a "
    "request file holds: a cell far down (at row 1,048,576) or far to the right (in "
    "column XFD) stretches the sheet over every row and column up to it. Press Ctrl+End "
    "in Excel to find that cell and delete it, or copy the rows you need into a new "
    "workbook and drop that in."
)


def _read_workbook_here(
    path: Path, name: str, header_probe: HeaderProbe, limits: ReadLimits
) -> RawTable:
    book = _open(path)
    try:
        sheets = sheet_order(book)
        if not sheets:
            raise ReadError("file-empty", "The workbook has no visible worksheet.")
        # Each candidate sheet is read once, whole: calamine parses the whole sheet even for
        # a peek at its first rows, so peeking first would parse the chosen sheet twice.
        # The first sheet with a whole request header is taken; failing one, the best (an
        # inventory report pasted in first must not hide the requests after it); with no
        # header anywhere, the first sheet is reported (file-kind-unknown).
        best: tuple[int, str, _Sheet, np.ndarray | None] | None = None
        fits: dict[str, int] = {}
        for sheet in sheets:
            handle = _sized_sheet(book, sheet, limits)
            read = _read_sheet(handle, sheet_rows(limits))
            fits[sheet] = fit = header_probe(_peek(name, sheet, read.cells, read.first_row))
            if sheet.strip().lower() == PREFERRED_SHEET:
                fit = REQUEST_HEADER + 1
            if best is None or fit > best[0]:
                best = (fit, sheet, read, _merged_ranges(handle))
            if fit >= REQUEST_HEADER:
                break
        assert best is not None  # sheets is not empty
        _, chosen, read, merged = best
        cells, first_row, far = read.cells, read.first_row, read.far
        others = _other_request_sheets(path, book, sheets, chosen, fits, name, header_probe, limits)
        chosen_hidden = chosen in _hidden_sheets(book)
    finally:
        # Closing a half-read workbook must not hide the real problem.
        with contextlib.suppress(Exception):
            book.close()
    extras = _sheet_extras(path, chosen)
    unvalued = extras.unvalued
    if far is not None and unvalued is not None:
        far, unvalued = _far_unvalued(far, unvalued)
    cells, first_row = _shown_unvalued(
        unvalued, cells, first_row, first_row + limits.max_rows + 101
    )
    cells = _shown_padded(extras.padded, cells, first_row)
    cells = _without_totals(cells, first_row, extras.totals_rows)
    numbers = np.arange(first_row + 1, first_row + 1 + len(cells), dtype=np.int64)
    return RawTable(
        file=name,
        cells=cells,
        row_numbers=numbers,
        sheet=chosen,
        encoding="",
        hidden_rows=extras.hidden_rows,
        hidden_columns=extras.hidden_columns,
        other_request_sheets=others,
        sheet_hidden=chosen_hidden,
        merged=merged if merged is not None else extras.merged,
        far_cells=far,
        date_cells=read.dates,
        scaled_cells={(r + 1, c): how for (r, c), how in extras.scaled.items()},
    )


def _sheet_extras(path: Path, sheet: str) -> SheetExtras:
    """What the sheet's XML says beyond calamine's values: an .ods's or an .xlsx's."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return xls_extras(path, sheet)  # an old .xls: its cells are looked at by xlrd
    if "content.xml" in names and "xl/workbook.xml" not in names:
        return ods_extras(path, sheet)
    return sheet_extras(path, sheet)


def _sized_sheet(book: Any, sheet: str, limits: ReadLimits) -> Any:
    handle = _sheet(book, sheet)
    if too_many_rows(handle, limits):
        raise ReadError(
            "file-too-large",
            f"Sheet '{sheet}' has {handle.height:,} rows; the limit is "
            f"{limits.max_rows:,} (max_rows in the settings). Split it into smaller files.",
        )
    return handle


def _peek(name: str, sheet: str, cells: pd.DataFrame, first_row: int) -> RawTable:
    return RawTable(
        file=name,
        cells=cells.iloc[:PEEK_ROWS],
        row_numbers=np.arange(first_row + 1, first_row + 1 + min(len(cells), PEEK_ROWS)),
        sheet=sheet,
    )


# An .xlsx sheet this large (about 10,000 rows of 15 columns) is not read only to learn
# whether it holds requests too.
OTHER_SHEET_MOST_BYTES = 2 << 20


def _other_request_sheets(
    path: Path,
    book: Any,
    sheets: list[str],
    chosen: str,
    fits: dict[str, int],
    name: str,
    header_probe: HeaderProbe,
    limits: ReadLimits,
) -> list[str]:
    """The other sheets holding a whole request table: only one sheet of a workbook is
    read, and a second sheet of requests ("Returns", then "Disposals") would else be left
    out without a word. The sheets not yet read are read for it (most are a few rows of
    instructions). calamine parses an .xlsx sheet whole to give its first rows, so a
    large one (a sales report kept beside the requests) is not looked at: a second of
    work for a note."""
    sizes = sheet_sizes(path)
    found = []
    for sheet in sheets:
        if sheet == chosen or sizes.get(sheet, 0) > OTHER_SHEET_MOST_BYTES:
            continue
        if sheet not in fits:
            try:
                peek = _read_sheet(_sized_sheet(book, sheet, limits), PEEK_ROWS)
            except ReadError:
                continue
            fits[sheet] = header_probe(_peek(name, sheet, peek.cells, peek.first_row))
        if fits[sheet] >= REQUEST_HEADER and _holds_requests(
            book, sheet, name, header_probe, limits
        ):
            found.append(sheet)
    return found


def _holds_requests(
    book: Any, sheet: str, name: str, header_probe: HeaderProbe, limits: ReadLimits
) -> bool:
    """Whether a sheet whose first rows show a request header holds requests (not the
    template's instructions, which list the fields down column A; core.shape). A
    snapshot's probe (another sheet holding an inventory report) is taken as it says."""
    from removal_batch.core.shape import has_request_header, holds_requests

    if header_probe is not has_request_header:
        return True
    try:
        peek = _read_sheet(_sized_sheet(book, sheet, limits), PEEK_ROWS)
    except ReadError:
        return False
    return holds_requests(_peek(name, sheet, peek.cells, peek.first_row))


def _far_unvalued(far: FarCells, unvalued: CellTexts) -> tuple[FarCells, CellTexts]:
    """Error cells and formulas never calculated past the columns read join the far cells:
    shown, they would stretch the sheet again."""
    out = unvalued.columns > far.after
    if not out.any():
        return far, unvalued
    cells = zip(unvalued.rows[out] + 1, unvalued.columns[out], unvalued.texts[out], strict=True)
    first = sorted([*far.first, *((int(r), int(c), str(t)) for r, c, t in cells)])[:5]
    inside = ~out
    kept = CellTexts(unvalued.rows[inside], unvalued.columns[inside], unvalued.texts[inside])
    return FarCells(first, far.count + int(out.sum()), far.after), kept


def _shown_unvalued(
    unvalued: CellTexts | None, cells: pd.DataFrame, first_row: int, max_row: int
) -> tuple[pd.DataFrame, int]:
    """Error cells and formulas never calculated, as Excel shows them (calamine's blank
    would be a quantity of 0). calamine leaves a row or column of nothing else out of its
    range, so the frame grows to take them (a whole line of formulas would else be lost)."""
    if unvalued is None:
        return cells, first_row
    # No growth past the rows a sheet may have (a cell at row 1,048,576 would make a
    # million-row frame); such a sheet is refused as too large anyway.
    keep = unvalued.rows < max_row
    if not keep.any():
        return cells, first_row
    unvalued = CellTexts(unvalued.rows[keep], unvalued.columns[keep], unvalued.texts[keep])
    top = min(first_row, int(unvalued.rows.min())) if len(cells) else int(unvalued.rows.min())
    bottom = max(first_row + len(cells), int(unvalued.rows.max()) + 1)
    width = max(max(cells.columns, default=-1), int(unvalued.columns.max())) + 1
    if top < first_row or bottom > first_row + len(cells) or width > len(cells.columns):
        grown = cells.reindex(
            index=pd.RangeIndex(top - first_row, bottom - first_row), columns=range(width)
        )
        grown = grown.fillna("").astype(TEXT).reset_index(drop=True)
    else:  # inside calamine's range, as nearly always: the frame as it is
        grown = cells
    for column in np.unique(unvalued.columns):
        here = unvalued.columns == column
        values = grown[column].to_numpy(dtype=object)
        values[unvalued.rows[here] - top] = unvalued.texts[here]
        grown[column] = pd.array(values, dtype=TEXT)
    return grown, top


def _without_totals(cells: pd.DataFrame, first_row: int, totals: np.ndarray) -> pd.DataFrame:
    """The frame with each table's Total Row blank, in the table's columns only (a small
    table beside the requests must not blank a request on its row): read as no request.
    ``totals``: rows of (row as shown, first column, last column)."""
    cells = cells.copy() if len(totals) else cells
    for row, first, last in totals.tolist():
        at = row - 1 - first_row
        columns = [c for c in cells.columns if first <= c <= last]
        if 0 <= at < len(cells) and columns:
            cells.loc[at, columns] = ""
    return cells


def _shown_padded(padded: PaddedCells | None, cells: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Numbers in a zero-padding format (Excel's Zip Code) as the sheet shows them."""
    if padded is None:
        return cells
    at = padded.rows - first_row
    inside = (at >= 0) & (at < len(cells)) & np.isin(padded.columns, cells.columns)
    keys = pd.DataFrame(
        {"column": padded.columns[inside], "format": padded.format_ids[inside], "at": at[inside]}
    )
    for (column, format_id), group in keys.groupby(["column", "format"]):
        values = cells[column]
        shown = pad_like_excel(
            values.iloc[group["at"].to_numpy()],
            padded.formats[format_id],
        )
        updated = values.copy()
        updated.iloc[group["at"].to_numpy()] = shown.to_numpy()
        cells[column] = updated
    return cells
