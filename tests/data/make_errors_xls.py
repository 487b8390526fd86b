"""Writes errors-and-zip-format.xls beside this script, as old exporters write .xls.

Needs xlwt (pip install xlwt), which is not a dependency of the project: the fixture is
committed, and this is how it was made. Its "Removal Request" sheet holds:
  row 2: R1, a Return to Boston MA, ZIP 2134 in a 00000 format, SKU-4 1 and #DIV/0!
  row 3: #N/A as the order id, SKU-4 2 and 0
"""

from pathlib import Path

import xlwt

header = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "AddressName",
    "AddressFieldOne",
    "AddressCity",
    "AddressCountryCode",
    "AddressStateOrRegion",
    "AddressPostalCode",
    "ContactPhoneNumber",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]
book = xlwt.Workbook()
sheet = book.add_sheet("Removal Request")
for j, h in enumerate(header):
    sheet.write(0, j, h)
zip_style = xlwt.easyxf(num_format_str="00000")
row = [
    "R1",
    "Return",
    "Acme Returns",
    "1 Main St",
    "Boston",
    "US",
    "MA",
    None,
    "617-555-0142",
    "SKU-4",
    1,
    None,
]
for j, v in enumerate(row):
    if v is not None:
        sheet.write(1, j, v)
sheet.write(1, 7, 2134, zip_style)
sheet.row(1).set_cell_error(11, 0x07)  # #DIV/0!
sheet.row(2).set_cell_error(0, 0x2A)  # #N/A
for j, v in enumerate([None, "Disposal", None, None, None, None, None, None, None, "SKU-4", 2, 0]):
    if v is not None:
        sheet.write(2, j, v)
book.save(str(Path(__file__).with_name("errors-and-zip-format.xls")))
