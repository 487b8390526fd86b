"""Order ids a workbook holds as dates: Excel turns an id typed like 3-12 into the date
12-Mar, which reads as 2026-03-12, a usable id the sheet never shows. Found in the
reading (RawTable.date_cells), refused here at their cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from removal_batch.core.raw_table import RawTable
from removal_batch.core.read_failures import read_failures

ID_FIELD = "MerchantRemovalOrderID"


def date_order_ids(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (index, field, value, message, check) for the rows whose order id cell
    held a date; None when there are none. ``rows``: the request frame (``source_row``
    holds each row's number); ``columns``: each field's column index."""
    col = columns.get(ID_FIELD)
    dates = raw.date_cells
    if col is None or not len(dates):
        return None
    shown_rows = dates[dates[:, 1] == col, 0]
    at = np.flatnonzero(np.isin(rows["source_row"].to_numpy(), shown_rows))
    if not len(at):
        return None
    values = rows[ID_FIELD].to_numpy(dtype=object, na_value="")[at]
    message = (
        ID_FIELD
        + " is a date in the sheet ("
        + pd.Series(values, dtype=object).astype(str)
        + "), not an id: Excel turns an id typed like 3-12 into a date. Format the column "
        "as Text and type the id again."
    )
    return read_failures(at, ID_FIELD, message, "date_cell")
