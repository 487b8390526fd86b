"""Writes fixed-decimals.xls beside this script, as old exporters write .xls.

Needs xlwt (pip install xlwt), which is not a dependency of the project: the fixture is
committed, and this is how it was made. Its "Removal Request" sheet holds four Disposal
orders D0-D3, each of 1 unit of a SKU typed as a number in a fixed-decimal format:
1.5 in 0.00 (shown 1.50), 1.505 in 0.00 (shown 1.51), 2 in 0.00 (shown 2.00) and 1.25
in 000.00 (shown 001.25).
"""

from pathlib import Path

import xlwt

header = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]
book = xlwt.Workbook()
sheet = book.add_sheet("Removal Request")
for j, h in enumerate(header):
    sheet.write(0, j, h)
cells = [(1.5, "0.00"), (1.505, "0.00"), (2, "0.00"), (1.25, "000.00")]
for i, (sku, code) in enumerate(cells):
    sheet.write(i + 1, 0, f"D{i}")
    sheet.write(i + 1, 1, "Disposal")
    sheet.write(i + 1, 2, sku, xlwt.easyxf(num_format_str=code))
    sheet.write(i + 1, 3, 1)
    sheet.write(i + 1, 4, 0)
book.save(str(Path(__file__).with_name("fixed-decimals.xls")))
