"""The request-file columns: Amazon's exact names, their level, and the aliases people type."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

ORDER_FIELDS: tuple[str, ...] = (
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "AddressName",
    "AddressFieldOne",
    "AddressFieldTwo",
    "AddressFieldThree",
    "AddressCity",
    "AddressCountryCode",
    "AddressStateOrRegion",
    "AddressPostalCode",
    "ContactPhoneNumber",
    "ShippingNotes",
)
ITEM_FIELDS: tuple[str, ...] = ("MerchantSKU", "SellableQuantity", "UnsellableQuantity")
# FNSKU may stand in for MerchantSKU; it is resolved through the snapshot.
EXTRA_FIELDS: tuple[str, ...] = ("FNSKU",)
ALL_FIELDS: tuple[str, ...] = ORDER_FIELDS + ITEM_FIELDS + EXTRA_FIELDS
ADDRESS_FIELDS: tuple[str, ...] = ORDER_FIELDS[2:11]
QUANTITY_FIELDS: tuple[str, ...] = ("SellableQuantity", "UnsellableQuantity")
# The most characters Excel holds in one cell (or comment): the readers' and settings'
# limit, and what the error workbook cuts its text to.
EXCEL_CELL_CHARS = 32_767

# Columns a table must have. MerchantSKU is satisfied by FNSKU too (see shape.py).
REQUIRED_TABLE_FIELDS: tuple[str, ...] = (
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
)

_ALIASES: dict[str, tuple[str, ...]] = {
    "MerchantRemovalOrderID": ("order id", "removal order id"),
    "RemovalDisposition": ("disposition", "method of removal"),
    "MerchantSKU": ("sku", "msku", "seller sku"),
    "SellableQuantity": ("fulfillable quantity",),
    "UnsellableQuantity": ("unfulfillable quantity",),
}


# Characters that take no room on screen (zero-width spaces and joiners, direction marks,
# the soft hyphen, a BOM): pasted along with a SKU, they make it another SKU that looks
# the same in every message; pasted into a header, another column name.
INVISIBLE = r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
# What header matching ignores: what SPEC 3.1 names, and what cannot be seen.
_HEADER_NOISE = re.compile(rf"(?:[\s\-_]|{INVISIBLE})+")


def header_key(text: str) -> str:
    """Matching is case-, space-, hyphen- and underscore-insensitive, and blind to
    invisible characters: a header that reads MerchantSKU on screen is MerchantSKU."""
    return _HEADER_NOISE.sub("", text).lower()


HEADER_LOOKUP: dict[str, str] = {header_key(name): name for name in ALL_FIELDS}
for _field, _aliases in _ALIASES.items():
    for _alias in _aliases:
        HEADER_LOOKUP[header_key(_alias)] = _field


@lru_cache(maxsize=4096)
def field_for_header(text: str) -> str | None:
    """The canonical field a header cell names, or None when it names none."""
    return HEADER_LOOKUP.get(header_key(text))


def column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_arrow_text(values: pd.Series | pd.Index) -> bool:
    """Whether ``values`` is text held in Arrow (every cell a reader returns is)."""
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


# Ids (order ids, FNSKUs) are compared in any capitals of A-Z only: Unicode's case rules
# would make 'ORDıD1' (a dotless i), 'ſKU' (a long s) or 'ﬁ' one id with 'ORDID1', 'SKU'
# and 'FI', which Amazon and the file systems keep apart.
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def ascii_upper_text(text: str) -> str:
    """``text`` with a-z capitalised and every other character as it is."""
    return text.translate(_ASCII_UPPER)


def ascii_upper(values: pd.Series) -> pd.Series:
    """``ascii_upper_text`` of each value, by Arrow's kernel (Arrow-backed text out)."""
    import pyarrow.compute as pc

    upper = pc.ascii_upper(arrow_strings(values))
    return pd.Series(
        pd.array(upper, dtype=pd.StringDtype(storage="pyarrow", na_value=np.nan)),
        index=values.index,
    )


def first_invisible(values: pd.Series) -> pd.Series:
    """The code point of each value's first invisible character ("U+200B"), for messages;
    the values all hold one."""
    first = values.str.extract(f"({INVISIBLE})", expand=False)
    return first.map(lambda c: f"U+{ord(c):04X}")


def single_array(array: Any) -> Any:
    """One contiguous Arrow array (a column built by concat comes in pieces)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    return array


def text_buffer(values: Any) -> tuple[memoryview, np.ndarray]:
    """Arrow text end to end in one buffer, and the n + 1 offsets where each value starts:
    a file's lines (or a sheet's rows) are then one slice, with no Python string each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = single_array(pc.cast(values, pa.large_string()))
    _, offsets, data = array.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    return memoryview(data if data is not None else b""), starts


def arrow_strings(values: pd.Series | pd.Index) -> Any:
    """The text of ``values`` as an Arrow string array: no copy when it is Arrow-backed
    already (every cell a reader returns is)."""
    import pyarrow as pa

    if is_arrow_text(values):
        return pa.array(values.array)
    return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _plain_edges(chunk: Any) -> tuple[bool, np.ndarray]:
    """Whether every value of one Arrow text chunk starts and ends with a printable ASCII
    byte other than space, and which values are not empty. Read off the offsets and data
    buffers in numpy; a value's bytes between them are not looked at."""
    import pyarrow as pa

    offsets, data = chunk.buffers()[1:3]
    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    bounds: np.ndarray = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)
    bounds = bounds[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.intp, copy=False)
    starts, ends = bounds[:-1], bounds[1:]
    filled: np.ndarray = ends > starts
    count = int(np.count_nonzero(filled))
    if data is None or not count:
        return True, filled
    buffer = np.frombuffer(data, dtype=np.uint8)
    if count * 4 < len(filled):  # mostly empty (address columns): the filled ones only
        edges = buffer[np.r_[starts[filled], ends[filled] - 1]]
        return not _not_printable(edges).any(), filled
    # Mostly filled: every value's edge bytes, without compressing the offsets first (a
    # fifth of the time). An empty value's "edges" are its neighbours' bytes: masked out.
    first, last = buffer.take(starts, mode="clip"), buffer.take(ends - 1, mode="clip")
    return not ((_not_printable(first) | _not_printable(last)) & filled).any(), filled


def holds_byte(values: pd.Series, wanted: bytes) -> bool:
    """Whether any value holds one of the ``wanted`` bytes (True when it cannot be told
    cheaply: not Arrow text). Read off the Arrow data buffers: an address column filled
    on an order's first line only is a few hundred kilobytes there, against a million
    values for a string kernel."""
    import pyarrow as pa

    if not is_arrow_text(values):
        return True
    array = arrow_strings(values)
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        offsets, data = chunk.buffers()[1:3]
        if data is None or not len(chunk):
            continue
        wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
        bounds = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)
        used = np.frombuffer(data, dtype=np.uint8)[
            int(bounds[chunk.offset]) : int(bounds[chunk.offset + len(chunk)])
        ]
        if any(np.count_nonzero(used == byte) for byte in wanted):
            return True
    return False


# Every character a reader may take for a line break: besides CR and LF, the ones Python's
# splitlines and Unicode-aware readers split on (vertical tab, form feed, the file/group/
# record separators, NEL, and the line and paragraph separators).
LINE_BREAKS = "[\r\n\x0b\x0c\x1c\x1d\x1e\u0085\u2028\u2029]"
# The other control characters, but a tab: NUL, BEL, ESC, the unit separator, DEL.
CONTROL_CHARS = "[\x00-\x08\x0e-\x1b\x1f\x7f]"
# What a flat file cannot carry in a value, which no SKU or address holds: a tab, a line
# break, another control character (the three classes above, as one).
FLAT_BREAKS = "[\x00-\x1f\x7f\u0085\u2028\u2029]"


def may_hold_breaks(array: Any) -> bool:
    """Whether the text holds a tab, a line break of any kind or another control character
    (FLAT_BREAKS), read off Arrow's data buffer in numpy passes (a regular expression over a
    million SKUs takes 0.15 s). The buffer may hold bytes of values outside a slice: a
    false alarm costs the exact test, never a wrong answer."""
    data = array.buffers()[2]
    if data is None or data.size == 0:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    if (raw < 0x20).any() or (raw == 0x7F).any():
        return True
    if raw.max() < 0x80:  # ASCII only (most columns): no multi-byte break
        return False
    # NEL is C2 85 in UTF-8; the line and paragraph separators E2 80 A8 and E2 80 A9.
    lead = np.flatnonzero(raw[:-1] == 0xC2)
    if (raw[lead + 1] == 0x85).any():
        return True
    lead = np.flatnonzero(raw[:-2] == 0xE2)
    return bool(((raw[lead + 1] == 0x80) & ((raw[lead + 2] | 1) == 0xA9)).any())


def _not_printable(edges: np.ndarray) -> np.ndarray:
    """Bytes other than printable ASCII without space: where a trim might change a value."""
    result: np.ndarray = (edges <= 0x20) | (edges >= 0x7F)
    return result


@dataclass(frozen=True)
class TrimmedText:
    values: pd.Series  # trimmed of leading and trailing whitespace
    filled: np.ndarray  # bool per value: not empty once trimmed


def trim_text(values: pd.Series) -> TrimmedText:
    """``values.str.strip()`` and which of them are not empty, or ``values`` itself when no
    value can start or end with whitespace: a value whose first and last bytes are
    printable ASCII has none to lose, and checking those two bytes of a million values
    costs a fifth of trimming them (the offsets read for it also tell the empty values,
    which spares comparing every value with ""). Any other byte there (a space, a control
    character, the first or last byte of a non-ASCII character, which may be a Unicode
    space) takes the real trim."""
    import pyarrow as pa

    if is_arrow_text(values) and len(values):
        array = arrow_strings(values)
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        scans = [_plain_edges(c) for c in chunks]
        if all(plain for plain, _ in scans):
            return TrimmedText(values, np.concatenate([filled for _, filled in scans]))
    trimmed = values.str.strip()
    return TrimmedText(trimmed, non_empty(trimmed))


def non_empty(values: pd.Series) -> np.ndarray:
    """``values.ne("")`` as a bool array (a missing value is empty). For Arrow text, one
    length kernel: a third of the time of comparing every value with ""."""
    if not is_arrow_text(values):
        return values.ne("").to_numpy(dtype=bool, na_value=False)
    import pyarrow.compute as pc

    lengths = pc.fill_null(pc.binary_length(arrow_strings(values)), 0)
    return np.asarray(lengths) > 0


def strip_text(values: pd.Series) -> pd.Series:
    """``values.str.strip()``, skipped where nothing can change (see ``trim_text``)."""
    return trim_text(values).values


def in_set(values: pd.Series, members: Iterable[object]) -> pd.Series:
    """``values.isin(members)`` as one hash join in Arrow. pandas' isin on Arrow strings
    builds a Python scalar per member: seconds against a million-SKU snapshot."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(members, pd.Index | pd.Series):
        pool = members.to_numpy(dtype=object)
    else:
        pool = np.asarray(list(members), dtype=object)
    if len(pool) == 0 or len(values) == 0:
        return pd.Series(False, index=values.index)
    found = pc.is_in(
        arrow_strings(values), value_set=pa.array(pool, type=pa.string(), from_pandas=True)
    )
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
