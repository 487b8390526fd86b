"""Problem records: one per finding, with its code, severity and place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

from removal_batch.core.codes import severity_of
from removal_batch.core.raw_table import TEXT

PROBLEM_COLUMNS: list[str] = [
    "file",
    "sheet",
    "row",
    "column",
    "field",
    "value",
    "code",
    "severity",
    "message",
    "order_id",
    "sku",
]


@dataclass(frozen=True)
class Problem:
    """One finding. ``row`` is the row the user sees (None for file-level problems)."""

    code: str
    message: str
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    field: str = ""
    value: str = ""
    order_id: str = ""
    sku: str = ""

    @property
    def severity(self) -> str:
        return str(severity_of(self.code))


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=TEXT) for name in PROBLEM_COLUMNS})
    frame["row"] = frame["row"].astype("Int64")
    return frame


_EMPTY = _empty()


def empty_problems() -> pd.DataFrame:
    return _EMPTY.copy()  # built once: a batch of a thousand clean files asks a thousand times


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """A frame of Problem records in the report's column order."""
    records = [{**asdict(p), "severity": p.severity} for p in problems]
    if not records:
        return empty_problems()
    frame = pd.DataFrame.from_records(records)
    return normalise_problems(frame)


def normalise_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill absent columns, fix dtypes and order the columns as the reports do."""
    frame = frame.copy()
    for name in PROBLEM_COLUMNS:
        if name not in frame.columns:
            frame[name] = ""
    if "severity" in frame.columns:
        missing = frame["severity"].isna() | frame["severity"].eq("")
        if missing.any():
            frame.loc[missing, "severity"] = frame.loc[missing, "code"].map(
                lambda c: str(severity_of(c))
            )
    frame["row"] = pd.array(frame["row"], dtype="Int64")
    for name in PROBLEM_COLUMNS:
        if name != "row" and frame[name].dtype != TEXT:
            frame[name] = frame[name].fillna("").astype(str).astype(TEXT)
    return frame[PROBLEM_COLUMNS].reset_index(drop=True)


def without_cells(problems: pd.DataFrame, cells: pd.DataFrame | None) -> pd.DataFrame:
    """``problems`` less those at the (row, field) pairs of ``cells``."""
    if cells is None or cells.empty or problems.empty:
        return problems
    withdrawn = pd.MultiIndex.from_arrays([cells["row"], cells["field"]])
    at = pd.MultiIndex.from_arrays([problems["row"], problems["field"]])
    return problems[~at.isin(withdrawn)].reset_index(drop=True)


def concat_problems(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty_problems()
    return normalise_problems(pd.concat(parts, ignore_index=True))


# Severity order for sorting reports: the worst first within a row.
SEVERITY_RANK = {"fatal": 0, "error": 1, "warning": 2, "info": 3}


def sort_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """File, then row (file-level first), then worst severity first."""
    if frame.empty:
        return frame
    keyed = frame.assign(
        _row=frame["row"].fillna(0).astype("int64"),
        _rank=frame["severity"].map(SEVERITY_RANK).fillna(9),
    )
    keyed = keyed.sort_values(["file", "sheet", "_row", "_rank"], kind="stable")
    return keyed.drop(columns=["_row", "_rank"]).reset_index(drop=True)


def point_held_orders_at_errors(problems: pd.DataFrame, allow_partial: bool) -> pd.DataFrame:
    """Each order-held record names the first error of its order, and how many it has:
    on a 50-line order the cause may be 40 rows below the record, and "the errors
    reported on its rows" leaves the reader to find it. ``problems`` are one file's,
    sorted, with order ids filled; an order without an error found here keeps its
    message."""
    held = problems["code"].eq("order-held")
    if not held.any():
        return problems
    errors = problems[
        problems["severity"].isin(["error", "fatal"])
        & problems["order_id"].ne("")
        & problems["row"].notna()
    ]
    if errors.empty:
        return problems
    by_order = errors.groupby("order_id", sort=False)
    first = by_order.first()[["code", "row"]]
    count = by_order.size()
    one = count.eq(1)
    said = (
        "Order "
        + first.index.to_series()
        + " is held back and not written. Its rows have "
        + count.map(lambda n: f"{n:,} errors, the first" if n > 1 else "1 error,")
        + " on row "
        + first["row"].astype(str)
        + " ("
        + first["code"]
        + "): fix "
        + one.map({True: "it", False: "them"})
        + (
            " and run again."
            if allow_partial
            else " and run again (or use --allow-partial to send the valid lines)."
        )
    )
    message = problems.loc[held, "order_id"].map(said)
    found = message.notna()
    if not found.any():
        return problems
    problems = problems.copy()
    problems.loc[message.index[found], "message"] = message[found].astype(str).to_numpy()
    return problems
