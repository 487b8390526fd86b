"""Time the .ods sheet walk (readers.ods_xml._walk) on a generated sheet: 50,000 rows of a
SKU and three numbers shown as their values, and one percentage cell, which makes the
walk run. Prints the best of three.

    python bench/ods_walk.py [ROWS]
"""

from __future__ import annotations

import sys
import time

from removal_batch.readers.ods_xml import _walk

NAMESPACES = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _number(value: int) -> str:
    return (
        f'<table:table-cell office:value-type="float" office:value="{value}">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def sheet(rows: int) -> bytes:
    body = "".join(
        "<table:table-row><table:table-cell><text:p>"
        f"SKU-{i}</text:p></table:table-cell>{_number(i % 7 + 1)}{_number(0)}{_number(i)}"
        "</table:table-row>"
        for i in range(rows)
    )
    body += (
        '<table:table-row><table:table-cell office:value-type="percentage" '
        'office:value="0.05"><text:p>5%</text:p></table:table-cell></table:table-row>'
    )
    spaces = " ".join(f'xmlns:{k}="{v}"' for k, v in NAMESPACES.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {spaces}>'
        f'<office:body><office:spreadsheet><table:table table:name="S">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    ).encode()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    data = sheet(rows)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        extras = _walk(data, "S")
        best = min(best, time.perf_counter() - start)
    print(f"{rows:,} rows: walk {best:.2f} s (best of 3); {len(extras.scaled)} scaled cell")


if __name__ == "__main__":
    main()
