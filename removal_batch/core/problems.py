"""Problem records: one per finding, with its code, severity and place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from removal_batch.core.codes import SEVERITY_NAMES, severity_of
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
            frame.loc[missing, "severity"] = frame.loc[missing, "code"].map(SEVERITY_NAMES)
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


def held_messages(
    order_ids: pd.Series,
    allow_partial: bool,
    would_send: np.ndarray,
    first_row: pd.Series | None = None,
    first_code: pd.Series | None = None,
    errors: pd.Series | None = None,
    repeat_row: pd.Series | None = None,
) -> pd.Series:
    """The order-held record's message, the one wording for it: with the order's first
    error (row, code) and its count of errors where they are known (not NaN), else the
    general sentence. ``would_send``: per order, whether --allow-partial would send it in
    part; only theirs mention it (an order held for its address would be held all the
    same). ``repeat_row``: the row of its order-id-duplicate error, if it has one."""
    hinted = np.asarray(would_send, dtype=bool) & (not allow_partial)
    fix = pd.Series(
        np.where(
            hinted,
            " and run again (or use --allow-partial to send the valid lines).",
            " and run again.",
        ),
        index=order_ids.index,
    )
    general = (
        "Order " + order_ids + " is held back and not written, because of the errors "
        "reported on its rows. Fix them" + fix
    )
    if first_row is None or first_code is None or errors is None:
        return general
    many = errors.gt(1).to_numpy()
    pointed = (
        "Order "
        + order_ids
        + " is held back and not written. Its rows have "
        + pd.Series(
            np.where(
                many, errors.fillna(0).astype(int).astype(str) + " errors, the first", "1 error,"
            ),
            index=order_ids.index,
        )
        + " on row "
        + first_row.astype("string")
        + " ("
        + first_code
        + "): fix "
        + pd.Series(np.where(many, "them", "it"), index=order_ids.index)
        + fix
    )
    # An error that its id is taken, or that it repeats an order sent: "fix them and run
    # again" could send it a second time, so that error is named first, whatever its place.
    # Not "it may have been sent already": two orders of one batch with one id were not.
    if repeat_row is not None and repeat_row.notna().any():
        others = errors.fillna(1).astype(int) - 1
        plural = np.where(others.gt(1), " other errors", " other error")
        read_first = (" Read it before you fix the " + others.astype(str) + plural).where(
            many, " Read it first"
        )
        pointed = pointed.mask(
            repeat_row.notna(),
            "Order "
            + order_ids
            + " is held back and not written: row "
            + repeat_row.astype("Int64").astype("string")
            + " says why (order-id-duplicate)."
            + read_first
            + ": if this order was sent before, sending it again would send it twice.",
        )
    return pointed.where(errors.notna(), general)


def name_rows_left_out(problems: pd.DataFrame, sent: frozenset[str]) -> pd.DataFrame:
    """With --allow-partial, the first error of each row left out of an order that was sent
    says so, and how to send that row: fixed and dropped again, the file's order would be
    refused as one sent already ("delete its rows"), and the row with it. ``problems`` are
    one file's, with order ids filled; ``sent``: ids of this file's orders written."""
    if problems.empty or not sent:
        return problems
    left_out = (
        problems["severity"].eq("error")
        & problems["order_id"].isin(list(sent))
        & problems["row"].notna()
    )
    left_out &= ~problems[left_out].duplicated(["row"]).reindex(problems.index, fill_value=True)
    if not left_out.any():
        return problems
    problems = problems.copy()
    problems.loc[left_out, "message"] = (
        problems.loc[left_out, "message"]
        + " (Order "
        + problems.loc[left_out, "order_id"]
        + " was sent without this row, as --allow-partial does: to send the row, give it an "
        "order id of its own.)"
    )
    return problems


def point_held_orders_at_errors(
    problems: pd.DataFrame, allow_partial: bool, would_send: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Each order-held record names the first error of its order, and how many it has:
    on a 50-line order the cause may be 40 rows below the record, and "the errors
    reported on its rows" leaves the reader to find it. ``problems`` are one file's,
    sorted, with order ids filled; an order without an error found here keeps its
    message. ``would_send``: ids of this file's orders --allow-partial would send in
    part."""
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
    first = by_order.first()
    repeats = errors[errors["code"].eq("order-id-duplicate")].groupby("order_id", sort=False)
    orders = problems.loc[held, "order_id"]
    problems = problems.copy()
    problems.loc[held, "message"] = held_messages(
        orders,
        allow_partial,
        orders.isin(would_send).to_numpy(),
        orders.map(first["row"]),
        orders.map(first["code"]),
        orders.map(by_order.size()),
        orders.map(repeats["row"].first()),
    ).to_numpy()
    return problems
