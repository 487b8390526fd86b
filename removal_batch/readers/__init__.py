"""Readers: one module per file format, each returning the same RawTable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from removal_batch.core.wording import sizes_apart

if TYPE_CHECKING:
    # Not at run time: this package is imported before pandas is (readers.forerun).
    from removal_batch.core.raw_table import ColumnChoice, RawTable

TEXT_SUFFIXES = frozenset({".txt", ".tsv", ".csv"})
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | WORKBOOK_SUFFIXES

# Signatures that decide the reader from content, whatever the name says.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GZIP_MAGIC = b"\x1f\x8b"
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
# What is looked at of a file named as a workbook without a workbook's signature.
HEAD_BYTES = 4096


class ReadError(Exception):
    """A file-level problem found while reading: carries its SPEC code and a message."""

    def __init__(
        self, code: str, message: str, *, row: int | None = None, column: str = "", value: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The cell to blame, when one is (a stray quote mark's); file-level otherwise.
        self.row, self.column, self.value = row, column, value


@dataclass(frozen=True)
class ReadLimits:
    max_bytes: int = 100 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_rows: int = 1_000_000


def cannot_open(error: OSError) -> str:
    """The message for a file the system will not let us read (permissions, another
    program's lock, gone since it was listed), with what to do about it."""
    reason = error.strerror or str(error)
    return (
        f"The file cannot be opened ({reason}). Check that it is a file you may read and that "
        "no other program holds it, then run again."
    )


# How well a peek at a sheet or file shows a request header: 0 not at all, more is better
# (core.shape.has_request_header). Any non-zero answer picks a text file's delimiter.
HeaderProbe = Callable[["RawTable"], int]
# Given a peek at the first rows, the column positions a caller uses (None: all of them).
# A 21-column inventory report is read as its 3-6 used columns: a third of the work.
ColumnPicker = Callable[["RawTable"], "ColumnChoice | None"]


class PendingRead:
    """A read begun now and finished by ``result()`` (which raises ReadError for a bad
    file). A workbook's child process reads it in the meantime; ``cancel()`` abandons a
    read whose result is not wanted (a no-op once the result was taken)."""

    def __init__(
        self, finish: Callable[[], RawTable], cancel: Callable[[], None] | None = None
    ) -> None:
        self._finish = finish
        self._cancel = cancel

    def result(self) -> RawTable:
        self._cancel = None
        return self._finish()

    def cancel(self) -> None:
        cancel, self._cancel = self._cancel, None
        if cancel is not None:
            cancel()

    @classmethod
    def failed(cls, error: ReadError) -> PendingRead:
        def finish() -> RawTable:
            raise error

        return cls(finish)


def read_table(
    path: Path,
    header_probe: HeaderProbe,
    limits: ReadLimits = ReadLimits(),
    display_name: str | None = None,
    quoting: bool = True,
    columns: ColumnPicker | None = None,
) -> RawTable:
    """Read one request or snapshot file into a RawTable, or raise ReadError.

    ``header_probe`` tells whether a peek at a sheet's first rows holds a header
    this caller recognises; it picks the sheet of a workbook and the delimiter of
    a text file. ``columns`` may narrow a text file to the columns a caller uses; the
    table's column labels stay the file's column positions, so places stay exact.
    """
    from removal_batch.readers import text, workbook

    name = display_name or path.name
    if _is_workbook(path, limits):
        return workbook.read_workbook(path, name, header_probe, limits)
    return text.read_text(path, name, header_probe, limits, quoting=quoting, columns=columns)


def begin_read(
    path: Path,
    header_probe: HeaderProbe,
    limits: ReadLimits = ReadLimits(),
    display_name: str | None = None,
    quoting: bool = True,
    columns: ColumnPicker | None = None,
) -> PendingRead:
    """Start reading a file. A workbook's child process starts now, so the caller can do
    other work (load the snapshot) on the other core; a text file is read when the result
    is asked for, by the thread that asks (Arrow's reader already uses both cores)."""
    from removal_batch.readers import forerun, workbook

    try:
        if _is_workbook(path, limits):
            # Takes the read begun before pandas was imported, if it is this one's.
            return workbook.begin_workbook(path, display_name or path.name, header_probe, limits)
    except ReadError as exc:
        forerun.clear()
        return PendingRead.failed(exc)
    forerun.clear()  # a text file is read first: a forerun read another file
    return PendingRead(
        lambda: read_table(path, header_probe, limits, display_name, quoting, columns)
    )


def _is_workbook(path: Path, limits: ReadLimits) -> bool:
    """Whether the file is read as a workbook (from its content) or as text; raises
    ReadError for a file that is neither, too large or empty."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(8)
            if suffix in WORKBOOK_SUFFIXES and not magic.startswith((ZIP_MAGIC, OLE_MAGIC)):
                magic += handle.read(HEAD_BYTES)  # a workbook's name, not its content
    except OSError as exc:
        raise ReadError("file-unreadable", cannot_open(exc)) from exc
    if size > limits.max_bytes:
        raise ReadError(
            "file-too-large",
            "The file is {}; the limit is {} (max_file_bytes in the settings). Split it into "
            "smaller files.".format(*sizes_apart(size, limits.max_bytes)),
        )
    if size == 0:
        raise ReadError("file-empty", "The file is empty (0 bytes).")
    if magic.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return True
    if magic.startswith(GZIP_MAGIC):
        raise ReadError(
            "file-unreadable",
            "This is a gzip-compressed file, not a spreadsheet. Decompress it first.",
        )
    if suffix not in WORKBOOK_SUFFIXES or _text_under_workbook_name(magic, suffix):
        return False
    if suffix != ".xls":
        raise ReadError(
            "file-unreadable",
            f"The file is named {path.suffix} but is not a workbook (it may be damaged, "
            "or saved in another format). Open it in Excel and save it again.",
        )
    # Old BIFF .xls files without an OLE container still open in calamine.
    return True


def _text_under_workbook_name(head: bytes, suffix: str) -> bool:
    """Whether a file named as a workbook but without a workbook's signature holds text,
    which is then read as text: web tools export tab-delimited text under an .xls name,
    and Excel opens it (after a warning). Text is told from binary as the text reader
    tells it: a Unicode mark, or no NUL byte. A web page saved under that name is
    refused here: read as text, it would be said to have no header."""
    if head.startswith(UTF32_BOMS):
        start = head.decode("utf-32", "ignore")
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        start = head.decode("utf-16", "ignore")
    elif b"\x00" in head:
        return False  # binary: a damaged workbook, or an old .xls without a container
    else:
        start = head.decode("utf-8", "ignore")
    start = start.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<"):  # markup, which no request file starts with
        xml = start.startswith("<?xml") and "<html" not in start
        what = "an XML file (an Excel 2003 XML spreadsheet?)" if xml else "a web page"
        raise ReadError(
            "file-unreadable",
            f"This is {what} saved with an {suffix} name, not a workbook. Open it in Excel "
            "and save it as .xlsx, or export it as CSV.",
        )
    return True
