"""Findings: problems the order rules raise against lines, placed later in one step.

Rules only say *which line*, *which field* and *what*; ``place_findings`` turns that
into the file, sheet, row and column the user sees (including the one cell a feed
file keeps an order field in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from removal_batch.core.problems import empty_problems, normalise_problems

FINDING_COLUMNS = ["line", "field", "code", "message", "value"]


def findings(
    lines: pd.Index | np.ndarray | Sequence[int],
    field_name: str,
    code: str,
    message: pd.Series | Sequence[str] | str,
    value: pd.Series | Sequence[str] | str = "",
) -> pd.DataFrame:
    """A block of findings of one code on one field, one per line index."""
    index = np.asarray(lines, dtype=np.int64)
    n = len(index)

    def spread(v: pd.Series | Sequence[str] | str) -> np.ndarray:
        if isinstance(v, str):
            return np.full(n, v, dtype=object)
        return np.asarray(v, dtype=object)

    return pd.DataFrame(
        {
            "line": index,
            "field": field_name,
            "code": code,
            "message": spread(message),
            "value": spread(value),
        }
    )


@dataclass(frozen=True)
class FilePlaces:
    """Where one input file's fields sit."""

    name: str
    sheet: str
    field_columns: dict[str, str]
    fixed_cells: dict[str, tuple[int, str]] = field(default_factory=dict)


def place_findings(
    found: pd.DataFrame, lines: pd.DataFrame, files: Sequence[FilePlaces]
) -> dict[str, pd.DataFrame]:
    """Findings -> problem frames per file name."""
    if found.empty:
        return {}
    found = found.drop_duplicates(subset=["line", "field", "code"])
    at = lines.loc[found["line"].to_numpy()]
    out = pd.DataFrame(
        {
            "line": found["line"].to_numpy(),
            "file_pos": at["file_pos"].to_numpy(),
            "row": at["source_row"].to_numpy(),
            "column": "",
            "field": found["field"].to_numpy(),
            "value": found["value"].to_numpy(),
            "code": found["code"].to_numpy(),
            "message": found["message"].to_numpy(),
            "order_id": at["order_id"].to_numpy(),
            "sku": at["sku"].to_numpy(),
        }
    )
    result: dict[str, pd.DataFrame] = {}
    for pos, part in out.groupby("file_pos", sort=True):
        places = files[int(pos)]
        part = part.copy()
        part["column"] = part["field"].map(places.field_columns).fillna("")
        fixed = part["field"].isin(list(places.fixed_cells))
        if fixed.any():
            cell_rows = {f: cell[0] for f, cell in places.fixed_cells.items()}
            cell_columns = {f: cell[1] for f, cell in places.fixed_cells.items()}
            part.loc[fixed, "row"] = part.loc[fixed, "field"].map(cell_rows)
            part.loc[fixed, "column"] = part.loc[fixed, "field"].map(cell_columns)
        part = part.sort_values(["row", "line"], kind="stable")
        part = part.assign(file=places.name, sheet=places.sheet)
        result[places.name] = normalise_problems(part.drop(columns=["line", "file_pos"]))
    return result


def no_findings() -> pd.DataFrame:
    empty = np.empty(0, dtype=object)
    return pd.DataFrame(
        {c: np.empty(0, dtype=np.int64) if c == "line" else empty for c in FINDING_COLUMNS}
    )


def concat_findings(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else no_findings()


__all__ = ["empty_problems", "findings", "place_findings", "FilePlaces", "concat_findings"]
