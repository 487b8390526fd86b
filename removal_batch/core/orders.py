"""Grouping request lines into orders, and the order-level values each order ends with.

A blank order id continues the order above; blank ids before the first id form one
order with a generated id. Rows of one order are grouped even when apart
(``order-not-contiguous``); rows that disagree on an order field are reported
(``order-conflict``), and the order keeps its first value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.fields import ADDRESS_FIELDS, ORDER_FIELDS, ascii_upper_text, non_empty
from removal_batch.core.findings import concat_findings, findings

# Values compared without regard to case: "return" and "Return" do not conflict, nor do
# "Toronto" and "TORONTO" (the order keeps the first). A postal code is also compared
# without its spaces: "M5H 2N2" and "m5h2n2" are one code to a carrier.
CASELESS_FIELDS = frozenset({"RemovalDisposition", *ADDRESS_FIELDS})
SPACELESS_FIELDS = frozenset({"AddressPostalCode"})
DISPOSITION_NAMES = {
    "return": "Return",
    "disposal": "Disposal",
    "liquidation": "Liquidations",
    "liquidations": "Liquidations",
}


def generated_ids(prefix: str, day: dt.date, taken: Collection[str]) -> Iterator[str]:
    """<prefix>-YYYYMMDD-NNNN, skipping ids already used (in this run or in the ledger),
    in any capitals: rb-...-0001 and RB-...-0001 would be one order file on Windows."""
    stem = ascii_upper_text(f"{prefix}-{day:%Y%m%d}-")
    used = {ascii_upper_text(t) for t in taken if ascii_upper_text(t[: len(stem)]) == stem}
    number = 0
    while True:
        number += 1
        candidate = f"{prefix}-{day:%Y%m%d}-{number:04d}"
        if ascii_upper_text(candidate) not in used:
            yield candidate


@dataclass
class Grouping:
    lines: pd.DataFrame  # input lines with order_no and order_id added
    orders: pd.DataFrame  # one row per order: order_no, order_id, file_pos, first_line, fields
    findings: pd.DataFrame
    value_lines: pd.DataFrame  # per order and order field: the line its value came from


def run_starts(*columns: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins (any column changing starts one).
    Lines of one order come in runs, so per-run work is a twentieth of per-line work."""
    if not len(columns[0]):
        return np.empty(0, dtype=np.intp)
    change = np.zeros(len(columns[0]) - 1, dtype=bool)
    for values in columns:
        change |= values[1:] != values[:-1]
    return np.flatnonzero(np.r_[True, change])


def _normal(values: pd.Series, field: str) -> pd.Series:
    text = values.str.split().str.join("" if field in SPACELESS_FIELDS else " ")
    return text.str.lower() if field in CASELESS_FIELDS else text


def list_numbers(sizes: Sequence[int], starts: Sequence[Sequence[int]]) -> np.ndarray:
    """The list each line of files of ``sizes`` lines (in one frame, file after file) is
    in: a file begins one, and so does each repeat of its header row (``starts``: each
    file's RequestTable.section_starts), two exports pasted together, where blank order
    ids start an order of their own."""
    begins = np.zeros(int(sum(sizes)), dtype=bool)
    firsts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    begins[firsts[np.asarray(sizes) > 0]] = True
    for first, more in zip(firsts, starts, strict=True):
        if more:
            begins[first + np.asarray(more, dtype=np.int64)] = True
    return np.cumsum(begins) - 1


@dataclass
class _OrderKeys:
    has_id: np.ndarray  # the line gives an order id
    carrier: np.ndarray  # the line whose id each line takes
    leading: np.ndarray  # blank ids before its list's first id: an order of its own
    key: np.ndarray  # one integer per order, the same on each of its lines


def _order_keys(given: pd.Series, file_pos: np.ndarray, section: np.ndarray) -> _OrderKeys:
    has_id = non_empty(given)
    # A blank id continues the order above: each line takes the id of the last line at or
    # above it with one (lines come list by list, so that line is in the same list unless
    # it lies before the list's first line).
    carrier = np.maximum.accumulate(np.where(has_id, np.arange(len(given)), -1))
    leading = carrier < np.searchsorted(section, section, side="left")
    carrier = np.maximum(carrier, 0)
    # Orders are keyed by (file, id), from integer codes: the ids are factorised where they
    # are given, not on every line.
    id_codes, id_values = pd.factorize(given[has_id])
    code_at = np.full(len(given), -1, dtype=np.int64)
    code_at[has_id] = id_codes
    code = np.where(leading, -1, code_at[carrier])
    key = file_pos.astype(np.int64) * (len(id_values) + 1) + code + 1
    # A generated id's order is its list's own (a file may hold two lists).
    key = np.where(leading, -1 - section.astype(np.int64), key)
    return _OrderKeys(has_id, carrier, leading, key)


def _first_filled(order_no: np.ndarray, filled: np.ndarray, orders: int) -> np.ndarray:
    """Per order (numbered 0..orders-1), the position of its first line with ``filled``
    set; -1 for none. Lines are in position order, so that line is where its number first
    occurs among the filled lines."""
    numbers, first = np.unique(order_no[filled], return_index=True)
    picked = np.full(orders, -1, dtype=np.int64)
    picked[numbers] = np.flatnonzero(filled)[first]
    return picked


def order_values(lines: pd.DataFrame, name: str, at: np.ndarray) -> pd.Series:
    """The value of the order field ``name`` of the order of each line at positions ``at``,
    as group_orders gives it to the order: the first filled one among the order's lines,
    "" where none is. ``lines``: as group_orders takes them."""
    file_pos = lines["file_pos"].to_numpy()
    section = lines["section"].to_numpy() if "section" in lines else file_pos
    key = _order_keys(lines["MerchantRemovalOrderID"], file_pos, section).key
    order_no, distinct = pd.factorize(key)
    picked = _first_filled(order_no, non_empty(lines[name]), len(distinct))
    values = lines[name].array.take(picked[order_no[at]], allow_fill=True, fill_value="")
    return pd.Series(values, index=lines.index[at])


def group_orders(
    lines: pd.DataFrame,
    prefix: str,
    day: dt.date,
    used_ids: Collection[str] = frozenset(),
) -> Grouping:
    lines = lines.copy(deep=False)  # columns are added, never changed in place
    given = lines["MerchantRemovalOrderID"]
    file_pos = lines["file_pos"].to_numpy()
    # A list is a file, or the part of one after a repeat of its header row (core.shape).
    section = lines["section"].to_numpy() if "section" in lines else file_pos
    keys = _order_keys(given, file_pos, section)
    order_id = pd.Series(given.array.take(keys.carrier), index=lines.index)
    leading = keys.leading
    # Leading blank ids of a list: one order with a generated id per list.
    if leading.any():
        taken = frozenset(used_ids) | frozenset(given[keys.has_id].unique())
        ids = generated_ids(prefix, day, taken)
        for pos in np.unique(section[leading]):
            order_id[leading & (section == pos)] = next(ids)
    lines["order_id"] = order_id
    lines["generated_id"] = leading
    # Orders are numbered by first appearance of their key, as groupby's ngroup(sort=False)
    # would, once per run of lines (first appearances are the same as per line).
    key = keys.key
    starts = run_starts(key)
    run_numbers = pd.factorize(key[starts])[0]
    lines["order_no"] = np.repeat(run_numbers, np.diff(np.r_[starts, len(key)]))
    filled = {name: non_empty(lines[name]) for name in ORDER_FIELDS[1:]}
    found = [_not_contiguous(lines), _conflicts(lines, filled)]
    # Each order's first line starts the first run of its number (found among the runs,
    # not the lines).
    order_nos, first_run = np.unique(run_numbers, return_index=True)
    first_at = starts[first_run]
    orders = pd.DataFrame({"order_no": order_nos, "first_line": lines.index.to_numpy()[first_at]})
    orders["order_id"] = lines.loc[orders["first_line"], "order_id"].to_numpy()
    orders["file_pos"] = lines.loc[orders["first_line"], "file_pos"].to_numpy()
    orders["generated_id"] = lines.loc[orders["first_line"], "generated_id"].to_numpy()
    value_lines = pd.DataFrame({"order_no": orders["order_no"]})
    order_no = lines["order_no"].to_numpy()
    for name in ORDER_FIELDS[1:]:
        picked = _first_filled(order_no, filled[name], len(orders))
        value_lines[name] = picked
        # Arrow's take (-1, no line: ""): the column never becomes a million Python strings.
        orders[name] = lines[name].array.take(picked, allow_fill=True, fill_value="")
    orders["disposition"] = (
        orders["RemovalDisposition"].str.lower().map(DISPOSITION_NAMES).fillna("")
    )
    # Codes are checked without regard to case and written as codes are written: "us",
    # "nv" go out as US, NV. A region's name ("Greater London") is left as typed. (What
    # else goes out in capitals is done once a re-drop's fingerprint is taken: see
    # codes_in_capitals.)
    orders["AddressCountryCode"] = orders["AddressCountryCode"].str.upper()
    state = orders["AddressStateOrRegion"]
    orders["AddressStateOrRegion"] = state.mask(
        state.str.fullmatch("[A-Za-z]{2}"), state.str.upper()
    )
    return Grouping(lines, orders, concat_findings(found), value_lines)


def codes_in_capitals(orders: pd.DataFrame, home_country: str) -> pd.DataFrame:
    """``orders`` with the postal code, and a state code longer than two letters (NSW,
    CMX), in capitals, as carriers print them: "sw1a 2aa" and "nsw" go out as SW1A 2AA and
    NSW. A state code is one of the order's country (a blank country being
    ``home_country``); a region's name is left as typed.

    Not part of grouping: the fingerprint that matches a re-dropped file to the orders
    it was given is taken from the orders as grouped, and must stay what earlier runs
    stored in the ledger."""
    state = orders["AddressStateOrRegion"]
    upper = state.str.upper()
    longer = state.ne(upper) & ~state.str.fullmatch("[A-Za-z]{2}").astype(bool)
    coded = pd.Series(False, index=orders.index)
    if longer.any():
        from removal_batch.core.checks import as_country_codes, subdivision_codes

        country = orders.loc[longer, "AddressCountryCode"]
        where = as_country_codes(country.mask(country.eq(""), home_country), home_country)
        numbers, distinct = pd.factorize(pd.MultiIndex.from_arrays([upper[longer], where]))
        known = np.array([s in subdivision_codes(c) for s, c in distinct], dtype=bool)
        coded[longer] = known[numbers]
    return orders.assign(
        AddressPostalCode=orders["AddressPostalCode"].str.upper(),
        AddressStateOrRegion=state.mask(coded, upper),
    )


def _not_contiguous(lines: pd.DataFrame) -> pd.DataFrame:
    """Later blocks of an order that already appeared above in the same file."""
    order_no = lines["order_no"].to_numpy()
    blocks = run_starts(order_no, lines["file_pos"].to_numpy())
    if len(np.unique(order_no[blocks])) == len(blocks):
        return concat_findings([])  # one block per order: the usual case
    starts = lines.iloc[blocks][["order_no", "order_id", "MerchantRemovalOrderID"]]
    again = starts[starts["order_no"].duplicated(keep="first")]
    if again.empty:
        return concat_findings([])
    first_row = lines.groupby("order_no")["source_row"].min()
    message = (
        "Rows of order " + again["order_id"] + " are not together: this row continues the "
        "order that starts at row "
        + again["order_no"].map(first_row).astype(str)
        + ". They are grouped into one order; sort the file by order id to avoid mistakes."
    )
    return findings(
        again.index,
        "MerchantRemovalOrderID",
        "order-not-contiguous",
        message,
        again["MerchantRemovalOrderID"],
    )


def _conflicts(lines: pd.DataFrame, filled_by_field: dict[str, np.ndarray]) -> pd.DataFrame:
    parts = []
    for name in ORDER_FIELDS[1:]:
        filled = filled_by_field[name]
        if not filled.any():
            continue
        order_no = lines.loc[filled, "order_no"]
        if not order_no.duplicated().any():
            continue  # the field is filled once per order (the usual way): nothing to compare
        raw = lines.loc[filled, name]
        differs = raw.ne(raw.groupby(order_no).transform("first"))
        if not differs.any():
            continue  # only identical copies, as in Amazon's upload layout
        normal = _normal(raw, name)
        first = normal.groupby(order_no).transform("first")
        clash = normal.ne(first)
        if not clash.any():
            continue
        at = lines.loc[clash[clash].index]
        first_value = lines.loc[filled, name].groupby(order_no).transform("first")[clash]
        value_row = lines.loc[filled, "source_row"].groupby(order_no).transform("first")[clash]
        message = (
            "Rows of order "
            + at["order_id"]
            + " disagree on "
            + name
            + ": row "
            + value_row.astype(str)
            + " says '"
            + first_value
            + "', this row says '"
            + at[name]
            + "'. Fill order fields on the order's first "
            "row only, or make them the same."
        )
        parts.append(findings(at.index, name, "order-conflict", message, at[name]))
    return concat_findings(parts)
