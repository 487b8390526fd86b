"""Tab-, comma- and semicolon-delimited text: encodings, delimiters, row numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from removal_batch import prefetch
from removal_batch.core.fields import column_letter
from removal_batch.core.raw_table import (
    TEXT,
    ColumnChoice,
    RawTable,
    delimiter_name,
    longer_records,
    raw_table_from_rows,
)
from removal_batch.readers import (
    UTF32_BOMS,
    ColumnPicker,
    HeaderProbe,
    ReadError,
    ReadLimits,
    cannot_open,
)

DELIMITERS = ("\t", ",", ";")
PEEK_LINES = 50
MAX_COLUMNS = 16_384  # Excel's; a wider "row" is a wrong delimiter or a hostile file
# The csv module refuses cells over 128 KiB by default; the cell-length limit is ours to
# apply (with its own message), after reading.
csv.field_size_limit(2**31 - 1)
PEEK_CHARS = 1 << 20  # what delimiter and width detection look at: never the whole file
# Below this, the csv module reads the file: starting Arrow's reader and converting its
# table costs milliseconds, which a batch of a thousand small files would pay each time.
SMALL_TEXT_CHARS = 256 * 1024


def _line_at(data: bytes, position: int) -> int:
    """The line (from 1) holding byte ``position``, whatever the line endings: Excel for
    Mac's 'CSV (Macintosh)' ends lines with a carriage return alone."""
    head = data[:position]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


# UTF-8 sequences that Windows-1252 text practically never holds: Ã, Ä or Å followed by a
# byte of 0x80-0xBF (é, ü, ł... in UTF-8), and â€ followed by one (’, “, –). A Windows-1252
# file may well hold other valid pairs (JOSÉ’S is C9 92): they prove nothing.
_UTF8_EVIDENCE = re.compile(rb"[\xc3-\xc5][\x80-\xbf]|\xe2[\x80-\x82][\x80-\xbf]")
# How much of the file is weighed at a time, from the first byte that is not UTF-8 on,
# when there is no evidence before it: a foreign line first, the UTF-8 text after it.
_EVIDENCE_WINDOW = 1 << 20


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding name). Supported: UTF-8 (BOM or not), UTF-16 with BOM, cp1252."""
    # Before UTF-16's: a UTF-32 LE mark starts with one, and decoding on as UTF-16 makes
    # a NUL of every other character (no header is found, and the file's kind is blamed).
    if data.startswith(UTF32_BOMS):
        raise ReadError(
            "file-encoding",
            "The file is UTF-32 text, which is not supported. Save it again as UTF-8 "
            "('CSV UTF-8' in Excel; 'UTF-8' in a text editor's Save As).",
        )
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8"), "utf-8-sig"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError as exc:
        # exc.start counts from after the UTF-8 mark (decoded without it), from the file's
        # start for UTF-16 (whose mark is decoded with it).
        at = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = _line_at(data, at) if data.startswith(b"\xef\xbb\xbf") else None
        where = f"Line {line:,} holds a byte" if line is not None else "The file holds a byte"
        raise ReadError(
            "file-encoding",
            f"{where} (the file's byte {at + 1:,}) that is not valid Unicode text, though "
            "the file starts with a Unicode mark: part of it was saved in another encoding. "
            "Save it again from your spreadsheet program as 'Unicode Text' or 'CSV UTF-8'.",
            row=line,
        ) from exc
    if b"\x00" in data:
        raise ReadError(
            "file-encoding",
            "The file contains NUL bytes: it is binary, or UTF-16 text without a byte-order "
            "mark. Save it again as 'Text (Tab delimited)', 'Unicode Text' or 'CSV UTF-8'.",
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        _refuse_mixed(data, exc.start)
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        raise ReadError(
            "file-encoding",
            f"Line {line:,} holds a byte (0x{data[exc.start]:02X}, the file's byte "
            f"{exc.start + 1:,}) that is not valid in UTF-8, UTF-16 or Windows-1252 text. "
            "Save the file again from your spreadsheet program as 'CSV UTF-8' (for a .csv) "
            "or 'Unicode Text' (for a .txt).",
            row=line,
        ) from exc


def _refuse_mixed(data: bytes, bad: int) -> None:
    """A file mostly in UTF-8 with a byte that is not (a line pasted from a Windows file)
    is refused: read as Windows-1252 whole, every UTF-8 letter of it would turn into two
    (Jürgen as JÃ¼rgen) and go into the orders. Mostly: UTF-8 letters before the first
    byte that is not (a Windows-1252 file's first accent is that byte: the search is
    short), or more of them than such bytes in a megabyte after it (_utf8_after)."""
    if _UTF8_EVIDENCE.search(data, 0, bad) is None and not _utf8_after(data, bad):
        return
    line = _line_at(data, bad)
    raise ReadError(
        "file-encoding",
        f"The file is UTF-8 text, but line {line:,} holds a byte (0x{data[bad]:02X}, the "
        f"file's byte {bad + 1:,}) that is not: part of the file was saved in another "
        "encoding (a line pasted from another file, perhaps). Correct the letters of that "
        "line and save the whole file again as 'CSV UTF-8' (for a .csv) or 'Unicode Text' "
        "(for a .txt).",
        row=line,
    )


def _utf8_after(data: bytes, bad: int) -> bool:
    """Whether a megabyte of the file, from byte ``bad`` on, holds more UTF-8 letters than
    bytes that are not UTF-8. Every megabyte is weighed, not the first only: the first
    UTF-8 name may come 50,000 lines after a line pasted from a Windows file, and read as
    Windows-1252 it went into the orders as JÃ¼rgen. A megabyte is decoded and searched
    only when numpy finds the start of such a letter in it: a lead byte followed by one of
    0x80-0xBF, which a Windows-1252 letter (ä, é, Ä) seldom is."""
    view = np.frombuffer(data, dtype=np.uint8)
    for start in range(bad, len(data), _EVIDENCE_WINDOW):
        here = view[start : start + _EVIDENCE_WINDOW]
        if start > bad and not (here >= 0x80).any():
            continue  # ASCII
        lead, follow = here[:-1], here[1:]
        pairs = ((lead >= 0xC3) & (lead <= 0xC5)) | (lead == 0xE2)
        possible = int(np.count_nonzero(pairs & (follow >= 0x80) & (follow <= 0xBF)))
        if not possible:
            continue
        window = data[start : start + _EVIDENCE_WINDOW]
        invalid = window.decode("utf-8", errors="replace").count("\ufffd")
        if possible > invalid and len(_UTF8_EVIDENCE.findall(window)) > invalid:
            return True
    return False


# Characters Windows-1252 gives bytes that, in another single-byte encoding, are letters:
# Ÿ is a Mac's ü (MŸller), ‡ its á, ³ and ¯ Central European ł and Ż (¯ó³æ for Żółć),
# £ and ¤ DOS's ú and ñ (N£¤ez). Between two letters none of them is a typo anyone makes.
_SUSPECTS = "‚„†‡‰ˆ¹³¯¤Ÿ£§¶¦"
_SUSPECT = re.compile(f"[{_SUSPECTS}]")


def refuse_other_code_page(text: str) -> None:
    """A file read as Windows-1252 that shows signs of another single-byte encoding (a Mac's,
    Central European, DOS) is refused: its names and addresses would go into the orders
    garbled. Only request files: the snapshot's product names are not read, and its SKUs
    would fail to match anyway. The suspects are found by a plain scan (a £ in a note is
    common); only they are looked at with their neighbours."""
    if not any(suspect in text for suspect in _SUSPECTS):  # a plain search: 5 ms for 26 MB
        return
    for found in _SUSPECT.finditer(text):
        at = found.start()
        if at == 0 or not text[at - 1].isalpha() or at + 1 >= len(text):
            continue
        after = text[at + 1]
        if after.isalpha() or after in _SUSPECTS:
            break
    else:
        return
    # The word it is in, as the file shows it: up to a space, a delimiter or a quote.
    before = re.search(r'[^\s,;"]*$', text[max(0, at - 40) : at])
    rest = re.match(r'[^\s,;"]*', text[at : at + 40])
    word = (before.group() if before else "") + (rest.group() if rest else "")
    line = _breaks(text[:at]) + 1
    raise ReadError(
        "file-encoding",
        f"Line {line:,} holds '{word}': the file looks saved in another encoding (a Mac's, "
        "Central European or DOS), not UTF-8 or Windows-1252, so its letters would be read "
        "wrongly. Save it again from your spreadsheet program as 'CSV UTF-8' (for a .csv) "
        "or 'Unicode Text' (for a .txt).",
        row=line,
    )


def _split(
    text: str,
    delimiter: str,
    quoting: bool,
    limit: int | None = None,
    widths: list[int] | None = None,
) -> list[list[str]]:
    """The records as lists of cells. Given ``widths``, each record's cell count is
    appended to it, and a padded record's empty cells after its last value are dropped:
    a sheet Excel saved with its used range stretched to column XFD writes 16,384 cells
    on every line, and kept they took gigabytes for a few thousand rows."""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=False,
    )
    rows: list[list[str]] = []
    for row in reader:
        if len(row) > MAX_COLUMNS:
            raise ReadError("file-too-large", _too_wide(len(rows) + 1, len(row)))
        if widths is not None:
            widths.append(len(row))
            if len(row) > PADDED_COLUMNS and row[-1] == "":
                del row[_used_width(row) :]
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


# A record with more cells than this, ending with an empty one, may be padded: its empty
# cells after the last value are looked for (a request has about 15 columns).
PADDED_COLUMNS = 64


def _used_width(row: list[str]) -> int:
    """The cells of a record up to its last non-empty one. Each empty cell after it adds
    a separator to the end of the joined cells; a cell ending in a NUL (which no file
    read here holds) would be counted with them, so the count is checked."""
    joined = "\0".join(row)
    used = len(row) - (len(joined) - len(joined.rstrip("\0")))
    if row[used:].count("") == len(row) - used:
        return used
    return len(row)


def _too_wide(row: int, cells: int) -> str:
    return (
        f"Record {row:,} has {cells:,} cells; a sheet has at most {MAX_COLUMNS:,} columns "
        "(Excel's limit) and a request needs about 15. Check the file's delimiter."
    )


def _peek_table(name: str, rows: list[list[str]]) -> RawTable:
    """A few rows for a header probe, kept as Python lists (probes read the lists; a frame
    is built only if one asks for it)."""
    width = max((len(r) for r in rows), default=0)
    padded = [r + [""] * (width - len(r)) for r in rows]
    numbers = np.arange(1, len(rows) + 1, dtype=np.int64)
    return RawTable(name, row_numbers=numbers, lists=padded)


def _head(text: str) -> str:
    """The first lines, where headers, delimiters and column positions are looked for."""
    # Splitting a short prefix first spares splitting a megabyte into lines to keep 50.
    for size in (1 << 16, PEEK_CHARS):
        lines = text[:size].splitlines()
        if len(lines) > PEEK_LINES or size >= len(text):
            break
    return "\n".join(lines[:PEEK_LINES])


def choose_delimiter(
    text: str, suffix: str, name: str, header_probe: HeaderProbe, quoting: bool
) -> str:
    """The delimiter whose split of the first lines shows a recognisable header."""
    preferred = ("\t", ",", ";") if suffix in {".txt", ".tsv"} else (",", ";", "\t")
    head = _head(text)
    for delimiter in preferred:
        if header_probe(_peek_table(name, _split(head, delimiter, quoting))):
            return delimiter
    # No header recognised under any: keep the one that splits the first line most.
    first = head.split("\n", 1)[0]
    counts = {d: first.count(d) for d in preferred}
    best = max(preferred, key=lambda d: counts[d])
    return best if counts[best] else preferred[0]


class SourceText:
    """A file's text, decoded whole only if a reader needs it whole. A large UTF-8 file
    goes to Arrow as its bytes; only its head is decoded (header, delimiter and width are
    found there), which spares a copy of the file as a Python string (for a 100 MB
    snapshot, 0.05 s and 100 MB of fresh memory)."""

    def __init__(self, data: bytes) -> None:
        self.utf8: bytes | None = None  # a large UTF-8 file's bytes, without a BOM
        self._text: str | None = None
        if len(data) > SMALL_TEXT_CHARS and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            bom = data.startswith(b"\xef\xbb\xbf")
            body = data[3:] if bom else data
            if b"\x00" not in body and _valid_utf8(body):
                self.utf8, self.encoding = body, "utf-8-sig" if bom else "utf-8"
                # At most PEEK_CHARS characters; "ignore" drops only a character cut in two.
                self.head = body[:PEEK_CHARS].decode("utf-8", "ignore")
                self.head_cut = len(body) > PEEK_CHARS
                return
        # Small, UTF-16, or not UTF-8: decoded whole (a small file never reaches Arrow, so
        # its UTF-8 bytes are not kept).
        self._text, self.encoding = decode(data)
        self.head = self._text[:PEEK_CHARS]
        # The head ends inside the file: its last record may be cut short.
        self.head_cut = len(self._text) > PEEK_CHARS

    @property
    def text(self) -> str:
        """The whole text (decoded now if only the head was)."""
        if self._text is None:
            assert self.utf8 is not None
            self._text = self.utf8.decode("utf-8")
        return self._text

    @property
    def is_small(self) -> bool:
        return self._text is not None and len(self._text) <= SMALL_TEXT_CHARS

    def is_blank(self) -> bool:
        return not self.head or (self.head.isspace() and self.text.isspace())

    def count(self, char: str) -> int:
        """Occurrences of an ASCII character (or pair), in the bytes where they are at hand
        (an ASCII byte is never part of a longer UTF-8 sequence)."""
        if self.utf8 is not None:
            if len(char) == 1:
                return _count_byte(self.utf8, ord(char))
            return self.utf8.count(char.encode("ascii"))
        return self.text.count(char)

    def ends_with_break(self) -> bool:
        last = self.utf8[-1:].decode("ascii", "ignore") if self.utf8 is not None else self.text[-1:]
        return last in ("\n", "\r")

    def holds(self, char: str) -> bool:
        if self.utf8 is not None:
            return char.encode("ascii") in self.utf8
        return char in self.text


COUNT_SLICE = 1 << 22


def _count_byte(data: bytes, value: int) -> int:
    """How often one byte value occurs, counted by numpy a few MB at a time: 2-3x faster
    than bytes.count (25 ms against 64-99 ms for a 94 MB snapshot's newlines), without
    holding the GIL for the comparison, and with a temporary of one slice only."""
    view = np.frombuffer(data, dtype=np.uint8)
    return sum(
        int(np.count_nonzero(view[start : start + COUNT_SLICE] == value))
        for start in range(0, len(view), COUNT_SLICE)
    )


def _valid_utf8(data: bytes) -> bool:
    """UTF-8 validity checked by Arrow in place: no decoded copy is made."""
    import numpy as np
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def read_text(
    path: Path,
    name: str,
    header_probe: HeaderProbe,
    limits: ReadLimits,
    quoting: bool = True,
    columns: ColumnPicker | None = None,
) -> RawTable:
    try:
        data = prefetch.take_bytes(path) or path.read_bytes()
    except OSError as exc:
        raise ReadError("file-unreadable", cannot_open(exc)) from exc
    source = SourceText(data)
    del data
    if source.encoding == "cp1252" and columns is None:
        refuse_other_code_page(source.text)
    if source.is_blank():
        raise ReadError("file-empty", "The file holds no text, only blank lines or spaces.")
    # A cheap upper bound first, so a huge file is refused before it is parsed.
    breaks = source.count("\n")
    if source.holds("\r"):
        breaks += source.count("\r") - source.count("\r\n")
    if breaks + 1 > 2 * limits.max_rows + 100:
        raise ReadError("file-too-large", _too_many_rows(breaks + 1, limits))
    delimiter = choose_delimiter(source.head, path.suffix.lower(), name, header_probe, quoting)
    keep = None
    if columns is not None:
        keep = columns(_peek_table(name, _split(_head(source.head), delimiter, quoting)))
    table = _parse(source, delimiter, quoting, keep)
    # Each line is one record unless a quoted cell holds line breaks: only then is there a
    # cell to look at (a clean file pays one comparison).
    if quoting and table.height < breaks + (0 if source.ends_with_break() else 1):
        whole = table if keep is None else _parse(source, delimiter, quoting)
        # A row's delimiters as written: a padded file's rows may have been read without
        # their empty cells.
        written = max(
            (len(r) for r in _split(source.head, delimiter, quoting, limit=200)), default=0
        )
        if whole.record_widths is not None:
            written = max(written, int(whole.record_widths.max(initial=0)))
        stray = stray_quote(whole, delimiter, written)
        if stray is not None:
            raise stray
    if table.height > limits.max_rows + 100:
        raise ReadError("file-too-large", _too_many_rows(table.height, limits))
    table.file, table.encoding, table.delimiter = name, source.encoding, delimiter
    return table


def _row_delimiters(delimiter: str, width: int) -> int:
    """How many delimiters in one cell make it hold a row's cells. A tab cannot be typed
    into a cell (Excel moves to the next one), but can be pasted: three make a row's (a
    hand-made row may leave its trailing cells out). A comma or semicolon is prose too
    ("Dock 2, Bay 3, Door 7, North side"): half the file's columns of them, and at least
    three (fewer, if the file's rows are narrower), and then `_holds_a_row` tells prose
    from cells."""
    most = max(1, width - 1)
    need = min(3, most) if delimiter == "\t" else min(max(3, width // 2), most)
    # A bound on a count, for a file thousands of columns wide: a cell of 1,000
    # delimiters holds rows anyway.
    return min(need, 1000)


def _holds_a_row(cell: str, delimiter: str, width: int) -> bool:
    """Whether a cell holding a line break holds the delimiter as rows do, on any of its
    lines: a stray quote swallows the rest of its own row (the first line) and the rows
    down to the next quote mark, which may stand in the same column a line below, so that
    the cells still line up under the header. The search found enough delimiters; a
    comma or semicolon in prose is followed by a space ("Dock 2, Bay 3, Door 7"), or
    groups a number's thousands ("2,500 straps"); one between a program's cells is
    neither. (Rows typed with a space after each comma are not told from prose: a quote
    mark after such a space opens no quoted cell, so they are seldom swallowed.)"""
    if delimiter == "\t":
        return True
    tight = sum(
        line.count(delimiter) - line.count(delimiter + " ") - _thousands_commas(line, delimiter)
        for line in re.split(r"\r\n|\r|\n", cell)
    )
    return tight >= _row_delimiters(delimiter, width)


# A number written with thousands commas, standing alone: "2,500 straps", not the cells of
# a row ("SKU-200,120,250,": a comma after the last group, so no number of prose).
_GROUPED = re.compile(r"(?<![\d,])\d{1,3}((?:,\d{3})+)(?![\d,])")


def _thousands_commas(line: str, delimiter: str) -> int:
    """The commas of a line that group a number's thousands (a semicolon groups none)."""
    if delimiter != ",":
        return 0
    return sum(match.group(1).count(",") for match in _GROUPED.finditer(line))


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def stray_quote(table: RawTable, delimiter: str, width: int = 0) -> ReadError | None:
    """The error for a quote mark that opens a cell swallowing rows, or None.

    A cell starting with a quote mark runs to the next one, over line breaks: that is how
    Excel writes a cell holding a break. A quote typed at the start of a cell ("Handle
    with care) opens one all the same, and the lines down to the next quote mark become
    that cell's text: their requests vanish and the file reads as clean. A cell holding a
    break and the delimiter as often as a row does is taken for such rows.

    The whole file is refused (file-unreadable), not the row: an error on the row would
    still send the file's other orders without the swallowed ones, and where the stray
    quote should have closed cannot be guessed, so its rows cannot be trusted.
    ``width``: the records' cells as written, when more than the table's (padding)."""
    import pyarrow.compute as pc

    from removal_batch.core.fields import arrow_strings, column_letter

    width = max(width, table.width)
    need = _row_delimiters(delimiter, width)
    columns = [arrow_strings(table.cells[c]) for c in table.cells.columns]
    first: tuple[int, int] | None = None  # (record, column position) of the first such cell
    for pos, values in enumerate(columns):
        broken = pc.match_substring_regex(values, r"[\r\n]")
        hits = pc.and_(broken, pc.greater_equal(pc.count_substring(values, delimiter), need))
        hits = hits.fill_null(False)
        for found in np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist():
            if first is not None and found >= first[0]:
                break
            if _holds_a_row(values[found].as_py(), delimiter, width):
                first = (found, pos)
                break
    if first is None:
        return None
    record, pos = first
    # The line a text editor shows: one per record above, plus the breaks inside their
    # cells, plus those in this record's cells to the left.
    breaks = [np.asarray(pc.count_substring_regex(v, r"\r\n|\r|\n").fill_null(0)) for v in columns]
    above = sum(int(b[:record].sum()) for b in breaks)
    start = 1 + record + above + sum(int(b[record]) for b in breaks[:pos])
    cell = str(table.cells.iat[record, pos])
    end = start + _breaks(cell.rstrip("\r\n"))
    letter = column_letter(int(table.cells.columns[pos]))
    lost = (
        f"line {end} was not read as a row"
        if end == start + 1
        else f"lines {start + 1}-{end} were not read as rows"
    )
    # Ran to the end: the last record, and no cell after it (a quote closing on the last
    # line leaves the cells after it in the record).
    after = table.cells.iloc[record, pos + 1 :]
    open_to_end = record == table.height - 1 and not after.ne("").any()
    until = " to the end of the file" if open_to_end else ""
    return ReadError(
        "file-unreadable",
        f'The quote mark (") that starts the cell at row {start}, column {letter} opens a '
        f"quoted cell that runs over lines {start}-{end}{until}, so {lost}. Remove the "
        "stray quote mark, or close it where the cell should end.",
        row=start,
        column=letter,
        # As typed: the quote mark and the cell's first line (not the lines it swallowed).
        value='"' + cell[:200].partition("\n")[0].partition("\r")[0][:60],
    )


def _too_many_rows(rows: int, limits: ReadLimits) -> str:
    return (
        f"The file has about {rows:,} rows; the limit is {limits.max_rows:,} (max_rows in "
        "the settings). Split it into smaller files."
    )


def _parse(
    source: SourceText,
    delimiter: str,
    quoting: bool,
    choice: ColumnChoice | None = None,
) -> RawTable:
    """Every record as text cells: the csv module for small files and ragged ones, Arrow's
    multi-threaded reader for large regular files, pandas' C parser for large files with
    empty lines. ``choice`` narrows the result to its column positions (the labels stay
    the positions), after refusing a record with values past the header (ReadError).
    tests/test_readers.py holds the csv module and Arrow to the same result."""
    if source.is_small:
        return _parse_ragged(source.text, delimiter, quoting, choice)
    first = _split(source.head, delimiter, quoting, limit=200)
    if source.head_cut and len(first) > 1:
        # Possibly cut short by the head's end (a padded file's 200 records are longer
        # than the head): taken for a short record, it sent the file to the csv module.
        first.pop()
    head = np.array([len(r) for r in first])
    width = int(head.max(initial=1))
    if choice is not None and len(longer_records(head, choice.header_row)):
        # Only the csv module tells each record's length: pandas pads the short ones.
        return _parse_ragged(source.text, delimiter, quoting, choice)
    if choice is None and len(np.unique(head[head > 1])) > 1:
        # Records of unequal width in a request file: only the csv module tells each one's
        # length, which shows a record longer than its header (core.shape refuses it).
        return _parse_ragged(source.text, delimiter, quoting)
    keep = None
    if choice is not None:
        # The columns past the header are read too, to be looked at and dropped.
        past = range(choice.header_width, width)
        keep = [c for c in choice.positions if c < width] + list(past) or None
    quoted = quoting and source.holds('"')
    data = _utf8(source)
    frame = None
    # The head's cells up to the last value: a file padded with empty columns (Excel
    # carried every line to column XFD) reads only these, when the rest are empty.
    used = max(map(_used_width, first), default=width) if width > PADDED_COLUMNS else width
    used = max(used, 1)
    if keep is None and width - used >= PADDED_COLUMNS:
        frame = _parse_arrow(data, delimiter, quoted, width, used=used)
        if frame is None and _parse_arrow(data, delimiter, quoted, width, used=-used) is None:
            # Records of other widths (a row shifted by a comma, a blank line): the csv
            # module reads them, each without its empty cells (pandas would keep all).
            return _parse_ragged(source.text, delimiter, quoting)
    if frame is None:
        frame = _parse_arrow(data, delimiter, quoted, width, keep)
    if frame is None:
        try:
            frame = pd.read_csv(
                io.StringIO(source.text),
                sep=delimiter,
                header=None,
                # Every column: with usecols, pandas reads a record with a cell more than
                # ``width`` shifted instead of failing (and the ragged reader seeing it).
                names=range(width),
                dtype=TEXT,
                na_filter=False,
                skip_blank_lines=False,
                quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
                engine="c",
            ).fillna("")  # a final delimiter-only line comes back as missing values
        except (pd.errors.ParserError, ValueError):
            return _parse_ragged(source.text, delimiter, quoting, choice)
    numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    return _narrowed(RawTable(file="", cells=frame, row_numbers=numbers), choice, delimiter)


def _utf8(source: SourceText) -> bytes:
    if source.utf8 is not None:
        return source.utf8
    # Decoded from UTF-16 or cp1252: strict decoding leaves no lone surrogate to encode.
    return source.text.encode("utf-8")


def _narrowed(
    table: RawTable,
    choice: ColumnChoice | None,
    delimiter: str,
    widths: np.ndarray | None = None,
) -> RawTable:
    """``table`` narrowed to ``choice``'s columns, after refusing shifted records: those
    with values past the header, and (when ``widths``, every record's cell count, is
    known) those with more cells than the header and the rows' common width."""
    if choice is None:
        return table
    past = [c for c in table.cells.columns if c >= choice.header_width]
    filled = np.array([], dtype=np.int64)
    if past:
        below = table.cells.iloc[choice.header_row + 1 :]
        filled = np.flatnonzero(below[past].ne("").any(axis=1).to_numpy())
    longer = np.array([], dtype=np.int64)
    if widths is not None:
        longer = longer_records(widths, choice.header_row)
    if len(filled) or len(longer):
        message = _shifted(table, choice, filled, longer, widths, delimiter)
        raise ReadError("file-unreadable", message)
    table.cells = table.cells[[c for c in choice.positions if c in table.cells.columns]]
    table.lists = None  # the lists hold every column
    return table


def _shifted(
    table: RawTable,
    choice: ColumnChoice,
    filled: np.ndarray,
    longer: np.ndarray,
    widths: np.ndarray | None,
    delimiter: str,
) -> str:
    """Records whose values cannot be trusted to stand under their headers: a value (a
    product name) holding the delimiter moved the values after it one column right."""
    at = np.union1d(filled, longer)
    numbers = table.row_numbers[choice.header_row + 1 + at[:5]]
    rows = ", ".join(f"{n:,}" for n in numbers)
    many = f" and {len(at) - 5:,} more" if len(at) > 5 else ""
    mark = delimiter_name(delimiter)
    one = len(at) == 1
    if len(np.setdiff1d(at, filled)) == 0:
        last = column_letter(choice.header_width - 1)
        what = f"values to the right of column {last}, the last column with a header"
    else:
        assert widths is not None  # a record only counts as longer when widths are known
        header = int(widths[choice.header_row])
        what = f"more cells than the header row ({header:,})"
    return (
        f"{'Row' if one else 'Rows'} {rows}{many} {'has' if one else 'have'} {what}: a "
        f"value in the row holds a {mark}, so the values after it moved one column to the "
        "right and the quantities cannot be trusted. Download the report again, or remove "
        f"the extra {mark} from the row."
    )


def _parse_arrow(
    data: bytes,
    delimiter: str,
    quoted: bool,
    width: int,
    keep: list[int] | None = None,
    used: int = 0,
) -> pd.DataFrame | None:
    """UTF-8 bytes -> a frame of text cells, or None when the rows are not all ``width``
    cells wide (then a slower reader takes it). ``quoted``: the file holds a quote mark.

    Empty lines are kept as records, so row numbers stay right: in a file of more than
    one column an empty line is a short row, which sends the file to the slower reader.

    ``used`` > 0: only the first ``used`` columns are kept, and the others are read as
    nulls, which take no memory and fail to convert on any cell that is not empty (then
    None: a value stands further right). ``used`` < 0: the first -``used`` columns are
    kept and the others not looked at (None: the records are not all as wide).
    """
    import pyarrow as pa
    import pyarrow.csv as pv

    texts = abs(used) or width
    types = {f"f{i}": pa.large_string() for i in range(texts)}
    if used > 0:
        types.update({f"f{i}": pa.null() for i in range(texts, width)})
    else:
        keep = keep if used == 0 else list(range(texts))
    try:
        table = pv.read_csv(
            # Read in place: a BufferReader hands Arrow the bytes without copying them
            # through Python file calls.
            pa.BufferReader(data),
            # A padded file's blocks are parsed one at a time: each holds an offset per
            # cell, 16,384 a line (350 MB at the peak instead of 500).
            read_options=pv.ReadOptions(
                autogenerate_column_names=True,
                block_size=1 << 22 if used else 1 << 24,
                use_threads=not used,
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                newlines_in_values=quoted,
                ignore_empty_lines=False,
            ),
            convert_options=pv.ConvertOptions(
                include_columns=None if keep is None else [f"f{i}" for i in keep],
                # large_string is what pandas' text columns hold: read as string, every
                # column's offsets were copied to 64 bits in to_pandas (0.03-0.14 s for a
                # million 15-column lines).
                column_types=types,
                # What a null column accepts: an empty cell only ("NA" is a value).
                null_values=[""] if used > 0 else None,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                # SourceText validated the bytes (or encoded them from text) already.
                check_utf8=False,
            ),
        )
    except pa.ArrowException:
        return None
    if table.num_columns != (width if keep is None else len(keep)):
        return None
    if used > 0:
        table = table.select(range(used))
    frame = table.to_pandas(types_mapper=lambda t: TEXT if t == pa.large_string() else None)
    frame.columns = range(table.num_columns) if keep is None else keep
    return frame


def _parse_ragged(
    text: str, delimiter: str, quoting: bool, choice: ColumnChoice | None = None
) -> RawTable:
    counts: list[int] = []
    rows = _split(text, delimiter, quoting, widths=counts)
    widths = np.array(counts, dtype=np.int64)
    table = raw_table_from_rows("", rows)
    # As written: the rows may have lost their empty cells after the last value.
    table.record_widths = widths
    return _narrowed(table, choice, delimiter, widths)
