"""What an .xlsx sheet's XML says that calamine does not: numbers a workbook shows with
leading zeros (Excel's Zip Code format and its kin), and rows it hides.

Excel's own advice for ZIP codes is Format Cells > Special > Zip Code, the number format
``00000``: the cell holds the number 2134 and shows 02134. The value alone (all calamine
gives) would read as 2134, a ZIP code that lost its zero, and a SKU typed 00123 in a
``00000`` column as 123. The person at the sheet sees the zeros, so the cell's text must
have them. Only formats made of zeros and separators (``00000``, ``00000-0000``,
``000-00-0000``) are applied: they show a whole number's digits, padded, and nothing else;
and the same with literal text of an id's characters around them (``"RR-"000`` shows 7
as RR-007, ``00000"-NAT"`` 77 as 00077-NAT). A unit after a space (``0" pcs"``) is not.
Fixed decimals (``0.00``, Excel's Number format, and ``000.00``) show a fraction with
trailing zeros: a SKU typed 1.50 is held as 1.5 and shown 1.50, and is read as shown
where no digit is rounded away (see pad_like_excel).

Rows hidden in Excel (by hand, or by a filter) are read and checked like the others, as
they are in the file; the user, who may have hidden rows already sent, is told which.

Cells that hold no value calamine can give read as blank there, and a blank quantity is 0
and a blank order id joins the order above: an Excel error (#N/A from a lookup that found
nothing) and a formula whose result was never saved (a workbook written by a program;
Excel calculates when it opens the file, calamine cannot). They read here as the error's
text, and as the formula behind ``#NOT CALCULATED``, which the checks then refuse.

calamine exposes neither, so .xlsx/.xlsm parts are read here: the styles (small) and the
chosen sheet's XML (inflating 15 MB of it takes 0.02-0.03 s, in the reader's child).
Everything else (.xls, .ods, a workbook laid out in a way not understood here) keeps
calamine's values and says nothing of hidden rows. Any failure here is silent: the values
are still right, only unpadded, and the rules say when zeros look lost.
"""

from __future__ import annotations

import dataclasses
import html
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from removal_batch.core.fields import column_letter
from removal_batch.core.raw_table import NOT_CALCULATED

# A styles or workbook part larger than this is not a real one: skipped, not parsed.
MAX_SMALL_PART = 16 << 20
# Zeros, each group after the first led by one separator: 00000, 00000-0000, 000 00 0000.
_PADDED = re.compile(r"0+(?:[- ]0+)*")
# Fixed decimals: 0.00, 000.00.
_FIXED = re.compile(r"(0+)\.(0+)")
# Excel keeps 15 significant digits of a number typed: 1234567890123456 becomes
# 1234567890123450, and a double holds whole numbers exactly only below 2**53. A whole
# number of 16 digits ending in 0, or past 2**53, may not be the one typed or written:
# read as the scientific notation Excel shows (1.23456789012345e+15), which the checks
# refuse as a long number that lost its digits, not as another SKU.
ALL_DIGITS_KEPT = 10**15
EXACT_BELOW = 2**53


def digits_trusted(number: float) -> bool:
    """Whether a whole number's digits are the ones typed or written (see above): 16
    digits not ending in 0 were written by a program (Excel would have made the last a
    0), and are exact below 2**53."""
    size = abs(number)
    return size < ALL_DIGITS_KEPT or (size < EXACT_BELOW and number % 10 != 0)


_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_CELL_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_ROW_NUMBER = re.compile(rb'\br="([0-9]{1,7})"')


@dataclass(frozen=True)
class Padding:
    """A zero-padding format: its groups of zeros and the separators between them, e.g.
    (5, 4) and ["-"] for 00000-0000. A format whose first section has a condition, as in
    [<=99999]00000;00000-0000 (a column of ZIP and ZIP+4 codes), pads the numbers that
    meet it so, and the others by ``otherwise`` (None: they are left as they are)."""

    groups: tuple[int, ...]
    separators: tuple[str, ...]
    condition: tuple[str, float] | None = None
    otherwise: Padding | None = None
    # Literal text around the digits ("RR-"000 shows 7 as RR-007; 00000"-NAT" shows 77
    # as 00077-NAT): only letters, digits and . _ - (an id's or a SKU's characters).
    prefix: str = ""
    suffix: str = ""
    # Decimal places shown (2 for 0.00): one group of zeros before the point, no
    # separators.
    decimals: int = 0


@dataclass(frozen=True)
class PaddedCells:
    """Numeric cells shown padded: 0-based sheet rows and columns, and each one's format
    (an index into ``formats``)."""

    rows: np.ndarray
    columns: np.ndarray
    format_ids: np.ndarray
    formats: list[Padding]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by its local name, whatever namespace prefix it carries."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


# A section's pieces: an escaped character, a quoted literal, a bracket ([Red], [$-409],
# [<=99999]), a space the width of a character (_)), a fill (*-), or any other character.
_FORMAT_TOKEN = re.compile(r'\\(.)|"([^"]*)"|(\[[^\]]*\])|_.|\*.|(.)', re.DOTALL)
# Text a format may show around a number's digits and still be read as shown: an id's or
# a SKU's characters, with a letter or digit. Not a space: 0" pcs" is a quantity's unit.
_AFFIX = re.compile(r"[A-Za-z0-9._-]*[A-Za-z0-9][A-Za-z0-9._-]*")
_CONDITION = re.compile(r"\[(<=|>=|<>|<|>|=)\s*(-?[0-9]+(?:\.[0-9]*)?)\]")


# Excel's built-in number formats that show a percentage: 0% and 0.00%.
_BUILTIN_PERCENT = {"9": "0%", "10": "0.00%"}
# Excel's built-in Number format with two decimals (Format Cells > Number), named by its
# id alone: 1.5 shows as 1.50.
_BUILTIN_FIXED = {"2": "0.00"}


def scale_of(code: str) -> str | None:
    """How a number format shows a number as another one, as words: "as a percentage
    (times 100)" for a % outside quotes, "divided by 1,000" for each comma after the last
    digit (#,##0, shows 5000 as 5), "as nothing" for an empty first section (;;; hides
    the value); None for a format that shows the number itself."""
    first = _sections(code)[0]
    if code and not first.strip():  # ;;; and the like: the cell looks blank
        return "as nothing (the cell looks blank)"
    shown = "".join(m.group(4) or "" for m in _FORMAT_TOKEN.finditer(first) if m.group(4))
    if "%" in shown:
        return "as a percentage (times 100)"
    scaled = re.search(r"[0#?](,+)[^0#?]*$", shown)
    if scaled is None:
        return None
    return f"divided by {1000 ** len(scaled.group(1)):,}"


def shown_otherwise(code: str) -> str | None:
    """What a number format that shows a number as another does to it, as the end of a
    sentence about the cell (scale_of); None for one that shows the number itself."""
    how = scale_of(code)
    return None if how is None else f"its number format ({code}) shows it {how}"


def _sections(code: str) -> list[str]:
    """A format code's sections: split at the semicolons outside quotes and escapes."""
    sections, start = [], 0
    for match in _FORMAT_TOKEN.finditer(code):
        if match.group(4) == ";":
            sections.append(code[start : match.start()])
            start = match.end()
    return [*sections, code[start:]]


def _section_padding(section: str) -> tuple[Padding | None, tuple[str, float] | None]:
    """One section's groups of zeros (None: it is not zeros and separators alone) and its
    condition. Colours and locales are no part of what is shown; a space the width of a
    character (00000_)) shows as nothing a reader would type."""
    plain: list[str] = []
    literal: list[bool] = []  # each piece of plain: a quoted or escaped literal
    condition = None
    for match in _FORMAT_TOKEN.finditer(section):
        escaped, quoted, bracket, other = match.groups()
        if bracket is not None:
            found = _CONDITION.fullmatch(bracket)
            if found is not None:
                condition = (found.group(1), float(found.group(2)))
        elif escaped is not None or quoted is not None or other is not None:
            plain.append(
                escaped if escaped is not None else quoted if quoted is not None else other
            )
            literal.append(other is None)
    text = "".join(plain)
    if (_PADDED.fullmatch(text) and text != "0") or _FIXED.fullmatch(text):
        return _zeros(text), condition
    # Literal text before or after the zeros: "RR-"000, 00000"-NAT", \S\K\U0000.
    start, end = 0, len(plain)
    while start < end and literal[start]:
        start += 1
    while end > start and literal[end - 1]:
        end -= 1
    prefix, digits, suffix = "".join(plain[:start]), "".join(plain[start:end]), "".join(plain[end:])
    if _AFFIX.fullmatch(prefix + suffix) and (
        _PADDED.fullmatch(digits) or _FIXED.fullmatch(digits)
    ):
        zeros = dataclasses.replace(_zeros(digits), prefix=prefix, suffix=suffix)
        return zeros, condition
    return None, condition


def _zeros(text: str) -> Padding:
    fixed = _FIXED.fullmatch(text)
    if fixed is not None:
        return Padding((len(fixed.group(1)),), (), decimals=len(fixed.group(2)))
    groups = re.split(r"[- ]", text)
    return Padding(tuple(len(g) for g in groups), tuple(re.findall(r"[- ]", text)))


def padding_of(code: str) -> Padding | None:
    """The groups of zeros and their separators of a zero-padding format code, else None.
    Only the first section counts for the whole numbers read here (a second is for
    negative numbers), unless the first has a condition: then the second is for the
    numbers that fail it. Backslash escapes and quoted literals are Excel's ways of
    writing a separator. A second section with its own condition, followed by a third,
    is a second test: Excel's Japanese postal code format [<=999]000;[<=9999]000-00;
    000-0000 shows 1000001 as 100-0001 (by the third section), not 10000-01."""
    return _conditional_padding(_sections(code))


def _conditional_padding(sections: list[str]) -> Padding | None:
    first, condition = _section_padding(sections[0])
    if first is None or condition is None:
        return first
    rest = sections[1:]
    if len(rest) > 2:  # [a]x;[b]y;z;@ : the fourth section is for text, not read here
        rest = rest[:2]
    if len(rest) > 1 and _section_padding(rest[0])[1] is not None:
        otherwise = _conditional_padding(rest)
    else:
        otherwise = _section_padding(rest[0])[0] if rest else None
    return dataclasses.replace(first, condition=condition, otherwise=otherwise)


def _read_part(archive: zipfile.ZipFile, name: str, limit: int = MAX_SMALL_PART) -> bytes | None:
    """A part's bytes; None when it is missing or over ``limit``. (A sheet's own size was
    bounded by check_zip before calamine read it.)"""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        return None
    return archive.read(info)


def _style_formats(archive: zipfile.ZipFile) -> dict[int, str]:
    """Style index -> number format code, for the cell styles whose format is a custom one,
    a built-in percentage (the only built-ins that show a number as another) or the
    built-in 0.00: read once for the zero-padding formats and the scaling ones."""
    data = _read_part(archive, "xl/styles.xml")
    # A custom format is a numFmt element; a built-in one is named by number only.
    markers = (b"numFmt ", b'numFmtId="9"', b'numFmtId="10"', b'numFmtId="2"')
    if data is None or not any(marker in data for marker in markers):
        return {}
    root = ElementTree.fromstring(data)
    codes = {**_BUILTIN_PERCENT, **_BUILTIN_FIXED}
    for element in root.iter():
        if _local(element.tag) == "numFmt":
            number, code = _attribute(element, "numFmtId"), _attribute(element, "formatCode")
            if number is not None and code:
                codes[number] = code
    styles = {}
    for element in root.iter():
        if _local(element.tag) == "cellXfs":
            for index, xf in enumerate(e for e in element if _local(e.tag) == "xf"):
                number = _attribute(xf, "numFmtId")
                if number in codes:
                    styles[index] = codes[number]
    return styles


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part holding it, from the workbook and its relationships."""
    book, links = (
        _read_part(archive, "xl/workbook.xml"),
        _read_part(archive, "xl/_rels/workbook.xml.rels"),
    )
    if book is None or links is None:
        return {}
    targets = {}
    for element in ElementTree.fromstring(links).iter():
        if _local(element.tag) == "Relationship":
            target = element.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[element.get("Id")] = str(PurePosixPath(path))
    parts = {}
    for element in ElementTree.fromstring(book).iter():
        if _local(element.tag) == "sheet":
            name, link_id = _attribute(element, "name"), _attribute(element, "id")
            if name is not None and link_id in targets:
                parts[name] = targets[link_id]
    return parts


def sheet_sizes(path: Path) -> dict[str, int]:
    """Each .xlsx sheet's XML size in bytes, uncompressed, by sheet name; empty for any
    other workbook or one not understood."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {n: archive.getinfo(p).file_size for n, p in _sheet_parts(archive).items()}
    except Exception:  # noqa: BLE001 - sizes are a hint: none known is no harm
        return {}


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


@dataclass(frozen=True)
class CellTexts:
    """Cells' text in place of calamine's blank: 0-based sheet rows and columns."""

    rows: np.ndarray
    columns: np.ndarray
    texts: np.ndarray  # of str


@dataclass(frozen=True)
class SheetExtras:
    """What a sheet holds that calamine does not say (read here for .xlsx, in ods_xml and
    xls_cells for the others): numbers shown zero-padded, the rows hidden (by hand, or a
    filter's), as the row numbers shown, and cells whose text calamine's value is not
    (errors, formulas never calculated, an .ods's padded numbers)."""

    padded: PaddedCells | None = None
    hidden_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unvalued: CellTexts | None = None
    merged: np.ndarray | None = None  # as RawTable.merged (an .ods's; calamine gives the rest)
    # An Excel table's Total Row (the table's sums, not a request), one per table: its
    # row as shown, and the table's first and last columns (from 0).
    totals_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    # Numeric cells whose format shows another number (5000 as 5, 0.05 as 5%): 0-based
    # sheet row and column -> what the format does, in words.
    scaled: dict[tuple[int, int], str] = field(default_factory=dict)
    # Columns the sheet hides (from 0 for A): read all the same.
    hidden_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def sheet_extras(path: Path, sheet: str) -> SheetExtras:
    """The chosen sheet's extras; none for a workbook that is not an .xlsx, or anything
    not understood (see the module's docstring: the values stay calamine's)."""
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_parts(archive).get(sheet)
            if part is None:
                return SheetExtras()
            formats = _style_formats(archive)
            stale = _recalculated_on_load(archive)
            totals = _totals_rows(archive, part)
            data = _read_part(archive, part, limit=1 << 40)
        if data is None:
            return SheetExtras()
        data = _with_references(data)
        styles = {i: p for i, code in formats.items() if (p := padding_of(code)) is not None}
        scaling = {i: how for i, code in formats.items() if (how := shown_otherwise(code))}
        padded = _cells_with_styles(data, styles) if styles else None
        scaled = {}
        if scaling:
            found = _styled_cells(data, set(scaling))
            if found is not None:
                rows, columns, ids = found
                scaled = {
                    (int(r), int(c)): scaling[int(i)]
                    for r, c, i in zip(rows, columns, ids, strict=True)
                }
        return SheetExtras(
            padded,
            _hidden_rows(data),
            _unvalued_cells(data, stale),
            totals_rows=totals,
            scaled=scaled,
            hidden_columns=_hidden_columns(data),
        )
    except Exception:  # noqa: BLE001 - see the module's docstring: values stay calamine's
        return SheetExtras()


_ROW_OR_CELL = re.compile(rb"<((?:[A-Za-z_][\w.-]{0,64}:)?)(row|c)([\s/>])([^<>]{0,2048})")


def _with_references(data: bytes) -> bytes:
    """The sheet with every cell's reference (r="C7") written in. It is optional: a cell
    without one is the next in its row, and a row without one the next row (Power BI and
    other exporters leave them out). calamine places such cells; the searches here need
    the references, so they are put in where some are missing. A writer leaves them all
    out or none: the first and last 64 KiB tell (counting all 15 MB of a sheet took 67 ms)."""
    small = len(data) <= 2 * 65536
    ends = data if small else data[:65536] + b">" + data[-65536:]
    cells = ends.count(b"<c ") + ends.count(b"<c>") + ends.count(b":c ") + ends.count(b":c>")
    # Rows left without theirs (cells keeping theirs) need nothing: only cells are placed.
    # A tag cut where the ends are joined may be miscounted: a little slack there.
    if ends.count(b' r="') + (0 if small else 4) >= cells:
        return data
    parts: list[bytes] = []
    done = 0
    row = column = 0
    for match in _ROW_OR_CELL.finditer(data):
        prefix, tag, after, attributes = match.groups()
        if tag == b"row":
            number = _ROW_NUMBER.search(after + attributes)
            row = int(number.group(1)) if number is not None else row + 1
            column = 0
            continue
        ref = _CELL_REF.search(after + attributes)
        if ref is not None:
            column = _column_index(ref.group(1)) + 1
            continue
        column += 1
        letters = column_letter(column - 1).encode()
        parts.append(data[done : match.start(2) + 1])  # up to the tag's name, "c"
        parts.append(b' r="' + letters + str(row).encode() + b'"')
        done = match.start(2) + 1
    parts.append(data[done:])
    return b"".join(parts)


_TABLE_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})")


def _totals_rows(archive: zipfile.ZipFile, part: str) -> np.ndarray:
    """The rows of the sheet's Excel tables (Insert > Table) that are a Total Row (Table
    Design > Total Row): the sums under the table, which Excel keeps apart from its data.
    Read as a row, "Total" became an order and the sums a line of the order above."""
    sheet = PurePosixPath(part)
    links = _read_part(archive, str(sheet.parent / "_rels" / f"{sheet.name}.rels"))
    if links is None or b"/table" not in links:
        return np.zeros((0, 3), dtype=np.int64)
    rows: list[tuple[int, int, int]] = []
    for element in ElementTree.fromstring(links).iter():
        if _local(element.tag) != "Relationship" or not (element.get("Type") or "").endswith(
            "/table"
        ):
            continue
        target = element.get("Target") or ""
        name = target.lstrip("/") if target.startswith("/") else str(sheet.parent / target)
        table = _read_part(archive, posixpath.normpath(name))
        if table is None:
            continue
        root = ElementTree.fromstring(table)
        count = int(_attribute(root, "totalsRowCount") or 0)
        span = _TABLE_REF.fullmatch(_attribute(root, "ref") or "")
        # Excel's tables have one Total Row at most: the last row of the table's range.
        if count > 0 and span is not None and int(span.group(4)) > int(span.group(2)):
            first, last = span.group(1).encode(), span.group(3).encode()
            rows.append((int(span.group(4)), _column_index(first), _column_index(last)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


_FULL_CALC = re.compile(rb'\bfullCalcOnLoad="(?:1|true)"')


def _recalculated_on_load(archive: zipfile.ZipFile) -> bool:
    """Whether the workbook asks to be calculated when opened (<calcPr fullCalcOnLoad>):
    a program that cannot calculate (xlsxwriter) saves 0 as every formula's result and
    sets it, so that Excel shows the right values. Those zeros are not values. (openpyxl
    sets it too, and saves no result at all; a result other than 0 is trusted.)"""
    book = _read_part(archive, "xl/workbook.xml")
    return book is not None and _FULL_CALC.search(book) is not None


def _hidden_element(tag: bytes) -> re.Pattern[bytes]:
    """<tag ... hidden="1" ...> (a row or a column span), with any namespace prefix."""
    return re.compile(
        rb"<(?:[A-Za-z_][\w.-]{0,64}:)?"
        + tag
        + rb'\s[^<>]{0,1024}?\bhidden="(?:1|true)"[^<>]{0,1024}>'
    )


_HIDDEN_ROW = _hidden_element(b"row")


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,64}:)?row[\s/>][^<>]{0,2048}")
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')


def _hidden_rows(data: bytes) -> np.ndarray:
    """Row numbers of the <row hidden="1"> elements (most sheets have none: one search
    of the bytes says so)."""
    if b'hidden="' not in data:
        return np.zeros(0, dtype=np.int64)
    rows = []
    for match in _HIDDEN_ROW.finditer(data):
        number = _ROW_NUMBER.search(match.group(0))
        if number is None:
            return _hidden_rows_counted(data)
        rows.append(int(number.group(1)))
    return np.asarray(rows, dtype=np.int64)


def _hidden_rows_counted(data: bytes) -> np.ndarray:
    """As _hidden_rows, for a sheet whose rows leave out their r="7" (Power BI and other
    exporters): a row without one is the one after the row before it."""
    rows = []
    row = 0
    for match in _ROW_TAG.finditer(data):
        tag = match.group(0)
        number = _ROW_NUMBER.search(tag)
        row = int(number.group(1)) if number is not None else row + 1
        if _HIDDEN.search(tag):
            rows.append(row)
    return np.asarray(rows, dtype=np.int64)


_HIDDEN_COLUMNS = _hidden_element(b"col")
_COLUMN_SPAN = re.compile(rb'\bmin="([0-9]{1,5})"[^<>]{0,1024}?\bmax="([0-9]{1,5})"')
# Past the last column a sheet may have (XFD): a <col> span beyond it is not read.
_LAST_COLUMN = 16_384


def _hidden_columns(data: bytes) -> np.ndarray:
    """Columns (from 0 for A) of the <col min max hidden="1"> spans in the sheet's <cols>,
    which come before its cells: a hidden column is read like the others."""
    cols_end = data.find(b"<sheetData")
    head = data if cols_end < 0 else data[:cols_end]
    if b'hidden="' not in head:
        return np.zeros(0, dtype=np.int64)
    spans = []
    for match in _HIDDEN_COLUMNS.finditer(head):
        span = _COLUMN_SPAN.search(match.group(0))
        if span is not None:
            first, last = int(span.group(1)), min(int(span.group(2)), _LAST_COLUMN)
            if 1 <= first <= last:
                spans.append(np.arange(first - 1, last, dtype=np.int64))
    return np.unique(np.concatenate(spans)) if spans else np.zeros(0, dtype=np.int64)


_PREFIX = rb"(?:[A-Za-z_][\w.-]{0,64}:)?"
# A cell of type "e" (an error), with or without the formula that gave it: its <v> text.
_ERROR_CELL = re.compile(
    rb"<" + _PREFIX + rb'c\s([^<>]{0,1024}?\bt="e"[^<>]{0,1024}?)(?<!/)>'
    rb"(?:\s*<" + _PREFIX + rb"f\b[^<>]{0,1024}?(?:/>|(?<!/)>[^<]{0,65536}</" + _PREFIX + rb"f>))?"
    rb"\s*<" + _PREFIX + rb"v>([^<]{1,64})</" + _PREFIX + rb"v>"
)


# A cell with a formula (<f>text</f>, or <f .../> for a shared one), and the result it
# saved: group 3 the <v> element (None: none saved), group 4 its text. Bounded, as in
# _cells_with_styles.
_FORMULA_CELL = re.compile(
    rb"<" + _PREFIX + rb"c\s([^<>]{0,1024}?)(?<!/)>\s*<" + _PREFIX + rb"f\b[^<>]{0,1024}?"
    rb"(?:/>|(?<!/)>([^<]{0,65536})</" + _PREFIX + rb"f>)\s*"
    rb"(<" + _PREFIX + rb"v\s*/>|<" + _PREFIX + rb"v>([^<]*)</" + _PREFIX + rb"v>)?"
)


def _unvalued_cells(data: bytes, stale: bool = False) -> CellTexts | None:
    """Error cells as their text (#N/A), and formulas with no saved result as ``=`` and
    the formula. A formula of text type with an empty <v> is an empty text, a real value.
    ``stale``: a saved 0 is a placeholder, not a result (see _recalculated_on_load)."""
    rows: list[int] = []
    columns: list[int] = []
    texts: list[str] = []

    def place(attributes: bytes, text: str) -> None:
        ref = _CELL_REF.search(attributes)
        if ref is not None:  # a cell placed by order alone: not worth guessing its place
            rows.append(int(ref.group(2)) - 1)
            columns.append(_column_index(ref.group(1)))
            texts.append(text)

    if b't="e"' in data:
        for match in _ERROR_CELL.finditer(data):
            place(match.group(1), html.unescape(match.group(2).decode("utf-8", "replace")))
    # Any formula closes an <f> (a shared one's first cell does): one search, 10 ms per
    # 15 MB, settles a sheet without formulas.
    if b"f>" not in data:
        return cell_texts(rows, columns, texts)
    for match in _FORMULA_CELL.finditer(data):
        attributes, formula, saved, value = match.groups()
        result = (value or b"").strip()
        if stale:
            # xlsxwriter's placeholder is 0; any other result was calculated by its program.
            if result not in (b"", b"0"):
                continue
        elif saved is not None and result:
            continue  # the result the program saved
        elif saved is not None:
            kind = _CELL_TYPE.search(attributes)
            if kind is not None and kind.group(1) in (b"str", b"e"):
                continue  # an empty text result; an error is placed above
        shown = html.unescape((formula or b"").decode("utf-8", "replace")).strip()
        place(attributes, NOT_CALCULATED + "=" + (shown or "..."))
    return cell_texts(rows, columns, texts)


def cell_texts(rows: list[int], columns: list[int], texts: list[str]) -> CellTexts | None:
    """The cells found by a reader's walk, or None for none."""
    if not rows:
        return None
    return CellTexts(
        np.asarray(rows, dtype=np.int64),
        np.asarray(columns, dtype=np.int64),
        np.asarray(texts, dtype=object),
    )


def _cells_with_styles(data: bytes, styles: dict[int, Padding]) -> PaddedCells | None:
    """The numeric cells with one of ``styles``, each with its padding."""
    found = _styled_cells(data, set(styles))
    if found is None:
        return None
    rows, columns, ids = found
    order = sorted(styles)
    slot = {style: i for i, style in enumerate(order)}
    return PaddedCells(
        rows=rows,
        columns=columns,
        format_ids=np.asarray([slot[int(i)] for i in ids], dtype=np.int64),
        formats=[styles[s] for s in order],
    )


def _styled_cells(
    data: bytes, styles: set[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Scan the sheet's XML for the start tags of numeric cells with one of ``styles``:
    their 0-based rows and columns, and styles. The regular expression does the scanning;
    Python sees only the cells it finds."""
    alternatives = b"|".join(str(s).encode() for s in sorted(styles))
    # A self-closed tag (<c r="A5" s="1"/>) is a formatted cell with no value: skipped.
    # A cell's attributes are a few short ones: bounding them keeps a damaged sheet's
    # scan linear (a "<c " with no ">" for megabytes would otherwise be read to its end
    # from every "<c " in it).
    tag = re.compile(
        rb'<(?:[A-Za-z_][\w.-]{0,64}:)?c\s[^<>]{0,1024}?\bs="('
        + alternatives
        + rb')"[^<>]{0,1024}(?<!/)>'
    )
    rows, columns, ids = [], [], []
    for match in tag.finditer(data):
        start = match.group(0)
        kind = _CELL_TYPE.search(start)
        if kind is not None and kind.group(1) != b"n":  # text, a boolean, an error...
            continue
        ref = _CELL_REF.search(start)
        if ref is None:  # a cell placed by order alone: not worth guessing its place
            return None
        rows.append(int(ref.group(2)) - 1)
        columns.append(_column_index(ref.group(1)))
        ids.append(int(match.group(1)))
    if not rows:
        return None
    return (
        np.asarray(rows, dtype=np.int64),
        np.asarray(columns, dtype=np.int64),
        np.asarray(ids, dtype=np.int64),
    )


def _meets(number: pd.Series, operator: str, bound: float) -> pd.Series:
    comparisons = {
        "<=": number.le,
        ">=": number.ge,
        "<>": number.ne,
        "<": number.lt,
        ">": number.gt,
        "=": number.eq,
    }
    return comparisons[operator](bound)


def pad_like_excel(values: pd.Series, padding: Padding) -> pd.Series:
    """Whole non-negative numbers' text as the format shows it: 2134 -> 02134 with (5,),
    21341234 -> 02134-1234 with (5, 4). Excel puts extra digits in the first group; any
    other text (a fraction, a negative number) is left as it is. A format with decimals
    shows a non-negative fraction with its trailing zeros (1.5 -> 1.50 with 0.00) and
    leaves whole numbers as they are (SPEC 3.1: 5 reads 5, not 5.00)."""
    if padding.condition is not None:
        return _pad_by_condition(values, padding, padding.condition)
    if padding.decimals:
        return _fixed_like_excel(values, padding)
    digits = values.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    if not digits.any():
        return values
    groups = padding.groups
    text = values[digits].str.zfill(sum(groups))
    tail = sum(groups[1:])
    shown = text.str.slice(stop=-tail) if tail else text
    at = -tail
    for size, separator in zip(groups[1:], padding.separators, strict=True):
        end = at + size
        shown = shown + separator + text.str.slice(at, end if end < 0 else None)
        at = end
    result = values.copy()
    result[digits] = padding.prefix + shown + padding.suffix
    return result


def _pad_by_condition(
    values: pd.Series, padding: Padding, condition: tuple[str, float]
) -> pd.Series:
    """Each non-negative number padded by the section whose condition it meets."""
    numeric = values.str.fullmatch(r"[0-9]+(?:\.[0-9]+)?").fillna(False).astype(bool)
    if not numeric.any():
        return values
    meets = _meets(values[numeric].astype("float64"), *condition)
    result = values.copy()
    plain = dataclasses.replace(padding, condition=None, otherwise=None)
    result[meets.index[meets]] = pad_like_excel(values[meets.index[meets]], plain)
    if padding.otherwise is not None:
        rest = meets.index[~meets]
        result[rest] = pad_like_excel(values[rest], padding.otherwise)
    return result


def _fixed_like_excel(values: pd.Series, padding: Padding) -> pd.Series:
    """Non-negative fractions' text (Excel's 15 significant digits, as cell_text gives
    them) as a fixed-decimal format shows it: 1.5 -> 1.50 with 0.00, 001.50 with 000.00.
    Only where the format shows every digit: 1.505 shows 1.51 in 0.00, a number the
    user did not type, and rounding would show a quantity of 1.999 as a whole 2.00. Such
    a cell keeps its value's digits, as before."""
    parts = values.str.extract(r"^([0-9]+)\.([0-9]+)$")
    shown = parts[1].str.len().le(padding.decimals).fillna(False).astype(bool)
    if not shown.any():
        return values
    whole = parts.loc[shown, 0].str.zfill(padding.groups[0])
    fraction = parts.loc[shown, 1].str.ljust(padding.decimals, "0")
    result = values.copy()
    result[shown] = padding.prefix + whole + "." + fraction + padding.suffix
    return result
