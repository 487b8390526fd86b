"""Formula-injection guards for text that a spreadsheet program may open.

Excel, LibreOffice and Google Sheets start a formula (or a DDE call) when a cell's text
begins with one of ``FORMULA_PREFIXES``; a leading apostrophe makes them show it as text.
"""

from __future__ import annotations

import re

import pandas as pd

from removal_batch.core.fields import arrow_strings, is_arrow_text

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

# A signed number is data, not a formula: "-1" must stay readable (and re-importable).
# ASCII digits only, so an exotic-digit string cannot slip through as "a number".
_PLAIN_NUMBER = r"[+-]?[0-9]+(\.[0-9]+)?"
_PLAIN_NUMBER_RE = re.compile(_PLAIN_NUMBER)


def looks_like_formula(value: str) -> bool:
    """True when a spreadsheet would read ``value`` as a formula (plain numbers excluded)."""
    return value.startswith(FORMULA_PREFIXES) and _PLAIN_NUMBER_RE.fullmatch(value) is None


def csv_safe(series: pd.Series) -> pd.Series:
    """Text with a leading ``'`` wherever a spreadsheet would read a formula.

    Non-string values (numbers, None, NaN, NA) become "". The result has dtype object.
    """
    if is_arrow_text(series):
        return _arrow_safe(series)
    values = series.astype(object)
    if values.empty:
        return pd.Series([], index=series.index, dtype=object)
    try:
        accessor = values.str
    except AttributeError:  # pandas refuses .str when there is no text at all
        return pd.Series("", index=series.index, dtype=object)
    # startswith("") is True for every str and NaN/None for anything else (bytes too).
    is_text = accessor.startswith("").eq(True)
    text = values.where(is_text, "")
    risky = text.str.startswith(FORMULA_PREFIXES).astype(bool)
    if not risky.any():
        return text.astype(object)
    # The number test only where it matters: a regular expression per value is slow.
    risky[risky] = ~text[risky].str.fullmatch(_PLAIN_NUMBER).astype(bool)
    return text.mask(risky, "'" + text).astype(object)


def _arrow_safe(series: pd.Series) -> pd.Series:
    """csv_safe for Arrow-backed text (problem frames are), by Arrow kernels: a report of
    100,000 problems spent half a second in pandas' per-value string tests."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.fill_null(arrow_strings(series), "")
    risky = pc.starts_with(text, FORMULA_PREFIXES[0])
    for prefix in FORMULA_PREFIXES[1:]:
        risky = pc.or_(risky, pc.starts_with(text, prefix))
    if pc.any(risky).as_py():
        number = pc.match_substring_regex(text, f"^{_PLAIN_NUMBER}$")
        quoted = pc.binary_join_element_wise(
            pa.scalar("'", text.type), text, pa.scalar("", text.type)
        )
        text = pc.if_else(pc.and_(risky, pc.invert(number)), quoted, text)
    return pd.Series(text.to_numpy(zero_copy_only=False), index=series.index, dtype=object)
