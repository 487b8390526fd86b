"""Order files for Amazon: one feed file per order, and table-shape bulk upload files.

Both are tab-delimited UTF-8 text with no quoting (Amazon's flat files have none), so
tabs and line breaks of every kind inside free text (an address, a note) are turned into
spaces. A SKU or an order id is never changed: written otherwise it would name another
one, so the rules refuse one holding a tab or a line break, and one reaching here stops
the writing. Only a value that starts with a double quote is quoted, as Excel would write
it. Lines are joined with Arrow's compute kernels: a million lines must not mean a million
Python steps.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch import forking
from removal_batch.core.fields import (
    ADDRESS_FIELDS,
    FLAT_BREAKS,
    ITEM_FIELDS,
    ORDER_FIELDS,
    arrow_strings,
    may_hold_breaks,
    single_array,
    text_buffer,
)
from removal_batch.core.raw_table import TEXT
from removal_batch.faults import checkpoint

ITEM_HEADER = "\t".join(ITEM_FIELDS)
UPLOAD_HEADER = list(ORDER_FIELDS + ITEM_FIELDS)
# Fields a Disposal (or Liquidations) order leaves out: Amazon keeps what it removes.
RETURN_ONLY = frozenset(ADDRESS_FIELDS)
BREAKS = FLAT_BREAKS + "+"


def _strings(values: pd.Series) -> pa.Array:
    # pandas may hold text as large_string; the joins below need one string type.
    return single_array(pc.fill_null(pc.cast(arrow_strings(values), pa.string()), ""))


def _flat(values: pd.Series) -> pa.Array:
    """Text with no tab or line break in it (those would break the flat file)."""
    array = _strings(values)
    if may_hold_breaks(array):
        array = single_array(pc.replace_substring_regex(array, BREAKS, " "))
    return _quoted(array)


def _exact(values: pd.Series, what: str) -> pa.Array:
    """An identifier (SKU, order id) as it is: Amazon matches it exactly, so it is never
    rewritten. One holding a tab or a line break, or starting with a double quote, is
    refused by the rules (sku-unknown, order-id-invalid); finding one here is a bug,
    stopped before a wrong file is written."""
    array = _strings(values)
    if may_hold_breaks(array) and pc.any(pc.match_substring_regex(array, FLAT_BREAKS)).as_py():
        raise ValueError(f"a {what} holding a tab or a line break reached the order files")
    # Quoted as free text is, it would be another id to a reader that ignores quotes
    # (sku-unknown refuses a SKU starting with one; an order id cannot hold one).
    if pc.any(pc.starts_with(array, '"')).as_py():
        raise ValueError(f"a {what} starting with a double quote reached the order files")
    return array


def _quoted(array: pa.Array) -> pa.Array:
    # A value starting with a double quote would open a quoted field for any reader that
    # honours quotes (Excel, ours), swallowing the lines after it. Such a value is written
    # the way Excel's "Text (Tab delimited)" export writes it: quoted, quotes doubled.
    leading = pc.starts_with(array, '"')
    if pc.any(leading).as_py():
        doubled = pc.replace_substring(array, '"', '""')
        array = pc.if_else(leading, pc.binary_join_element_wise('"', doubled, '"', ""), array)
    return array


def _numbers(values: pd.Series, end: str = "") -> pa.Array:
    text = pc.cast(pa.array(values.to_numpy(dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(text, end, "") if end else text


def _join(*columns: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*columns, "\t")


def item_lines(lines: pd.DataFrame) -> pa.Array:
    """Each line's "sku<TAB>sellable<TAB>unsellable<LF>": the same text ends every row of
    both kinds of file, so it is built once for both."""
    return _join(
        _exact(lines["sku"], "SKU"),
        _numbers(lines["sellable"]),
        _numbers(lines["unsellable"], "\n"),
    )


def _write(folder_fd: int, name: str, parts: list[bytes | memoryview]) -> None:
    """One whole new file, opened relative to its folder's descriptor (no path walk per
    file) and written with one system call in the usual case. Outputs go into a fresh
    staging folder, so a name already there raises FileExistsError (see _write_span)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder_fd)
    try:
        written = os.writev(fd, parts)
        if written < sum(len(p) for p in parts):  # a short write: finish it, or raise
            rest = memoryview(b"".join(parts))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    finally:
        os.close(fd)


def _run_starts(keys: pa.Array) -> np.ndarray:
    """Where each run of equal keys starts."""
    if len(keys) == 0:
        return np.empty(0, dtype=np.int64)
    change = pc.not_equal(keys[1:], keys[:-1]).to_numpy(zero_copy_only=False)
    return np.r_[0, np.flatnonzero(change) + 1]


def _line_orders(orders: pd.DataFrame, lines: pd.DataFrame) -> np.ndarray:
    """Each line's order as a position in ``orders`` (-1 for none). Decide writes the lines
    grouped by order, in the order of ``orders``; that is checked at the run starts, and
    anything else is looked up by id."""
    ids = single_array(arrow_strings(lines["order_id"]))
    starts = _run_starts(ids)
    order_ids = single_array(arrow_strings(orders["order_id"]))
    if len(starts) == len(orders) and pc.all(pc.equal(ids.take(starts), order_ids)).as_py():
        return np.repeat(np.arange(len(orders)), np.diff(np.r_[starts, len(ids)]))
    return np.asarray(pd.Index(orders["order_id"]).get_indexer(lines["order_id"]))


def _grouped_items(
    orders: pd.DataFrame, lines: pd.DataFrame, items: pa.Array | None
) -> tuple[np.ndarray, pa.Array]:
    """Each line's order position and its item text, lines grouped by order in the order of
    ``orders`` (as decide gives them; sorted here when they come any other way)."""
    position = _line_orders(orders, lines)
    text = items if items is not None else item_lines(lines)
    if len(position) and np.any(position[1:] < position[:-1]):
        by_order = np.argsort(position, kind="stable")
        position, text = position[by_order], text.take(pa.array(by_order))
    return position, text


@dataclass
class OrderFileLayout:
    """Every order file's text, laid out for writing: file ``i`` is ``<ids[i]>.txt``, holding
    ``heads[head_at[i]:head_at[i + 1]]`` then ``body[bounds[i]:bounds[i + 1]]``. Plain
    Python ints and buffers, so a forked writer needs no Arrow call (see begin_order_files)."""

    ids: list[str]
    heads: memoryview
    head_at: list[int]
    body: memoryview
    bounds: list[int]

    def parts(self, i: int) -> list[bytes | memoryview]:
        return [
            self.heads[self.head_at[i] : self.head_at[i + 1]],
            self.body[self.bounds[i] : self.bounds[i + 1]],
        ]


def order_file_layout(
    orders: pd.DataFrame, lines: pd.DataFrame, items: pa.Array | None = None
) -> OrderFileLayout:
    """The feed file of every order: its order fields (Disposal orders without address
    lines), the item header, then its item lines."""
    position, text = _grouped_items(orders, lines, items)
    body, body_at = text_buffer(text)
    # Each order's lines: from its first line to the first line of the next order.
    bounds = body_at[np.searchsorted(position, np.arange(len(orders) + 1))]
    is_return = orders["disposition"].eq("Return").to_numpy()
    head = [
        pc.binary_join_element_wise(
            "MerchantRemovalOrderID\t", _exact(orders["order_id"], "order id"), "\n", ""
        ),
        pc.binary_join_element_wise("RemovalDisposition\t", _flat(orders["disposition"]), "\n", ""),
    ]
    for name in ORDER_FIELDS[2:]:
        values = _flat(orders[name])
        wanted = pc.and_(pc.not_equal(values, ""), pa.array(is_return | (name not in RETURN_ONLY)))
        head.append(
            pc.if_else(wanted, pc.binary_join_element_wise(f"{name}\t", values, "\n", ""), "")
        )
    heads, head_at = text_buffer(pc.binary_join_element_wise(*head, f"\n{ITEM_HEADER}\n", ""))
    # Python ints slice a memoryview several times faster than numpy's integers do.
    return OrderFileLayout(
        orders["order_id"].astype(str).tolist(), heads, head_at.tolist(), body, bounds.tolist()
    )


def _write_span(layout: OrderFileLayout, folder: Path, indices: range) -> int:
    """Write the order files of ``indices`` in that sequence, stopping at the first that
    already exists: the other process writing the same layout from the other end has been
    there. Returns how many were written."""
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    written = 0
    try:
        for i in indices:
            try:
                # The id rule (letters, digits, . _ -; no leading dot) makes it a safe name.
                _write(folder_fd, f"{layout.ids[i]}.txt", layout.parts(i))
            except FileExistsError:
                break
            written += 1
            checkpoint("order-file")
    finally:
        os.close(folder_fd)
    return written


def _write_layout(layout: OrderFileLayout, folder: Path) -> None:
    count = len(layout.ids)
    if _write_span(layout, folder, range(count)) != count:
        raise OSError(f"an order file was found already written in {folder}")


# Below this many orders a fork costs more than it saves.
FORK_FROM_ORDERS = 2_000
# From this many orders, the run writes order files from the last one back, once its
# other outputs are done, while the child writes from the first one on: it would
# otherwise sit idle for seconds waiting (50,000 files), and the kernel creates files
# in one folder faster from two processes than from one.
HELP_FROM_ORDERS = 2_000


class PendingOrderFiles:
    """Order files being written. ``names`` (each order's relative file name, indexed as
    the orders are) is known at once; ``result()`` waits for the files and raises the
    OSError their writing met; ``cancel()`` stops a writer not waited for."""

    def __init__(
        self,
        names: pd.Series,
        pid: int = 0,
        report: int = -1,
        helped: tuple[OrderFileLayout, Path] | None = None,
    ) -> None:
        self.names = names
        self._pid, self._report = pid, report
        self._helped = helped

    def result(self) -> pd.Series:
        if self._pid:
            from_end, helped, self._helped = 0, self._helped, None
            if helped is not None:
                layout, folder = helped
                from_end = _write_span(layout, folder, range(len(layout.ids) - 1, -1, -1))
            report, self._report = self._report, -1
            with os.fdopen(report, "rb") as incoming:  # it owns (and closes) the descriptor
                data = incoming.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
            reply = pickle.loads(data) if data else None
            if isinstance(reply, tuple):
                raise _child_error(reply)
            if status:
                code = os.waitstatus_to_exitcode(status)
                how = f"was stopped by signal {-code}" if code < 0 else f"failed (exit {code})"
                raise OSError(f"the process writing the order files {how}")
            if helped is not None:
                _check_spans_meet(reply, from_end, len(helped[0].ids))
        return self.names

    def cancel(self) -> None:
        """Stop and reap a writer still running (a no-op once ``result`` has returned);
        an interrupted ``result`` leaves the child to this."""
        if self._report >= 0:
            with contextlib.suppress(OSError):
                os.close(self._report)
            self._report = -1
        if self._pid:
            pid, self._pid = self._pid, 0
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _check_spans_meet(from_start: object, from_end: int, count: int) -> None:
    """The child's span and the run's must meet exactly: a gap is an order unwritten."""
    if not isinstance(from_start, int) or from_start + from_end != count:
        raise OSError(
            f"the order files were not all written ({from_start} from the first, "
            f"{from_end} from the last, of {count})"
        )


def _child_error(payload: tuple[int | None, str, str | None]) -> OSError:
    number, text, filename = payload
    return OSError(number, text, filename) if number is not None else OSError(text)


def begin_order_files(
    orders: pd.DataFrame, lines: pd.DataFrame, folder: Path, items: pa.Array | None = None
) -> PendingOrderFiles:
    """Start writing orders/<order-id>.txt for every order. ``items``: item_lines(lines),
    when the caller has it already.

    Creating 50,000 files is mostly system calls, and a thread doing them still takes the
    GIL 150,000 times against the thread building the other outputs; a forked child does
    them on the other core with no contention. The child runs no Arrow code (a fork can
    copy a lock Arrow holds on another thread), only the prepared buffers and os calls."""
    folder.mkdir(parents=True, exist_ok=True)
    names = f"{folder.name}/" + orders["order_id"].astype(TEXT) + ".txt"
    if orders.empty:
        return PendingOrderFiles(names)
    layout = order_file_layout(orders, lines, items)
    count = len(layout.ids)
    if count < FORK_FROM_ORDERS or not hasattr(os, "fork"):
        _write_layout(layout, folder)
        return PendingOrderFiles(names)
    helped = count >= HELP_FROM_ORDERS
    report, write_end = os.pipe()
    pid = forking.fork()
    if pid == 0:  # the child: write, report, leave without cleanup
        code = 1  # anything but a clean finish reads as a failure
        try:
            forking.in_child()
            os.close(report)
            reply: int | tuple[int | None, str, str | None] | None = None
            try:
                if helped:  # how many it wrote, for the parent to check the spans meet
                    reply = _write_span(layout, folder, range(count))
                else:
                    _write_layout(layout, folder)
                code = 0
            except OSError as exc:
                reply = (
                    exc.errno,
                    exc.strerror or str(exc),
                    None if exc.filename is None else str(exc.filename),
                )
            if reply is not None:
                with os.fdopen(write_end, "wb") as out:
                    out.write(pickle.dumps(reply))
        finally:
            os._exit(code)
    os.close(write_end)
    return PendingOrderFiles(names, pid, report, (layout, folder) if helped else None)


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
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    folder: Path,
    per_file: int,
    items: pa.Array | None = None,
) -> pd.Series:
    """upload/removal-orders-NNN.txt in the table shape, order fields on every row.
    Returns the relative name of the upload file holding each order (indexed as the
    orders are)."""
    folder.mkdir(parents=True, exist_ok=True)
    if orders.empty:
        return pd.Series("", index=orders.index, dtype=TEXT)
    file_of_order = pack_orders(orders["lines"].to_numpy(), per_file)
    position, line_text = _grouped_items(orders, lines, items)
    # The order fields are joined once per order, then repeated on each of its lines.
    order_text = _join(
        _exact(orders["order_id"], "order id"),
        _flat(orders["disposition"]),
        *[_flat(orders[name]) for name in ORDER_FIELDS[2:]],
    )
    buffer, offsets = text_buffer(_join(order_text.take(pa.array(position)), line_text))
    line_file = file_of_order[position]
    starts = _run_starts(pa.array(line_file))
    ends = np.r_[starts[1:], len(line_file)]
    header = ("\t".join(UPLOAD_HEADER) + "\n").encode()
    # Files are numbered 1..k in order, so a file's name is found by its number.
    names = [f"removal-orders-{n:03d}.txt" for n in range(1, int(file_of_order.max()) + 1)]
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for a, b in zip(starts, ends, strict=True):
            name = names[int(line_file[a]) - 1]
            _write(folder_fd, name, [header, buffer[offsets[a] : offsets[b]]])
    finally:
        os.close(folder_fd)
    relative = pd.array([f"{folder.name}/{name}" for name in names], dtype=TEXT)
    return pd.Series(relative.take(file_of_order - 1), index=orders.index)


def fsync_tree(root: Path) -> None:
    """Flush what was written under ``root`` to disk before it is published.

    One sync of the file system, not one fsync per file: a run may write 50,000
    order files, and per-file fsyncs would cost seconds for nothing more."""
    del root
    os.sync()
