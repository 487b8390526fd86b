"""The catalogue of problem codes: stable names, severities, and what each means.

Codes are part of the product contract (SPEC section 4); never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    FATAL = "fatal"  # the whole file is rejected
    ERROR = "error"  # the row or order is rejected
    WARNING = "warning"  # accepted, worth a look
    INFO = "info"


@dataclass(frozen=True)
class Code:
    name: str
    severity: Severity
    meaning: str


_CATALOGUE = [
    Code("file-unreadable", Severity.FATAL, "the file cannot be opened or parsed"),
    Code("file-encoding", Severity.FATAL, "the text is in no supported encoding"),
    Code("file-empty", Severity.FATAL, "the file has no data rows"),
    Code("file-kind-unknown", Severity.FATAL, "no recognisable header row"),
    Code("file-too-large", Severity.FATAL, "over the configured size limits"),
    Code("file-already-processed", Severity.WARNING, "same content as an earlier input"),
    Code("header-missing", Severity.FATAL, "a required column is absent"),
    Code("header-duplicate", Severity.FATAL, "two columns mean the same field"),
    Code("header-unknown", Severity.WARNING, "a column that is not recognised; ignored"),
    Code("value-missing", Severity.ERROR, "a required cell is blank"),
    Code("value-not-integer", Severity.ERROR, "a quantity that is not a whole number"),
    Code("value-negative", Severity.ERROR, "a quantity below zero"),
    Code("value-too-long", Severity.ERROR, "longer than the field's limit"),
    Code("order-id-invalid", Severity.ERROR, "order id characters or length not allowed"),
    Code("disposition-invalid", Severity.ERROR, "not an allowed disposition"),
    Code("country-invalid", Severity.ERROR, "not an ISO 3166-1 alpha-2 country code"),
    Code("state-invalid", Severity.ERROR, "not a state or province code of that country"),
    Code("postal-code-invalid", Severity.ERROR, "wrong postal code format for the country"),
    Code("phone-invalid", Severity.ERROR, "cannot be a phone number of the country"),
    Code("order-conflict", Severity.ERROR, "rows of one order disagree on an order field"),
    Code("order-not-contiguous", Severity.WARNING, "rows of one order are not adjacent"),
    Code("order-id-duplicate", Severity.ERROR, "order id already used"),
    Code("order-held", Severity.INFO, "order not written because of its errors"),
    Code("order-split", Severity.WARNING, "order written in parts"),
    Code("address-required", Severity.ERROR, "a Return order lacks an address field"),
    Code("address-ignored", Severity.WARNING, "a Disposal order's address is dropped"),
    Code("address-po-box", Severity.ERROR, "PO box in an address line"),
    Code("address-military", Severity.ERROR, "APO/FPO/DPO military address"),
    Code("address-territory", Severity.ERROR, "US territory address"),
    Code("address-fulfillment-center", Severity.ERROR, "a blocked fulfillment-center address"),
    Code("address-foreign", Severity.ERROR, "a country the marketplace does not return to"),
    Code("sku-unknown", Severity.ERROR, "SKU not in the inventory snapshot"),
    Code("sku-duplicate", Severity.ERROR, "SKU repeated in one order"),
    Code("quantity-zero", Severity.ERROR, "both quantities are zero"),
    Code("quantity-exceeds-sellable", Severity.ERROR, "more sellable units than available"),
    Code("quantity-exceeds-unsellable", Severity.ERROR, "more unsellable units than available"),
    Code("quantity-capped", Severity.WARNING, "reduced to what is available"),
]

CODES: dict[str, Code] = {code.name: code for code in _CATALOGUE}
# code -> severity as text, for Series.map: one dictionary lookup per finding in C, not a
# Python call (a million findings when every line is rejected).
SEVERITY_NAMES: dict[str, str] = {code.name: str(code.severity) for code in _CATALOGUE}


def severity_of(code: str) -> Severity:
    return CODES[code].severity
