"""What an .ods sheet's XML says that calamine does not: the text a cell shows where it
differs from its value, the rows LibreOffice hides and the cells it merges (see
sheet_xml for .xlsx).

An OpenDocument cell keeps its value (office:value="2134") and the text it shows
(<text:p>02134</text:p>), formatted. calamine gives the value, so a ZIP code in a
00000 format read as 2134, and a SKU as 456 for 00456. A formula that failed keeps its
error as its text (#N/A), and calamine gives a blank (a quantity of 0). Rows hidden by
hand or by a filter are read and checked like the others, and named.

The cells are placed by walking the sheet's rows and cells (repeats counted), which
costs seconds on a sheet of a hundred thousand rows: it is done only when one search of
the XML finds something to place. Any failure here is silent: calamine's values stand.
"""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from removal_batch.core.raw_table import SPREADSHEET_ERROR
from removal_batch.readers.sheet_xml import SheetExtras, cell_texts

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CALC_EXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_ROW, _CELL = f"{{{_TABLE}}}table-row", f"{{{_TABLE}}}table-cell"
_COVERED = f"{{{_TABLE}}}covered-table-cell"
_SHEET = f"{{{_TABLE}}}table"
_COLUMN = f"{{{_TABLE}}}table-column"
# A float cell shown with leading zeros, an error's text, a hidden row, a merged cell, or a
# number shown as another (a percentage; a format dividing by a thousand): without one of
# them the walk is skipped.
_WORTH_A_WALK = re.compile(
    rb'office:value-type="float"[^<>]{0,2048}>\s*<text:p>'
    rb"(?:0[0-9]|[0-9]+-[0-9]|[0-9]+\.[0-9]*[1-9]0+</text:p>)"
    rb'|office:value-type="percentage"|number:display-factor='
    rb'|calcext:value-type="error"'
    rb"|<text:p>(?:" + SPREADSHEET_ERROR.encode() + rb")</text:p>"
    rb'|table:visibility="(?:collapse|filter)"'
    rb"|table:number-(?:rows|columns)-spanned=\"(?:[2-9]|[1-9][0-9])"
)
# Cells placed beyond this are a sheet built to exhaust a reader: given up on (calamine's
# values stand; its own limits refuse such a sheet).
_MOST_PLACED = 2_000_000
# Rows or cells repeated beyond this are the sheet's empty rest (LibreOffice writes
# 1,048,000 repeated empty rows): not walked cell by cell.
_MOST_REPEATS = 100_000
# A sheet's rows and columns (LibreOffice's, as Excel's). Empty rows and columns cost
# calamine nothing, so a hidden one repeated over and over is not limited by it: 3,000 rows
# of 100,000 in a 2 KB file named 300 million hidden rows, 2.4 GB. None past the sheet's
# edge is named.
_SHEET_ROWS = 1_048_576
_SHEET_COLUMNS = 16_384


def ods_extras(path: Path, sheet: str) -> SheetExtras:
    """The named sheet's shown texts and hidden rows; nothing for anything not an .ods or
    not understood."""
    try:
        with zipfile.ZipFile(path) as archive:
            if (
                archive.read("mimetype").strip()
                != b"application/vnd.oasis.opendocument.spreadsheet"
            ):
                return SheetExtras()
            with archive.open("content.xml") as handle:
                data = handle.read()
            # A named style (styles.xml) may divide what its cells show by a thousand.
            named = archive.read("styles.xml") if "styles.xml" in archive.namelist() else b""
        if _WORTH_A_WALK.search(data) is None and b"number:display-factor=" not in named:
            return SheetExtras()
        return _walk(data, sheet)
    except Exception:  # noqa: BLE001 - see the module's docstring: values stay calamine's
        return SheetExtras()


# The most <text:s/> spaces spelled out for one cell: more than a cell holds (Excel's limit
# is 32,767 characters). Each is a count in the XML: text:c="99999999" in a 600-byte file
# made 100 million spaces, half a minute and a gigabyte to check the file.
_MOST_SPACES = 32_767


def _shown_text(cell: ElementTree.Element) -> str:
    """A cell's shown text: its paragraphs, with <text:s/> spaces, joined by line breaks."""
    lines = []
    room = _MOST_SPACES
    for paragraph in cell.iter(f"{{{_TEXT}}}p"):
        parts = [paragraph.text or ""]
        for child in paragraph:
            if child.tag == f"{{{_TEXT}}}s":
                spaces = max(0, min(int(child.get(f"{{{_TEXT}}}c", "1")), room))
                room -= spaces
                parts.append(" " * spaces)
            else:
                parts.append("".join(child.itertext()))
            parts.append(child.tail or "")
        lines.append("".join(parts))
    return "\n".join(lines)


def _plainly_shown(cell: ElementTree.Element) -> bool:
    """A number shown as its own value, one paragraph of plain text ("5" for 5): by far
    the most cells of a sheet, and nothing to look at further."""
    value = cell.get(f"{{{_OFFICE}}}value")
    if value is None or len(cell) != 1:
        return False
    paragraph = cell[0]
    return paragraph.tag == f"{{{_TEXT}}}p" and len(paragraph) == 0 and paragraph.text == value


def _as_shown(cell: ElementTree.Element) -> str | None:
    """The text to read for a cell where calamine's value would be wrong, else None."""
    error = cell.get(f"{{{_CALC_EXT}}}value-type") == "error"
    formula = cell.get(f"{{{_TABLE}}}formula") is not None
    number = cell.get(f"{{{_OFFICE}}}value-type") == "float"
    if not (error or formula or number):
        return None
    if not error and number and _plainly_shown(cell):
        return None  # its value, as calamine reads it (a formula's too: no error shown)
    shown = _shown_text(cell).strip()
    if error:
        return shown or None
    # A formula's error shown as its text, its value type absent or a 0 beside it.
    if formula and re.fullmatch(SPREADSHEET_ERROR, shown):
        return shown
    if not number:
        return None
    if re.fullmatch(r"[0-9]+\.[0-9]+", shown):
        return _fraction_as_shown(cell, shown)
    # Only digits that are the value itself, padded with zeros or in groups split by
    # hyphens: 02134 for 2134, 02134-1234 for 21341234 (a ZIP+4 in a 00000-0000 format),
    # 100-0001 (a Japanese postal code). Any other format (1,234.00, 1 234, 5%, a date) is
    # left as calamine reads it: a quantity never shows its digits split by hyphens.
    if not re.fullmatch(r"0[0-9]+|[0-9]+(?:-[0-9]+)+", shown):
        return None
    try:
        value = float(cell.get(f"{{{_OFFICE}}}value", ""))
    except ValueError:
        return None
    return shown if value == int(shown.replace("-", "")) else None


def _fraction_as_shown(cell: ElementTree.Element, shown: str) -> str | None:
    """A fraction shown with the trailing zeros of a fixed-decimal format (1.5 shown 1.50
    by 0.00, 001.50 by 000.00), as an .xlsx's is read (sheet_xml.pad_like_excel): where
    the text is the value itself, to Excel's 15 significant digits. A rounded one (1.505
    shown 1.51) keeps its value's digits; so does a whole number (2, not 2.00)."""
    try:
        value = float(cell.get(f"{{{_OFFICE}}}value", ""))
    except ValueError:
        return None
    if value.is_integer() or Decimal(shown) != Decimal(format(value, ".15g")):
        return None
    return shown


# The number a cell shows: its first run of digits with separators (a currency sign or a
# unit around it is left out).
_SHOWN_NUMBER = re.compile(r"-?[0-9][0-9.,' \u00a0\u202f]*")


def _shown_readings(shown: str) -> list[tuple[float, int]]:
    """The numbers a shown text can mean, each with its decimal places: 5,000 is 5000 with
    a decimal point and 5.000 with a decimal comma."""
    match = _SHOWN_NUMBER.search(shown)
    if match is None:
        return []
    digits = re.sub(r"[' \u00a0\u202f]", "", match.group()).rstrip(".,")
    readings = []
    for group, point in ((",", "."), (".", ",")):
        text = digits.replace(group, "").replace(point, ".")
        try:
            number = float(text)
        except ValueError:
            continue
        readings.append((number, len(text.partition(".")[2])))
    return readings


def _shown_as_another(cell: ElementTree.Element) -> str | None:
    """How a numeric cell shows a number other than its value, as the end of a sentence
    about the cell (as sheet_xml.shown_otherwise words an .xlsx's); None when it shows
    its value. A percentage (0.05 shown 5%), or a format dividing by a thousand (5000 shown
    5, LibreOffice's display factor): which number the user means is unclear."""
    kind = cell.get(f"{{{_OFFICE}}}value-type")
    if kind not in ("float", "percentage", "currency"):
        return None
    if kind != "percentage" and _plainly_shown(cell):
        return None
    try:
        value = float(cell.get(f"{{{_OFFICE}}}value", ""))
    except ValueError:
        return None
    if value == 0:
        return None  # 0 shows as itself, 0%
    shown = _shown_text(cell).strip()
    if kind == "percentage":
        return f"the sheet shows it as {shown} (a percentage: times 100)"
    if value != int(value) or re.search(r"[0-9][Ee][+-]?[0-9]", shown):
        return None  # a fraction's rounding, or a scientific format: the value's own digits
    readings = _shown_readings(shown)

    def shows(number: float) -> bool:  # as LibreOffice rounds it to the places shown
        return any(abs(number - reading) <= 0.5 / 10**places for reading, places in readings)

    if not readings or shows(value):
        return None
    for power in (1, 2, 3):
        if shows(value / 1000**power):
            return f"the sheet shows it as {shown} (its format divides by {1000**power:,})"
    return None


def _walk(data: bytes, sheet: str) -> SheetExtras:
    rows: list[int] = []
    columns: list[int] = []
    texts: list[str] = []
    hidden: list[np.ndarray] = []
    hidden_columns: list[np.ndarray] = []
    next_column = 0  # of the next <table:table-column>
    merged: list[tuple[int, int, int, int]] = []
    scaled: dict[tuple[int, int], str] = {}
    row_scaled: list[tuple[int, str]] = []  # this row's: column, how
    in_sheet = False
    row = 0  # 0-based row of the next <table:row>
    column = row_starts = 0
    for event, element in ElementTree.iterparse(io.BytesIO(data), events=("start", "end")):
        tag = element.tag
        if tag == _SHEET:
            if event == "start":
                in_sheet = element.get(f"{{{_TABLE}}}name") == sheet
            elif in_sheet:
                break
            continue
        if not in_sheet:
            if event == "end" and tag in (_CELL, _COVERED, _ROW):
                element.clear()
            continue
        if tag == _COLUMN and event == "start":
            repeat = int(element.get(f"{{{_TABLE}}}number-columns-repeated", "1"))
            if element.get(f"{{{_TABLE}}}visibility") in ("collapse", "filter"):
                span = max(0, min(repeat, _MOST_REPEATS, _SHEET_COLUMNS - next_column))
                hidden_columns.append(np.arange(next_column, next_column + span))
            next_column += repeat
        elif tag == _ROW and event == "start":
            column = 0
            row_starts = len(rows)  # this row's cells are placed from here
            row_scaled = []
        elif tag in (_CELL, _COVERED) and event == "end":
            repeat = int(element.get(f"{{{_TABLE}}}number-columns-repeated", "1"))
            shown = _as_shown(element) if tag == _CELL else None
            if tag == _CELL:
                down = int(element.get(f"{{{_TABLE}}}number-rows-spanned", "1"))
                across = int(element.get(f"{{{_TABLE}}}number-columns-spanned", "1"))
                if down > 1 or across > 1:
                    merged.append((row + 1, column, row + down, column + across - 1))
            how = _shown_as_another(element) if tag == _CELL else None
            times = min(repeat, _MOST_REPEATS)
            # The budget is judged before a repeat is spread out, not after: a 1 KB file
            # repeating 200 cells over 100,000 rows built 20 million entries (2.6 GB)
            # before the count below was reached.
            if (how is not None or shown is not None) and (
                len(rows) + len(scaled) + len(row_scaled) + times > _MOST_PLACED
            ):
                return SheetExtras()
            if how is not None:
                row_scaled += [(column + k, how) for k in range(times)]
            if shown is not None:
                for k in range(times):
                    rows.append(row)
                    columns.append(column + k)
                    texts.append(shown)
            column += repeat
            element.clear()
            if len(rows) + len(row_scaled) > _MOST_PLACED:
                return SheetExtras()
        elif tag == _ROW and event == "end":
            repeat = int(element.get(f"{{{_TABLE}}}number-rows-repeated", "1"))
            if element.get(f"{{{_TABLE}}}visibility") in ("collapse", "filter"):
                last = min(row + min(repeat, _MOST_REPEATS), _SHEET_ROWS)
                hidden.append(np.arange(row + 1, last + 1))
            times = min(repeat, _MOST_REPEATS)
            spread = (len(row_scaled) + len(rows) - row_starts) * (times - 1)
            if spread and len(rows) + len(scaled) + spread > _MOST_PLACED:
                return SheetExtras()
            for k in range(times if row_scaled else 0):
                scaled.update(((row + k, c), how) for c, how in row_scaled)
            if repeat > 1 and len(rows) > row_starts:  # a repeated row repeats its cells
                placed = slice(row_starts, len(rows))
                row_columns, row_texts = columns[placed], texts[placed]
                for k in range(1, min(repeat, _MOST_REPEATS)):
                    rows += [row + k] * len(row_columns)
                    columns += row_columns
                    texts += row_texts
            row += repeat
            element.clear()
            if len(rows) + len(scaled) > _MOST_PLACED:
                return SheetExtras()
    hidden_rows = np.concatenate(hidden) if hidden else np.zeros(0, dtype=np.int64)
    return SheetExtras(
        hidden_rows=hidden_rows.astype(np.int64),
        hidden_columns=(
            np.concatenate(hidden_columns) if hidden_columns else np.zeros(0, dtype=np.int64)
        ).astype(np.int64),
        unvalued=cell_texts(rows, columns, texts),
        merged=np.array(merged, dtype=np.int64).reshape(-1, 4) if merged else None,
        scaled=scaled,
    )
