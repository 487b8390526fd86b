"""The request template workbook (SPEC section 9): what users fill in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from removal_batch.core.fields import ITEM_FIELDS, ORDER_FIELDS, column_letter
from removal_batch.core.settings import Settings

REQUIRED = frozenset(
    {
        "MerchantRemovalOrderID",
        "RemovalDisposition",
        "MerchantSKU",
        "SellableQuantity",
        "UnsellableQuantity",
    }
)
# Typed as Text so Excel keeps 00123 and 02134 and never shows 1.23E+11.
TEXT_COLUMNS = frozenset(
    {
        "MerchantRemovalOrderID",
        "AddressPostalCode",
        "ContactPhoneNumber",
        "MerchantSKU",
        "AddressStateOrRegion",
        "AddressCountryCode",
    }
)
ROWS = 10_000  # Amazon's limit of SKUs per file
ITEM_FILL = PatternFill(fill_type="solid", start_color="FFD9EAD3", end_color="FFD9EAD3")

COLUMN_HELP = {
    "MerchantRemovalOrderID": "Your id for the order: 1-50 letters, digits, '.', '_' or '-', "
    "starting with a letter or digit. Fill it on an order's first row; a blank id continues "
    "the order above. Left blank on the first rows, an id is generated.",
    "AddressName": "Return: who receives the units.",
    "AddressFieldOne": "Return: street address. No PO boxes, no APO/FPO/DPO addresses.",
    "AddressFieldTwo": "Optional second address line.",
    "AddressFieldThree": "Optional third address line.",
    "AddressCity": "Return: city.",
    "AddressCountryCode": "Return: two-letter country code, such as US. The US marketplace "
    "returns within the US only, and not to US territories.",
    "AddressStateOrRegion": "Return: two-letter state or province code (US and Canada), such "
    "as NV.",
    "AddressPostalCode": "Return: ZIP or postal code, such as 02134 or 89502-1234. Keep the "
    "leading zeros (the column is formatted as Text).",
    "ContactPhoneNumber": "Return: a phone number for the carrier.",
    "ShippingNotes": "Optional notes for the carrier.",
    "MerchantSKU": "Your seller SKU, exactly as in the inventory report (at most 40 "
    "characters). Each SKU once per order.",
    "SellableQuantity": "Whole number of sellable (fulfillable) units to remove; blank = 0.",
    "UnsellableQuantity": "Whole number of unsellable units to remove; blank = 0.",
}
# What each disposition does, in the order of the drop-down.
DISPOSITION_HELP = {
    "Return": "Return (the units are shipped to the address on the order)",
    "Disposal": "Disposal (Amazon disposes of the units)",
    "Liquidations": "Liquidations (Amazon sells the units off for you)",
}


def _or(words: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def disposition_help(allowed: tuple[str, ...]) -> str:
    """The disposition column's help: exactly the choices the drop-down offers."""
    if len(allowed) == 1:
        return f"{DISPOSITION_HELP[allowed[0]]}: the only disposition your settings allow."
    return f"Choose from the list: {_or([DISPOSITION_HELP[d] for d in allowed])}."


def _no_address(allowed: tuple[str, ...]) -> str:
    """The rule for the dispositions that need no address, in the words of those offered."""
    dropped = [d for d in allowed if d != "Return"]
    if not dropped:
        return ""
    return f" A {_or(dropped)} order needs no address; one given is ignored."


RULES = [
    "Order fields (the unshaded columns) go on the first row of each order; the rows below it "
    "with a blank order id belong to the same order. Keep the rows of an order together.",
    "Orders are all-or-nothing: an order with any error is held back whole and reported.",
    "Quantities are checked against your inventory report: sellable units against "
    "afn-fulfillable-quantity, unsellable units against afn-unsellable-quantity, first come, "
    "first served across all files of a batch and the orders issued since the report.",
    "A Return needs a name, address line one, city, country, postal code and phone (and a "
    "state in the US and Canada).{no_address}",
    "Amazon does not send removals to PO boxes, military (APO/FPO/DPO) addresses, US "
    "territories, other fulfillment centers, or outside the marketplace's country.",
    "Each problem is reported with its row and column, in an error report next to the orders.",
]


def write_template(path: Path, settings: Settings | None = None) -> None:
    """``settings``: those the filled workbook will be run with. The drop-down offers their
    allowed dispositions only: a value Excel's list refuses cannot be typed in, and one the
    run refuses holds its order."""
    dispositions = (settings or Settings()).allowed_dispositions
    column_help = {**COLUMN_HELP, "RemovalDisposition": disposition_help(dispositions)}
    book = Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    fields = ORDER_FIELDS + ITEM_FIELDS
    for j, name in enumerate(fields):
        cell = sheet.cell(row=1, column=j + 1, value=name)
        cell.font = Font(bold=name in REQUIRED)
        letter = column_letter(j)
        if name in ITEM_FIELDS:
            cell.fill = ITEM_FILL
        sheet.column_dimensions[letter].width = max(14, len(name) + 2)
        if name in TEXT_COLUMNS:
            # Format the empty cells users will type into, so Excel stores text.
            for row in range(2, ROWS + 2):
                sheet.cell(row=row, column=j + 1).number_format = "@"
    sheet.freeze_panes = "A2"
    disposition = DataValidation(
        type="list",
        formula1='"' + ",".join(dispositions) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Disposition",
        error=f"Choose {_or(list(dispositions))}.",
    )
    disposition.add(f"B2:B{ROWS + 1}")
    whole = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Quantity",
        error="Enter a whole number of units, 0 or more.",
    )
    quantity_cols = [
        column_letter(fields.index(f)) for f in ("SellableQuantity", "UnsellableQuantity")
    ]
    for col in quantity_cols:
        whole.add(f"{col}2:{col}{ROWS + 1}")
    sheet.add_data_validation(disposition)
    sheet.add_data_validation(whole)
    info = book.create_sheet("Instructions")
    info.column_dimensions["A"].width = 26
    info.column_dimensions["B"].width = 100
    info.append(["removal-batch request template"])
    info["A1"].font = Font(bold=True, size=14)
    info.append(
        [
            "Fill the 'Removal Request' sheet: one row per SKU. Bold columns are "
            "required; shaded columns are per item, the others per order. Save it as it is "
            "(.xlsx) and drop it into the workspace inbox."
        ]
    )
    info.append([])
    info.append(["Column", "What to enter"])
    info["A4"].font = info["B4"].font = Font(bold=True)
    for name in fields:
        info.append([name, column_help[name]])
    info.append([])
    info.append(["Rules"])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    for rule in RULES:
        info.append(["", rule.format(no_address=_no_address(dispositions))])
    for row in info.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".template-", suffix=".xlsx")
    os.close(fd)
    try:
        book.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
