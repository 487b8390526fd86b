"""Writes merged-cells.xls beside this script: an .xls whose cells are merged.

Needs xlwt (pip install xlwt), which is not a dependency of the project: the fixture is
committed, and this is how it was made. Its "Removal Request" sheet holds:
  rows 2-3: orders M1 and M2, their disposition "Disposal" merged over B2:B3
  rows 4-5: order M3, SKU-4 and 00123, the unsellable quantity 1 merged over E4:E5
"""

from pathlib import Path

import xlwt

book = xlwt.Workbook()
sheet = book.add_sheet("Removal Request")
header = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]
for j, h in enumerate(header):
    sheet.write(0, j, h)
text = xlwt.easyxf(num_format_str="@")
sheet.write(1, 0, "M1")
sheet.write_merge(1, 2, 1, 1, "Disposal")
sheet.write(1, 2, "SKU-4")
sheet.write(1, 3, 1)
sheet.write(2, 0, "M2")
sheet.write(2, 2, "ABC-1")
sheet.write(2, 3, 1)
sheet.write(3, 0, "M3")
sheet.write(3, 1, "Disposal")
sheet.write(3, 2, "SKU-4")
sheet.write(3, 3, 2)
sheet.write_merge(3, 4, 4, 4, 1)
sheet.write(4, 2, "00123", text)
sheet.write(4, 3, 2)
book.save(str(Path(__file__).with_name("merged-cells.xls")))
