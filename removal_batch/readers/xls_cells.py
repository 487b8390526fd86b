"""What an old .xls sheet holds that calamine does not say: error cells and numbers in a
zero-padding format (see sheet_xml for .xlsx, ods_xml for .ods).

calamine reads an error cell (#N/A from a failed lookup) as blank, a quantity of 0 or an
order id that joins the order above, and gives a ZIP code in Excel's Zip Code format
(00000) as 2134. xlrd, the reference reader of the BIFF format, reads the cells' types
and formats; it is asked only where calamine's reading would be wrong. Any failure here
is silent: calamine's values stand.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from removal_batch.readers.sheet_xml import (
    SheetExtras,
    cell_texts,
    digits_trusted,
    pad_like_excel,
    padding_of,
    shown_otherwise,
)

_ERROR, _NUMBER = 5, 2  # xlrd's cell types (XL_CELL_ERROR, XL_CELL_NUMBER)


def xls_extras(path: Path, sheet: str) -> SheetExtras:
    try:
        return _cells(path, sheet)
    except Exception:  # noqa: BLE001 - see the module's docstring: values stay calamine's
        return SheetExtras()


def _cells(path: Path, sheet: str) -> SheetExtras:
    import xlrd
    from xlrd.biffh import error_text_from_code

    # xlrd writes its warnings to stdout, into `--json`'s output: they go nowhere.
    book = xlrd.open_workbook(
        str(path), formatting_info=True, on_demand=True, logfile=io.StringIO()
    )
    try:
        grid = book.sheet_by_name(sheet)
        # Cell styles (XF indexes) whose number format pads with zeros.
        padded_xf = {}
        # And those whose format shows a number as another (#,##0, shows 5000 as 5).
        scaled_xf = {}
        for index, xf in enumerate(book.xf_list):
            shown = book.format_map.get(xf.format_key)
            code = shown.format_str if shown is not None else ""
            padding = padding_of(code) if code else None
            if padding is not None:
                padded_xf[index] = padding
            how = shown_otherwise(code) if code else None
            if how is not None:
                scaled_xf[index] = how
        scaled: dict[tuple[int, int], str] = {}
        rows: list[int] = []
        columns: list[int] = []
        texts: list[str] = []
        for column in range(grid.ncols):
            types = np.asarray(grid.col_types(column))
            for row in np.flatnonzero(types == _ERROR).tolist():
                rows.append(row)
                columns.append(column)
                texts.append(error_text_from_code.get(grid.cell_value(row, column), "#N/A"))
            if not padded_xf and not scaled_xf:
                continue
            # Non-negative numbers of each padded style, padded in one step per style (xlrd
            # gives a cell's style one cell at a time): whole ones, and fractions for a
            # fixed-decimal format (1.5 shown 1.50 by 0.00).
            numbers: dict[int, list[int]] = {}
            for row in np.flatnonzero(types == _NUMBER).tolist():
                value = grid.cell_value(row, column)
                style = grid.cell_xf_index(row, column)
                if style in scaled_xf:
                    scaled[(row, column)] = scaled_xf[style]
                if style in padded_xf and value >= 0:
                    numbers.setdefault(style, []).append(row)
            for style, at in numbers.items():
                digits = pd.Series([_number_text(grid.cell_value(r, column)) for r in at])
                rows += at
                columns += [column] * len(at)
                texts += pad_like_excel(digits, padded_xf[style]).tolist()
        # Rows (as shown, from 1) and columns (from 0) the sheet hides: read all the same.
        hidden_rows = sorted(r + 1 for r, info in grid.rowinfo_map.items() if info.hidden)
        hidden_columns = sorted(c for c, info in grid.colinfo_map.items() if info.hidden)
    finally:
        book.release_resources()
    return SheetExtras(
        unvalued=cell_texts(rows, columns, texts),
        scaled=scaled,
        hidden_rows=np.asarray(hidden_rows, dtype=np.int64),
        hidden_columns=np.asarray(hidden_columns, dtype=np.int64),
    )


def _number_text(value: float) -> str:
    """A number's text as the workbook reader gives it (its cell_text): a whole number's
    digits where they can be trusted, else Excel's 15 significant digits."""
    if value == int(value) and digits_trusted(value):
        return str(int(value))
    return format(value, ".15g")
