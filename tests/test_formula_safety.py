"""SPEC section 5: no output value may be executed by a spreadsheet.

Formula-like text goes in wherever a request file can hold it (names, notes, address
lines, unknown columns and their headers, bad quantities and codes, the sheet name and
the input file names), `removal-batch check --out` runs on it, and the reports are read
back: every text cell of every errors workbook is a string cell, and every CSV value
that a spreadsheet would run carries a leading apostrophe, while a plain -1 does not.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INVENTORY_HEADER, REQUEST_HEADER, RETURN_ADDRESS, write_delimited
from openpyxl import Workbook, load_workbook

from removal_batch.app import report_stem

HYPERLINK = '=HYPERLINK("http://x","y")'
RISKY = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
SHEET = "@SUM(A1)"  # a legal worksheet name
WORKBOOK_INPUT = "=req.xlsx"
TEXT_INPUTS = ("\tcmd.csv", "\rcmd.csv")
EXTRA_HEADERS = [HYPERLINK, "Extra"]


def _runs(value: str) -> bool:
    """Whether a spreadsheet would treat ``value`` as a formula (a plain number is data)."""
    return value.startswith(PREFIXES) and PLAIN_NUMBER.fullmatch(value) is None


def _line(order: str, **cells: object) -> dict[str, object]:
    return {"MerchantRemovalOrderID": order, **RETURN_ADDRESS, "MerchantSKU": "00123", **cells}


ROWS: list[dict[str, object]] = [
    # Text fields that take any text: no problem, so seen in the Annotated sheet.
    _line(
        "R1",
        AddressName=HYPERLINK,
        ShippingNotes="+1+1",
        AddressFieldTwo="-2+3",
        SellableQuantity=-1,  # value-negative, value "-1"
        UnsellableQuantity=0,
        Extra="@SUM(A1)",
    ),
    _line(
        "R2",
        AddressName="\tcmd",
        ShippingNotes="\rcmd",
        AddressFieldTwo="@SUM(A1)",
        SellableQuantity="+1+1",  # value-not-integer
        UnsellableQuantity="-2+3",
        Extra="\tcmd",
    ),
    _line(
        "R3",
        AddressCountryCode="@SUM(A1)",  # country-invalid
        MerchantSKU=HYPERLINK,  # sku-unknown: the sku column of every record of R3
        SellableQuantity=HYPERLINK,
        UnsellableQuantity="@SUM(A1)",
        Extra="-2+3",
    ),
    # A Disposal order with an address: address-ignored on the cell "-2+3".
    {
        "MerchantRemovalOrderID": "R4",
        "RemovalDisposition": "Disposal",
        "AddressName": "-2+3",
        "MerchantSKU": "00123",
        "SellableQuantity": "\tcmd",
        "UnsellableQuantity": "\rcmd",
    },
]


def _write_workbook(path: Path) -> Path:
    header = REQUEST_HEADER + EXTRA_HEADERS
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(header)
    for row in ROWS:
        sheet.append([row.get(name) for name in header])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as typed, not formulas, in the input too
    book.save(path)
    return path


def _write_csv(path: Path, order: str) -> Path:
    header = REQUEST_HEADER + ["Extra"]
    rows = [
        _line(order + "A", AddressName="+1+1", SellableQuantity="-1", Extra=HYPERLINK),
        _line(order + "B", ShippingNotes="\tcmd", SellableQuantity="@SUM(A1)", Extra="\rcmd"),
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)  # quotes the fields holding \r
        writer.writerow(header)
        writer.writerows([[str(row.get(name, "")) for name in header] for row in rows])
    return path


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("formulas")
    inventory = write_delimited(
        work / "inventory.txt", [INVENTORY_HEADER, ["00123", "X1", "B1", "Widget", "10", "2", "0"]]
    )
    inputs = [_write_workbook(work / WORKBOOK_INPUT)]
    inputs += [_write_csv(work / name, f"T{i}") for i, name in enumerate(TEXT_INPUTS)]
    target = work / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "removal_batch", "check", *map(str, inputs)]
        + ["--inventory", str(inventory), "--out", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr[-2000:]
    return target


def _csv_cells(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_input_gets_both_reports(out: Path) -> None:
    for name in (WORKBOOK_INPUT, *TEXT_INPUTS):
        assert (out / "errors" / f"{report_stem(name)}.errors.csv").is_file()
        assert (out / "errors" / f"{report_stem(name)}.errors.xlsx").is_file()


def test_workbook_text_cells_are_string_cells(out: Path) -> None:
    reports = sorted((out / "errors").glob("*.xlsx"))
    assert len(reports) == 3
    seen: set[str] = set()
    for path in reports:
        book = load_workbook(path)
        assert book.sheetnames == ["Errors", "Annotated"]
        for sheet in book.worksheets:
            for line in sheet.iter_rows():
                for cell in line:
                    assert cell.data_type != "f", (path.name, sheet.title, cell.coordinate)
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (path.name, sheet.title, cell.coordinate)
                        seen.add(cell.value)
    # The text is kept as it was (no apostrophe in a workbook); XML turns CR into LF.
    expected = {v.replace("\r", "\n") for v in RISKY} | {SHEET, WORKBOOK_INPUT, "-1"}
    assert expected <= seen
    assert not any(v.startswith("'") for v in seen)


def test_csv_values_that_would_run_are_prefixed_and_numbers_are_not(out: Path) -> None:
    reports = sorted((out / "errors").glob("*.csv"))
    assert len(reports) == 3
    values: list[str] = []
    for path in reports:
        records = _csv_cells(path)
        assert records, path.name
        for record in records:
            values.extend(record.values())
            if record["code"] == "value-negative":
                assert record["value"] == "-1"  # a plain number, left as it is
    for value in values:
        assert not _runs(value), f"unprefixed formula text in a CSV report: {value!r}"
        if value.startswith("'"):
            assert _runs(value[1:]), f"prefixed but harmless: {value!r}"
    prefixed = {v[1:] for v in values if v.startswith("'")}
    # Every kind of risky start reached a report: cell values, a header, the sheet name
    # and file names (tab and CR survive only there: cell values are trimmed).
    assert {HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", SHEET, WORKBOOK_INPUT} <= prefixed
    assert {"\tcmd.csv", "\rcmd.csv"} <= prefixed
    assert "-1" in values
