"""What an old .xls sheet holds that calamine does not say: error cells and numbers in a
zero-padding format (see sheet_xml for .xlsx, ods_xml for .ods).

calamine reads an error cell (#N/A from a failed lookup) as blank, a quantity of 0 or an
order id that joins the order above, and gives a ZIP code in Excel's Zip Code format
(00000) as 2134. xlrd, the reference reader of the BIFF format, reads the cells' types
and formats; it is asked only where calamine's reading would be wrong. Any failure here
is silent: calamine's values stand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from removal_batch.readers.sheet_xml import CellTexts, SheetExtras, pad_like_excel, padding_of

_ERROR, _NUMBER = 5, 2  # xlrd's cell types (XL_CELL_ERROR, XL_CELL_NUMBER)


def xls_extras(path: Path, sheet: str) -> SheetExtras:
    try:
        return _cells(path, sheet)
    except Exception:  # noqa: BLE001 - see the module's docstring: values stay calamine's
        return SheetExtras()


def _cells(path: Path, sheet: str) -> SheetExtras:
    import xlrd
    from xlrd.biffh import error_text_from_code

    book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    try:
        grid = book.sheet_by_name(sheet)
        # Cell styles (XF indexes) whose number format pads with zeros.
        padded_xf = {}
        for index, xf in enumerate(book.xf_list):
            shown = book.format_map.get(xf.format_key)
            padding = padding_of(shown.format_str) if shown is not None else None
            if padding is not None:
                padded_xf[index] = padding
        rows: list[int] = []
        columns: list[int] = []
        texts: list[str] = []
        for column in range(grid.ncols):
            types = grid.col_types(column)
            for row, kind in enumerate(types):
                if kind == _ERROR:
                    code = grid.cell_value(row, column)
                    texts.append(error_text_from_code.get(code, "#N/A"))
                elif kind == _NUMBER and padded_xf:
                    padding = padded_xf.get(grid.cell_xf_index(row, column))
                    value = grid.cell_value(row, column)
                    if padding is None or value != int(value) or value < 0:
                        continue
                    texts.append(str(pad_like_excel(pd.Series([str(int(value))]), padding).iloc[0]))
                else:
                    continue
                rows.append(row)
                columns.append(column)
    finally:
        book.release_resources()
    if not rows:
        return SheetExtras()
    placed = CellTexts(np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64), texts)
    return SheetExtras(unvalued=placed)
