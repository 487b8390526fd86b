"""Order files for Amazon: one feed file per order, and table-shape bulk upload files.

Both are tab-delimited UTF-8 text with no quoting (Amazon's flat files have none),
so tabs and line breaks inside a value are turned into spaces.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from removal_batch.core.fields import ADDRESS_FIELDS, ITEM_FIELDS, ORDER_FIELDS
from removal_batch.faults import checkpoint

ITEM_HEADER = "\t".join(ITEM_FIELDS)
UPLOAD_HEADER = list(ORDER_FIELDS + ITEM_FIELDS)
# Fields a Disposal (or Liquidations) order leaves out: Amazon keeps what it removes.
RETURN_ONLY = frozenset(ADDRESS_FIELDS)


def _flat(values: pd.Series) -> pd.Series:
    """One line per value: tabs and line breaks would break the flat file."""
    text = values.fillna("").astype(str)
    return text.str.replace(r"[\t\r\n\x00]+", " ", regex=True)


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def order_file_texts(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """The feed text of each order, indexed by order id."""
    item_text = (
        _flat(lines["sku"])
        + "\t"
        + lines["sellable"].astype(str)
        + "\t"
        + lines["unsellable"].astype(str)
    )
    items = item_text.groupby(lines["order_id"].to_numpy(), sort=False).agg("\n".join)
    keyed = orders.set_index("order_id")
    head = "MerchantRemovalOrderID\t" + _flat(keyed.index.to_series()) + "\n"
    head += "RemovalDisposition\t" + _flat(keyed["disposition"]) + "\n"
    is_return = keyed["disposition"].eq("Return")
    for name in ORDER_FIELDS[2:]:
        values = _flat(keyed[name])
        wanted = values.ne("") & (is_return | (name not in RETURN_ONLY))
        head += np.where(wanted, name + "\t" + values + "\n", "")
    return head + "\n" + ITEM_HEADER + "\n" + items.reindex(keyed.index) + "\n"


def write_order_files(orders: pd.DataFrame, lines: pd.DataFrame, folder: Path) -> dict[str, str]:
    """orders/<order-id>.txt for every order; returns order id -> relative file name."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    if orders.empty:
        return names
    for order_id, text in order_file_texts(orders, lines).items():
        # The id rule (letters, digits, . _ -; no leading dot) makes it a safe file name.
        name = f"{order_id}.txt"
        _write(folder / name, text)
        checkpoint("order-file")
        names[str(order_id)] = f"{folder.name}/{name}"
    return names


def pack_orders(line_counts: np.ndarray, per_file: int) -> np.ndarray:
    """File number (1-based) of each order: fill a file up to ``per_file`` lines, never
    splitting an order (orders are never larger than ``per_file``; see order-split)."""
    numbers = np.empty(len(line_counts), dtype=np.int64)
    current, used = 1, 0
    for i, count in enumerate(line_counts.tolist()):
        if used and used + count > per_file:
            current, used = current + 1, 0
        numbers[i] = current
        used += count
    return numbers


def write_upload_files(
    orders: pd.DataFrame, lines: pd.DataFrame, folder: Path, per_file: int
) -> dict[str, str]:
    """upload/removal-orders-NNN.txt in the table shape, order fields on every row.
    Returns order id -> relative name of the upload file holding it."""
    folder.mkdir(parents=True, exist_ok=True)
    if orders.empty:
        return {}
    file_of_order = pd.Series(
        pack_orders(orders["lines"].to_numpy(), per_file), index=orders["order_id"].to_numpy()
    )
    keyed = orders.set_index("order_id")
    order_ids = lines["order_id"]
    table = pd.DataFrame({"MerchantRemovalOrderID": _flat(order_ids)})
    table["RemovalDisposition"] = order_ids.map(keyed["disposition"]).to_numpy()
    for name in ORDER_FIELDS[2:]:
        table[name] = _flat(order_ids.map(keyed[name])).to_numpy()
    table["MerchantSKU"] = _flat(lines["sku"]).to_numpy()
    table["SellableQuantity"] = lines["sellable"].astype(str).to_numpy()
    table["UnsellableQuantity"] = lines["unsellable"].astype(str).to_numpy()
    table["_file"] = order_ids.map(file_of_order).to_numpy()
    # Joined column by column (vectorised); no quoting, the values are flat already.
    row_text = table[UPLOAD_HEADER[0]]
    for name in UPLOAD_HEADER[1:]:
        row_text = row_text + "\t" + table[name]
    header = "\t".join(UPLOAD_HEADER) + "\n"
    names: dict[int, str] = {}
    for number, part in row_text.groupby(table["_file"].to_numpy(), sort=True):
        name = f"removal-orders-{int(number):03d}.txt"
        _write(folder / name, header + "\n".join(part.tolist()) + "\n")
        names[int(number)] = f"{folder.name}/{name}"
    return {str(k): names[int(v)] for k, v in file_of_order.items()}


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk before it is published."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
