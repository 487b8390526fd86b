"""Quantities a workbook shows as another number: #,##0, shows 5000 as 5, 0% shows 0.05
as 5%. Which one the user means is unclear, and sending the value read could remove a
thousand times the units meant. Found in the reading (RawTable.scaled_cells), refused
here at their cells, with both readings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from removal_batch.core.raw_table import RawTable
from removal_batch.core.read_failures import read_failures

QUANTITY_FIELDS = ("SellableQuantity", "UnsellableQuantity")


def scaled_quantities(
    raw: RawTable, rows: pd.DataFrame, columns: dict[str, int]
) -> pd.DataFrame | None:
    """Failures (index, field, value, message, check) for the quantity cells shown as
    another number; None when there are none. A 0 or a blank shows as itself (0, 0%).
    ``rows``: the request frame (``source_row`` holds each row's number); ``columns``:
    each field's column index."""
    scaled = raw.scaled_cells
    if not scaled:
        return None
    places = np.array(list(scaled), dtype=np.int64)
    said = np.array(list(scaled.values()), dtype=object)
    sources = pd.Index(rows["source_row"].to_numpy())
    found = []
    for name in QUANTITY_FIELDS:
        col = columns.get(name)
        if col is None:
            continue
        mine = places[:, 1] == col
        at = sources.get_indexer(places[mine, 0])  # -1: a row that is no request
        hows = said[mine][at >= 0]
        at = at[at >= 0]
        values = rows[name].to_numpy(dtype=object, na_value="")[at]
        zero = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").eq(0).to_numpy()
        keep = (values != "") & ~zero
        at, values, hows = at[keep], values[keep], hows[keep]
        if not len(at):
            continue
        message = (
            name
            + " holds "
            + pd.Series(values, dtype=object).astype(str)
            + ", but "
            + pd.Series(hows, dtype=object)
            + ", so which number is meant is unclear. Format the cell as Number and type "
            "the units."
        )
        found.append(read_failures(at, name, message, "scaled_cell"))
    return pd.concat(found, ignore_index=True) if found else None
