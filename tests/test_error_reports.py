"""errors.csv and errors.xlsx: layout, formula-injection safety and atomic writes."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from removal_batch.core.problems import (
    PROBLEM_COLUMNS,
    Problem,
    empty_problems,
    normalise_problems,
    problems_frame,
)
from removal_batch.core.raw_table import RawTable, raw_table_from_rows
from removal_batch.writers.error_report import write_errors_csv, write_errors_xlsx
from removal_batch.writers.safe_text import csv_safe, looks_like_formula

HEADER = [
    "file",
    "sheet",
    "row",
    "column",
    "field",
    "value",
    "code",
    "severity",
    "message",
    "order_id",
    "sku",
]
# Kept independent of safe_text.FORMULA_PREFIXES so a wrong constant there is caught.
PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
RISKY = ['=HYPERLINK("x")', "+1+1", "@SUM(A1)", "-cmd", "\t=1", "\r=1", "=1+2"]
NUMBERS = ["-1", "+3", "-2.5", "7"]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def sample_problems() -> pd.DataFrame:
    return problems_frame(
        [
            Problem("file-already-processed", "same content as a.csv", file="r.csv"),
            Problem("value-not-integer", "not a whole number", file="r.csv", row=2, column="C"),
            Problem("sku-unknown", "not in the snapshot", file="r.csv", row=3, column="A"),
            Problem("header-unknown", "column ignored", file="r.csv", row=3, column="B"),
            Problem("quantity-zero", "both quantities are zero", file="r.csv", row=3),
        ]
    )


def all_cells(book: Any) -> list[Any]:
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row]


# --- safe_text ----------------------------------------------------------------------------


def test_csv_safe_prefixes_formulas_but_not_numbers_or_plain_text() -> None:
    values = pd.Series([*RISKY, *NUMBERS, "abc", "", "a=b", "1-2"], dtype=object)
    out = csv_safe(values)
    assert out.tolist() == [
        *("'" + v for v in RISKY),
        *NUMBERS,
        "abc",
        "",
        "a=b",
        "1-2",
    ]
    assert [looks_like_formula(v) for v in values] == [
        *[True] * len(RISKY),
        *[False] * (len(NUMBERS) + 4),
    ]


def test_csv_safe_blanks_non_text_and_keeps_index() -> None:
    values = pd.Series(["=x", 5, None, np.nan, pd.NA, b"=x"], index=[10, 11, 12, 13, 14, 15])
    out = csv_safe(values)
    assert out.tolist() == ["'=x", "", "", "", "", ""]
    assert out.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert csv_safe(pd.Series([1, 2])).tolist() == ["", ""]
    assert csv_safe(pd.Series([], dtype=object)).tolist() == []
    assert csv_safe(pd.Series(["-1", "-x"], dtype="string")).tolist() == ["-1", "'-x"]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
            st.tuples(st.sampled_from(PREFIXES), st.text("0123456789.-+=a", max_size=5)).map(
                "".join
            ),
        ),
        max_size=12,
    )
)
def test_csv_safe_gives_the_same_text_for_arrow_and_python_strings(values: list[str]) -> None:
    """Problem frames hold Arrow text, which csv_safe guards by Arrow kernels."""
    from removal_batch.core.raw_table import TEXT

    index = list(range(5, 5 + len(values)))
    as_arrow = csv_safe(pd.Series(values, dtype=TEXT, index=index))
    as_python = csv_safe(pd.Series(values, dtype=object, index=index))
    assert as_arrow.tolist() == as_python.tolist()
    assert as_arrow.index.tolist() == index


# --- errors.csv ---------------------------------------------------------------------------


def test_csv_has_bom_and_exact_header(tmp_path: Path) -> None:
    path = tmp_path / "r.errors.csv"
    write_errors_csv(sample_problems(), path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle)) == HEADER
    assert len(read_csv_rows(path)) == 5


def test_csv_rows_are_integers_or_blank(tmp_path: Path) -> None:
    path = tmp_path / "r.errors.csv"
    write_errors_csv(sample_problems(), path)
    rows = read_csv_rows(path)
    assert [r["row"] for r in rows] == ["", "2", "3", "3", "3"]
    assert rows[0]["code"] == "file-already-processed"


def test_csv_of_no_problems_is_just_the_header(tmp_path: Path) -> None:
    path = tmp_path / "r.errors.csv"
    write_errors_csv(empty_problems(), path)
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(HEADER)]


@pytest.mark.parametrize("column", ["value", "message", "sku", "order_id", "file", "field"])
def test_csv_prefixes_formula_text_in_every_text_column(tmp_path: Path, column: str) -> None:
    values = [*RISKY, *NUMBERS]
    frame = normalise_problems(
        pd.DataFrame({column: values, "code": "sku-unknown", "row": range(2, 2 + len(values))})
    )
    path = tmp_path / "r.errors.csv"
    write_errors_csv(frame, path)
    got = [r[column] for r in read_csv_rows(path)]
    assert got == [*("'" + v for v in RISKY), *NUMBERS]


def test_csv_write_replaces_the_old_file_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.errors.csv"
    path.write_text("previous report", encoding="utf-8")

    def broken_to_csv(self: pd.DataFrame, handle: Any, **kwargs: Any) -> None:
        handle.write("half a report")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(OSError, match="disk full"):
        write_errors_csv(sample_problems(), path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


no_surrogates = st.characters(exclude_categories=["Cs"])  # UTF-8 cannot encode them
text_values = st.one_of(
    st.text(no_surrogates, max_size=20),
    st.tuples(st.sampled_from(PREFIXES), st.text(max_size=10)).map("".join),
    st.from_regex(PLAIN_NUMBER, fullmatch=True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(text_values, min_size=1, max_size=15))
def test_csv_round_trip_is_formula_safe(tmp_path_factory: Any, values: list[str]) -> None:
    frame = normalise_problems(
        pd.DataFrame({"value": values, "message": values, "code": "sku-unknown", "row": 2})
    )
    path = tmp_path_factory.mktemp("csv") / "r.errors.csv"
    write_errors_csv(frame, path)
    rows = read_csv_rows(path)
    assert len(rows) == len(values)
    for original, row in zip(values, rows, strict=True):
        for got in (row["value"], row["message"]):
            assert got in (original, "'" + original)
            assert not got.startswith(PREFIXES) or PLAIN_NUMBER.fullmatch(got)


# --- errors.xlsx --------------------------------------------------------------------------


def sample_raw() -> RawTable:
    return raw_table_from_rows(
        "r.csv",
        [
            ["MerchantSKU", "Note", "SellableQuantity"],
            ["sku-1", "fine", "=1+2"],
            ['=HYPERLINK("http://x")', "#N/A", "3"],
        ],
    )


def test_xlsx_errors_sheet_layout(tmp_path: Path) -> None:
    long_message = "m" * 500
    frame = problems_frame(
        [
            Problem("file-already-processed", long_message, file="r.csv"),
            Problem("value-not-integer", "not whole", file="r.csv", row=2, column="C"),
        ]
    )
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, sample_raw(), path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Errors", "Annotated"]
    ws = book["Errors"]
    header = [c.value for c in ws[1]]
    assert header == HEADER
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:K3"
    assert 0 < ws.column_dimensions["I"].width <= 80  # message: long, capped
    assert ws.column_dimensions["I"].width > ws.column_dimensions["A"].width
    records = [dict(zip(HEADER, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r["row"] for r in records] == [None, 2]  # file-level: blank row
    assert records[0]["code"] == "file-already-processed"
    assert records[0]["message"] == long_message
    assert isinstance(records[1]["row"], int)


def test_xlsx_without_raw_has_no_annotated_sheet(tmp_path: Path) -> None:
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(sample_problems(), None, path)
    assert openpyxl.load_workbook(path).sheetnames == ["Errors"]


def test_xlsx_never_writes_formulas_or_error_values(tmp_path: Path) -> None:
    texts = ["=1+2", '=HYPERLINK("http://x")', "#N/A", "+1+1", "-2"]
    frame = problems_frame(
        [Problem("value-not-integer", t, file=t, row=3, column="C", value=t, sku=t) for t in texts]
    )
    raw = raw_table_from_rows("r.csv", [["SKU", "Note", "Qty"], texts[:3], texts[2:]])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    book = openpyxl.load_workbook(path)
    cells = all_cells(book)
    assert [c.coordinate for c in cells if c.data_type in ("f", "e")] == []
    errors_values = [c.value for c in book["Errors"]["F"][1:]]  # column F = value
    assert errors_values == texts  # unchanged text, no ' prefix
    annotated = [[c.value for c in row] for row in book["Annotated"].iter_rows(min_row=3)]
    assert annotated[0][2:] == texts[:3]
    assert annotated[1][2:] == texts[2:]


def test_xlsx_annotated_layout_fills_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(sample_problems(), sample_raw(), path)
    ws = openpyxl.load_workbook(path)["Annotated"]
    assert [c.value for c in ws[1]] == ["Problems", "Row", "A", "B", "C"]
    assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
    grid = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert grid[0] == [None, 1, "MerchantSKU", "Note", "SellableQuantity"]
    assert grid[1] == ["C: value-not-integer", 2, "sku-1", "fine", "=1+2"]
    assert grid[2][:2] == ["A: sku-unknown; B: header-unknown; quantity-zero", 3]

    error_cell = ws["E3"]  # raw C, row 2: value-not-integer
    assert error_cell.fill.fill_type == "solid"
    assert error_cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert error_cell.comment is not None
    assert "not a whole number" in error_cell.comment.text
    assert error_cell.comment.author == "removal-batch"

    warning_cell = ws["D4"]  # raw B, row 3: header-unknown (warning)
    assert warning_cell.fill.fgColor.rgb.endswith("FFEB9C")
    assert warning_cell.comment is not None and "column ignored" in warning_cell.comment.text

    for clean in ("C3", "D3", "E4", "C2"):
        assert ws[clean].fill.fill_type is None
        assert ws[clean].comment is None


def test_xlsx_error_wins_over_warning_and_blank_cells_are_marked(tmp_path: Path) -> None:
    frame = problems_frame(
        [
            Problem("header-unknown", "a warning", row=2, column="B"),
            Problem("value-missing", "an error", row=2, column="B"),
            Problem("value-missing", "an error", row=3, column="B"),
            Problem("header-unknown", "a warning", row=3, column="B"),
        ]
    )
    raw = raw_table_from_rows("r.csv", [["A", "B"], ["x", ""], ["y", ""]])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    ws = openpyxl.load_workbook(path)["Annotated"]
    for coordinate in ("D3", "D4"):  # either order: the error decides the colour
        cell = ws[coordinate]
        assert cell.value is None
        assert cell.fill.fgColor.rgb.endswith("FFC7CE")
        assert "a warning" in cell.comment.text and "an error" in cell.comment.text


def test_xlsx_matches_by_source_row_number_not_position(tmp_path: Path) -> None:
    cells = pd.DataFrame([["h"], ["a"], ["b"]], dtype=object)
    raw = RawTable(file="r.csv", cells=cells, row_numbers=np.array([1, 4, 9]))
    frame = problems_frame([Problem("sku-unknown", "gone", row=9, column="A")])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    ws = openpyxl.load_workbook(path)["Annotated"]
    assert [c.value for c in ws["B"][1:]] == [1, 4, 9]
    assert ws["C4"].comment is not None and ws["C3"].comment is None
    assert ws["A4"].value == "A: sku-unknown"


def test_xlsx_file_level_problems_only_in_errors(tmp_path: Path) -> None:
    frame = problems_frame([Problem("file-already-processed", "seen before", file="r.csv")])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, sample_raw(), path)
    book = openpyxl.load_workbook(path)
    errors = list(book["Errors"].iter_rows(min_row=2, values_only=True))
    assert len(errors) == 1 and errors[0][2] is None
    annotated = book["Annotated"]
    assert [c.value for c in annotated["A"][1:]] == [None, None, None]
    assert all(c.comment is None for c in all_cells(book))


def test_xlsx_control_characters_do_not_break_the_file(tmp_path: Path) -> None:
    frame = problems_frame([Problem("sku-unknown", "bad\x01char", row=2, column="A", value="\x0b")])
    raw = raw_table_from_rows("r.csv", [["SKU"], ["a\x00b"]])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    book = openpyxl.load_workbook(path)
    assert book["Errors"]["I2"].value == "bad\ufffdchar"
    assert book["Annotated"]["C3"].value == "a\ufffdb"
    assert "bad\ufffdchar" in book["Annotated"]["C3"].comment.text


def test_xlsx_write_keeps_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.errors.xlsx"
    path.write_bytes(b"previous report")

    from removal_batch.writers import error_report

    real_write = error_report.write_workbook

    def broken_write(handle: Any, sheets: Any) -> None:
        real_write(handle, sheets)  # the whole file is written, then the disk "fills"
        raise OSError("disk full")

    monkeypatch.setattr(error_report, "write_workbook", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_errors_xlsx(sample_problems(), sample_raw(), path)
    assert path.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# Text openpyxl can store unchanged: no XML-illegal control characters, no surrogates.
xlsx_text = st.one_of(
    st.text(
        st.characters(exclude_categories=("Cs", "Cc"), include_characters="\t\n\r"),
        max_size=15,
    ),
    st.tuples(st.sampled_from(["=", "#", *PREFIXES]), st.text("=+-@#()AB1/!?", max_size=8)).map(
        "".join
    ),
    st.sampled_from(["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NULL!", "#NUM!"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(xlsx_text, min_size=1, max_size=8))
def test_xlsx_round_trip_keeps_text_as_text(tmp_path_factory: Any, values: list[str]) -> None:
    frame = normalise_problems(
        pd.DataFrame({"value": values, "code": "sku-unknown", "row": 2, "column": "A"})
    )
    raw = raw_table_from_rows("r.csv", [["SKU"], *([v] for v in values)])
    path = tmp_path_factory.mktemp("xlsx") / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    book = openpyxl.load_workbook(path)
    assert [c.coordinate for c in all_cells(book) if c.data_type in ("f", "e")] == []
    # An empty string is a blank cell; XML parsers read a CR (alone or in CRLF) as LF.
    expected = [v.replace("\r\n", "\n").replace("\r", "\n") or None for v in values]
    assert [c.value for c in book["Errors"]["F"][1:]] == expected
    assert [c.value for c in book["Annotated"]["C"][2:]] == expected


def test_header_constant_matches_problem_columns() -> None:
    assert HEADER == PROBLEM_COLUMNS


def test_xlsx_info_records_are_commented_but_not_coloured(tmp_path: Path) -> None:
    """order-held is info (SPEC 4): its comment on the order's id cell was coloured yellow,
    as a warning's is (a review's finding). The cell keeps its comment, uncoloured, and is
    written even when blank (a generated id), so that the comment has a cell."""
    frame = problems_frame(
        [
            Problem("order-held", "Order R1 is held back", row=2, column="A"),
            Problem("order-held", "Order RB-1 is held back", row=3, column="A"),
            Problem("header-unknown", "a warning", row=3, column="B"),
        ]
    )
    raw = raw_table_from_rows("r.csv", [["Id", "Note"], ["R1", "x"], ["", "y"]])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    ws = openpyxl.load_workbook(path)["Annotated"]
    for held in ("C3", "C4"):
        assert ws[held].fill.fill_type is None
        assert ws[held].comment is not None and "is held back" in ws[held].comment.text
    assert ws["D4"].fill.fgColor.rgb.endswith("FFEB9C")
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    assert '<c r="C4" s="4"/>' in sheet  # the blank id cell, written for its comment
