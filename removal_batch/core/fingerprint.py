"""The fingerprint of an order's content, to recognise an order sent before under another
generated id: a file fixed after one of its orders was held, and dropped again.

It is the sha256 of a canonical text: the disposition, the address fields (trimmed; blank
unless a Return, as the order files write them) and the lines (SKU, sellable, unsellable)
sorted, so that neither the order of lines nor stray spaces tell two sends apart.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch.core.fields import ADDRESS_FIELDS, arrow_strings

# Separators no cell holds (control characters are refused or stripped as values).
FIELD_SEP = "\x1f"
LINE_SEP = "\x1e"
PART_SEP = "\x1d"


# What a browser or a file manager adds to a file's name when it saves a second copy:
# "a (1).xlsx" (a download again), "a - Copy.xlsx" (Windows), "a copy 2.xlsx" (macOS).
COPY_MARKS = re.compile(r"(?:\s*\(\d+\)|\s+-\s+copy|\s+copy(?:\s+\d+)?)+$", re.IGNORECASE)


def file_key(name: str) -> str:
    """The name a re-drop is matched by: without a copy's marks, in any capitals (a.txt
    and A.txt are one file on Windows and macOS). Matching more names only holds more
    repeats back; an order of the same content sent again on purpose takes an id."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, dot, extension = name, "", ""
    # A name that is nothing but a mark ("(1).txt") keeps it.
    return ((COPY_MARKS.sub("", stem) or stem) + dot + extension).casefold()


def order_fingerprints(orders: pd.DataFrame, lines: pd.DataFrame, key: str) -> pd.Series:
    """Per row of ``orders`` (``key`` unique among them), the fingerprint of its content;
    ``lines`` name their order by ``key`` and give ``sku``, ``sellable``, ``unsellable``.
    Lines are sorted and joined in Arrow; only the hashing goes order by order (orders are
    twenty times fewer than lines)."""
    if orders.empty:
        return pd.Series([], index=orders.index, dtype=object)
    count = len(orders)
    # Arrow's hash lookup: a twelfth of pandas' get_indexer on a million text ids.
    at = pc.index_in(_arrow(lines[key]), value_set=_arrow(orders[key]))
    at = np.asarray(pc.fill_null(at, -1), dtype=np.int64)
    mine = at >= 0
    table = pa.table(
        {
            "at": pa.array(at[mine]),
            # A SKU not found may be missing (an FNSKU of no item): such an order is held.
            "sku": pc.fill_null(arrow_strings(lines["sku"][mine]), ""),
            "sellable": pa.array(lines["sellable"].to_numpy(dtype=np.int64)[mine]),
            "unsellable": pa.array(lines["unsellable"].to_numpy(dtype=np.int64)[mine]),
        }
    )
    table = table.take(
        pc.sort_indices(table, sort_keys=[(name, "ascending") for name in table.column_names])
    )
    # One string type throughout (Arrow's joins take no mix): large, as pandas holds text.
    text = pa.large_string()
    texts = pc.binary_join_element_wise(
        pc.cast(table["sku"], text),
        pc.cast(table["sellable"], text),
        pc.cast(table["unsellable"], text),
        pa.scalar(FIELD_SEP, text),
    ).combine_chunks()
    sizes = np.bincount(np.asarray(table["at"]), minlength=count)
    offsets = pa.array(np.r_[0, np.cumsum(sizes)], type=pa.int64())
    per_order = pc.binary_join(
        pa.LargeListArray.from_arrays(offsets, texts), pa.scalar(LINE_SEP, text)
    )
    disposition = pc.fill_null(_arrow(orders["disposition"]), "")
    is_return = pc.equal(disposition, "Return")
    head = [pc.cast(disposition, text)]
    for name in ADDRESS_FIELDS:
        value = pc.utf8_trim_whitespace(pc.fill_null(_arrow(orders[name]), ""))
        head.append(pc.cast(pc.if_else(is_return, value, ""), text))
    canonical = pc.binary_join_element_wise(*head, pa.scalar(FIELD_SEP, text))
    canonical = pc.binary_join_element_wise(canonical, per_order, pa.scalar(PART_SEP, text))
    return pd.Series(
        [hashlib.sha256(value.encode("utf-8")).hexdigest() for value in canonical.to_pylist()],
        index=orders.index,
        dtype=object,
    )


def _arrow(values: pd.Series) -> pa.Array:
    """A column as an Arrow array: numbers as they are, text as large strings (a lookup
    and a join take one string type; pandas' Arrow text is large already: no copy)."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return pa.array(values.to_numpy())
    return pc.cast(arrow_strings(values), pa.large_string())
