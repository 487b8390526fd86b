"""Errors found in the reading of a workbook, not by the schema: an item cell a merged
range covers (core.merged_cells), an order id held as a date (core.date_cells), a
quantity whose format shows another number (core.scaled_cells). Each is one row of the
failures core.validate places and words, with its message already written."""

from __future__ import annotations

import numpy as np
import pandas as pd


def read_failures(at: np.ndarray, field: str, message: pd.Series, check: str) -> pd.DataFrame:
    """``at``: positions in the request rows; ``check``: a key of validate.CHECK_CODES."""
    return pd.DataFrame(
        {
            "index": at.astype(np.int64),
            "field": field,
            "value": "",
            "message": message.to_numpy(dtype=object),
            "check": check,
        }
    )
