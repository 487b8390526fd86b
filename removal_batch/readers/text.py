"""Tab-, comma- and semicolon-delimited text: encodings, delimiters, row numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from removal_batch.core.raw_table import TEXT, RawTable, raw_table_from_rows
from removal_batch.readers import ColumnPicker, HeaderProbe, ReadError, ReadLimits

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


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding name). Supported: UTF-8 (BOM or not), UTF-16 with BOM, cp1252."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8"), "utf-8-sig"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError as exc:
        raise ReadError(
            "file-encoding",
            f"The file starts with a Unicode mark but byte {exc.start} is not valid "
            "Unicode text. Save it again from your spreadsheet program as 'Unicode Text' "
            "or 'CSV UTF-8'.",
        ) from exc
    if b"\x00" in data:
        raise ReadError(
            "file-encoding",
            "The file contains NUL bytes: it is binary, or UTF-16 text without a byte-order "
            "mark. Save it again as 'Text (Tab delimited)', 'Unicode Text' or 'CSV UTF-8'.",
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise ReadError(
            "file-encoding",
            f"Byte {exc.start} (0x{data[exc.start]:02X}) is not valid in UTF-8, UTF-16 or "
            "Windows-1252 text. Save the file again as 'CSV UTF-8' or 'Unicode Text'.",
        ) from exc


def _split(text: str, delimiter: str, quoting: bool, limit: int | None = None) -> list[list[str]]:
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
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


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
    return "\n".join(text[:PEEK_CHARS].splitlines()[:PEEK_LINES])


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
    first = text[:PEEK_CHARS].splitlines()[0] if text else ""
    counts = {d: first.count(d) for d in preferred}
    best = max(preferred, key=lambda d: counts[d])
    return best if counts[best] else preferred[0]


def read_text(
    path: Path,
    name: str,
    header_probe: HeaderProbe,
    limits: ReadLimits,
    quoting: bool = True,
    columns: ColumnPicker | None = None,
) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError("file-unreadable", f"The file cannot be read: {exc.strerror}.") from exc
    text, encoding = decode(data)
    # UTF-8 bytes go to Arrow as they are: encoding the text again costs a copy and time.
    utf8 = data[3:] if encoding == "utf-8-sig" else data if encoding == "utf-8" else None
    del data
    if not text or text.isspace():
        raise ReadError("file-empty", "The file holds no text, only blank lines or spaces.")
    # A cheap upper bound first, so a huge file is refused before it is parsed.
    line_count = text.count("\n") + 1
    if "\r" in text:
        line_count += text.count("\r") - text.count("\r\n")
    if line_count > 2 * limits.max_rows + 100:
        raise ReadError("file-too-large", _too_many_rows(line_count, limits))
    delimiter = choose_delimiter(text, path.suffix.lower(), name, header_probe, quoting)
    keep = None
    if columns is not None:
        keep = columns(_peek_table(name, _split(_head(text), delimiter, quoting)))
    table = _parse(text, delimiter, quoting, utf8, keep)
    if table.height > limits.max_rows + 100:
        raise ReadError("file-too-large", _too_many_rows(table.height, limits))
    table.file, table.encoding = name, encoding
    return table


def _too_many_rows(rows: int, limits: ReadLimits) -> str:
    return (
        f"The file has about {rows:,} rows; the limit is {limits.max_rows:,}. "
        "Split it into smaller files."
    )


def _parse(
    text: str,
    delimiter: str,
    quoting: bool,
    utf8: bytes | None = None,
    keep: list[int] | None = None,
) -> RawTable:
    """Every record as text cells: the csv module for small files and ragged ones, Arrow's
    multi-threaded reader for large regular files, pandas' C parser for large files with
    empty lines. ``keep`` narrows the result to those column positions (the labels stay
    the positions). tests/test_readers.py holds the csv module and Arrow to the same
    result."""
    if len(text) <= SMALL_TEXT_CHARS:
        return _narrowed(_parse_ragged(text, delimiter, quoting), keep)
    head = text[:PEEK_CHARS]
    width = max((len(r) for r in _split(head, delimiter, quoting, limit=200)), default=1)
    if keep is not None:
        keep = [c for c in keep if c < width] or None
    frame = _parse_arrow(text, delimiter, quoting, width, utf8, keep)
    if frame is None:
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                names=range(width),
                usecols=keep,
                dtype=TEXT,
                na_filter=False,
                skip_blank_lines=False,
                quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
                engine="c",
            ).fillna("")  # a final delimiter-only line comes back as missing values
        except (pd.errors.ParserError, ValueError):
            return _narrowed(_parse_ragged(text, delimiter, quoting), keep)
    numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
    return RawTable(file="", cells=frame, row_numbers=numbers)


def _narrowed(table: RawTable, keep: list[int] | None) -> RawTable:
    if keep is None:
        return table
    table.cells = table.cells[[c for c in keep if c in table.cells.columns]]
    table.lists = None  # the lists hold every column
    return table


def _parse_arrow(
    text: str,
    delimiter: str,
    quoting: bool,
    width: int,
    utf8: bytes | None = None,
    keep: list[int] | None = None,
) -> pd.DataFrame | None:
    """None when the rows are not all ``width`` cells wide (then a slower reader takes it).

    Empty lines are kept as records, so row numbers stay right: in a file of more than
    one column an empty line is a short row, which sends the file to the slower reader.
    """
    import pyarrow as pa
    import pyarrow.csv as pv

    quoted = quoting and '"' in text
    try:
        table = pv.read_csv(
            io.BytesIO(utf8 if utf8 is not None else text.encode("utf-8", "surrogatepass")),
            read_options=pv.ReadOptions(
                autogenerate_column_names=True, block_size=1 << 24, use_threads=True
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                newlines_in_values=quoted,
                ignore_empty_lines=False,
            ),
            convert_options=pv.ConvertOptions(
                include_columns=None if keep is None else [f"f{i}" for i in keep],
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, UnicodeEncodeError):
        return None
    if table.num_columns != (width if keep is None else len(keep)):
        return None
    frame = table.to_pandas(types_mapper=lambda t: TEXT if t == pa.string() else None)
    frame.columns = range(width) if keep is None else keep
    return frame


def _parse_ragged(text: str, delimiter: str, quoting: bool) -> RawTable:
    return raw_table_from_rows("", _split(text, delimiter, quoting))
