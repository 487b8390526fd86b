"""Order ids and address fields a workbook holds as dates: Excel turns an id typed like
3-12 into the date 12-Mar, which reads as 2026-03-12, a usable id the sheet never shows;
and an address line typed 1-2-3 (a Japanese block and house number) or a unit 3-12 into
2003-01-02 or 2026-03-12, which a Return order would be shipped to. Found in the reading
(RawTable.date_cells), refused here at their cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from removal_batch.core.fields import ADDRESS_FIELDS
from removal_batch.core.raw_table import RawTable
from removal_batch.core.read_failures import read_failures

ID_FIELD = "MerchantRemovalOrderID"
# Dispositions that ship nothing: their address is dropped (address-ignored), a date in
# it harms no one.
_NOT_SHIPPED = ("disposal", "liquidation", "liquidations")


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


def date_addresses(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (as date_order_ids) for the address cells that held a date, on the rows
    of any order but a Disposal or Liquidation one; None when there are none."""
    if not len(raw.date_cells):
        return None
    disposition = rows["RemovalDisposition"].str.strip().str.lower()
    shipped = ~disposition.isin(_NOT_SHIPPED).to_numpy(dtype=bool)
    why = (
        "not part of an address: Excel turns text typed like 1-2-3 or 3-12 into a "
        "date. Format the column as Text and type it again."
    )
    found = [
        _dated(rows, raw.date_cells, name, columns[name], shipped, why, "date_address_cell")
        for name in ADDRESS_FIELDS
        if name in columns
    ]
    kept = [f for f in found if f is not None]
    return pd.concat(kept, ignore_index=True) if kept else None
