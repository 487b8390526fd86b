"""Writes scaled-quantities.xls beside this script, as old exporters write .xls.

Needs xlwt (pip install xlwt), which is not a dependency of the project: the fixture is
committed, and this is how it was made. Its "Removal Request" sheet holds three Disposal
orders of SKU-4 (UnsellableQuantity 0):
  row 2: R1, SellableQuantity 5000 in a #,##0, format (shown as 5)
  row 3: R2, SellableQuantity 0.05 in a 0% format (shown as 5%)
  row 4: R3, SellableQuantity 5 in a #,##0 format (shown as 5)
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
formats = ["#,##0,", "0%", "#,##0"]
for i, (value, shown) in enumerate(zip([5000, 0.05, 5], formats, strict=True)):
    sheet.write(i + 1, 0, f"R{i + 1}")
    sheet.write(i + 1, 1, "Disposal")
    sheet.write(i + 1, 2, "SKU-4")
    sheet.write(i + 1, 3, value, xlwt.easyxf(num_format_str=shown))
    sheet.write(i + 1, 4, 0)
book.save(str(Path(__file__).with_name("scaled-quantities.xls")))
