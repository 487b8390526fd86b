"""Counts said the way a person writes them: "1 line", "24 lines", never "line(s)"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun in the number it takes; ``plural`` for nouns not made with -s."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def is_are(n: int) -> str:
    return "is" if n == 1 else "are"


def row_runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as runs of consecutive rows: [5, 6, 7, 20] -> [(5, 7), (20, 20)]."""
    runs: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def rows_said(rows: list[int], shown: int = 5) -> str:
    """'rows 5-7, 12 and 20', the first ``shown`` runs, then how many more."""
    runs = [f"{a}-{b}" if b > a else f"{a}" for a, b in row_runs(rows)]
    if len(runs) > shown:
        runs = [*runs[:shown], f"{len(runs) - shown:,} more runs of rows"]
    listed = runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]
    return ("row " if len(rows) == 1 else "rows ") + listed
