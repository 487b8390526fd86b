"""Writes hidden-rows-and-columns.xls beside this script, as old exporters write .xls.

Needs xlwt (pip install xlwt), which is not a dependency of the project: the fixture is
committed, and this is how it was made. Its "Removal Request" sheet holds three Disposal
orders of SKU-4, R1 to R3 on rows 2 to 4; row 3 is hidden, and so are column D
(SellableQuantity) and column F (a column of notes).
"""

from pathlib import Path

import xlwt

header = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
    "Notes",
]
book = xlwt.Workbook()
sheet = book.add_sheet("Removal Request")
for j, h in enumerate(header):
    sheet.write(0, j, h)
for i in range(3):
    for j, value in enumerate([f"R{i + 1}", "Disposal", "SKU-4", 1, 0, "checked"]):
        sheet.write(i + 1, j, value)
sheet.row(2).hidden = True
sheet.col(3).hidden = True
sheet.col(5).hidden = True
book.save(str(Path(__file__).with_name("hidden-rows-and-columns.xls")))
