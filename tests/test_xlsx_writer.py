"""The error workbook written by writers/xlsx.py reads back exactly as the one openpyxl
wrote cell by cell (tests/openpyxl_report.py): every value and its type, fill, bold
header, comment (text, author, box size), frozen panes, filter and column width."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl_report import write_errors_xlsx as write_with_openpyxl
from python_calamine import CalamineWorkbook

from removal_batch.core.problems import normalise_problems
from removal_batch.core.raw_table import RawTable, raw_table_from_rows
from removal_batch.writers.error_report import write_errors_xlsx

# Text of every awkward kind: formulas and error values, XML's own characters, spaces at
# either end, line breaks, characters XML cannot hold, other scripts and emoji.
awkward_text = st.one_of(
    st.sampled_from(
        ["", " ", "  lead", "trail ", "=1+2", "#N/A", "-3", "a&b<c>d", "x\ny", "\x01", "\ufffe"]
    ),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.text("ab 0=&<>\t\n", max_size=6),
)
codes = st.sampled_from(["sku-unknown", "value-missing", "header-unknown", "order-held"])
severities = st.sampled_from(["error", "warning", "info", "fatal"])


@st.composite
def reports(draw: Any) -> tuple[pd.DataFrame, RawTable]:
    width = draw(st.integers(1, 5))
    height = draw(st.integers(0, 6))
    rows = [[draw(awkward_text) for _ in range(width)] for _ in range(height)]
    raw = raw_table_from_rows("r.csv", rows, first_row_number=draw(st.integers(1, 3)))
    problems = []
    for _ in range(draw(st.integers(0, 12))):
        row = draw(st.one_of(st.none(), st.integers(0, height + 3)))
        problems.append(
            {
                "file": "r.csv",
                "row": row,
                "column": draw(st.sampled_from(["", "A", "b", " C", "E", "ZZ"])),
                "code": draw(codes),
                "severity": draw(severities),
                "message": draw(st.one_of(st.just(""), awkward_text, st.text(min_size=60))),
                "value": draw(awkward_text),
            }
        )
    # The same problem twice (a rule and a re-check can both report it) is shown once.
    if problems:
        problems += draw(st.lists(st.sampled_from(problems), max_size=4))
    frame = normalise_problems(
        pd.DataFrame(problems or None, columns=["file"] if not problems else None)
    )
    return frame, raw


def cell_facts(path: Path) -> dict[str, Any]:
    book = openpyxl.load_workbook(path)
    facts: dict[str, Any] = {"sheets": book.sheetnames}
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                fill = c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None
                comment = (
                    (c.comment.text, c.comment.author, c.comment.width, c.comment.height)
                    if c.comment
                    else None
                )
                if c.value is None and fill is None and comment is None and not c.font.b:
                    continue
                cells[c.coordinate] = (c.value, c.data_type, fill, bool(c.font.b), comment)
        facts[ws.title] = {
            "boxes": comment_boxes(path, book.sheetnames.index(ws.title)),
            "cells": cells,
            "frozen": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.customWidth},
        }
    return facts


def comment_boxes(path: Path, index: int) -> list[tuple[str, ...]]:
    """Each comment box of a sheet as drawn (openpyxl does not read them back): its row,
    column, size and visibility, in the order of the shapes."""
    with zipfile.ZipFile(path) as package:
        rels_name = f"xl/worksheets/_rels/sheet{index + 1}.xml.rels"
        if rels_name not in package.namelist():
            return []
        rels = ElementTree.fromstring(package.read(rels_name))
        (target,) = [r.get("Target") for r in rels if r.get("Type", "").endswith("/vmlDrawing")]
        name = "xl/" + str(target).replace("/xl/", "").replace("../", "")
        vml = ElementTree.fromstring(package.read(name))
    excel = "{urn:schemas-microsoft-com:office:excel}"
    boxes = []
    for shape in vml.iter("{urn:schemas-microsoft-com:vml}shape"):
        style = dict(
            part.strip().split(":", 1) for part in (shape.get("style") or "").split(";") if part
        )
        data = shape.find(f"{excel}ClientData")
        assert data is not None
        boxes.append(
            (
                data.findtext(f"{excel}Row") or "",
                data.findtext(f"{excel}Column") or "",
                style["width"],
                style["height"],
                style["visibility"],
            )
        )
    return boxes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=reports(), annotated=st.booleans())
def test_reads_back_as_the_openpyxl_workbook(
    tmp_path_factory: Any, report: tuple[pd.DataFrame, RawTable], annotated: bool
) -> None:
    frame, raw = report
    folder = tmp_path_factory.mktemp("xlsx")
    ours, theirs = folder / "ours.xlsx", folder / "theirs.xlsx"
    write_errors_xlsx(frame, raw if annotated else None, ours)
    write_with_openpyxl(frame, raw if annotated else None, theirs)
    assert cell_facts(ours) == cell_facts(theirs)


def test_every_part_is_well_formed_xml_and_calamine_reads_it(tmp_path: Path) -> None:
    frame = normalise_problems(
        pd.DataFrame(
            {
                "row": [2, 2, 3],
                "column": ["A", "A", "B"],
                "code": ["sku-unknown", "header-unknown", "value-missing"],
                "severity": ["error", "warning", "error"],
                "message": ["a & b", "<c>", ""],
            }
        )
    )
    raw = raw_table_from_rows("r.csv", [["SKU", "Qty"], ["=1+2", ""], ["x&y", " 3 "]])
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            ElementTree.fromstring(package.read(name))  # raises on malformed XML
        assert "xl/comments2.xml" in package.namelist()
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["Errors", "Annotated"]
    grid = book.get_sheet_by_name("Annotated").to_python()
    assert grid[2][2:] == ["=1+2", ""] and grid[3][2:] == ["x&y", " 3 "]


def test_a_large_report_is_written_in_blocks(tmp_path: Path, monkeypatch: Any) -> None:
    """Rows, comments and their boxes are built a block at a time; the blocks join up."""
    from removal_batch.writers import xlsx

    monkeypatch.setattr(xlsx, "BLOCK_ROWS", 7)
    height = 30
    cells = pd.DataFrame({0: [f"s{i}" for i in range(height)]}, dtype=object)
    raw = RawTable(file="r.csv", cells=cells, row_numbers=np.arange(2, height + 2))
    frame = normalise_problems(
        pd.DataFrame(
            {
                "row": np.arange(2, height + 2),
                "column": "A",
                "code": "sku-unknown",
                "severity": "error",
                # Lengths 0 to 116: boxes of one, two and three lines.
                "message": ["m" * (4 * i) for i in range(height)],
            }
        )
    )
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    write_errors_xlsx(frame, raw, ours)
    write_with_openpyxl(frame, raw, theirs)
    assert cell_facts(ours) == cell_facts(theirs)
    with zipfile.ZipFile(ours) as package:
        vml = package.read("xl/drawings/vmlDrawing2.vml").decode()
    assert vml.count("<v:shape ") == height and "_x0000_s1055" in vml


def test_more_problems_than_a_sheet_holds_end_in_a_note(tmp_path: Path, monkeypatch: Any) -> None:
    from removal_batch.writers import error_report

    monkeypatch.setattr(error_report, "EXCEL_ROWS", 6)  # a header and five rows
    frame = normalise_problems(
        pd.DataFrame({"row": range(2, 12), "code": "sku-unknown", "message": "gone"})
    )
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, None, path)
    rows = list(openpyxl.load_workbook(path)["Errors"].iter_rows(values_only=True))
    assert len(rows) == 6 and [r[2] for r in rows[1:5]] == [2, 3, 4, 5]
    assert rows[5][2] is None and rows[5][8].startswith("6 more problems are not listed")


def _local_extra_lengths(path: Path) -> list[int]:
    """The extra-field length of each part's local header (zip64 sizes live there)."""
    import struct

    data = path.read_bytes()
    with zipfile.ZipFile(path) as package:
        offsets = [info.header_offset for info in package.infolist()]
    return [struct.unpack_from("<H", data, at + 28)[0] for at in offsets]


def test_zip64_headers_only_for_a_part_that_may_pass_2_gb(tmp_path: Path, monkeypatch: Any) -> None:
    from removal_batch.writers import xlsx

    frame = normalise_problems(pd.DataFrame({"row": [2], "column": "A", "code": "sku-unknown"}))
    raw = raw_table_from_rows("r.csv", [["SKU"], ["x"]])
    plain = tmp_path / "plain.xlsx"
    write_errors_xlsx(frame, raw, plain)
    assert set(_local_extra_lengths(plain)) == {0}
    monkeypatch.setattr(xlsx, "_may_be_large", lambda sheet: True)
    large = tmp_path / "large.xlsx"
    write_errors_xlsx(frame, raw, large)
    assert max(_local_extra_lengths(large)) > 0
    assert cell_facts(large) == cell_facts(plain)


def test_no_cell_or_comment_passes_excels_limit(tmp_path: Path) -> None:
    """Excel holds 32,767 characters (UTF-16 units) in a cell or a comment; a message
    quoting a header of 32,700 characters, or two long notes, went past it, and Excel
    calls such a workbook damaged (found by a read-through of the outputs). The text is
    cut to fit and ends in an ellipsis; an emoji (two units) is not cut in half."""
    long_message = "Notes differ: '" + "n" * 32_000 + "' and '" + "m" * 32_000 + "'."
    emoji = "\U0001f4e6" * 20_000  # 40,000 UTF-16 units
    frame = normalise_problems(
        pd.DataFrame(
            {
                "row": [2, 2],
                "column": ["A", "B"],
                "code": ["order-conflict", "header-unknown"],
                "severity": ["error", "warning"],
                "message": [long_message, emoji],
                "value": ["x", "y" * 100],
            }
        )
    )
    raw = raw_table_from_rows("r.csv", [["a", "b"]], first_row_number=2)
    path = tmp_path / "r.errors.xlsx"
    write_errors_xlsx(frame, raw, path)
    book = openpyxl.load_workbook(path)

    def units(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    texts = [
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value
    ]
    texts += [
        c.comment.text for ws in book.worksheets for row in ws.iter_rows() for c in row if c.comment
    ]
    cut = [t for t in texts if t.endswith("\u2026")]
    assert cut and all(units(t) <= 32_767 for t in texts)
    assert any(t.startswith("Notes differ: 'nnn") for t in cut)
    assert any(t.startswith("\U0001f4e6") and units(t) == 32_767 for t in cut)
    assert max(units(t) for t in cut) == 32_767


def test_text_in_chunks_is_cut_to_the_cell_limit_too() -> None:
    """A column can come as Arrow chunks (a table read in blocks): cut all the same."""
    import pyarrow as pa

    from removal_batch.writers.xlsx import within_cell_limit

    chunks = pa.chunked_array([["x" * 40_000, "a"], ["y"]], type=pa.large_string())
    cut = within_cell_limit(chunks).to_pylist()
    assert [len(v) for v in cut] == [32_767, 1, 1] and cut[0].endswith("\u2026")
