"""Find the header row, tell the two shapes apart, and map columns to Amazon's fields.

Both shapes end as the same frame: one row per requested SKU, one column per
field, every cell text, plus ``source_row``. Duplicate headers are found here,
from the raw header cells, before anything could rename them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from removal_batch.core.date_cells import (
    date_addresses,
    date_order_ids,
    date_quantities,
    dated_address_text,
    dated_feed_address,
)
from removal_batch.core.fields import (
    ALL_FIELDS,
    HEADER_LOOKUP,
    ITEM_FIELDS,
    ORDER_FIELDS,
    REQUIRED_TABLE_FIELDS,
    column_letter,
    field_for_header,
    header_key,
    trim_text,
)
from removal_batch.core.inventory import looks_like_inventory_header
from removal_batch.core.merged_cells import apply_merged_cells
from removal_batch.core.problems import Problem
from removal_batch.core.raw_table import (
    INVENTORY_HEADER,
    NO_HEADER,
    REQUEST_HEADER,
    SOME_FIELDS,
    TEXT,
    FarCells,
    RawTable,
    delimiter_name,
    head_rows,
    longer_records,
)
from removal_batch.core.scaled_cells import scaled_quantities
from removal_batch.core.wording import counted

# A header is looked for among the first rows only: title rows above it are fine,
# a header on row 500 is not a request file.
HEADER_SCAN_ROWS = 50
ITEM_HEADER_FIELDS = frozenset(ITEM_FIELDS) | {"FNSKU"}


@dataclass
class RequestTable:
    """The rows of one request file, in Amazon's field names, ready for validation."""

    file: str
    shape: str  # "table" or "feed"
    rows: pd.DataFrame  # one column per field of ALL_FIELDS (text), plus "source_row"
    raw: RawTable
    header_row: int
    field_columns: dict[str, str] = field(default_factory=dict)  # field -> column letter
    # Feed shape: order-level fields live in one cell each (the Key<TAB>Value line).
    fixed_cells: dict[str, tuple[int, str]] = field(default_factory=dict)
    present_fields: frozenset[str] = frozenset()
    # Errors found in the reading: item cells a merged range covers (core.merged_cells),
    # order ids, addresses and quantities held as dates (core.date_cells), quantities
    # shown as another number (core.scaled_cells).
    covered_cells: pd.DataFrame | None = None
    # Positions in ``rows`` where a list begins again after a repeat of the header row
    # (two exports pasted together): blank order ids there start an order of their own.
    section_starts: tuple[int, ...] = ()
    # Rows that repeat the header row, left out of ``rows`` (they are counted as rejected).
    repeated_headers: tuple[int, ...] = ()

    @property
    def sheet(self) -> str:
        return self.raw.sheet

    @property
    def encoding(self) -> str:
        return self.raw.encoding


@dataclass
class ShapeResult:
    table: RequestTable | None
    problems: list[Problem]
    # A table or feed recognised, then refused whole (a header problem, shifted records):
    # its shape, and the request rows it held, all of them rejected.
    refused_shape: str = ""
    refused_rows: int = 0


@dataclass
class _Head:
    """The first rows of a table as Python lists: a header is one row of a few dozen
    cells, and pandas steps on it cost more than the work for a small file."""

    raw_rows: list[list[str]]  # as read
    cells: list[list[str]]  # stripped
    fields: list[list[str | None]]  # the field each cell names, or None

    def first_fields(self, upto: int | None = None) -> list[tuple[int, str]]:
        """(row index, field) of the rows whose first cell names a field (feed key lines)."""
        return [(i, r[0]) for i, r in enumerate(self.fields[:upto]) if r and r[0]]

    def header_rows(self) -> list[int]:
        """Rows naming two fields or more: the first is the header. A feed's key line whose
        value names a field too ("MerchantRemovalOrderID<TAB>SKU", an order id that is a
        column's name) is no header where a SKU header follows it: it is a key line."""
        rows = [i for i, r in enumerate(self.fields) if len({f for f in r if f}) >= 2]
        items = [i for i in rows if {f for f in self.fields[i] if f} <= ITEM_HEADER_FIELDS]
        if items:
            rows = [i for i in rows if i >= items[0] or not self._key_line(i)]
        return rows

    def _key_line(self, index: int) -> bool:
        """Key<TAB>value: an order field's name, then one value."""
        first = self.fields[index][0] if self.fields[index] else None
        return first in ORDER_FIELDS and sum(1 for c in self.cells[index] if c) == 2

    def only_feed_keys(self) -> bool:
        """Two or more rows start with a key, and every key is an order field: the top of a
        one-order feed file. (A row starting MerchantSKU ends the keys: the SKU header,
        misspelt past its first name; see item_header_attempt.)"""
        keys = []
        for _, name in self.first_fields():
            if name in ITEM_HEADER_FIELDS:
                break
            keys.append(name)
        return len(keys) >= 2 and all(k in ORDER_FIELDS for k in keys)

    def item_header_attempt(self) -> int | None:
        """The row after a feed's key lines that starts with MerchantSKU (or FNSKU) but
        names no other field: its SKU header, with the other names misspelt."""
        for index, name in self.first_fields():
            if name in ITEM_HEADER_FIELDS:
                return index
        return None

    def header_cells(self, index: int) -> list[str]:
        """One row's cells trimmed as pandas trims Arrow text (messages quote them)."""
        return _trimmed(self.raw_rows[index])


def _trimmed(values: list[str]) -> list[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
    return [v if v is not None else "" for v in array.to_pylist()]


# The first line Excel writes into a CSV when asked to name its delimiter ("sep=,"), and
# hides when it opens the file.
_SEP_LINE = re.compile(r"sep=.?", re.IGNORECASE | re.DOTALL)


def _scan_head(raw: RawTable) -> _Head:
    """The first rows stripped, and the field each cell names (or None). A "sep=" first
    line is read as a blank one: above a table it was a title row already, but above a
    feed's key lines it was a stray line that refused the file. Its row keeps its number
    (the text editor's): only the file's shape is decided as Excel shows it."""
    raw_rows = head_rows(raw, HEADER_SCAN_ROWS)
    cells = [[c.strip() for c in r] for r in raw_rows]
    if cells and _SEP_LINE.fullmatch(cells[0][0] if cells[0] else "") and not any(cells[0][1:]):
        cells[0] = [""] * len(cells[0])
    fields = [[field_for_header(c) if c else None for c in r] for r in cells]
    return _Head(raw_rows, cells, fields)


def recognise_request(raw: RawTable) -> ShapeResult:
    """Header detection and column mapping for one raw table."""
    if raw.height == 0 or raw.width == 0:
        empty = Problem(
            "file-empty", "The file has no rows at all.", file=raw.file, sheet=raw.sheet
        )
        return ShapeResult(None, [empty])
    shaped = _recognise(raw)
    if shaped.table is not None and raw.record_widths is not None:
        shifted = _shifted_records(raw, shaped.table.header_row)
        if shifted is not None:
            rows = len(shaped.table.rows) + len(shaped.table.repeated_headers)
            return ShapeResult(None, [shifted], shaped.table.shape, rows)
    if shaped.table is None and looks_like_inventory_header(raw):
        # Said instead of the missing request columns: the file is of another kind.
        return ShapeResult(None, [_inventory_report(raw)])
    if shaped.table is not None and raw.far_cells is not None and raw.far_cells.count:
        shaped.problems.append(_far_cells(raw, raw.far_cells))
    return shaped


def _shifted_records(raw: RawTable, header_row: int) -> Problem | None:
    """A text file's records with more cells than its header row: a value holding the
    delimiter (an address "12 Main St, Apt 3" written without quotes) moved every value
    after it one column to the right, so a SKU's number may stand under a quantity header.
    Records padded alike are let through only while nothing stands past the header."""
    widths = raw.record_widths
    assert widths is not None
    at = np.flatnonzero(raw.row_numbers == header_row)
    if not len(at):
        return None
    header_idx = int(at[0])
    header_cells = int(widths[header_idx])
    longer = longer_records(widths, header_idx)
    if (widths[header_idx + 1 :] > header_cells).any():
        # Rows at a common width past the header are padding only while nothing stands
        # there (a column without a header cannot be told from a moved value).
        past = raw.cells.iloc[header_idx + 1 :, header_cells:]
        longer = np.union1d(longer, np.flatnonzero(past.ne("").any(axis=1).to_numpy()))
    if len(longer):
        # A record blank under every header holds no request line to move (a note typed
        # to the right of the table is reported as a column without a header).
        heads = raw.cells.iloc[header_idx + 1 + longer, :header_cells]
        longer = longer[heads.ne("").any(axis=1).to_numpy()]
    if not len(longer):
        return None
    numbers = raw.row_numbers[header_idx + 1 + longer]
    shown = ", ".join(f"{n:,}" for n in numbers[:5])
    more = f" and {len(longer) - 5:,} more" if len(longer) > 5 else ""
    one = len(longer) == 1
    mark = delimiter_name(raw.delimiter)
    return Problem(
        "file-unreadable",
        f"{'Row' if one else 'Rows'} {shown}{more} {'has' if one else 'have'} more cells "
        f"than the header row (row {header_row:,}, {counted(header_cells, 'cell')}): a value in "
        f"{'the row' if one else 'each'} holds a {mark}, so the values after it moved one "
        "column to the right and the SKUs and quantities cannot be trusted. Nothing in "
        f"this file was used. Put that value in double quotes, or remove the {mark} from "
        "it (or give the extra column a header), then try the file again.",
        file=raw.file,
        sheet=raw.sheet,
        row=int(numbers[0]),
    )


def _far_cells(raw: RawTable, far: FarCells) -> Problem:
    """Values the reader left out, far to the right of the table (a stray cell in column
    XFD): ignored like a column without a header, and named so they can be deleted."""
    row, col, text = far.first[0]
    others = far.count - 1
    if others:
        what = f"Cell {column_letter(col)}{row} and {counted(others, 'other cell')} hold"
        it, they = "them", "they are"
    else:
        what, it, they = f"Cell {column_letter(col)}{row} holds", "it", "it is"
    return Problem(
        "header-unknown",
        f"{what} a value far to the right of the table, after column "
        f"{column_letter(far.after)}; {they} ignored. Delete {it} (in Excel, Ctrl+End goes "
        "to the last cell): such a cell makes every row of the sheet as wide as the sheet.",
        file=raw.file,
        sheet=raw.sheet,
        row=row,
        column=column_letter(col),
        value=text[:200],
    )


def _recognise(raw: RawTable) -> ShapeResult:
    head = _scan_head(raw)
    candidates = head.header_rows()
    if not candidates:
        return ShapeResult(None, [_missing_feed_items(raw, head) or _unknown_kind(raw)])
    header_idx = candidates[0]
    header_fields = {f for f in head.fields[header_idx] if f}
    key_lines = [name for _, name in head.first_fields(header_idx)]
    # Every row above the header is a key line (known or not) or blank.
    above_ok = all(
        r[0] is not None or all(c == "" for c in cells) or _unknown_key(cells)
        for r, cells in zip(head.fields[:header_idx], head.cells, strict=False)
    )
    if (
        header_fields <= ITEM_HEADER_FIELDS
        and key_lines
        and all(k in ORDER_FIELDS for k in key_lines)
    ):
        if above_ok:
            return _feed(raw, head, header_idx)
        return ShapeResult(None, [_stray_line_in_feed(raw, head, header_idx)])
    return _table(raw, head, header_idx)


# What people call the template's columns in sheets of their own. Only suggested, never
# read as the field: a guess could send a note out as an address line.
_COMMON_NAMES = {
    **dict.fromkeys(("name", "recipient", "shiptoname", "contactname"), "AddressName"),
    **dict.fromkeys(
        ("address", "address1", "addressline1", "street", "streetaddress"), "AddressFieldOne"
    ),
    **dict.fromkeys(("address2", "addressline2"), "AddressFieldTwo"),
    **dict.fromkeys(("address3", "addressline3"), "AddressFieldThree"),
    **dict.fromkeys(("city", "town"), "AddressCity"),
    **dict.fromkeys(("state", "province", "region", "stateprovince"), "AddressStateOrRegion"),
    **dict.fromkeys(("zip", "zipcode", "postalcode", "postcode"), "AddressPostalCode"),
    **dict.fromkeys(("country", "countrycode"), "AddressCountryCode"),
    **dict.fromkeys(("phone", "phonenumber", "telephone", "tel"), "ContactPhoneNumber"),
    **dict.fromkeys(("notes", "note", "comments", "comment", "instructions"), "ShippingNotes"),
}


def _meant_field(text: str, kind: str = "column", present: set[str] | None = None) -> str:
    """A hint naming the field an unknown header probably means, or "" (also where the
    file has that field already: renamed, the column would be a duplicate)."""
    import difflib

    key = header_key(text)
    meant = _COMMON_NAMES.get(key)
    if meant is None:
        close = difflib.get_close_matches(key, list(HEADER_LOOKUP), n=1, cutoff=0.8)
        meant = HEADER_LOOKUP[close[0]] if close else None
    if meant is None or meant in (present or set()):
        return ""
    if kind == "key":
        return f" If it was meant as {meant}, write {meant} instead."
    return f" If it holds the {meant} values, rename the column {meant}."


def _unknown_key(cells: list[str]) -> bool:
    """A feed line naming no removal field but shaped like a key line: a name of words
    (``ShipNotes``, ``Address 2``), then at most one value, not a bare number (``ABC-1 2``
    is a SKU line out of place). Ignored with a warning, as an unknown column of a table
    is; any other line among the keys stops the file."""
    return (
        len(cells) > 0
        and re.fullmatch(r"[A-Za-z][A-Za-z0-9 _.-]{0,40}", cells[0]) is not None
        and not (len(cells) > 1 and re.fullmatch(r"[0-9]+", cells[1]))
        and all(c == "" for c in cells[2:])
    )


def _stray_line_in_feed(raw: RawTable, head: _Head, header_idx: int) -> Problem:
    """A feed's keys and SKU header with a line among them that is neither (a note, a
    title): read as a table, the file would be told its SKU header lacks the order columns
    that its key lines plainly give. The line is named instead."""
    stray = next(
        i
        for i, (fields, cells) in enumerate(zip(head.fields[:header_idx], head.cells, strict=False))
        if fields[0] is None and any(c != "" for c in cells) and not _unknown_key(cells)
    )
    row = int(raw.row_numbers[stray])
    shown = " ".join(c for c in head.cells[stray] if c)[:80]
    return Problem(
        "header-missing",
        f"This looks like a one-order feed file (key lines, then the SKU header on row "
        f"{int(raw.row_numbers[header_idx])}), but row {row} ('{shown}') is neither a key "
        "line nor blank, so the order's keys cannot be trusted. Delete that line, or give it "
        "the name of a removal field (MerchantRemovalOrderID, RemovalDisposition, "
        "AddressName, ..., ShippingNotes).",
        file=raw.file,
        sheet=raw.sheet,
        row=row,
        column="A",
        value=head.cells[stray][0],
    )


def _inventory_report(raw: RawTable) -> Problem:
    """An inventory report dropped where requests go: its "sku" column would otherwise
    pass for MerchantSKU, and the user be told to add removal columns to it."""
    return Problem(
        "file-kind-unknown",
        # Said for run's inbox and for check's list of files alike: in a check, the
        # report named with --inventory may be named among the requests too (a glob).
        "This is an inventory report (Manage FBA Inventory), not a removal request: leave "
        "it out of the request files. A snapshot goes in the workspace's inventory folder, "
        "or is given with --inventory; removal requests use the Removal Request template.",
        file=raw.file,
        sheet=raw.sheet,
    )


def _unknown_kind(raw: RawTable) -> Problem:
    return Problem(
        "file-kind-unknown",
        "No header row found. The first rows should hold the column names of the "
        "Removal Request template (MerchantRemovalOrderID, RemovalDisposition, "
        "MerchantSKU, SellableQuantity, UnsellableQuantity, ...).",
        file=raw.file,
        sheet=raw.sheet,
    )


def _missing_feed_items(raw: RawTable, head: _Head) -> Problem | None:
    if not head.only_feed_keys():
        return None
    attempt = head.item_header_attempt()
    if attempt is not None:
        row = int(raw.row_numbers[attempt])
        typed = ", ".join(repr(c) for c in head.cells[attempt] if c)
        return Problem(
            "header-missing",
            f"This looks like a one-order feed file, but row {row}, which starts the list "
            f"of SKUs, reads {typed}. It must name the columns exactly: "
            "'MerchantSKU<TAB>SellableQuantity<TAB>UnsellableQuantity'.",
            file=raw.file,
            sheet=raw.sheet,
            row=row,
            column="A",
            field="MerchantSKU",
            value=head.cells[attempt][0],
        )
    return Problem(
        "header-missing",
        "This looks like a one-order feed file, but the line "
        "'MerchantSKU<TAB>SellableQuantity<TAB>UnsellableQuantity' that starts the "
        "list of SKUs is missing. Add it above the SKU lines.",
        file=raw.file,
        sheet=raw.sheet,
        field="MerchantSKU",
    )


def _header_problems(
    raw: RawTable, header_row: int, cells: list[str], fields: list[str | None]
) -> list[Problem]:
    """header-duplicate and header-unknown for one header line (cells by column index)."""
    problems: list[Problem] = []
    columns_of: dict[str, list[int]] = {}
    for col, name in enumerate(fields):
        if name:
            columns_of.setdefault(name, []).append(col)
    for name, cols in sorted(columns_of.items()):
        if len(cols) > 1:
            letters = [column_letter(c) for c in cols]
            problems.append(
                Problem(
                    "header-duplicate",
                    f"Columns {' and '.join(letters)} both mean {name} "
                    f"({', '.join(repr(cells[c]) for c in cols)}). Keep one and delete the "
                    "other, so no value is silently ignored.",
                    column=letters[1],
                    field=name,
                    value=cells[cols[1]],
                    file=raw.file,
                    sheet=raw.sheet,
                    row=header_row,
                )
            )
    for col, (cell, name) in enumerate(zip(cells, fields, strict=True)):
        if name is None and cell != "":
            problems.append(
                Problem(
                    "header-unknown",
                    f"Column {column_letter(col)} '{cell}' is not a column of the "
                    "Removal Request template; its values are ignored."
                    + _meant_field(cell, present={f for f in fields if f}),
                    column=column_letter(col),
                    value=cell,
                    file=raw.file,
                    sheet=raw.sheet,
                    row=header_row,
                )
            )
    return problems


def _missing_required(
    raw: RawTable,
    present: set[str],
    required: tuple[str, ...],
    header_row: int,
    feed: bool = False,
) -> list[Problem]:
    """``feed``: a one-order feed file, whose order fields are key lines above its SKU
    header, not columns of it."""
    problems = []
    for name in _missing_fields(present, required):
        hint = " (or an FNSKU column)" if name == "MerchantSKU" else ""
        message = (
            f"The required column {name}{hint} is missing from the header row "
            f"(row {header_row}). Add it, even if some of its cells stay blank."
        )
        if feed and name in ORDER_FIELDS:
            message = (
                f"The file has no {name} line. Add one among the key lines above the SKU "
                f"header (row {header_row}): {name}, a tab, then the value."
            )
        problems.append(
            Problem(
                "header-missing",
                message,
                file=raw.file,
                sheet=raw.sheet,
                row=header_row,
                field=name,
            )
        )
    return problems


@dataclass
class _Body:
    """The rows below a header: stripped text per column position (0..n-1 index), rows
    blank in every column read left out, and the row number of each."""

    columns: dict[int, Any]  # position -> Arrow-backed text array (pandas extension array)
    numbers: np.ndarray
    # Columns with a value on any row below the header, rows left out included: a column
    # of notes or totals without a header is still reported.
    valued: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return len(self.numbers) == 0

    def has_values(self, col: int) -> bool:
        return col in self.valued


# Up to this many rows, a table is stripped as one flat Arrow array and filtered in
# Python: per-column pandas steps cost more than the work for a small file.
SMALL_TABLE_ROWS = 5_000


def _data_rows(raw: RawTable, start: int, read: frozenset[int]) -> _Body:
    """The rows below ``start`` with a value in a column of ``read`` (the field columns).
    A row holding only a reviewer's note or a total under an ignored column is no request
    line: read as one, it would be a line with a blank SKU that holds the order above."""
    if raw.height - start <= SMALL_TABLE_ROWS:
        return _data_rows_small(raw, start, read)
    body = raw.cells.iloc[start:]
    trimmed = {int(col): trim_text(body[col]) for col in body.columns}
    keep = np.zeros(len(body), dtype=bool)
    for col, column in trimmed.items():
        if col in read:
            keep |= column.filled
    valued = frozenset(col for col, column in trimmed.items() if column.filled.any())
    if keep.all():  # no blank row (the usual file): nothing to filter, nothing to copy
        return _Body(
            {c: t.values.astype(TEXT).array for c, t in trimmed.items()},
            raw.row_numbers[start:],
            valued,
        )
    columns = {col: column.values[keep].astype(TEXT).array for col, column in trimmed.items()}
    return _Body(columns, raw.row_numbers[start:][keep], valued)


def _data_rows_small(raw: RawTable, start: int, read: frozenset[int]) -> _Body:
    import pyarrow as pa
    import pyarrow.compute as pc

    grid = (
        np.array(raw.lists[start:], dtype=object).reshape(-1, raw.width)
        if raw.lists is not None
        else raw.cells.iloc[start:].to_numpy(dtype=object)
    )
    labels = list(range(raw.width) if raw.lists is not None else raw.cells.columns)
    flat = pa.array(grid.ravel().tolist(), type=pa.string(), from_pandas=True)
    # The same trim as pandas' .str.strip() on Arrow text, so both paths agree.
    trimmed = pc.fill_null(pc.utf8_trim_whitespace(flat), "").to_pylist()
    stripped = np.array(trimmed, dtype=object).reshape(grid.shape)
    filled = stripped != "" if stripped.size else np.zeros(grid.shape, dtype=bool)
    read_at = [j for j, col in enumerate(labels) if int(col) in read]
    keep = filled[:, read_at].any(axis=1)
    valued = frozenset(int(labels[j]) for j in np.flatnonzero(filled.any(axis=0)))
    stripped = stripped[keep]
    columns = {
        int(col): pd.array(stripped[:, j].tolist(), dtype=TEXT) for j, col in enumerate(labels)
    }
    return _Body(columns, raw.row_numbers[start:][keep], valued)


def _frame(body: _Body, columns: dict[str, int], constants: dict[str, str]) -> pd.DataFrame:
    """One text column per field (Arrow-backed, never copied through Python objects)."""
    n = len(body.numbers)
    data: dict[str, Any] = {}
    for name in ALL_FIELDS:
        if name in columns:
            data[name] = body.columns[columns[name]]
        else:
            constant = constants.get(name, "")
            data[name] = pd.Series(constant, index=pd.RangeIndex(n), dtype=TEXT).array
    data["source_row"] = body.numbers.astype("int64")
    # Arrays, not Series, and the index given: nothing to align.
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def _field_positions(fields: list[str | None]) -> frozenset[int]:
    return frozenset(col for col, name in enumerate(fields) if name)


def _unheaded_columns(
    raw: RawTable, header_row: int, cells: list[str], body: _Body
) -> list[Problem]:
    """A column with values but no header is reported, then ignored."""
    return [
        Problem(
            "header-unknown",
            f"Column {column_letter(col)} has values but no header; they are ignored.",
            file=raw.file,
            sheet=raw.sheet,
            row=header_row,
            column=column_letter(col),
        )
        for col in sorted(body.valued)
        if col >= len(cells) or cells[col] == ""
    ]


def _no_rows_after(raw: RawTable, header_row: int) -> Problem:
    return Problem(
        "file-empty",
        f"The header is on row {header_row} but no request rows follow it.",
        file=raw.file,
        sheet=raw.sheet,
    )


def _table(raw: RawTable, head: _Head, header_idx: int) -> ShapeResult:
    header_row = int(raw.row_numbers[header_idx])
    cells = head.header_cells(header_idx)
    fields = head.fields[header_idx]
    problems = _header_problems(raw, header_row, cells, fields)
    body = _data_rows(raw, header_idx + 1, _field_positions(fields))
    problems += _unheaded_columns(raw, header_row, cells, body)
    present = {f for f in fields if f}
    problems += _missing_required(raw, present, REQUIRED_TABLE_FIELDS, header_row)
    fatal = any(p.code in {"header-duplicate", "header-missing"} for p in problems)
    if fatal:
        return ShapeResult(None, problems, "table", len(body.numbers))
    if body.empty:
        return ShapeResult(None, [*problems, _no_rows_after(raw, header_row)])
    columns = {f: c for c, f in enumerate(fields) if f}
    repeats = _header_repeats(body, columns)
    reordered = _header_reordered(body, columns, repeats)
    if reordered:
        # Read by the first header, the rows below it would go out with their columns
        # mixed up (sellable and unsellable quantities swapped): the file is refused.
        problem = _reordered_header(raw, body, reordered, header_row, columns)
        return ShapeResult(None, [*problems, problem], "table", len(body.numbers))
    sections: tuple[int, ...] = ()
    repeat_rows = tuple(int(body.numbers[i]) for i in repeats)
    if len(repeats):
        problems += [_repeated_header(raw, body, i, header_row, columns) for i in repeats]
        body = _without(body, repeats)
        # Where each list after a repeat begins, once the repeats are left out (a repeat
        # on the last rows begins none).
        starts = {int(i - k) for k, i in enumerate(repeats)}
        sections = tuple(sorted(i for i in starts if i < len(body.numbers)))
        if body.empty:
            return ShapeResult(None, [*problems, _no_rows_after(raw, header_row)])
    merged = apply_merged_cells(raw, _frame(body, columns, {}), columns, header_row)
    read_errors = (
        merged.covered,
        date_order_ids(raw, merged.rows, columns),
        date_addresses(raw, merged.rows, columns),
        date_quantities(raw, merged.rows, columns),
        dated_address_text(raw, merged.rows),
        scaled_quantities(raw, merged.rows, columns),
    )
    found = [f for f in read_errors if f is not None]
    table = RequestTable(
        file=raw.file,
        shape="table",
        rows=merged.rows,
        raw=raw,
        header_row=header_row,
        field_columns={f: column_letter(c) for f, c in columns.items()},
        present_fields=frozenset(columns),
        covered_cells=pd.concat(found, ignore_index=True) if found else None,
        section_starts=sections,
        repeated_headers=repeat_rows,
    )
    return ShapeResult(table, problems)


# The shortest name (as header_key leaves it) of each field: a cell shorter than that, in
# bytes, cannot name the field. The quantity columns' names (16 characters and more) rule
# out every row of numbers at the cost of one length kernel.
_SHORTEST_NAME = {
    name: min(len(key) for key, meant in HEADER_LOOKUP.items() if meant == name)
    for name in ALL_FIELDS
}


def _header_repeats(body: _Body, columns: dict[str, int]) -> np.ndarray:
    """Positions of the body rows whose every field cell names its column's field, as the
    header matcher reads names: the header row again, two exports pasted together."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = np.arange(len(body.numbers))
    by_length = sorted(columns.items(), key=lambda item: -_SHORTEST_NAME[item[0]])
    for name, col in by_length:  # the long names first: most rows fall at the first
        values = pa.array(body.columns[col]).take(pa.array(found, type=pa.int64()))
        lengths = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
        found = found[lengths >= _SHORTEST_NAME[name]]
        if not len(found):
            return found
    # The few rows left (a header repeated, or text in every quantity cell): named exactly.
    for name, col in columns.items():
        values = pa.array(body.columns[col]).take(pa.array(found, type=pa.int64()))
        found = found[[field_for_header(v) == name for v in values.to_pylist()]]
    return found


def _header_reordered(
    body: _Body, columns: dict[str, int], repeats: np.ndarray
) -> tuple[int, dict[int, str]] | None:
    """The first body row that is a header again with its columns in another order (or
    other columns in them), and what its cells name (position -> field); None if none.
    Such a row names fields in at least half of the header's columns, not each its own.
    Rows are found by their quantity cells, which a header of any order fills with names
    and a request line with numbers: a length kernel and a regex a column, then the few
    rows left."""
    import pyarrow as pa
    import pyarrow.compute as pc

    suspects = np.zeros(len(body.numbers), dtype=bool)
    shortest = min(_SHORTEST_NAME.values())
    for name in ("SellableQuantity", "UnsellableQuantity"):
        if name in columns:
            # Long enough for a name ("sku"), then a letter in it: a field's name has
            # some, a quantity none (100 is no "sku"). The length kernel leaves the
            # regex a few rows, as a rule.
            values = pa.array(body.columns[columns[name]])
            lengths = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
            long_enough = np.flatnonzero(lengths >= shortest)
            if len(long_enough):
                some = values.take(pa.array(long_enough))
                named = pc.fill_null(pc.match_substring_regex(some, "[A-Za-z]"), False)
                suspects[long_enough[named.to_numpy(zero_copy_only=False)]] = True
    suspects[repeats] = False
    for at in np.flatnonzero(suspects).tolist():
        named = {
            col: field
            for col in columns.values()
            if (field := field_for_header(str(body.columns[col][at]))) is not None
        }
        if len(named) >= max(2, len(columns) / 2) and any(
            named.get(col, name) != name for name, col in columns.items()
        ):
            return at, named
    return None


def _reordered_header(
    raw: RawTable,
    body: _Body,
    found: tuple[int, dict[int, str]],
    header_row: int,
    columns: dict[str, int],
) -> Problem:
    at, named = found
    row = int(body.numbers[at])
    col, was, now = next(
        (col, name, named.get(col, "nothing"))
        for name, col in columns.items()
        if named.get(col, name) != name
    )
    return Problem(
        "header-duplicate",
        f"Row {row} repeats the header row (row {header_row}) with its columns in another "
        f"order: column {column_letter(col)} is {was} in row {header_row} but {now} in "
        f"row {row}. Read by row {header_row}'s header, the rows below it would go into "
        "the wrong fields, so nothing in this file was read. Put the columns below row "
        f"{row} in the same order as row {header_row}'s (or move those rows into a file "
        "of their own) and delete the repeated header.",
        file=raw.file,
        sheet=raw.sheet,
        row=row,
        column=column_letter(col),
        field=was,
        value=str(body.columns[col][at]),
    )


def _without(body: _Body, positions: np.ndarray) -> _Body:
    keep = np.ones(len(body.numbers), dtype=bool)
    keep[positions] = False
    columns = {col: values[keep] for col, values in body.columns.items()}
    return _Body(columns, body.numbers[keep], body.valued)


def _repeated_header(
    raw: RawTable, body: _Body, at: int, header_row: int, columns: dict[str, int]
) -> Problem:
    """Said once, on the SKU cell (it holds no SKU: sku-unknown, the one code for a bad
    line that spoils only that line), instead of an error per cell; the row is no request
    line, so it spoils no order."""
    name = "MerchantSKU" if "MerchantSKU" in columns else "FNSKU"
    col = columns[name]
    row = int(body.numbers[at])
    return Problem(
        "sku-unknown",
        f"Row {row} repeats the header row (row {header_row}): two files were probably "
        "pasted together. It is not read as a request; delete the row. The rows below it "
        "are read as a new list: they do not join the order above it.",
        file=raw.file,
        sheet=raw.sheet,
        row=row,
        column=column_letter(col),
        field=name,
        value=str(body.columns[col][at]),
    )


def _keys_with_more_values(
    raw: RawTable, head: _Head, keys: list[tuple[int, str]]
) -> list[Problem]:
    """Key lines holding more than one value: "AddressFieldOne,12 Main St, Apt 3" in a
    CSV, or a second disposition typed in column C. Only column B was read, and the order
    went out to "12 Main St", without its apartment, or as the first disposition."""
    problems = []
    for idx, name in keys:
        cells = head.cells[idx]
        extra = [col for col in range(2, len(cells)) if cells[col]]
        if not extra:
            continue
        row = int(raw.row_numbers[idx])
        if not cells[1] and len(extra) == 1:  # one tab too many: the value out of place
            said = (
                f"Row {row} gives {name} its value '{cells[extra[0]]}' in column "
                f"{column_letter(extra[0])}, not right after the name. Write it in column B "
                "(after one tab), so that it is read."
            )
        else:
            values = ", ".join(repr(cells[col]) for col in [1, *extra] if cells[col])
            said = (
                f"Row {row} gives {name} more than one value ({values}), so which is meant "
                "is unclear. Give one value after the name; in a .csv file, put a value "
                "holding a comma inside double quotes."
            )
        problems.append(
            Problem(
                "file-unreadable",
                said,
                file=raw.file,
                sheet=raw.sheet,
                row=row,
                column=column_letter(extra[0]),
                field=name,
                value=cells[extra[0]],
            )
        )
    return problems


# The names of the order fields as the header matcher keys them: a key line's first cell.
_ORDER_KEYS = sorted(k for k, field in HEADER_LOOKUP.items() if field in ORDER_FIELDS)


def _second_order(
    raw: RawTable, body: _Body, header_row: int, item_columns: dict[str, int]
) -> list[Problem]:
    """Key lines, or the SKU header again, below a feed's SKU lines: a second order pasted
    into the file. Read as SKU lines, its SKUs joined the first order (with
    --allow-partial they went out under its id and disposition). A feed holds one order
    (SPEC 3.1): the file is refused at the row where the second order starts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found: list[tuple[int, str, str]] = []  # (body position, field, what the row is)
    first = body.columns.get(0)
    if first is not None and len(first):
        # As header_key keys a name, for the column at once; Arrow's expressions take no
        # \u escapes, so the invisible characters it also drops are left in here.
        keyed = pc.replace_substring_regex(pc.utf8_lower(pa.array(first)), r"[\s_-]+", "")
        hit = pc.fill_null(pc.is_in(keyed, value_set=pa.array(_ORDER_KEYS)), False)
        for key_at in np.flatnonzero(hit.to_numpy(zero_copy_only=False)).tolist():
            field_name = field_for_header(str(first[key_at])) or ""
            found.append((key_at, field_name, f"the key line {field_name}"))
    if item_columns:
        for header_at in _header_repeats(body, item_columns).tolist():
            found.append((header_at, "MerchantSKU", f"the SKU header of row {header_row} again"))
    problems = []
    for at, name, what in sorted(found)[:1]:  # where the second order starts: enough to say
        row = int(body.numbers[at])
        problems.append(
            Problem(
                "header-duplicate",
                f"Row {row}, below the SKU lines, holds {what}: a second order seems to be "
                "pasted in, and a feed file holds one order. Save each order in a file of "
                "its own.",
                file=raw.file,
                sheet=raw.sheet,
                row=row,
                column="A",
                field=name,
                value=str(first[at]) if first is not None else "",
            )
        )
    return problems


def _feed(raw: RawTable, head: _Head, header_idx: int) -> ShapeResult:
    header_row = int(raw.row_numbers[header_idx])
    problems: list[Problem] = []
    keys = head.first_fields(header_idx)
    # Key lines behave like a one-column header: the same checks for repeats.
    first_at: dict[str, int] = {}
    for idx, name in keys:
        if name not in first_at:
            first_at[name] = idx
            continue
        problems.append(
            Problem(
                "header-duplicate",
                f"{name} is given twice (rows {int(raw.row_numbers[first_at[name]])} "
                f"and {int(raw.row_numbers[idx])}). Keep one line.",
                file=raw.file,
                sheet=raw.sheet,
                row=int(raw.row_numbers[idx]),
                column="A",
                field=name,
                value=head.cells[idx][0],
            )
        )
    for idx, (fields, cells) in enumerate(zip(head.fields[:header_idx], head.cells, strict=False)):
        if fields[0] is None and cells and cells[0] != "":
            row = int(raw.row_numbers[idx])
            problems.append(
                Problem(
                    "header-unknown",
                    f"Row {row} names '{cells[0]}', which is not a removal field; the line is "
                    f"ignored.{_meant_field(cells[0], 'key')}",
                    file=raw.file,
                    sheet=raw.sheet,
                    row=row,
                    column="A",
                    value=cells[0],
                )
            )
    item_cells = head.header_cells(header_idx)
    item_fields = head.fields[header_idx]
    problems += _header_problems(raw, header_row, item_cells, item_fields)
    present = {f for f in item_fields if f} | {name for _, name in keys}
    problems += _missing_required(raw, present, REQUIRED_TABLE_FIELDS, header_row, feed=True)
    body = _data_rows(raw, header_idx + 1, _field_positions(item_fields))
    problems += _keys_with_more_values(raw, head, keys)
    item_columns = {f: c for c, f in enumerate(item_fields) if f}
    problems += _second_order(raw, body, header_row, item_columns)
    if any(p.code in {"header-duplicate", "header-missing", "file-unreadable"} for p in problems):
        return ShapeResult(None, problems, "feed", len(body.numbers))
    problems += _unheaded_columns(raw, header_row, item_cells, body)
    if body.empty:
        problems.append(
            Problem(
                "file-empty",
                f"The SKU header is on row {header_row} but no SKU lines follow it.",
                file=raw.file,
                sheet=raw.sheet,
            )
        )
        return ShapeResult(None, problems)
    values = (
        _trimmed([r[1] for r in head.raw_rows[:header_idx]]) if raw.width > 1 else [""] * header_idx
    )
    constants: dict[str, str] = {}
    fixed: dict[str, tuple[int, str]] = {}
    for idx, name in keys:
        constants[name] = values[idx]
        fixed[name] = (int(raw.row_numbers[idx]), "B")
    columns = {f: c for c, f in enumerate(item_fields) if f}
    rows = _frame(body, columns, constants)
    table = RequestTable(
        file=raw.file,
        shape="feed",
        rows=rows,
        raw=raw,
        header_row=header_row,
        field_columns={f: column_letter(c) for f, c in columns.items()},
        fixed_cells=fixed,
        present_fields=frozenset(columns) | frozenset(fixed),
        covered_cells=dated_feed_address(raw, rows, fixed),
    )
    return ShapeResult(table, problems)


def has_request_header(raw: RawTable) -> int:
    """How well a peek at a sheet or file shows a request header, from NO_HEADER to
    REQUEST_HEADER: any but NO_HEADER picks a text file's delimiter; a workbook's sheet is
    the first with REQUEST_HEADER, else the best. An inventory report's header names SKU
    and quantity fields too: pasted in as a workbook's first sheet, it must not win over
    the request sheet after it."""
    if raw.height == 0 or raw.width == 0:
        return NO_HEADER
    head = _scan_head(raw)
    if head.only_feed_keys():
        return REQUEST_HEADER
    rows = head.header_rows()
    if not rows:
        return NO_HEADER
    present = {f for f in head.fields[rows[0]] if f}
    if not any(_missing_fields(present, REQUIRED_TABLE_FIELDS)):
        return REQUEST_HEADER
    return INVENTORY_HEADER if looks_like_inventory_header(raw) else SOME_FIELDS


def holds_requests(raw: RawTable) -> bool:
    """Whether a peek at a sheet shows requests of its own: a table's header, or a feed's
    key lines with its item header (MerchantSKU and a quantity on one row) below them.
    For the note on a workbook's other sheets: a sheet of instructions listing the fields
    down its first column (the template's own) reads as key lines, but holds no items."""
    if has_request_header(raw) < REQUEST_HEADER:
        return False
    head = _scan_head(raw)
    if not head.only_feed_keys():
        return True
    at = head.item_header_attempt()
    return at is not None and any(
        f in ("SellableQuantity", "UnsellableQuantity") for f in head.fields[at]
    )


def _missing_fields(present: set[str], required: tuple[str, ...]) -> list[str]:
    """The required fields a header lacks (an FNSKU column stands in for MerchantSKU)."""
    return [
        name
        for name in required
        if not (name in present or (name == "MerchantSKU" and "FNSKU" in present))
    ]
