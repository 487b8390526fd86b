"""A small xlsx writer for reports: text and whole-number cells, a bold header, red and
yellow fills, frozen panes, filters, column widths and cell comments.

openpyxl builds and serialises one Python object per cell: an error report of 100,000
rejected lines (three million cells, a hundred thousand comments) took 20 s and 1 GB.
Here each column's XML is built by Arrow, a block of rows at a time, and streamed into
the zip: the same report takes about a second. Every text value is an inline string
(``t="inlineStr"``), so nothing a user typed is ever read as a formula or an error
value. The parts follow the structure openpyxl writes, which Excel opens.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch.core.fields import EXCEL_CELL_CHARS, column_letter, text_buffer

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "application/vnd.openxmlformats-officedocument."

# Cell styles, by their index in styles.xml's cellXfs.
PLAIN, BOLD, RED, YELLOW = 0, 1, 2, 3
# Looks plain; written all the same where a cell is empty, so that a comment (an info
# record's) has its cell.
NOTED = 4
# Rows turned into XML at a time: bounds the memory a large report needs.
BLOCK_ROWS = 50_000
# Characters XML 1.0 cannot hold (RE2 syntax): shown as U+FFFD by the caller.
NOT_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_XML_SPACE = r"^[ \t\r\n]|[ \t\r\n]$"


@dataclass
class Column:
    """One column of a sheet below its header: text (Arrow strings, "" for blank), or
    whole numbers (``numbers``, with ``missing`` marking blank cells)."""

    text: pa.Array | None = None
    numbers: np.ndarray | None = None
    missing: np.ndarray | None = None
    styles: np.ndarray | None = None  # int8 style index per cell; None: all PLAIN


@dataclass
class Comments:
    """Cell comments: 0-based grid row (the header is row 0) and column of each, its text,
    and its box size in pixels; in the order of the cells (row, then column)."""

    rows: np.ndarray
    columns: np.ndarray
    text: pa.Array
    heights: np.ndarray
    width: int
    author: str


@dataclass
class Sheet:
    name: str
    header: list[str]
    columns: list[Column]
    height: int  # rows below the header
    widths: list[float]
    frozen_columns: int  # columns kept in view when scrolling right (the header row always is)
    comments: Comments | None = None


def escape(text: pa.Array) -> pa.Array:
    """XML text: & < > as entities (attribute values here never hold quotes)."""
    if not pc.any(pc.match_substring_regex(text, "[&<>]")).as_py():
        return text
    for plain, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, plain, entity)
    return text


def within_cell_limit(text: pa.Array) -> pa.Array:
    """Text Excel can hold: a value over its 32,767 characters (a message quoting two
    long notes, a header of 32,000 characters) is cut to fit and ends in an ellipsis;
    Excel would otherwise call the workbook damaged. A UTF-8 value has at least as many
    bytes as UTF-16 units, so only one of more bytes than that is looked at (rare)."""
    long = pc.greater(pc.binary_length(text), EXCEL_CELL_CHARS)
    if not pc.any(long).as_py():
        return text
    if isinstance(text, pa.ChunkedArray):  # replace_with_mask takes one array
        text = text.combine_chunks()
        long = pc.greater(pc.binary_length(text), EXCEL_CELL_CHARS)
    cut = [_cut_to_cell(text[int(i)].as_py()) for i in np.flatnonzero(long.to_numpy(False))]
    return pc.replace_with_mask(text, long, pa.array(cut, type=text.type))


def _cut_to_cell(value: str) -> str:
    units = value.encode("utf-16-le")
    if len(units) // 2 <= EXCEL_CELL_CHARS:
        return value
    kept = units[: 2 * (EXCEL_CELL_CHARS - 1)].decode("utf-16-le", errors="ignore")
    return kept + "\u2026"


def xml_text(text: pa.Array) -> pa.Array:
    """Text an XML file can hold: characters XML 1.0 forbids become U+FFFD."""
    if pc.any(pc.match_substring_regex(text, NOT_XML)).as_py():
        return pc.replace_substring_regex(text, NOT_XML, "\ufffd")
    return text


def _join(*parts: pa.Array | str) -> pa.Array:
    """The parts joined value by value, as large strings (a block of a sheet's XML can
    pass the 2 GB a plain Arrow string array holds)."""
    typed = [
        pa.scalar(p, pa.large_string())
        if isinstance(p, str)
        else p
        if p.type == pa.large_string()
        else pc.cast(p, pa.large_string())
        for p in parts
    ]
    return pc.binary_join_element_wise(*typed, pa.scalar("", pa.large_string()))


def _text_cells(column: Column, letter: str, rows: pa.Array, block: slice) -> pa.Array:
    """Each cell's XML; "" for a blank cell, which is left out unless it is coloured (the
    cell of a missing value)."""
    assert column.text is not None
    text = within_cell_limit(column.text[block])
    styles = None if column.styles is None else column.styles[block]
    style: pa.Array | str = ""
    if styles is not None:
        style = _STYLE_ATTRIBUTES.take(pa.array(styles.astype(np.int8)))
    space = pc.if_else(pc.match_substring_regex(text, _XML_SPACE), ' xml:space="preserve"', "")
    start = _join('<c r="', letter, rows, '"', style)
    full = _join(start, ' t="inlineStr"><is><t', space, ">", escape(text), "</t></is></c>")
    empty: pa.Array | str = ""
    if styles is not None and (styles != PLAIN).any():
        empty = pc.if_else(pa.array(styles == PLAIN), "", _join(start, "/>"))
    return pc.if_else(pc.equal(pc.binary_length(text), 0), empty, full)


# The s="" attribute of each style index (PLAIN needs none).
_STYLE_ATTRIBUTES = pa.array(["", *(f' s="{i}"' for i in (BOLD, RED, YELLOW, NOTED))])


def _number_cells(column: Column, letter: str, rows: pa.Array, block: slice) -> pa.Array:
    assert column.numbers is not None
    values = pc.cast(pa.array(column.numbers[block].astype(np.int64)), pa.string())
    cells = _join('<c r="', letter, rows, '" t="n"><v>', values, "</v></c>")
    if column.missing is None:
        return cells
    return pc.if_else(pa.array(column.missing[block]), "", cells)


def _row_blocks(sheet: Sheet) -> Iterator[bytes | memoryview]:
    """The rows below the header as XML, a block at a time."""
    letters = [column_letter(i) for i in range(len(sheet.columns))]
    for start in range(0, sheet.height, BLOCK_ROWS):
        block = slice(start, min(start + BLOCK_ROWS, sheet.height))
        numbers = np.arange(block.start + 2, block.stop + 2, dtype=np.int64)
        rows = pc.cast(pa.array(numbers), pa.string())
        cells = [
            _text_cells(c, letter, rows, block)
            if c.text is not None
            else _number_cells(c, letter, rows, block)
            for c, letter in zip(sheet.columns, letters, strict=True)
        ]
        xml = _join('<row r="', rows, '">', *cells, "</row>")
        yield _concatenated(xml)


def _concatenated(values: pa.Array) -> memoryview:
    """The values end to end (no Python string each)."""
    data, starts = text_buffer(values)
    return data[int(starts[0]) : int(starts[-1])] if len(starts) > 1 else memoryview(b"")


def _header_row(names: list[str]) -> bytes:
    cells = "".join(
        f'<c r="{column_letter(i)}1" s="{BOLD}" t="inlineStr"><is><t>{_escape_str(name)}'
        "</t></is></c>"
        for i, name in enumerate(names)
    )
    return f'<row r="1">{cells}</row>'.encode()


def _pane(columns: int) -> str:
    """The header row frozen, and ``columns`` columns left of the rest."""
    corner = f"{column_letter(columns)}2"
    if columns == 0:
        return (
            f'<pane ySplit="1" topLeftCell="{corner}" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A1" sqref="A1"/>'
        )
    return (
        f'<pane xSplit="{columns}" ySplit="1" topLeftCell="{corner}" '
        'activePane="bottomRight" state="frozen"/><selection pane="topRight"/>'
        '<selection pane="bottomLeft"/>'
        '<selection pane="bottomRight" activeCell="A1" sqref="A1"/>'
    )


def filter_range(sheet: Sheet, dollar: str = "") -> str:
    """The header and every row below it: A1:K27 (or $A$1:$K$27 with ``dollar``)."""
    last = column_letter(max(len(sheet.header), 1) - 1)
    return f"{dollar}A{dollar}1:{dollar}{last}{dollar}{sheet.height + 1}"


def _sheet_parts(sheet: Sheet) -> Iterator[bytes | memoryview]:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
        for i, width in enumerate(sheet.widths, 1)
    )
    yield (
        f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetViews>'
        f'<sheetView workbookViewId="0">{_pane(sheet.frozen_columns)}</sheetView></sheetViews>'
        f'<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
        f"{f'<cols>{cols}</cols>' if cols else ''}<sheetData>"
    ).encode()
    yield _header_row(sheet.header)
    yield from _row_blocks(sheet)
    tail = (
        f'</sheetData><autoFilter ref="{filter_range(sheet)}"/><pageMargins left="0.75" '
        'right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
    )
    if sheet.comments is not None:
        tail += '<legacyDrawing r:id="rIdVml"/>'
    yield (tail + "</worksheet>").encode()


def _cell_refs(comments: Comments) -> pa.Array:
    letters = pa.array([column_letter(int(c)) for c in range(int(comments.columns.max()) + 1)])
    return _join(
        letters.take(pa.array(comments.columns)),
        pc.cast(pa.array(comments.rows.astype(np.int64) + 1), pa.string()),
    )


def _comment_parts(comments: Comments) -> Iterator[bytes | memoryview]:
    yield (
        f'<comments xmlns="{MAIN_NS}"><authors><author>'
        f"{_escape_str(comments.author)}</author></authors><commentList>"
    ).encode()
    refs = _cell_refs(comments)
    for start in range(0, len(refs), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        text = within_cell_limit(comments.text[block])
        space = pc.if_else(pc.match_substring_regex(text, _XML_SPACE), ' xml:space="preserve"', "")
        yield _concatenated(
            _join(
                '<comment ref="',
                refs[block],
                '" authorId="0" shapeId="0"><text><t',
                space,
                ">",
                escape(text),
                "</t></text></comment>",
            )
        )
    yield b"</commentList></comments>"


def _vml_parts(comments: Comments) -> Iterator[bytes | memoryview]:
    """The comments' boxes (hidden until the cell is pointed at), as Excel draws them.
    Shape ids run from 1026; ``idmap`` names every block of 1,024 ids they use."""
    count = len(comments.rows)
    blocks = ",".join(str(b) for b in range(1, (1025 + count) // 1024 + 1))
    yield (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{blocks}"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
    ).encode()
    for start in range(0, count, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, count)

        def numbers(values: np.ndarray) -> pa.Array:
            return pc.cast(pa.array(values.astype(np.int64)), pa.string())

        yield _concatenated(
            _join(
                '<v:shape id="_x0000_s',
                numbers(np.arange(1026 + start, 1026 + stop)),
                '" type="#_x0000_t202" style="position:absolute; margin-left:59.25pt;'
                f"margin-top:1.5pt;width:{comments.width}px;height:",
                numbers(comments.heights[start:stop]),
                'px;z-index:1;visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
                '<v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
                '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
                '<div style="text-align:left"/></v:textbox><x:ClientData ObjectType="Note">'
                "<x:MoveWithCells/><x:SizeWithCells/><x:AutoFill>False</x:AutoFill><x:Row>",
                numbers(comments.rows[start:stop]),
                "</x:Row><x:Column>",
                numbers(comments.columns[start:stop]),
                "</x:Column></x:ClientData></v:shape>",
            )
        )
    yield b"</xml>"


def _escape_str(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    return _escape_str(text).replace('"', "&quot;")


STYLES = (
    f'<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="4"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/>'
    '<bgColor rgb="FFFFC7CE"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFEB9C"/>'
    '<bgColor rgb="FFFFEB9C"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="3" borderId="0" xfId="0" applyFill="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)


def _relationships(targets: Sequence[tuple[str, str, str]]) -> str:
    """(id, type, target) -> a .rels part."""
    listed = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'
        for rid, kind, target in targets
    )
    return f'<Relationships xmlns="{PACKAGE_REL_NS}">{listed}</Relationships>'


def _workbook(sheets: Sequence[Sheet]) -> str:
    listed = "".join(
        f'<sheet name="{_attribute(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, 1)
    )
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"'{_escape_str(s.name)}'!{filter_range(s, '$')}</definedName>"
        for i, s in enumerate(sheets)
    )
    return (
        f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><bookViews>'
        '<workbookView activeTab="0"/></bookViews>'
        f"<sheets>{listed}</sheets><definedNames>{filters}</definedNames></workbook>"
    )


def _content_types(sheets: Sequence[Sheet]) -> str:
    overrides = [
        ("/xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
        ("/xl/styles.xml", "spreadsheetml.styles+xml"),
    ]
    for i, sheet in enumerate(sheets, 1):
        overrides.append((f"/xl/worksheets/sheet{i}.xml", "spreadsheetml.worksheet+xml"))
        if sheet.comments is not None:
            overrides.append((f"/xl/comments{i}.xml", "spreadsheetml.comments+xml"))
    listed = "".join(
        f'<Override PartName="{name}" ContentType="{_TYPES}{kind}"/>' for name, kind in overrides
    )
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Default Extension="vml" ContentType="{_TYPES}vmlDrawing"/>'
        f"{listed}</Types>"
    )


def _may_be_large(sheet: Sheet) -> bool:
    """Whether any part of the sheet (its cells, its comments or their boxes) could pass
    1 GB: its text, with room for the markup of every cell and comment and for escapes."""
    text = sum(
        int(pc.sum(pc.binary_length(c.text)).as_py() or 0)
        for c in sheet.columns
        if c.text is not None
    )
    cells = sheet.height * len(sheet.columns)
    notes = 0 if sheet.comments is None else len(sheet.comments.rows)
    if sheet.comments is not None:
        text += int(pc.sum(pc.binary_length(sheet.comments.text)).as_py() or 0)
    return 2 * text + 80 * cells + 800 * notes > 1 << 30


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def write_workbook(handle: IO[bytes], sheets: Sequence[Sheet]) -> None:
    """Write ``sheets`` as one xlsx package to ``handle``. Deflate at level 1: the XML of a
    large report is 100 MB and more, and the default level takes three times as long for
    a file a fifth smaller."""
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:

        def put(name: str, parts: Iterator[bytes | memoryview] | str, large: bool = False) -> None:
            # Zip64 headers only where a part may pass 2 GB (zipfile refuses to go on
            # without them): Excel is known to call some zip64 packages damaged.
            with package.open(name, "w", force_zip64=large) as part:
                if not name.endswith(".vml"):  # VML is not read as XML with a declaration
                    part.write(_DECLARATION)
                if isinstance(parts, str):
                    part.write(parts.encode())
                else:
                    for chunk in parts:
                        part.write(chunk)

        put("[Content_Types].xml", _content_types(sheets))
        put(
            "_rels/.rels",
            _relationships([("rId1", f"{office}/officeDocument", "xl/workbook.xml")]),
        )
        put("xl/workbook.xml", _workbook(sheets))
        book_rels = [
            (f"rId{i}", f"{office}/worksheet", f"worksheets/sheet{i}.xml")
            for i in range(1, len(sheets) + 1)
        ]
        book_rels.append((f"rId{len(sheets) + 1}", f"{office}/styles", "styles.xml"))
        put("xl/_rels/workbook.xml.rels", _relationships(book_rels))
        put("xl/styles.xml", STYLES)
        for i, sheet in enumerate(sheets, 1):
            put(f"xl/worksheets/sheet{i}.xml", _sheet_parts(sheet), _may_be_large(sheet))
            if sheet.comments is None:
                continue
            put(
                f"xl/worksheets/_rels/sheet{i}.xml.rels",
                _relationships(
                    [
                        ("rIdComments", f"{office}/comments", f"../comments{i}.xml"),
                        ("rIdVml", f"{office}/vmlDrawing", f"../drawings/vmlDrawing{i}.vml"),
                    ]
                ),
            )
            large = _may_be_large(sheet)
            put(f"xl/comments{i}.xml", _comment_parts(sheet.comments), large)
            put(f"xl/drawings/vmlDrawing{i}.vml", _vml_parts(sheet.comments), large)
