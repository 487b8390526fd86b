"""Order files for Amazon: one feed file per order, and table-shape bulk upload files.

Both are tab-delimited UTF-8 text with no quoting (Amazon's flat files have none),
so tabs and line breaks inside a value are turned into spaces; only a value that starts
with a double quote is quoted, as Excel would write it. Lines are joined
with Arrow's compute kernels: a million lines must not mean a million Python steps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch.core.fields import ADDRESS_FIELDS, ITEM_FIELDS, ORDER_FIELDS, arrow_strings
from removal_batch.faults import checkpoint

ITEM_HEADER = "\t".join(ITEM_FIELDS)
UPLOAD_HEADER = list(ORDER_FIELDS + ITEM_FIELDS)
# Fields a Disposal (or Liquidations) order leaves out: Amazon keeps what it removes.
RETURN_ONLY = frozenset(ADDRESS_FIELDS)
BREAKS = r"[\t\r\n\x00]+"


def _flat(values: pd.Series) -> pa.Array:
    """Text with no tab or line break in it (those would break the flat file)."""
    # pandas may hold text as large_string; the joins below need one string type.
    array = pc.fill_null(pc.cast(arrow_strings(values), pa.string()), "")
    if pc.any(pc.match_substring_regex(array, BREAKS)).as_py():
        array = pc.replace_substring_regex(array, BREAKS, " ")
    # A value starting with a double quote would open a quoted field for any reader that
    # honours quotes (Excel, ours), swallowing the lines after it. Such a value is written
    # the way Excel's "Text (Tab delimited)" export writes it: quoted, quotes doubled.
    leading = pc.starts_with(array, '"')
    if pc.any(leading).as_py():
        doubled = pc.replace_substring(array, '"', '""')
        array = pc.if_else(leading, pc.binary_join_element_wise('"', doubled, '"', ""), array)
    return array


def _numbers(values: pd.Series) -> pa.Array:
    return pc.cast(pa.array(values.to_numpy(dtype=np.int64)), pa.string())


def _join(*columns: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*columns, "\t")


def _write(folder_fd: int, name: str, parts: list[bytes | memoryview]) -> None:
    """One whole file, opened relative to its folder's descriptor (no path walk per file)
    and written with one system call in the usual case."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder_fd)
    try:
        written = os.writev(fd, parts)
        if written < sum(len(p) for p in parts):  # a short write: finish it, or raise
            rest = memoryview(b"".join(parts))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    finally:
        os.close(fd)


def _text_buffer(values: pa.Array) -> tuple[memoryview, np.ndarray]:
    """Every value followed by a line break, end to end in one buffer, and the n + 1
    offsets where each starts: a file's lines are then one slice, with no Python string
    per line."""
    terminated = pc.binary_join_element_wise(values, pa.scalar(""), "\n")
    array = pc.cast(terminated, pa.large_string())
    if isinstance(array, pa.ChunkedArray):  # a column built by concat comes in pieces
        array = array.combine_chunks()
    _, offsets, data = array.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    return memoryview(data if data is not None else b""), starts


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each run of equal keys (lines of an order are contiguous)."""
    if len(keys) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(keys)]
    return starts, ends


def order_file_parts(
    orders: pd.DataFrame, lines: pd.DataFrame
) -> Iterator[tuple[str, list[bytes | memoryview]]]:
    """(order id, the pieces of its feed file) for every order."""
    items = _join(_flat(lines["sku"]), _numbers(lines["sellable"]), _numbers(lines["unsellable"]))
    buffer, offsets = _text_buffer(items)
    keys = lines["order_id"].to_numpy(dtype=object)
    starts, ends = _runs(keys)
    bodies = {keys[a]: (offsets[a], offsets[b]) for a, b in zip(starts, ends, strict=True)}
    is_return = orders["disposition"].eq("Return").to_numpy()
    head = "MerchantRemovalOrderID\t" + orders["order_id"].astype(str) + "\n"
    head += "RemovalDisposition\t" + orders["disposition"].astype(str) + "\n"
    for name in ORDER_FIELDS[2:]:
        values = pd.Series(_flat(orders[name]).to_pylist(), index=orders.index)
        wanted = values.ne("") & (is_return | (name not in RETURN_ONLY))
        head += np.where(wanted, name + "\t" + values + "\n", "")
    ids = orders["order_id"].astype(str).tolist()
    for oid, text in zip(ids, head.tolist(), strict=True):
        start, end = bodies[oid]
        yield oid, [f"{text}\n{ITEM_HEADER}\n".encode(), buffer[start:end]]


def write_order_files(orders: pd.DataFrame, lines: pd.DataFrame, folder: Path) -> dict[str, str]:
    """orders/<order-id>.txt for every order; returns order id -> relative file name."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    if orders.empty:
        return names
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for order_id, parts in order_file_parts(orders, lines):
            # The id rule (letters, digits, . _ -; no leading dot) makes it a safe file name.
            name = f"{order_id}.txt"
            _write(folder_fd, name, parts)
            checkpoint("order-file")
            names[order_id] = f"{folder.name}/{name}"
    finally:
        os.close(folder_fd)
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
    file_of_order = pack_orders(orders["lines"].to_numpy(), per_file)
    # Each line's order, as a position in ``orders``; order fields are taken from there.
    position = pd.Index(orders["order_id"]).get_indexer(lines["order_id"])
    # The order fields are joined once per order, then repeated on each of its lines.
    order_text = _join(
        _flat(orders["order_id"]),
        _flat(orders["disposition"]),
        *[_flat(orders[name]) for name in ORDER_FIELDS[2:]],
    )
    line_text = _join(
        _flat(lines["sku"]), _numbers(lines["sellable"]), _numbers(lines["unsellable"])
    )
    buffer, offsets = _text_buffer(_join(order_text.take(pa.array(position)), line_text))
    line_file = file_of_order[position]
    starts, ends = _runs(line_file)
    header = ("\t".join(UPLOAD_HEADER) + "\n").encode()
    names: dict[int, str] = {}
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for a, b in zip(starts, ends, strict=True):
            number = int(line_file[a])
            name = f"removal-orders-{number:03d}.txt"
            _write(folder_fd, name, [header, buffer[offsets[a] : offsets[b]]])
            names[number] = f"{folder.name}/{name}"
    finally:
        os.close(folder_fd)
    ids = orders["order_id"].astype(str).tolist()
    return {oid: names[int(n)] for oid, n in zip(ids, file_of_order, strict=True)}


def fsync_tree(root: Path) -> None:
    """Flush what was written under ``root`` to disk before it is published.

    One sync of the file system, not one fsync per file: a run may write 50,000
    order files, and per-file fsyncs would cost seconds for nothing more."""
    del root
    os.sync()
