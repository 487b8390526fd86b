"""Run the request schema lazily over all rows and turn failures into Problem records."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.checks import (
    DOT_GROUPED,
    EXCEL_DATE,
    EXCEL_SCIENTIFIC,
    MILITARY_STATE_NAMES,
    ORDER_COUNTRY,
    UNSAVED_FORMULA,
    country_codes,
    country_meant,
    country_name,
    judged_country,
    load_reference_data,
    phone_abroad,
    phone_lacks_area_code,
    phone_outside_nanp_plan,
    state_meant,
)
from removal_batch.core.fields import (
    ADDRESS_FIELDS,
    ALL_FIELDS,
    INVISIBLE,
    ORDER_FIELDS,
    first_invisible,
    non_empty,
)
from removal_batch.core.orders import list_numbers, order_values
from removal_batch.core.problems import concat_problems, empty_problems, normalise_problems
from removal_batch.core.raw_table import NOT_CALCULATED, SPREADSHEET_ERROR, error_meaning
from removal_batch.core.rules.address import US_TERRITORIES, default_address_refusals
from removal_batch.core.schema import length_limits, request_schema, schema_errors
from removal_batch.core.settings import DISPOSITIONS, Settings
from removal_batch.core.shape import RequestTable
from removal_batch.core.wording import grouped

# pandera check name -> SPEC code. One place, so a code never drifts from its check.
CHECK_CODES: dict[str, str] = {
    "not_blank": "value-missing",
    "shows_a_value": "value-missing",
    "sku_present": "value-missing",
    "whole_number": "value-not-integer",
    "not_negative": "value-negative",
    "text_length": "value-too-long",
    "order_id_format": "order-id-invalid",
    "disposition_allowed": "disposition-invalid",
    "country_code": "country-invalid",
    "state_for_country": "state-invalid",
    "postal_code_for_country": "postal-code-invalid",
    "phone_for_country": "phone-invalid",
    # Not pandera's: an item cell a merged range covers (core.merged_cells), an order id
    # or an address field held as a date (core.date_cells).
    "merged_cell": "value-missing",
    "date_cell": "order-id-invalid",
    "date_address_cell": "address-required",
    "date_quantity_cell": "value-not-integer",
    # A quantity its format shows as another number (core.scaled_cells).
    "scaled_cell": "value-not-integer",
}
# Whole-row checks: the one field each judges.
ROW_CHECK_FIELDS: dict[str, str] = {
    "sku_present": "MerchantSKU",
    "state_for_country": "AddressStateOrRegion",
    "postal_code_for_country": "AddressPostalCode",
    "phone_for_country": "ContactPhoneNumber",
}


def _lookalikes_made_plain(value: str) -> tuple[str, str]:
    """(what the first character in ``value`` that stands for a space or a hyphen without
    being one is: "a no-break space (U+00A0), which looks like a space"; ``value`` with
    each such one made plain), or ("", value) when it has none."""
    first = ""
    plain = []
    for char in value:
        kind = unicodedata.category(char)
        if char != " " and kind == "Zs":
            stand_in = " "
        elif char != "-" and (kind == "Pd" or char == "\u2212"):  # dashes, minus sign
            stand_in = "-"
        else:
            plain.append(char)
            continue
        if not first:
            name = unicodedata.name(char, "special character").lower()
            article = "an" if name[0] in "aeiou" else "a"
            like = "space" if stand_in == " " else "hyphen"
            first = f"{article} {name} (U+{ord(char):04X}), which looks like a {like}"
        plain.append(stand_in)
    return first, "".join(plain)


@dataclass
class ValidationResult:
    problems: pd.DataFrame
    bad_cells: pd.DataFrame  # bool per row and field: that cell failed a check

    def row_flags(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row, as arrays: an order field other than the address is bad; which address
        fields are bad (bit i: ADDRESS_FIELDS[i]); an item field is bad; the SKU cell
        (MerchantSKU or FNSKU) is bad. A clean file (the usual case) skips the column
        selections."""
        if not self.bad_cells.to_numpy().any():
            none = np.zeros(len(self.bad_cells), dtype=bool)
            return none, np.zeros(len(self.bad_cells), dtype=np.int32), none, none
        bad = self.bad_cells
        others = [f for f in ORDER_FIELDS if f not in ADDRESS_FIELDS]
        bits = bad[list(ADDRESS_FIELDS)].to_numpy(dtype=np.int32) << np.arange(
            len(ADDRESS_FIELDS), dtype=np.int32
        )
        return (
            bad[others].any(axis=1).to_numpy(dtype=bool),
            bits.sum(axis=1, dtype=np.int32),
            self.line_field_error.to_numpy(dtype=bool),
            (bad["MerchantSKU"] | bad["FNSKU"]).to_numpy(dtype=bool),
        )

    @property
    def line_field_error(self) -> pd.Series:
        """An item-level cell of the row is bad: it spoils that line only."""
        return self.bad_cells[[f for f in ALL_FIELDS if f not in ORDER_FIELDS]].any(axis=1)


def _failures(rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Failure cases as (row index, field, check name); empty when all rows pass."""
    schema = request_schema(settings.allowed_dispositions, settings.home_country)
    try:
        schema.validate(rows, lazy=True)
    except schema_errors() as exc:
        cases = exc.failure_cases
    else:
        return pd.DataFrame(columns=["index", "field", "check"])
    cases = cases[cases["index"].notna()].copy()
    cases["check"] = cases["check"].astype(str).str.split("(", n=1).str[0]
    row_field = cases["check"].map(ROW_CHECK_FIELDS)
    whole_row = row_field.notna()
    # A whole-row check reports every column of a failing row: keep the judged one.
    cases = cases[~whole_row | cases["column"].eq(row_field)]
    cases = cases.assign(field=cases["column"], index=cases["index"].astype("int64"))
    cases = cases[["index", "field", "check"]].drop_duplicates()
    # '#N/A' as a postal code fails its format too: one problem per cell, the format's.
    leftover = cases["check"].eq("shows_a_value")
    if leftover.any():
        judged = cases[~leftover].set_index(["index", "field"]).index
        twice = cases.set_index(["index", "field"]).index.isin(judged)
        cases = cases[~(leftover.to_numpy() & twice)]
    return cases


# Two-letter codes of the countries whose states are checked (STATE_REQUIRED_FOR).
_STATE_EXAMPLES = {"US": "NV or TX", "CA": "ON or BC"}


# A value quoted in a message is cut after this many characters: a cell holding a pasted
# page of text made a message of screens (the error report's value column has it whole).
QUOTED_CHARS = 60


def _quote(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    quoted = "'" + text + "'"
    lengths = text.str.len()
    long = lengths > QUOTED_CHARS
    if long.any():
        counts = grouped(lengths[long])
        cut = "'" + text[long].str.slice(0, QUOTED_CHARS - 20) + "...' (" + counts + " characters)"
        quoted = quoted.mask(long, cut)
    return quoted


# How each country's postal codes are written, for the message (each one passes the
# schema's pattern for its country: tests/test_value_codes.py holds them to it).
POSTAL_EXAMPLES = {
    "US": "; a ZIP code is written 12345 or 12345-6789",
    "CA": "; a postal code is written like K1A 0B1",
    "GB": "; a postcode is written like SW1A 1AA",
    "DE": "; a postal code is five digits, like 10115",
    "FR": "; a postal code is five digits, like 75001",
    "IT": "; a postal code is five digits, like 00184",
    "ES": "; a postal code is five digits, like 28001",
    "MX": "; a postal code is five digits, like 06600",
    "JP": "; a postal code is written like 100-0001",
    "AU": "; a postcode is four digits, like 2000",
    "NL": "; a postal code is written like 1012 AB",
    "PL": "; a postal code is written like 00-950",
    "SE": "; a postal code is written like 111 22",
    "BE": "; a postal code is four digits, like 1000",
    "IN": "; a PIN code is six digits, like 110001",
    "BR": "; a CEP is written like 01310-100",
}


# A territory written out ('Puerto Rico'): its code would be refused as address-territory.
TERRITORY_REFUSED = (
    " is a US territory: Amazon does not send removal orders to US territories; give an "
    "address in the 50 states or DC."
)

# Digit-group separators other than a comma: spaces (French, Swedish: 1 000, with a
# no-break or narrow no-break space) and apostrophes (Swiss: 1'000).
SPACES = " \u00a0\u202f'\u2019"
SPACES_NAMED = "spaces or apostrophes between its digits"


def _messages(found: pd.DataFrame, settings: Settings) -> pd.Series:
    """Plain-words messages, built column-wise per code."""
    allowed = settings.allowed_dispositions
    field, value, code = found["field"], found["value"], found["code"]
    country = found["country"]
    msg = pd.Series("", index=found.index, dtype=object)

    def put(mask: pd.Series, text: pd.Series | str) -> None:
        if mask.any():
            msg[mask] = text[mask] if isinstance(text, pd.Series) else text

    put(
        code.eq("value-missing"),
        "MerchantSKU is blank. Every row needs the seller SKU (or the FNSKU) of the item "
        "to remove; delete the row if it is not needed.",
    )
    put(
        code.eq("value-missing") & field.eq("FNSKU"),
        "FNSKU is blank. Every row needs the FNSKU (or the seller SKU) of the item to "
        "remove; delete the row if it is not needed.",
    )
    put(
        code.eq("value-not-integer"),
        field
        + " must be a whole number of units (at most 999,999,999), like 3; "
        + _quote(value)
        + " is not. Leave the cell blank for 0.",
    )
    not_integer = code.eq("value-not-integer")
    if not_integer.any():
        # 2.5: a part of a unit, not a missing value ("leave it blank" would ask for none);
        # the separators' own messages below take over where they apply (2,500; 1.000).
        whole = value.str.extract(r"^[+]?(\d{0,9})", expand=False).replace("", "0")
        put(
            not_integer & value.str.fullmatch(r"[+]?\d{0,9}[.,]\d*[1-9]\d*").fillna(False),
            field
            + " "
            + _quote(value)
            + " is a part of a unit; a quantity counts whole units: type the whole number "
            "meant, like " + whole + " or " + (whole.astype(int) + 1).astype(str) + ".",
        )
        # 1.500: a thousand and a half units, with Europe's thousands point, or 1.5.
        put(
            not_integer & value.str.fullmatch(r"\+?[1-9]\d{0,2}\.\d{3}").fillna(False),
            field
            + " "
            + _quote(value)
            + " is no whole number of units, unless its point groups thousands (as in much "
            "of Europe): write "
            + value.str.replace(r"[+.]", "", regex=True)
            + " if that is meant, without the point, or the whole number meant.",
        )
        # 1,000 or 1 000 (or 1'000): the digits run in groups of three.
        for separators, named in ((",", "a thousands comma"), (SPACES, SPACES_NAMED)):
            put(
                not_integer
                & value.str.fullmatch(rf"\d{{1,3}}(?:[{separators}]\d{{3}})+").fillna(False),
                field
                + " must be a whole number of units written without separators; "
                + _quote(value)
                + f" has {named}: write it as "
                + value.str.replace(f"[{separators}]", "", regex=True)
                + ".",
            )
        put(
            not_integer & value.str.fullmatch(r"\d+,(?:0{1,2}|0{4,})").fillna(False),
            field
            + " "
            + _quote(value)
            # Three zeros are a thousands group to most users: said above, not here.
            + " has a decimal comma; a quantity is a whole number: write it as "
            + value.str.replace(r",0+$", "", regex=True)
            + ".",
        )
        put(
            not_integer & value.str.contains(INVISIBLE).fillna(False),
            field
            + " "
            + _quote(value)
            + " holds an invisible character (pasted along with the number): type the "
            "number again in the cell.",
        )
    dot_grouped = not_integer & value.str.fullmatch(DOT_GROUPED).fillna(False)
    if dot_grouped.any():
        one = value.str.replace(r"\.000$", "", regex=True).str.lstrip("+0")
        thousand = value.str.replace(".", "", regex=False).str.lstrip("+0")
        either = one + " or " + thousand
        put(
            dot_grouped,
            field
            + " "
            + _quote(value)
            + " could mean "
            + either
            + " units (in much of Europe 1.000 is a thousand): write "
            + either
            + ", without the point.",
        )
    put(
        code.eq("value-negative"),
        field + " is " + value + "; a quantity cannot be below zero. Use 0 or leave it blank.",
    )
    put(
        code.eq("value-too-long"),
        field
        + " is "
        + grouped(value.str.len())
        + " characters long; at most "
        + found["limit"].astype(str)
        + " are accepted. Shorten it.",
    )
    # An FNSKU has 10 characters: a longer value in its column is most likely the seller
    # SKU, which shortening would not turn into an FNSKU.
    put(
        code.eq("value-too-long") & field.eq("FNSKU"),
        "FNSKU "
        + _quote(value)
        + " is "
        + grouped(value.str.len())
        + " characters long, and an FNSKU has 10 (like X00A9PWO15). If it is the seller "
        "SKU, put it in a MerchantSKU column.",
    )
    put(
        code.eq("order-id-invalid"),
        "MerchantRemovalOrderID " + _quote(value) + " is not a usable order id: use 1 to 50 "
        "letters, digits, '.', '_' or '-', starting with a letter or digit.",
    )
    put(
        code.eq("order-id-invalid") & value.str.fullmatch(EXCEL_DATE).fillna(False),
        "MerchantRemovalOrderID " + _quote(value) + " looks like a date: Excel turns an id "
        "typed like 3-12 into one. Format the column as Text and type the id again.",
    )
    put(
        code.eq("order-id-invalid") & value.str.fullmatch(EXCEL_SCIENTIFIC).fillna(False),
        "MerchantRemovalOrderID "
        + _quote(value)
        + " is a number Excel turned into scientific notation, which loses its last "
        "digits. Format the column as Text and type the order id again.",
    )
    bad_disposition = code.eq("disposition-invalid")
    put(
        bad_disposition,
        "RemovalDisposition "
        + _quote(value)
        + " is not allowed here; use "
        + " or ".join(allowed)
        + ".",
    )
    # A disposition the settings can allow but leave out: say where it is turned on (the
    # names allowed_dispositions takes, as core.settings reads them).
    settable = {
        name
        for d in DISPOSITIONS
        if d not in allowed
        for name in (d.lower(), d.lower().rstrip("s"))
    }
    typed = value.str.strip().str.lower()
    to_allow = bad_disposition & typed.isin(settable)
    put(
        to_allow,
        "RemovalDisposition "
        + _quote(value)
        + " is not allowed here; use "
        + " or ".join(allowed)
        + ". To send it, add it to allowed_dispositions in the settings file"
        # The caution belongs to liquidation alone: Return and Disposal are everywhere.
        + typed.str.startswith("liquidation").map(
            {True: " (Amazon liquidates only in some marketplaces).", False: "."}
        ),
    )
    bad_country = code.eq("country-invalid")
    put(
        bad_country,
        "AddressCountryCode " + _quote(value) + " is not a two-letter country code "
        "(ISO 3166-1), such as US, CA or GB.",
    )

    def put_meant(mask: pd.Series, meant: pd.Series, text: pd.Series) -> None:
        """``text`` where the value written out names a code (``meant``: "" where not)."""
        put(mask & meant.ne("").reindex(code.index, fill_value=False), text)

    # A country or state written out ('USA', 'Nevada'): the message gives its code.
    if bad_country.any():
        meant = value[bad_country].map(country_meant)
        put_meant(
            bad_country,
            meant,
            "AddressCountryCode "
            + _quote(value)
            + " is not a two-letter country code (ISO 3166-1). Use '"
            + meant
            + "' for "
            + meant.map(lambda c: country_name(c) if c else "")
            + ".",
        )
        # The code meant may be one the next run refuses (address-foreign or -territory):
        # say that, not "use 'CA'".
        home = settings.home_country
        refused = meant.ne("") & meant.ne(home)
        put_meant(
            bad_country,
            meant.where(refused, ""),
            "AddressCountryCode "
            + _quote(value)
            + " is "
            + meant.map(lambda c: f"{country_name(c)} ({c})" if c else "")
            + ", but the "
            + settings.marketplace
            + f" marketplace sends removal orders only within {country_name(home)} ({home}): "
            "give an address there.",
        )
        if home == "US":
            put_meant(
                bad_country,
                meant.where(meant.isin(US_TERRITORIES), ""),
                "AddressCountryCode " + _quote(value) + TERRITORY_REFUSED,
            )
    bad_state = code.eq("state-invalid")
    put(
        bad_state,
        "AddressStateOrRegion "
        + _quote(value)
        + " is not a state or province code of "
        + country
        + "; use the two-letter code, such as "
        + country.map(_STATE_EXAMPLES).fillna("NV or ON")
        + ".",
    )
    if bad_state.any():
        meant = pd.Series(
            [state_meant(v, c) for v, c in zip(value[bad_state], country[bad_state], strict=True)],
            index=value[bad_state].index,
            dtype=object,
        )
        put_meant(
            bad_state,
            meant,
            "AddressStateOrRegion "
            + _quote(value)
            + " is not a state or province code of "
            + country
            + "; use the two-letter code: '"
            + meant
            + "'.",
        )
        us_territory = meant.isin(US_TERRITORIES) & country[bad_state].eq("US")
        put_meant(
            bad_state,
            meant.where(us_territory, ""),
            "AddressStateOrRegion " + _quote(value) + TERRITORY_REFUSED,
        )
        military = meant.isin(list(MILITARY_STATE_NAMES.values())) & country[bad_state].eq("US")
        put_meant(
            bad_state,
            meant.where(military, ""),
            "AddressStateOrRegion "
            + _quote(value)
            + " is military post (APO/FPO/DPO): Amazon does not send removal orders there; "
            "give a civilian street address.",
        )
    postal = code.eq("postal-code-invalid")
    put(
        postal,
        "AddressPostalCode "
        + _quote(value)
        + " is not a valid postal code for "
        + country
        + country.map(POSTAL_EXAMPLES).fillna("; check it against the address")
        + ".",
    )
    # Five-digit codes that may start with 0 (a ZIP in Massachusetts, Dresden's 01067,
    # Mexico City's 06600): a spreadsheet drops the zeros of one typed as a number.
    five_digits = country.isin(["US", "DE", "FR", "IT", "ES", "MX"])
    # One that starts with 0 still has its zeros (a spreadsheet drops them all): a digit
    # is missing somewhere, and the general message stands.
    lost_zero = postal & five_digits & value.str.fullmatch(r"[1-9]\d{2,3}").fillna(False)
    put(
        lost_zero,
        "AddressPostalCode "
        + _quote(value)
        + " has only "
        + value.str.len().astype(str)
        + " digits: "
        + value.str.len().map({4: "its leading zero was", 3: "its leading zeros were"})
        + " probably lost (e.g. "
        + country.map({"US": "02134 became 2134"}).fillna("01067 became 1067")
        + "). Format the column as Text and type the full "
        + country.map({"US": "ZIP code"}).fillna("postal code")
        + ".",
    )
    put(
        code.eq("phone-invalid"),
        "ContactPhoneNumber "
        + _quote(value)
        + " cannot be a phone number in "
        + country
        + "; check for missing or extra digits.",
    )
    # Right digits, refused for what came with them: a note in brackets, read as letters
    # of a vanity number ("(cell)" dials 2355), or a number cell's ".0".
    noted = value.str.extract(r"(\([^\d()]*[A-Za-z][^\d()]*\))", expand=False)
    put(
        code.eq("phone-invalid") & noted.notna(),
        "ContactPhoneNumber "
        + _quote(value)
        + " holds a note, '"
        + noted.fillna("")
        + "', besides the number: a phone's letters are dialled as digits. Leave only the "
        "number in the cell (an extension may follow it, as x12).",
    )
    # An extension given with a word phonenumbers does not know ("poste 12", Quebec's
    # French): the digits are right, the word is read as letters of a vanity number.
    extension = value.str.extract(
        r"^(.*\d)\W*\b(?:poste|interno|durchwahl|anexo|apparecchio)\W*(\d{1,6})$",
        flags=re.IGNORECASE,
    )
    put(
        code.eq("phone-invalid") & extension[0].notna(),
        "ContactPhoneNumber "
        + _quote(value)
        + " gives its extension in words carriers' systems do not read: write it with an "
        "x, '"
        + extension[0].fillna("")
        + " x"
        + extension[1].fillna("")
        + "' (20 characters at most).",
    )
    put(
        code.eq("phone-invalid") & value.str.fullmatch(r"\+?\d{7,15}\.0+").fillna(False),
        "ContactPhoneNumber "
        + _quote(value)
        + " ends in '.0', as a number saved from a spreadsheet does: write the number "
        "without it.",
    )
    put(
        code.eq("phone-invalid") & value.str.fullmatch(EXCEL_SCIENTIFIC).fillna(False),
        "ContactPhoneNumber "
        + _quote(value)
        + " is a number Excel turned into scientific notation, which loses its last "
        "digits. Format the column as Text and type the phone number again.",
    )
    bad_phone = code.eq("phone-invalid")
    if bad_phone.any():

        def refused_phones_where(test: Callable[[str, str], bool]) -> pd.Series:
            # The refused phones only (phonenumbers' parse of each is cached from the check).
            found = pd.Series(False, index=value.index)
            pairs = zip(value[bad_phone], country[bad_phone], strict=True)
            found[bad_phone] = [test(v, c) for v, c in pairs]
            return found

        put(
            refused_phones_where(phone_lacks_area_code),
            "ContactPhoneNumber "
            + _quote(value)
            + " has no area code: the carrier must be able to call it from anywhere in "
            + country
            + ". Write the whole number, with its area code.",
        )
        put(
            refused_phones_where(phone_outside_nanp_plan),
            "ContactPhoneNumber "
            + _quote(value)
            + " cannot be dialled: in "
            + country
            + " no area code or exchange (the first and the fourth digit) starts with 0 or "
            "1, so it looks like a stand-in. Give the number the carrier can call.",
        )
    dialled = code.eq("phone-invalid") & value.str.startswith("+").fillna(False)
    if dialled.any():
        abroad = pd.Series(
            [
                phone_abroad(v, c) if d else ""
                for v, c, d in zip(value, country, dialled, strict=True)
            ],
            index=value.index,
        )
        put(
            abroad.ne(""),
            "ContactPhoneNumber "
            + _quote(value)
            + " is a number in "
            + abroad
            + ", not in "
            + country
            + " where the order goes; give a phone number there, for the carrier.",
        )
    wide = ~value.str.isascii().fillna(True)
    typed_wide = code.isin(["postal-code-invalid", "phone-invalid"]) & wide
    if typed_wide.any():
        plain = value.map(lambda v: unicodedata.normalize("NFKC", v))
        put(
            typed_wide & plain.str.isascii(),
            field
            + " "
            + _quote(value)
            + " is typed in full-width characters, which carriers cannot read: type it "
            "with plain ones, " + plain + ".",
        )
        # A no-break space or an en dash (pasted from a web page, a mail, a document in
        # French typography) turns plain under NFKC too, but is no full-width character,
        # and the plain value shown looks the same as the cell: the message names it.
        lookalike = value[typed_wide].map(_lookalikes_made_plain)
        named = lookalike.str[0].reindex(value.index, fill_value="")
        fixed = lookalike.str[1].reindex(value.index, fill_value="")
        put(
            typed_wide & named.ne("") & fixed.str.isascii(),
            field
            + " "
            + _quote(value)
            + " holds "
            + named
            + " but is another character to the carrier's systems (it comes in with text "
            "pasted from a web page or a document). Delete the cell's text and type it "
            "again with plain characters; so typed, it reads '" + fixed + "'.",
        )
    # Japan's postal mark, written before a postal code on envelopes, is no part of it.
    marked = code.eq("postal-code-invalid") & value.str.startswith("\u3012").fillna(False)
    if marked.any():
        bare = value.str.slice(1).str.strip().map(lambda v: unicodedata.normalize("NFKC", v))
        put(
            marked,
            "AddressPostalCode "
            + _quote(value)
            + " starts with the postal mark \u3012, which is not part of the code: write "
            + bare
            + ".",
        )
    # A value refused for a character no one can see (a soft hyphen, a zero-width space
    # pasted along from a web page): the message says so, or the user finds nothing wrong.
    # Not for a value too long or a quantity: their own messages say what is wrong.
    unseen = ~code.isin(["value-not-integer", "value-too-long"]) & value.str.contains(
        INVISIBLE
    ).fillna(False)
    if unseen.any():
        put(
            unseen,
            field
            + " "
            + _quote(value)
            + " holds an invisible character ("
            + first_invisible(value[unseen])
            + "), probably pasted in with it: without it, it reads '"
            + value.str.replace(INVISIBLE, "", regex=True)
            + "'. Delete the cell's text and type it again.",
        )
    # Whatever the field's rule, a failed or uncalculated formula is explained as one.
    failed = value.str.fullmatch(SPREADSHEET_ERROR).fillna(False).astype(bool)
    if failed.any():
        meaning = error_meaning(value)
        put(
            failed,
            field
            + " holds the spreadsheet error "
            + value
            + ", not a value: "
            + meaning
            + ". Correct the formula, or type the value in its place.",
        )
    unsaved = value.str.fullmatch(f"(?s:{UNSAVED_FORMULA})").fillna(False).astype(bool)
    if unsaved.any():
        put(
            unsaved,
            field
            + " holds the formula "
            + _quote(value.str.slice(len(NOT_CALCULATED), len(NOT_CALCULATED) + 60))
            + " but not its result: the workbook was saved by a program that does not "
            "calculate. Open it in Excel or LibreOffice and save it again, or type the value.",
        )
    return msg


def prepare_validation(settings: Settings) -> None:
    """Import pandera and load the request schema and the checks' reference tables: a
    third of a second of Python work that validation would otherwise begin with, which a
    caller can have done on a side thread while the files are read."""
    request_schema(settings.allowed_dispositions, settings.home_country)
    load_reference_data()


def default_address_problems(settings: Settings) -> list[str]:
    """The settings' default address judged by the request schema's own checks, as if it
    were typed on a Return's first row: what is wrong with it, in the words a cell would
    get. It is copied into orders after the cells are checked, so it is judged here; and
    a country the marketplace does not send removals to would fail every Return it fills."""
    address = settings.default_address
    if not address:
        return []
    country = address.get("AddressCountryCode", "").strip().upper() or settings.home_country
    row = pd.DataFrame({name: [address.get(name, "")] for name in ALL_FIELDS}, dtype=object)
    failures = _failures(row, settings)
    failures = failures[failures["field"].isin(list(address))]
    failures = _coded(failures.sort_values("field", key=lambda f: f.map(ALL_FIELDS.index)))
    failures["value"] = [address[f] for f in failures["field"]]
    failures["country"] = country
    found = list(_explained(failures, settings))
    found += default_address_refusals(settings)
    if country != settings.home_country and country in country_codes():
        home = settings.home_country
        found.append(
            f"AddressCountryCode '{address['AddressCountryCode']}' is {country_name(country)}; "
            f"the {settings.marketplace} marketplace sends removal orders only within "
            f"{country_name(home)} ({home})."
        )
    return found


def validate_tables(tables: list[RequestTable], settings: Settings) -> list[ValidationResult]:
    """All files of a batch in one pandera pass: its fixed cost per call would otherwise be
    paid once per file, and dominate a batch of many small files."""
    if not tables:
        return []
    combined = pd.concat([t.rows for t in tables], ignore_index=True)[list(ALL_FIELDS)]
    carried = _order_countries(tables, combined)
    if carried is not None:
        combined[ORDER_COUNTRY] = carried
    failures = _failures(combined, settings)
    offsets = np.cumsum([0] + [len(t.rows) for t in tables])
    which = np.searchsorted(offsets, failures["index"].to_numpy(dtype=np.int64), side="right") - 1
    results = []
    for k, table in enumerate(tables):
        part = failures[which == k]
        if len(part):
            part = part.assign(index=part["index"] - int(offsets[k]))
        order_country = None if carried is None else carried[offsets[k] : offsets[k + 1]]
        results.append(_result(table, part, settings, order_country))
    return results


# The fields judged by the address's country (state_for_country, postal_code_for_country,
# phone_for_country).
_BY_COUNTRY = ("AddressStateOrRegion", "AddressPostalCode", "ContactPhoneNumber")


def _order_countries(tables: list[RequestTable], rows: pd.DataFrame) -> np.ndarray | None:
    """The country (in capitals) of the order of each row that leaves its own blank and
    gives a field judged by the country, "" on the other rows (core.orders.order_values);
    None where there is no such row, or no country on any row, or on every row."""
    given = non_empty(rows["AddressCountryCode"])
    if given.all() or not given.any():
        return None
    judged = ~given & np.logical_or.reduce([non_empty(rows[name]) for name in _BY_COUNTRY])
    if not judged.any():
        return None
    sizes = [len(t.rows) for t in tables]
    lines = pd.DataFrame(
        {
            "MerchantRemovalOrderID": rows["MerchantRemovalOrderID"],
            "AddressCountryCode": rows["AddressCountryCode"],
            "file_pos": np.repeat(np.arange(len(tables)), sizes),
            "section": list_numbers(sizes, [t.section_starts for t in tables]),
        }
    )
    at = np.flatnonzero(judged)
    countries = np.full(len(rows), "", dtype=object)
    countries[at] = order_values(lines, "AddressCountryCode", at).str.upper().to_numpy(object)
    return countries


def _coded(failures: pd.DataFrame) -> pd.DataFrame:
    """The failures of checks that have a code, with it."""
    return failures.assign(code=failures["check"].map(CHECK_CODES)).dropna(subset=["code"])


def _explained(failures: pd.DataFrame, settings: Settings) -> pd.Series:
    """Each failure's message (``failures`` has code, field, value and country), made
    once per distinct failure and spread back: a bad value repeats down its column, and a
    million cells holding 'x' make one message."""
    if failures.empty:
        return pd.Series([], index=failures.index, dtype=object)
    keys = failures[["code", "field", "value", "country"]].assign(
        limit=failures["field"].map(length_limits()).fillna(0).astype(int)
    )
    codes, distinct = pd.factorize(pd.MultiIndex.from_frame(keys.astype(str)))
    said = _messages(pd.DataFrame(list(distinct), columns=keys.columns), settings)
    return pd.Series(said.to_numpy()[codes], index=failures.index)


def _cell_values(rows: pd.DataFrame, fields: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The cell at (row idx[k], column fields[k]) for each k, taken column by column: a
    million failing cells (a column of text where quantities belong) would otherwise be a
    million Python lookups."""
    values = np.empty(len(idx), dtype=object)
    for name in pd.unique(fields):
        here = fields == name
        values[here] = rows[name].take(idx[here]).to_numpy(dtype=object, na_value="")
    return values


def _result(
    table: RequestTable,
    failures: pd.DataFrame,
    settings: Settings,
    order_country: np.ndarray | None = None,
) -> ValidationResult:
    """``order_country``: each row's order's country, where validation judged a row by it."""
    rows = table.rows
    covered = table.covered_cells
    if covered is not None and len(covered):
        # Errors found in the reading (core.read_failures) come with their own words
        # and replace the schema's for their cell: one problem a cell.
        at = pd.MultiIndex.from_frame(failures[["index", "field"]].astype(object))
        mine = pd.MultiIndex.from_frame(covered[["index", "field"]].astype(object))
        failures = pd.concat([failures[~at.isin(mine)], covered], ignore_index=True).astype(
            {"index": np.int64}
        )
    if failures.empty:
        clean = pd.DataFrame(False, index=rows.index, columns=list(ALL_FIELDS))
        return ValidationResult(empty_problems(), clean)
    failures = _coded(failures)
    if "MerchantSKU" not in table.field_columns and "FNSKU" in table.field_columns:
        # Items named by FNSKU alone: a blank one is that column's cell.
        failures.loc[failures["field"].eq("MerchantSKU"), "field"] = "FNSKU"
    # value-negative only where the value is a whole number: no double report for "abc".
    idx = failures["index"].to_numpy()
    failures["value"] = _cell_values(rows, failures["field"].to_numpy(dtype=object), idx)
    # The country each failing row was judged by, as the checks judged it.
    judged = rows.iloc[idx][["AddressCountryCode"]]
    if order_country is not None:
        judged = judged.assign(**{ORDER_COUNTRY: order_country[idx]})
    failures["country"] = judged_country(judged, settings.home_country).to_numpy()
    said = _explained(failures, settings)
    if "message" in failures:  # merged cells come with theirs
        said = failures["message"].where(failures["message"].notna(), said)
    failures["message"] = said
    rows_at = rows["source_row"].to_numpy()[idx]
    found = pd.DataFrame(
        {
            "file": table.file,
            "sheet": table.sheet,
            "row": rows_at,
            "column": failures["field"].map(table.field_columns).fillna("").to_numpy(),
            "field": failures["field"].to_numpy(),
            "value": failures["value"].to_numpy(),
            "code": failures["code"].to_numpy(),
            "message": failures["message"].to_numpy(),
            "order_id": rows["MerchantRemovalOrderID"].to_numpy()[idx],
            "sku": rows["MerchantSKU"].to_numpy()[idx],
            "_index": idx,
        }
    )
    # Feed files hold an order field once, in one cell: one problem there, not one per SKU.
    fixed = found["field"].isin(list(table.fixed_cells))
    if fixed.any():
        once = found[fixed].drop_duplicates(subset=["code", "field"]).copy()
        once["row"] = once["field"].map(lambda f: table.fixed_cells[f][0])
        once["column"] = once["field"].map(lambda f: table.fixed_cells[f][1])
        found = pd.concat([found[~fixed], once])
    found = found.sort_values(["_index", "column"], kind="stable")
    bad = pd.DataFrame(False, index=rows.index, columns=list(ALL_FIELDS))
    for name, idx_of_field in failures.groupby("field")["index"]:
        bad.iloc[idx_of_field.unique(), bad.columns.get_loc(name)] = True
    problems = normalise_problems(found.drop(columns=["_index"]))
    return ValidationResult(concat_problems([problems]), bad)
