"""Counts said the way a person writes them: "1 line", "24 lines", never "line(s)"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun in the number it takes; ``plural`` for nouns not made with -s."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def is_are(n: int) -> str:
    return "is" if n == 1 else "are"
