"""Order ids, address fields and quantities a workbook holds as dates: Excel turns an id
typed like 3-12 into the date 12-Mar, which reads as 2026-03-12, a usable id the sheet
never shows; an address line typed 1-2-3 (a Japanese block and house number) or a unit
3-12 into 2003-01-02 or 2026-03-12, which a Return order would be shipped to; and a
cell formatted as a date shows the quantity typed into it as one. Found in the reading
(RawTable.date_cells), refused here at their cells. A text file saved by Excel holds such
an address line as the date's text (12-Mar, 1/2/2003): a line that is a date and nothing
else is refused too (dated_address_text)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from removal_batch.core.fields import ADDRESS_FIELDS, arrow_strings, holds_byte, non_empty
from removal_batch.core.raw_table import RawTable
from removal_batch.core.read_failures import read_failures

ID_FIELD = "MerchantRemovalOrderID"
QUANTITY_FIELDS = ("SellableQuantity", "UnsellableQuantity")
# Dispositions that ship nothing: their address is dropped (address-ignored), a date in
# it harms no one.
_NOT_SHIPPED = ("disposal", "liquidation", "liquidations")


# The address lines Excel makes dates of (a unit 3-12, a block and house number 1-2-3).
ADDRESS_LINES = ("AddressFieldOne", "AddressFieldTwo", "AddressFieldThree")
_MONTH = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
# A date as Excel writes it into a text file, and nothing else: 12-Mar and Mar-12 (what
# 3-12 and Mar-12 typed become), 1/2/2003 or 02.01.2003 (1-2-3 by the locale's order),
# 2003-01-02. No address line is only that; 123 1/2 Main St or Unit 12-Mar are left alone.
DATE_TEXT = (
    rf"(?i)^\s*(?:\d{{1,2}}-{_MONTH}|{_MONTH}-\d{{2}}"
    r"|\d{1,2}[/.]\d{1,2}[/.](?:\d{2}|\d{4})|\d{4}-\d{2}-\d{2})\s*$"
)


# How an address line Excel made a date came about, and how to put it right.
_RETYPE_ADDRESS_LINE = (
    "Excel turns an address line typed like 3-12 or 1-2-3 into a date, and the file was "
    "saved with it. Type the address line as it should be (in Excel, format the cell as "
    "Text first), then save the file again."
)


def _shipped(rows: pd.DataFrame) -> np.ndarray:
    """Rows of an order that ships to its address (any but Disposal and Liquidations)."""
    disposition = rows["RemovalDisposition"].str.strip().str.lower()
    return ~disposition.isin(_NOT_SHIPPED).to_numpy(dtype=bool)


def _dated(
    rows: pd.DataFrame,
    dates: np.ndarray,
    name: str,
    col: int,
    keep: np.ndarray | bool,
    why: str,
    check: str,
) -> pd.DataFrame | None:
    """Failures for the rows (among ``keep``) whose ``name`` cell, at sheet column
    ``col``, held a date; ``why`` ends the message."""
    held = np.isin(rows["source_row"].to_numpy(), dates[dates[:, 1] == col, 0])
    at = np.flatnonzero(held & keep)
    if not len(at):
        return None
    values = rows[name].to_numpy(dtype=object, na_value="")[at]
    message = name + " is a date in the sheet (" + pd.Series(values, dtype=object).astype(str)
    return read_failures(at, name, message + "), " + why, check)


def date_order_ids(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (index, field, value, message, check) for the rows whose order id cell
    held a date; None when there are none. ``rows``: the request frame (``source_row``
    holds each row's number); ``columns``: each field's column index."""
    col = columns.get(ID_FIELD)
    if col is None or not len(raw.date_cells):
        return None
    why = (
        "not an id: Excel turns an id typed like 3-12 into a date. Format the column "
        "as Text and type the id again."
    )
    return _dated(rows, raw.date_cells, ID_FIELD, col, True, why, "date_cell")


def date_quantities(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (as date_order_ids) for the quantity cells that held a date or a time: a
    cell formatted as a date shows the 5 typed into it as 01-05-00, and is read as the
    date. The number is not guessed back; the message says what the user sees."""
    if not len(raw.date_cells):
        return None
    why = (
        "not a number of units: the cell is formatted as a date, so Excel shows the number "
        "typed into it as a date. Format the cell as Number and type the units again."
    )
    return _dated_fields(raw, rows, columns, QUANTITY_FIELDS, True, why, "date_quantity_cell")


def date_addresses(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (as date_order_ids) for the address cells that held a date, on the rows
    of any order but a Disposal or Liquidation one; None when there are none."""
    if not len(raw.date_cells):
        return None
    shipped = _shipped(rows)
    why = (
        "not part of an address: Excel turns text typed like 1-2-3 or 3-12 into a "
        "date. Format the column as Text and type it again."
    )
    return _dated_fields(raw, rows, columns, ADDRESS_FIELDS, shipped, why, "date_address_cell")


def _dated_fields(
    raw: RawTable,
    rows: pd.DataFrame,
    columns: dict[str, int],
    names: tuple[str, ...],
    keep: np.ndarray | bool,
    why: str,
    check: str,
) -> pd.DataFrame | None:
    """_dated for each field of ``names`` the table has; None when none held a date."""
    found = [
        _dated(rows, raw.date_cells, name, columns[name], keep, why, check)
        for name in names
        if name in columns
    ]
    kept = [f for f in found if f is not None]
    return pd.concat(kept, ignore_index=True) if kept else None


def dated_address_text(raw: RawTable, rows: pd.DataFrame) -> pd.DataFrame | None:
    """Failures (as date_order_ids) for the address lines of a text file that hold a date
    as Excel writes one, on the rows of any order but a Disposal or Liquidation one; None
    when there are none. A workbook's dates are known from its cells (date_addresses)."""
    import pyarrow.compute as pc

    if raw.sheet:
        return None
    shipped: np.ndarray | None = None
    found = []
    for name in ADDRESS_LINES:
        # A date's text holds a - / or .: a column without any (read off Arrow's data
        # buffer) is passed over at once.
        if name not in rows or not holds_byte(rows[name], b"-/."):
            continue
        # Only the filled cells are matched: an address is on an order's first line only.
        filled = np.flatnonzero(non_empty(rows[name]))
        if not len(filled):
            continue
        values = arrow_strings(rows[name]).take(filled)
        dated = pc.match_substring_regex(values, DATE_TEXT).to_numpy(zero_copy_only=False)
        if not dated.any():
            continue
        if shipped is None:
            shipped = _shipped(rows)
        at = filled[dated & shipped[filled]]
        if not len(at):
            continue
        text = rows[name].to_numpy(dtype=object, na_value="")[at]
        message = (
            name
            + " reads "
            + pd.Series(text, dtype=object).astype(str).str.strip()
            + ", the way Excel shows a date: "
            + _RETYPE_ADDRESS_LINE
        )
        found.append(read_failures(at, name, message, "date_address_cell"))
    return pd.concat(found, ignore_index=True) if found else None


def dated_feed_address(
    raw: RawTable, rows: pd.DataFrame, fixed: dict[str, tuple[int, str]]
) -> pd.DataFrame | None:
    """Failures (as date_order_ids) for a feed's address line that is a date, on every row
    (a feed holds it once, on its key line, and the problem is told once there): a cell a
    workbook holds as a date, or a text file's date text. None when there is none, or the
    feed's order is a Disposal or Liquidation one."""
    if not len(rows) or not _shipped(rows.iloc[:1])[0]:
        return None
    found = []
    for name in ADDRESS_LINES:
        if name not in fixed or name not in rows:
            continue
        row, _ = fixed[name]
        value = str(rows[name].iloc[0])
        if raw.sheet:  # the value sits in column B of its key line
            cells = raw.date_cells
            dated = bool(((cells[:, 0] == row) & (cells[:, 1] == 1)).any())
            what = f"{name} is a date in the sheet ({value}), not part of an address"
        else:
            dated = re.match(DATE_TEXT, value) is not None
            what = f"{name} reads {value.strip()}, the way Excel shows a date"
        if not dated:
            continue
        message = what + ": " + _RETYPE_ADDRESS_LINE
        at = np.arange(len(rows))
        found.append(read_failures(at, name, pd.Series(message, index=at), "date_address_cell"))
    return pd.concat(found, ignore_index=True) if found else None
