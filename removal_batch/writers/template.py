"""The request template workbook (SPEC section 9): what users fill in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from removal_batch.core.fields import ITEM_FIELDS, ORDER_FIELDS, column_letter
from removal_batch.core.rules.address import RETURN_REQUIRED, STATE_REQUIRED_FOR
from removal_batch.core.settings import Settings
from removal_batch.core.wording import megabytes

# Bold: the cells every order (the disposition, on its first row) and every row (the SKU)
# must fill. Not the order id (a blank one continues the order above, or is made) nor the
# quantities (blank = 0). Italic: filled on a Return order's first row (address-required).
REQUIRED = ("RemovalDisposition", "MerchantSKU")
RETURN_ONLY = (*RETURN_REQUIRED, "AddressStateOrRegion")
# Typed as Text so Excel keeps 00123 and 02134 and never shows 1.23E+11; and so that an
# address line or note typed 3-12 or 1-2-3 stays that, not a date (address-required).
TEXT_COLUMNS = frozenset(
    {
        "MerchantRemovalOrderID",
        "AddressName",
        "AddressFieldOne",
        "AddressFieldTwo",
        "AddressFieldThree",
        "AddressCity",
        "AddressPostalCode",
        "ContactPhoneNumber",
        "ShippingNotes",
        "MerchantSKU",
        "AddressStateOrRegion",
        "AddressCountryCode",
    }
)
ROWS = 10_000  # Amazon's limit of SKUs per file
ITEM_FILL = PatternFill(fill_type="solid", start_color="FFD9EAD3", end_color="FFD9EAD3")

# What each column takes. Length limits are added from the request schema (length_limits),
# and the columns that depend on the settings are written by column_help.
COLUMN_HELP = {
    "MerchantRemovalOrderID": "Your id for the order: 1-50 letters, digits, '.', '_' or '-', "
    "starting with a letter or digit. Fill it on an order's first row; a blank id continues "
    "the order above. Each order needs its own id, never used before.",
    "AddressName": "Return: who receives the units.",
    "AddressFieldOne": "Return: street address. No PO boxes, no APO/FPO/DPO addresses.",
    "AddressFieldTwo": "Optional second address line.",
    "AddressFieldThree": "Optional third address line.",
    "AddressCity": "Return: city.",
    "AddressStateOrRegion": "Return: state or province. In the US and Canada it is required, "
    "as its two-letter code, such as NV or ON.",
    "AddressPostalCode": "Return: ZIP or postal code in the country's format, such as 02134 or "
    "89502-1234 in the US. Keep the leading zeros (the column is formatted as Text).",
    "ContactPhoneNumber": "Return: a phone number for the carrier; it must be a possible phone "
    "number in the address's country.",
    "ShippingNotes": "Optional notes for the carrier.",
    "MerchantSKU": "Your seller SKU, exactly as in the inventory report. Each SKU once per order.",
    "SellableQuantity": "Whole number of sellable (fulfillable) units to remove, 0 or more; "
    "blank = 0.",
    "UnsellableQuantity": "Whole number of unsellable units to remove, 0 or more; blank = 0. "
    "Each row needs at least one of the two quantities above 0.",
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


def _home(settings: Settings) -> str:
    """'the United States (US)': where the marketplace sends removal orders."""
    from removal_batch.core.checks import country_name

    return f"{country_name(settings.home_country)} ({settings.home_country})"


def column_help(settings: Settings) -> dict[str, str]:
    """What to enter in each column, for these settings, with each text column's limit as
    validation enforces it (value-too-long)."""
    from removal_batch.core.schema import length_limits

    example = f"{settings.order_id_prefix}-20260115-0001"
    help_text = {
        **COLUMN_HELP,
        "RemovalDisposition": disposition_help(settings.allowed_dispositions)
        + " Fill it on each order's first row.",
        "AddressCountryCode": f"Return: two-letter country code, such as "
        f"{settings.home_country}. The {settings.marketplace} marketplace sends removal "
        f"orders within {_home(settings)} only"
        # The territories are a US rule: elsewhere they are abroad like any other place.
        + (
            ", and never to US territories (PR, GU, VI, AS, MP, UM, FM, MH, PW)."
            if settings.home_country == "US"
            else "."
        ),
    }
    help_text["MerchantRemovalOrderID"] += (
        f" Left blank on the first rows, those rows are one order with an id made for it, "
        f"such as {example}."
    )
    for name, limit in length_limits().items():
        if name in help_text:
            help_text[name] += f" At most {limit} characters."
    return help_text


def _no_address(allowed: tuple[str, ...]) -> str:
    """The rule for the dispositions that need no address, in the words of those offered."""
    dropped = [d for d in allowed if d != "Return"]
    if not dropped:
        return ""
    return f" A {_or(dropped)} order needs no address; one given is ignored (with a warning)."


def rules(settings: Settings) -> list[tuple[str, str]]:
    """The rules of SPEC section 4 as the run applies them, each under a topic, in the words
    of a person filling the sheet (every problem code is one of these sentences)."""
    from removal_batch.core.decide import part_limit

    default = (
        " Blank address fields of a Return with no address of its own are filled from the "
        "default address in your settings."
        if settings.default_address
        else ""
    )
    no_address = _no_address(settings.allowed_dispositions)
    return [
        (
            "Orders",
            "Order fields (the unshaded columns) go on the first row of each order; the rows "
            "below it with a blank order id belong to the same order. Filled on a later row "
            "too, they must be the same as on the first: rows of one order that disagree (on "
            "the disposition or the address) hold the order.",
        ),
        (
            "",
            "Keep the rows of an order together. Rows with the same order id further down are "
            "still put in that order, with a warning.",
        ),
        (
            "",
            "An order id can be used once: an id that another file of the same batch uses, or "
            "that an earlier run sent, holds the order (ids that differ only in capital "
            "letters count as the same). To send a held order later, put it in a new file.",
        ),
        (
            "",
            f"An order of more than {part_limit(settings):,} rows is sent as several orders "
            "with the id followed by -P1, -P2 and so on (with a warning).",
        ),
        (
            "Errors",
            "Orders are all-or-nothing: an order with any error is held back whole and "
            "reported; nothing of it is sent. With --allow-partial (or allow_partial = true in "
            "the settings) an order whose only errors are on some of its rows (an unknown or "
            "repeated SKU, a quantity) is sent without those rows.",
        ),
        (
            "",
            "Every problem is reported with its row and column, in an error report next to "
            "the orders.",
        ),
        (
            "Items",
            "Every row needs a MerchantSKU that is in your inventory report, once per order, "
            "and at least one quantity above 0. A row with no quantity above 0, an unknown SKU "
            "or a SKU repeated in its order holds the order.",
        ),
        (
            "Quantities",
            "Quantities are checked against your inventory report: sellable units against "
            "afn-fulfillable-quantity, unsellable units against afn-unsellable-quantity, first "
            "come, first served across all files of a batch and the orders issued since the "
            "report.",
        ),
        (
            "",
            "A row asking for more units than are left holds its order; the report says how "
            'many are left. With --on-excess cap (or on_excess = "cap" in the settings) the '
            "row is lowered to what is left instead, with a warning, and a row left with "
            "nothing is dropped.",
        ),
        (
            "Addresses",
            "A Return needs a name, address line one, city, country, postal code and phone "
            f"(and a state in the US and Canada).{default}{no_address}",
        ),
        (
            "",
            "Amazon does not send removals to PO boxes, military (APO/FPO/DPO) addresses, US "
            f"territories, or outside {_home(settings)}. Addresses on the blocked list in "
            "your settings (such as Amazon fulfillment centers) are refused too.",
        ),
        (
            "The file",
            "Keep the header row as it is. A file without the RemovalDisposition, MerchantSKU, "
            "SellableQuantity or UnsellableQuantity column, or with two columns for the same "
            "thing, is rejected whole; a column not in this template is ignored, with a "
            "warning.",
        ),
        (
            "",
            "A file is rejected whole when it cannot be opened (damaged, password-protected, "
            "not a spreadsheet), has no rows filled in, or is too large (over "
            f"{megabytes(settings.max_file_bytes)} or {settings.max_rows:,} rows). Saved as "
            "text (.txt, .csv) instead, it must be UTF-8, UTF-16 or Windows (cp1252) text.",
        ),
        (
            "",
            "A file with the same content as one processed before is skipped, so nothing is "
            "sent twice.",
        ),
    ]


def _header_font(name: str) -> Font:
    return Font(bold=name in REQUIRED, italic=name in RETURN_ONLY)


def legend() -> list[str]:
    """What the marks on the header row mean: which cells must be filled, and where."""
    from removal_batch.core.checks import country_name

    states = " or ".join(country_name(c) for c in sorted(STATE_REQUIRED_FOR, reverse=True))
    return [
        "Fill the 'Removal Request' sheet: one row per SKU. Shaded columns are per item (each "
        "row its own); the others are per order, filled on the order's first row. Save it as "
        "it is (.xlsx) and drop it into the workspace inbox.",
        "Bold columns must always be filled: RemovalDisposition on each order's first row, "
        "MerchantSKU on every row.",
        "Italic columns must be filled on the first row of each Return order "
        f"(AddressStateOrRegion only for an address in {states}).",
        "The other columns may be left blank: a blank order id continues the order above "
        "(on the first rows, an id is made), a blank quantity counts as 0.",
    ]


def _length_validations(fields: tuple[str, ...]) -> list[DataValidation]:
    """Excel refuses text over a column's limit as it is typed (one rule per limit), the
    limit validation holds an order for (value-too-long)."""
    from removal_batch.core.schema import length_limits

    by_limit: dict[int, DataValidation] = {}
    for name, limit in length_limits().items():
        if name not in fields:
            continue
        if limit not in by_limit:
            by_limit[limit] = DataValidation(
                type="textLength",
                operator="lessThanOrEqual",
                formula1=str(limit),
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Too long",
                error=f"At most {limit} characters.",
            )
        col = column_letter(fields.index(name))
        by_limit[limit].add(f"{col}2:{col}{ROWS + 1}")
    return list(by_limit.values())


def write_template(path: Path, settings: Settings | None = None) -> None:
    """``settings``: those the filled workbook will be run with. The drop-down offers their
    allowed dispositions only: a value Excel's list refuses cannot be typed in, and one the
    run refuses holds its order."""
    settings = settings or Settings()
    dispositions = settings.allowed_dispositions
    help_text = column_help(settings)
    book = Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    fields = ORDER_FIELDS + ITEM_FIELDS
    for j, name in enumerate(fields):
        cell = sheet.cell(row=1, column=j + 1, value=name)
        cell.font = _header_font(name)
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
    for validation in _length_validations(fields):
        sheet.add_data_validation(validation)
    info = book.create_sheet("Instructions")
    info.column_dimensions["A"].width = 26
    info.column_dimensions["B"].width = 100
    info.append(["removal-batch request template"])
    info["A1"].font = Font(bold=True, size=14)
    for line in legend():
        info.append([line])
    info.append([])
    info.append(["Column", "What to enter"])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    info.cell(row=info.max_row, column=2).font = Font(bold=True)
    for name in fields:
        info.append([name, help_text[name]])
        # Marked as on the sheet, so the legend reads the same in both places.
        info.cell(row=info.max_row, column=1).font = _header_font(name)
    info.append([])
    info.append(["Rules"])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    for topic, rule in rules(settings):
        info.append([topic, rule])
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
