"""The inventory snapshot: what each SKU has available to remove.

Problems here stop the run (exit 2): without a trustworthy snapshot no request
can be checked.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from removal_batch.core.fields import INVISIBLE, TrimmedText, arrow_strings, trim_text
from removal_batch.core.raw_table import (
    NO_HEADER,
    REQUEST_HEADER,
    ColumnChoice,
    RawTable,
    head_rows,
)
from removal_batch.core.schema import inventory_schema, schema_errors
from removal_batch.core.wording import is_are

REQUIRED = ("sku", "afn-fulfillable-quantity", "afn-unsellable-quantity")
OPTIONAL = ("fnsku", "asin", "product-name", "afn-reserved-quantity", "snapshot-date")
QUANTITIES = ("afn-fulfillable-quantity", "afn-unsellable-quantity", "afn-reserved-quantity")
# What is read of the report: no rule looks at asin or product-name (yet), and reading
# a million product names costs more than everything else in the snapshot.
USED = (*REQUIRED, "fnsku", "afn-reserved-quantity", "snapshot-date")
_INVISIBLE = re.compile(INVISIBLE)


class SnapshotError(Exception):
    """The snapshot cannot be used; the message names the problem and how to fix it."""


@dataclass
class Snapshot:
    """Available units per SKU. ``frame`` is indexed by SKU (text, exactly as in the report)."""

    file: str
    frame: pd.DataFrame  # columns: fnsku, sellable, unsellable (int64)
    snapshot_date: str = ""  # from the report's snapshot-date column, when present

    @property
    def sku_count(self) -> int:
        return len(self.frame)

    @cached_property
    def sku_array(self) -> Any:
        """The SKUs as an Arrow array in ``frame``'s order (no copy: the index is Arrow)."""
        return arrow_strings(self.frame.index)

    def content_digest(self) -> str:
        """sha256 of what the snapshot says: each SKU with its sellable and unsellable units,
        in the report's order. The same report saved again (by Excel, as another format, in
        another encoding) has another file digest but this one; read off the Arrow buffers
        (a few hundredths of a second for a million SKUs)."""
        import hashlib

        # A fresh array: its offsets start at 0 and hold these SKUs only.
        skus = self.sku_array.cast(pyarrow.large_string())
        skus = skus.take(pyarrow.array(np.arange(len(skus), dtype=np.int64)))
        if isinstance(skus, pyarrow.ChunkedArray):
            skus = skus.combine_chunks()
        _, offsets, data = skus.buffers()
        ends = np.frombuffer(offsets, dtype=np.int64)[: len(skus) + 1]
        digest = hashlib.sha256()
        digest.update(ends.tobytes())
        if data is not None:
            digest.update(memoryview(data)[: int(ends[-1])])
        for kind in ("sellable", "unsellable"):
            digest.update(np.ascontiguousarray(self.frame[kind].to_numpy(dtype=np.int64)).data)
        return digest.hexdigest()

    def positions(self, skus: pd.Series) -> np.ndarray:
        """Each SKU's row in ``frame`` (-1 when the snapshot does not list it), by one
        hash join: a million lookups in an index of Python strings would take seconds."""
        if len(skus) == 0:
            return np.empty(0, dtype=np.int64)
        found = pc.index_in(arrow_strings(skus), value_set=self.sku_array)
        if isinstance(found, pyarrow.ChunkedArray):
            found = found.combine_chunks()
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _key(text: str) -> str:
    # Invisible characters (a BOM, a zero-width space pasted along) are no part of a name;
    # capitals, underscores and spaces between its words do not make another one (as the
    # request's columns are matched, SPEC 3.1).
    words = _INVISIBLE.sub("", text).lower().replace("_", " ").replace("-", " ").split()
    return "-".join(words)


def _header_row(raw: RawTable) -> tuple[int, list[str]] | None:
    """The first of the top 20 rows that names every required column, with its cells as
    column keys; None when there is none."""
    for index, row in enumerate(head_rows(raw, 20)):
        keys = [_key(c) for c in row]
        if set(REQUIRED) <= set(keys):
            return index, keys
    return None


def looks_like_inventory_header(raw: RawTable) -> bool:
    """True when one of the first rows names the required snapshot columns."""
    return _header_row(raw) is not None


def snapshot_header_fit(raw: RawTable) -> int:
    """A header probe for snapshot files: an inventory header counts as a whole header, so
    a workbook's reader takes the first sheet holding one and names any other such sheet
    (RawTable.other_request_sheets)."""
    return REQUEST_HEADER if looks_like_inventory_header(raw) else NO_HEADER


def snapshot_columns(peek: RawTable) -> ColumnChoice | None:
    """The positions of the columns a snapshot uses, from its header (None: no header seen).

    Handed to the reader, so the other 15 columns of the report are never converted."""
    found = _header_row(peek)
    if found is None:
        return None
    row, keys = found
    named = [pos for pos, key in enumerate(keys) if key]
    return ColumnChoice(
        positions=[int(pos) for pos, k in zip(peek.cells.columns, keys, strict=True) if k in USED],
        header_row=row,
        header_width=named[-1] + 1,
    )


def _whole(values: pd.Series) -> np.ndarray:
    """Checked whole-number text ("5", "5.0", "+5") -> int64.

    Plain digits cast directly in Arrow; anything else goes through float (to_numeric is
    slow)."""
    try:
        array = pyarrow.array(values, type=pyarrow.string())
        return np.asarray(pc.cast(array, pyarrow.int64()).to_numpy(zero_copy_only=False))
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        return values.astype("float64").to_numpy().astype(np.int64)


def _listed(names: list[str], limit: int = 300) -> str:
    """Names joined with commas, as many whole ones as fit in ``limit`` characters, then
    how many more: a cut in the middle of a name read as a column of that name."""
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > limit:
            return ", ".join(shown) + f" and {len(names) - len(shown)} more"
        shown.append(name)
    return ", ".join(shown)


def parse_snapshot(raw: RawTable) -> Snapshot:
    found_header = _header_row(raw)
    if found_header is None:
        found = _listed([c for c in raw.cells.iloc[0] if c]) if raw.height else "nothing"
        missing = [
            c for c in REQUIRED if raw.height == 0 or c not in {_key(x) for x in raw.cells.iloc[0]}
        ]
        raise SnapshotError(
            f"Inventory snapshot {raw.file}: the required "
            f"{'column' if len(missing) == 1 else 'columns'} {', '.join(missing)} "
            f"{is_are(len(missing))} missing (the first row holds: {found}). Download the "
            "Manage FBA Inventory report again from Seller Central."
        )
    if raw.other_request_sheets:
        # Sheets of several days' reports: the first is not necessarily the current one.
        sheets = ", ".join(f"'{s}'" for s in [raw.sheet, *raw.other_request_sheets])
        raise SnapshotError(
            f"Inventory snapshot {raw.file}: the sheets {sheets} each hold an inventory "
            "report, so which one is current is unclear. Keep only the current report in "
            "the workbook, or save it as a file of its own."
        )
    header_idx, names = found_header
    body = raw.cells.iloc[header_idx + 1 :]
    twice = sorted({n for n in names if n in USED and names.count(n) > 1})
    if twice:
        # Which of the two columns holds the real units cannot be told.
        raise SnapshotError(
            f"Inventory snapshot {raw.file}: the column {twice[0]} appears more than once in "
            "the header, so which one holds the right values is unclear. Delete the extra "
            "column, or download the report again."
        )
    columns: dict[str, TrimmedText] = {}
    for label, name in zip(raw.cells.columns, names, strict=True):
        if name in USED:
            columns[name] = trim_text(body[label])
    # Distinct SKUs are counted by Arrow (0.1-0.15 s for a million, without the GIL) on a
    # second thread, from the start: everything below is Python holding the GIL, and
    # the snapshot is ready only when both are done. Only a report with a repeat pays for
    # finding where it is.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sku-count") as pool:
        distinct = pool.submit(lambda: len(pc.unique(arrow_strings(columns["sku"].values))))
        frame = pd.DataFrame({name: column.values for name, column in columns.items()})
        # Rows blank in every column used are ignored (only the used columns are looked at).
        filled = np.logical_or.reduce([column.filled for column in columns.values()])
        if not filled.all():
            frame = frame[filled]
        if frame.empty:
            # Every request would be "not in the snapshot", and its file archived as done.
            raise SnapshotError(
                f"Inventory snapshot {raw.file} has a header but no SKU rows. Download the "
                "Manage FBA Inventory report again from Seller Central."
            )
        rows = pd.Series(raw.row_numbers, index=raw.cells.index)  # grid row -> row number
        for name in QUANTITIES:
            if name in frame:
                missing = frame[name].isin(["", "--"])
                if missing.any():
                    frame[name] = frame[name].mask(missing, "0")
        schema = inventory_schema()
        sku = frame["sku"]
        try:
            schema.validate(frame, lazy=True)
        except schema_errors() as exc:
            cases = exc.failure_cases.dropna(subset=["index"]).head(5)
            where_text = "; ".join(
                f"row {int(rows.loc[int(i)])} {col} '{val}'"
                for i, col, val in zip(
                    cases["index"], cases["column"], cases["failure_case"], strict=True
                )
            )
            raise SnapshotError(
                f"Inventory snapshot {raw.file}: SKUs must be present and quantities must be "
                f"whole numbers of 0 or more ({where_text}). Download the report again."
            ) from exc
        # The count took every row; a blank row's SKU is "", which no row left has (its
        # SKU would have failed the check above): one value fewer once they are gone.
        repeats = distinct.result() - int(not filled.all()) < len(sku)
    if repeats:
        repeated = sku[sku.duplicated(keep=False)]
        first = repeated.iloc[0]
        at = ", ".join(str(int(rows.loc[i])) for i in repeated.index[repeated.eq(first)][:5])
        raise SnapshotError(
            f"Inventory snapshot {raw.file}: SKU '{first}' is listed more than once (rows "
            f"{at}), so its available units are unclear. Download the report again, or "
            "remove the extra line."
        )
    # Arrow-backed columns and index: no million Python strings are made.
    result = pd.DataFrame(
        {
            "fnsku": frame["fnsku"].array if "fnsku" in frame else "",
            "sellable": _whole(frame["afn-fulfillable-quantity"]),
            "unsellable": _whole(frame["afn-unsellable-quantity"]),
        },
        index=pd.Index(sku.array, name="sku"),
    )
    snapshot_date = ""
    if "snapshot-date" in frame and frame["snapshot-date"].ne("").any():
        snapshot_date = _earliest(frame["snapshot-date"][frame["snapshot-date"].ne("")].unique())
    return Snapshot(file=raw.file, frame=result, snapshot_date=snapshot_date)


def _earliest(dates: Any) -> str:
    """The earliest of a report's snapshot-dates (one, as a rule), or the first that is no
    time at all (which the snapshot time check then refuses). The earliest: a row taken
    then shows none of the orders issued after it, and the latest would let their units
    be requested again; compared as times, not text (offsets differ)."""
    from removal_batch.core.snapshot_time import in_utc, parse_iso

    read = []
    for text in map(str, dates):
        when = parse_iso(text)
        if when is None:
            return text
        read.append((in_utc(when), text))
    return min(read)[1]
