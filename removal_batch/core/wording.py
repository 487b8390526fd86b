"""Counts said the way a person writes them: "1 line", "24 lines", never "line(s)"."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun in the number it takes; ``plural`` for nouns not made with -s."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def grouped(numbers: pd.Series) -> pd.Series:
    """Whole numbers as text with thousands commas, formatted one by one only where a
    comma goes (every line of a large batch may be in a message)."""
    text = numbers.astype(str)
    big = numbers >= 1000
    if big.any():
        text = text.mask(big, numbers[big].map("{:,}".format))
    return text


def is_are(n: int) -> str:
    return "is" if n == 1 else "are"


def row_runs(rows: list[int]) -> list[tuple[int, int]]:
    """Row numbers as runs of consecutive rows: [8, 4, 5] -> [(4, 5), (8, 8)]."""
    import numpy as np

    distinct = np.unique(np.asarray(rows, dtype=np.int64))
    if not len(distinct):
        return []
    breaks = np.flatnonzero(np.diff(distinct) != 1) + 1  # where a run starts anew
    starts, ends = np.r_[0, breaks], np.r_[breaks - 1, len(distinct) - 1]
    return [(int(distinct[a]), int(distinct[b])) for a, b in zip(starts, ends, strict=True)]


def rows_said(rows: list[int], shown: int = 5) -> str:
    """'rows 5-7, 12 and 20', the first ``shown`` runs, then how many more."""
    runs = [f"{a}-{b}" if b > a else f"{a}" for a, b in row_runs(rows)]
    if len(runs) > shown:
        runs = [*runs[:shown], f"{len(runs) - shown:,} more runs of rows"]
    listed = runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]
    return ("row " if len(rows) == 1 else "rows ") + listed


def sizes_apart(size: int, limit: int) -> tuple[str, str]:
    """A size and the limit it is over, as megabytes() gives them, or in bytes where those
    round to the same figure (a file one byte over 100 MB is not "100 MB; the limit is
    100 MB")."""
    shown = megabytes(size), megabytes(limit)
    return shown if shown[0] != shown[1] else (f"{size:,} bytes", f"{limit:,} bytes")


def megabytes(n: int) -> str:
    """A size as the limits are set, in binary megabytes: the default 100 * 1024 * 1024
    is "100 MB" (not "100.0 MB"); under 100 KiB, in bytes."""
    if n < 100 * 1024:
        return f"{n:,} bytes"
    return f"{n / (1024 * 1024):,.1f}".removesuffix(".0") + " MB"
