"""Address rules for orders: where Amazon will and will not send removed inventory.

Amazon does not ship removal orders to PO boxes, APO/FPO/DPO addresses, US
territories, other fulfillment centers, or (for the US marketplace) abroad.
Each function takes the orders frame and returns findings on the order's lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.checks import as_country_codes, country_codes, country_name
from removal_batch.core.fields import ADDRESS_FIELDS, INVISIBLE
from removal_batch.core.findings import concat_findings, findings
from removal_batch.core.settings import Settings

RETURN_REQUIRED = (
    "AddressName",
    "AddressFieldOne",
    "AddressCity",
    "AddressCountryCode",
    "AddressPostalCode",
    "ContactPhoneNumber",
)
STATE_REQUIRED_FOR = frozenset({"US", "CA"})
ADDRESS_LINES = ("AddressFieldOne", "AddressFieldTwo", "AddressFieldThree")
# Separators people put in "P.O. Box": none, spaces, dots, commas ("P,O, Box"), a hyphen,
# an underscore or a slash (P/O Box). The O may be typed as a zero ("P.0. Box"). It ends
# where no letter follows, so "PO Box7" is one and "12 Poblano Way" is not.
_SEP = r"[\s.,_/-]*"
# A box number: "12", "#12", "No. 12", "Nº 12", "n° 12".
_BOX_NUMBER = rf"(?:#|n[o°º]?\.?)?{_SEP}\d"
# PO boxes in other languages: the words themselves (Postfach, Postbus, Boîte postale,
# Casella postale, Case postale, Caixa postal, Apartado de correos, Skrytka pocztowa), and
# abbreviations only before a box number, as they are other things alone: BP is a petrol
# company, "Apartado" a Colombian town. A "C.P." box has at most four digits: "C.P. 28001" is a
# Spanish or Mexican postal code (código postal). Each ends where no letter follows, so
# "Postfachstraße" (a street's name), "Apartamento" and "Apt 4" are no boxes.
_FOREIGN_BOX = (
    r"post(?:fach|bus|boks)"
    rf"|bo[iî]te{_SEP}postale|cas(?:ella|e){_SEP}postale|caixa{_SEP}postal"
    rf"|apartado{_SEP}(?:de{_SEP}correos|postal|a[eé]reo)|apdo"
    rf"|apartado{_SEP}{_BOX_NUMBER}|b{_SEP}p{_SEP}{_BOX_NUMBER}"
    r"|c(?:\.\s*|\s)?p(?:\.\s*|\s+)(?:n[o°º]?\.?\s*)?\d{1,4}(?!\d)"
    # Polish skrytka pocztowa ("skr. poczt."); India's post bag ("Post Bag No. 5001",
    # "P.B. No. 5001"), a box at a post office by another name.
    rf"|skrytka{_SEP}pocztowa|skr{_SEP}poczt"
    rf"|post{_SEP}bag{_SEP}{_BOX_NUMBER}|p{_SEP}b{_SEP}{_BOX_NUMBER}"
)
# A line that starts with "Box 12" is a box too (a rural route's, a post office's).
PO_BOX = re.compile(
    # A zero for the O only before a whole "box": P0B 1A0 is an Ontario postal code.
    # A G before it ("GPO Box 123") is Australia's General Post Office.
    rf"\b(?:g?p{_SEP}(?:o{_SEP}(?:b(?:ox|x)?|drawer)|0{_SEP}b(?:ox|x))"
    rf"|post(?:al)?{_SEP}(?:office{_SEP})?(?:b(?:ox|x)|drawer)|{_FOREIGN_BOX})(?![^\W\d_])"
    # Australia's and New Zealand's bags: delivered to a post office, as a box is.
    rf"|\b(?:locked|private){_SEP}bag{_SEP}{_BOX_NUMBER}"
    # The US Postal Service's other names for boxes at a post office: caller service
    # ("Caller Box 5", "Firm Caller 5") and a bank's lockbox, each before its number.
    rf"|\b(?:firm{_SEP})?caller{_SEP}(?:b(?:ox|x){_SEP})?{_BOX_NUMBER}"
    rf"|\block{_SEP}b(?:ox|x){_SEP}{_BOX_NUMBER}"
    r"|^\s*(?:box|drawer)\s*#?\s*\d"
    # Japanese 私書箱 (a post-office box), written without spaces: "中央郵便局私書箱12号".
    r"|\u79c1\u66f8\u7bb1",
    re.IGNORECASE,
)
# A city that starts with the word APO, FPO or DPO however it is dotted or spaced ("APO AE",
# "A.P.O.", "FPO San Francisco"); Apopka and Apollo Beach go on with letters, so they pass.
MILITARY_CITY = re.compile(r"^\W*[ADF]\W*P\W*[O0](?!\w)", re.IGNORECASE)
MILITARY_STATES = frozenset({"AA", "AE", "AP"})
# "PSC 1234 Box 5678", "Unit 2050 Box 4190", "CMR 450 Bx 12"; a plain "Unit 3" is a flat.
MILITARY_BOX = r"\b(?:PSC|CMR|UNIT)\s*#?\s*\d+\s*,?\s*B(?:OX|X)\s*#?\s*\d+"
US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"})
# What people type in a cell they have nothing for, and Amazon's template asks them not
# to ("leave it blank, do not write N/A"): a label would carry it as the name, street or
# city. Postal codes, phones and countries have checks of their own that refuse these.
PLACEHOLDER = r"n\s*[/\\.]?\s*a\.?|none|null|nil|tb[adc]|unknown|x{1,3}|[-\u2013\u2014._?*]{1,5}"
PLACEHOLDER_CHECKED = ("AddressName", "AddressFieldOne", "AddressCity")

SPELLINGS = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "BOULEVARD": "BLVD",
    "ROAD": "RD",
    "DRIVE": "DR",
    "PARKWAY": "PKWY",
    "HIGHWAY": "HWY",
    "LANE": "LN",
    "COURT": "CT",
    "SUITE": "STE",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "PLACE": "PL",
    "CIRCLE": "CIR",
}


def _contains(values: pd.Series, pattern: str | re.Pattern[str], case: bool = True) -> pd.Series:
    """``str.contains`` run once per distinct value: most orders of a batch go to one of a
    few addresses, and the patterns are the slow part."""
    codes, distinct = pd.factorize(values)
    if not len(distinct):
        return pd.Series(False, index=values.index)
    folded = _plain_letters(distinct)
    hit = folded.str.contains(pattern, case=case, regex=True, na=False)
    hit_of = hit.to_numpy(dtype=bool)
    return pd.Series((codes >= 0) & hit_of[codes], index=values.index)


def _plain_letters(distinct: np.ndarray | pd.Index) -> pd.Series:
    """Distinct values as the address rules read them: full-width letters and digits (an
    East Asian keyboard's "ＰＯ Box", "４２５５") and other compatibility forms as their
    plain letters, invisible characters pasted in ("P\u200bO Box") dropped. Plain ASCII
    (nearly every value) has neither and is left as it is."""
    text = pd.Series(distinct, dtype=object)
    odd = ~text.str.isascii().astype(bool)
    if odd.any():
        plain = text[odd].map(lambda v: unicodedata.normalize("NFKC", v))
        text[odd] = plain.str.replace(INVISIBLE, "", regex=True)
    return text


def _returns(orders: pd.DataFrame) -> pd.Series:
    return orders["disposition"].eq("Return")


def _at(orders: pd.DataFrame, mask: pd.Series, value_lines: pd.DataFrame, field: str) -> pd.Series:
    """The line holding an order's value of ``field`` (its first line when blank)."""
    src = value_lines.loc[mask[mask].index, field]
    return src.where(src >= 0, orders.loc[mask, "first_line"])


def _flag(
    orders: pd.DataFrame,
    hit: pd.Series,
    value_lines: pd.DataFrame,
    name: str,
    code: str,
    why: str,
) -> pd.DataFrame:
    """Findings on the cell holding ``name`` of each hit order: "<field> '<value>' <why>"."""
    if not hit.any():
        return concat_findings([])
    values = orders.loc[hit, name]
    message = name + " '" + values + "' " + why
    return findings(_at(orders, hit, value_lines, name), name, code, message, values)


# The fields that say where a parcel goes: taken from the default address all together
# or not at all. "500 Elm St, Boston" with a blank state and ZIP would else become
# "500 Elm St, Boston, NV 89502", a place that does not exist, with no word said.
LOCATION_FIELDS = (
    "AddressFieldOne",
    "AddressFieldTwo",
    "AddressFieldThree",
    "AddressCity",
    "AddressStateOrRegion",
    "AddressPostalCode",
    "AddressCountryCode",
)


def apply_default_address(orders: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Blank address fields of Return orders take the settings' default address, where the
    order gives no location of its own (a country typed the same as the default's is no
    other place): an order that names only a recipient goes to the default address. An
    order with a location of its own takes nothing from it but a blank country (judged as
    the marketplace's anyway): not the default's phone either, which a carrier would call
    about a parcel for somebody else."""
    default = settings.default_address
    if not default:
        return orders
    orders = orders.copy()
    returns = _returns(orders)
    # A default without a country is in the marketplace's (as a blank cell is): an order
    # typing that country names no other place, and one taking the default's location
    # takes that country with it.
    default_country = (default.get("AddressCountryCode") or settings.home_country).upper()
    located = pd.Series(False, index=orders.index)
    for name in LOCATION_FIELDS:
        typed = orders[name].ne("")
        if name == "AddressCountryCode":
            typed &= orders[name].str.strip().str.upper().ne(default_country)
        located |= typed
    # Codes go out in capitals, as typed cells do (core.orders): "us", "nv" as US, NV.
    filling = {**default, "AddressCountryCode": default_country}
    state = filling.get("AddressStateOrRegion", "")
    if re.fullmatch("[A-Za-z]{2}", state):  # a region's name stays as written
        filling["AddressStateOrRegion"] = state.upper()
    for name, value in filling.items():
        blank = returns & orders[name].eq("")
        # A blank country is judged as the marketplace's, which the default's country is
        # (it is refused otherwise): filling it changes nothing the checks assumed. The
        # marketplace's country, where the default names none, goes only with its location.
        if name != "AddressCountryCode" or "AddressCountryCode" not in default:
            blank &= ~located
        orders.loc[blank, name] = value
    return orders


@dataclass(frozen=True)
class FileFields:
    """What a file of the batch gives: its shape ("table" or "feed") and its fields."""

    shape: str
    fields: frozenset[str]


def address_required(
    orders: pd.DataFrame,
    value_lines: pd.DataFrame,
    settings: Settings,
    files: Sequence[FileFields] = (),
) -> pd.DataFrame:
    returns = _returns(orders)
    country = _order_country(orders, settings.home_country)
    parts = []
    for name in (*RETURN_REQUIRED, "AddressStateOrRegion"):
        unseen = _only_invisible(orders[name])
        stand_in = _stand_in(orders[name], name, country)
        missing = returns & (orders[name].eq("") | unseen | stand_in)
        if name == "AddressStateOrRegion":
            missing &= country.isin(STATE_REQUIRED_FOR)
        if missing.any():
            ids = orders.loc[missing, "order_id"]
            needs = (
                ". A Return needs name, address line one, city, country, postal code and "
                "phone (and state in the US and Canada); "
            )
            message = "Return order " + ids + " has no " + name + needs + "fill it on the "
            message += "order's first row."
            if files:
                where = orders.loc[missing, "file_pos"].to_numpy(dtype=np.int64)
                feed = np.array([f.shape == "feed" for f in files])[where]
                # No cell to fill: the file has no such column (or key line) at all.
                absent = np.array([name not in f.fields for f in files])[where]
                start = "Return order " + ids + " has no " + name + ": the file has no " + name
                message = message.mask(
                    feed & ~absent,
                    "Return order " + ids + " has no " + name + needs + "type it after the "
                    "tab on its line at the top of the file.",
                )
                message = message.mask(
                    absent & ~feed,
                    start + " column. Add one, with that name, and fill it on the order's "
                    "first row.",
                )
                message = message.mask(
                    absent & feed,
                    start + " line. Add one among the key lines at the top (" + name + ", a "
                    "tab, then the value).",
                )
            if name in settings.default_address and name != "AddressCountryCode":
                message += (
                    " (The settings' [default_address] fills only orders that give no part "
                    "of an address of their own.)"
                )
            message = message.mask(
                unseen[missing],
                "Return order "
                + orders.loc[missing, "order_id"]
                + " has no "
                + name
                + ": its cell holds only invisible characters (pasted from another program). "
                "Type the " + name + " in the cell on the order's first row.",
            )
            message = message.mask(
                stand_in[missing],
                "Return order "
                + orders.loc[missing, "order_id"]
                + " has '"
                + orders.loc[missing, name]
                + "' as its "
                + name
                + ", a placeholder that the carrier's label would print as it is. Type the "
                "real "
                + name
                + " on the order's first row (a Return needs name, address line one, city, "
                "country, postal code and phone).",
            )
            # The cell as typed: blank, or the placeholder or invisible characters it holds.
            typed = orders.loc[missing, name]
            parts.append(
                findings(
                    orders.loc[missing, "first_line"], name, "address-required", message, typed
                )
            )
    return concat_findings(parts)


# Real places whose names read as placeholders: (field, country) -> lower-case names.
# None (TO, 10060) is a town in Piedmont.
REAL_PLACES = {("AddressCity", "IT"): frozenset({"none"})}


def _stand_in(values: pd.Series, name: str, country: pd.Series) -> pd.Series:
    """Cells of field ``name`` holding a placeholder (PLACEHOLDER_CHECKED fields only),
    but for a real place of that name in the address's ``country`` (REAL_PLACES)."""
    if name not in PLACEHOLDER_CHECKED:
        return pd.Series(False, index=values.index)
    hit = _placeholder(values)
    for (field, where), names in REAL_PLACES.items():
        if field == name and hit.any():
            real = country.eq(where) & values.str.strip().str.lower().isin(names)
            hit &= ~real.to_numpy(dtype=bool)
    return hit


def _placeholder(values: pd.Series) -> pd.Series:
    """Cells holding a stand-in for nothing ("N/A", "TBD", "-"), judged once per distinct
    value, as _contains does: most orders share a few names and cities."""
    codes, distinct = pd.factorize(values)
    if not len(distinct):
        return pd.Series(False, index=values.index)
    text = pd.Series(distinct, dtype=object)
    short = text.str.len().le(8)
    hit = short & text.str.strip().str.fullmatch(PLACEHOLDER, case=False).fillna(False)
    hit_of = hit.to_numpy(dtype=bool)
    return pd.Series((codes >= 0) & hit_of[codes], index=values.index)


def _only_invisible(values: pd.Series) -> pd.Series:
    """Cells that look blank but are not: zero-width spaces and their kin, which a label
    cannot print. Only cells with a non-ASCII character are looked at (a few, if any)."""
    found = pd.Series(False, index=values.index)
    odd = values.ne("") & ~values.str.isascii().fillna(True).astype(bool)
    if odd.any():
        found[odd] = values[odd].str.fullmatch(rf"(?:\s|{INVISIBLE})+").fillna(False).astype(bool)
    return found


def address_ignored(
    orders: pd.DataFrame, value_lines: pd.DataFrame, allowed: tuple[str, ...]
) -> pd.DataFrame:
    """A Disposal (or Liquidations) order's address is dropped: say so once per order. Not
    for a disposition refused (disposition-invalid): the order is not sent at all, and
    changed to Return, as that message may suggest, it needs the address."""
    kept_out = [d for d in ("Disposal", "Liquidations") if d in allowed]
    not_return = orders["disposition"].isin(kept_out)
    has_address = orders[list(ADDRESS_FIELDS)].ne("").any(axis=1)
    hit = not_return & has_address
    if not hit.any():
        return concat_findings([])
    first_field = orders.loc[hit, list(ADDRESS_FIELDS)].ne("").idxmax(axis=1)
    parts = []
    for name, group in first_field.groupby(first_field):
        mask = orders.index.isin(group.index)
        sel = pd.Series(mask, index=orders.index)
        message = (
            orders.loc[sel, "disposition"]
            + " order "
            + orders.loc[sel, "order_id"]
            + " carries an address; it is not needed and is left out of the order file."
        )
        parts.append(
            findings(
                _at(orders, sel, value_lines, str(name)),
                str(name),
                "address-ignored",
                message,
                orders.loc[sel, str(name)],
            )
        )
    return concat_findings(parts)


def address_po_box(orders: pd.DataFrame, value_lines: pd.DataFrame) -> pd.DataFrame:
    why = "is a PO box. Amazon does not send removal orders to PO boxes; give a street address."
    return concat_findings(
        [
            _flag(
                orders,
                _returns(orders) & _contains(orders[name], PO_BOX),
                value_lines,
                name,
                "address-po-box",
                why,
            )
            for name in ADDRESS_LINES
        ]
    )


def _order_country(orders: pd.DataFrame, home_country: str) -> pd.Series:
    """Each order's country as a code, a blank one being the marketplace's
    (``home_country``), and one writing that country out ('USA') its code (see
    as_country_codes): the other address rules judge the order by it in the same pass."""
    country = orders["AddressCountryCode"].str.strip().str.upper()
    return as_country_codes(country.mask(country.eq(""), home_country), home_country)


def _in_us(orders: pd.DataFrame, home_country: str) -> pd.Series:
    """Addresses in the US (see _order_country). Only there do AA/AE/AP and PR, GU...
    name military post and territories: elsewhere they are provinces (Parma is PR, Ascoli
    Piceno AP in Italy; Maharashtra is MH)."""
    return _order_country(orders, home_country).eq("US")


def address_military(
    orders: pd.DataFrame, value_lines: pd.DataFrame, home_country: str
) -> pd.DataFrame:
    returns = _returns(orders)
    city = returns & _contains(orders["AddressCity"], MILITARY_CITY)
    state = (
        returns
        & _in_us(orders, home_country)
        & orders["AddressStateOrRegion"].str.upper().isin(MILITARY_STATES)
    )
    checks = [("AddressCity", city), ("AddressStateOrRegion", state & ~city)]
    boxed = returns & ~city & ~state
    for name in ADDRESS_LINES:
        hit = boxed & _contains(orders[name], MILITARY_BOX, case=False)
        checks.append((name, hit))
        boxed &= ~hit
    why = (
        "is a military (APO/FPO/DPO) address. Amazon does not send removal orders there; give "
        "a civilian street address."
    )
    return concat_findings(
        [_flag(orders, hit, value_lines, name, "address-military", why) for name, hit in checks]
    )


def address_territory(
    orders: pd.DataFrame, value_lines: pd.DataFrame, home_country: str
) -> pd.DataFrame:
    # Outside the US marketplace a territory is one more foreign place (address-foreign,
    # in the words of that marketplace's own country): "give an address in the 50 states"
    # told a Canadian seller the wrong thing.
    if home_country != "US":
        return concat_findings([])
    returns = _returns(orders)
    by_country = returns & _order_country(orders, home_country).isin(US_TERRITORIES)
    by_state = (
        returns
        & ~by_country
        & _in_us(orders, home_country)
        & orders["AddressStateOrRegion"].str.upper().isin(US_TERRITORIES)
    )
    why = (
        "is a US territory. Amazon does not send removal orders to US territories; give an "
        "address in the 50 states or DC."
    )
    return concat_findings(
        [
            _flag(orders, hit, value_lines, name, "address-territory", why)
            for name, hit in (
                ("AddressCountryCode", by_country),
                ("AddressStateOrRegion", by_state),
            )
        ]
    )


# The German street word however it is written: Straße (STRASSE in capitals), Strasse, Str.
# or Str, alone or ending the street's name ("Amazonstraße"). Only where no letter follows,
# so Strand, Strasser Weg and Straßenbahn stay as they are. A letter: \w but no digit or _.
_LETTER = r"[^\W\d_]"
_STRASSE = rf"(?:STRASSE|STR)(?!{_LETTER})"


def _german_street(upper: pd.Series) -> pd.Series:
    """One spelling of the German street word, joined to the name before it: "Amazon
    Straße 1", "Amazon-Str. 1" and "Amazonstrasse 1" all as AMAZONSTR 1 (capitals,
    punctuation already spaces)."""
    joined = upper.str.replace(rf"(?<={_LETTER})\s*{_STRASSE}", "STR", regex=True)
    alone = joined.str.replace(r"\bSTRASSE(?![^\W\d_])", "STR", regex=True)
    # "Amazonstraße1": the number apart, as it is typed after "Amazonstraße ".
    return alone.str.replace(rf"(?<={_LETTER}STR)(?=\d)", " ", regex=True)


def _normal_address(values: pd.Series) -> pd.Series:
    """Address text as compared: capitals, punctuation as spaces, one space between words,
    the usual abbreviations (BOULEVARD -> BLVD, Straße -> STR); full-width digits and
    letters ("４２５５") as plain ones, invisible characters dropped. Made once per
    distinct value."""
    codes, distinct = pd.factorize(values)
    text = _plain_letters(distinct)
    # upper() writes ß as SS, but leaves the capital ẞ.
    upper = text.str.upper().str.replace("\u1e9e", "SS", regex=False)
    words = _german_street(upper.str.replace(r"[^\w\s]", " ", regex=True)).str.split()
    normal = words.map(lambda ws: " ".join(SPELLINGS.get(w, w) for w in ws)).to_numpy(object)
    return pd.Series(
        np.where(codes >= 0, normal[codes] if len(normal) else "", ""), index=values.index
    )


# A US ZIP code, with or without its four more digits (spaces taken out).
US_ZIP = r"\d{5}(?:-?\d{4})?"


def _normal_postal(values: pd.Series) -> pd.Series:
    """Postal codes as compared: without spaces, in capitals, a US ZIP+4 cut to its five
    digits (46052-1234 is 46052). Only a ZIP: the first five characters of L5N 1L8 or
    CV6 6PY are a whole district of Mississauga or Coventry, not one building."""
    code = values.str.upper().str.replace(r"\s", "", regex=True)
    return code.mask(code.str.fullmatch(US_ZIP).fillna(False).astype(bool), code.str[:5])


def _normal_field(values: pd.Series, name: str) -> pd.Series:
    return _normal_postal(values) if name == "AddressPostalCode" else _normal_address(values)


def address_fulfillment_center(
    orders: pd.DataFrame, value_lines: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """An order whose address matches every field of a blocked entry. A street of the
    entry matches any of the order's three lines that holds it as whole words: "Amazon.com
    Services LLC" may come before it, on its line or the line above, and "Dock 5" after."""
    returns = _returns(orders)
    blocked = pd.Series(False, index=orders.index)  # by an entry before: reported once
    normal: dict[str, pd.Series] = {}  # each field of the orders, normalised once

    def normal_of(name: str) -> pd.Series:
        if name not in normal:
            normal[name] = _normal_field(orders[name], name)
        return normal[name]

    parts = []
    for entry in settings.blocked_addresses:
        # A blank field is not compared (the settings leave it out): compared, "" would
        # match only orders with that field blank. An entry with no field left would
        # match every Return: skipped (the settings refuse one).
        compared = {name: value for name, value in entry.items() if value.strip()}
        if not compared:
            continue
        match = returns & ~blocked
        # Each compared field's place in the order: the line holding the entry's street.
        place = {name: pd.Series(name, index=orders.index, dtype=object) for name in compared}
        for name, value in compared.items():
            wanted = _normal_field(pd.Series([value]), name).iloc[0]
            if name not in ADDRESS_LINES:
                match &= normal_of(name).eq(wanted)
                continue
            # Whole words: "4255 ANSON BLVD" is in "LLC 4255 ANSON BLVD DOCK 5", not in
            # "42550 ANSON BLVD". (Normal text holds single spaces between words.)
            padded = f" {wanted} "
            on_line = pd.DataFrame(
                {
                    line: (" " + normal_of(line) + " ").str.contains(padded, regex=False)
                    for line in ADDRESS_LINES
                }
            )
            match &= on_line.any(axis=1)
            place[name] = place[name].mask(match, on_line.idxmax(axis=1))
        if not match.any():
            continue
        blocked |= match
        # Said with the order's own values of the fields that matched, and put on the
        # first of them the entry names: a street nobody blocked is not blamed.
        lead = next(iter(compared))
        said = pd.Series("", index=orders.index[match], dtype=object)
        for name, where in place.items():
            cell = where[match]
            values = pd.Series("", index=cell.index, dtype=object)
            for line, rows in cell.groupby(cell).groups.items():
                values[rows] = orders.loc[rows, str(line)].to_numpy(dtype=object)
            # The order's own field: the entry's street may sit on the order's line two.
            said += ("" if name == lead else ", ") + cell.astype(str) + " '" + values + "'"
        first = place[lead][match]
        for name, at in first.groupby(first):
            hit = pd.Series(orders.index.isin(at.index), index=orders.index)
            message = (
                "The address of order "
                + orders.loc[hit, "order_id"]
                + " matches a fulfillment center on the blocked list ("
                + said[hit[hit].index]
                + "). Removal orders cannot be sent to another Amazon site; give your own "
                "address."
            )
            parts.append(
                findings(
                    _at(orders, hit, value_lines, str(name)),
                    str(name),
                    "address-fulfillment-center",
                    message,
                    orders.loc[hit, str(name)],
                )
            )
    return concat_findings(parts)


def address_foreign(
    orders: pd.DataFrame, value_lines: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    home = settings.home_country
    country = _order_country(orders, home)
    hit = (
        _returns(orders)
        & country.ne(home)
        # Reported as address-territory instead, by the US marketplace.
        & ~(country.isin(US_TERRITORIES) & (home == "US"))
        & country.isin(country_codes())  # an invalid code is country-invalid already
    )
    if not hit.any():
        return concat_findings([])
    named = country[hit].map(lambda c: f"{country_name(c)} ({c})")
    home_name = f"{country_name(home)} ({home})"
    message = (
        "Order "
        + orders.loc[hit, "order_id"]
        + " returns to "
        + named
        + ", but the "
        + settings.marketplace
        + " marketplace only sends removal orders within "
        + home_name
        + ". Give an address in "
        + home_name
        + "."
    )
    return findings(
        _at(orders, hit, value_lines, "AddressCountryCode"),
        "AddressCountryCode",
        "address-foreign",
        message,
        orders.loc[hit, "AddressCountryCode"],
    )


def address_findings(
    orders: pd.DataFrame,
    value_lines: pd.DataFrame,
    settings: Settings,
    files: Sequence[FileFields] = (),
) -> pd.DataFrame:
    """``files``: what each file of the batch gives, by position (messages say when a
    field is missing from a file, not only from an order)."""
    return concat_findings(
        [
            address_required(orders, value_lines, settings, files),
            address_ignored(orders, value_lines, settings.allowed_dispositions),
            address_po_box(orders, value_lines),
            address_military(orders, value_lines, settings.home_country),
            address_territory(orders, value_lines, settings.home_country),
            address_fulfillment_center(orders, value_lines, settings),
            address_foreign(orders, value_lines, settings),
        ]
    )


def default_address_refusals(settings: Settings) -> list[str]:
    """The address rules applied to the settings' default address, as to a Return that
    gives it: a PO box there was reported on every order it filled, at a cell the user
    left blank (the settings file never named). Foreign countries are judged with the
    schema's checks (core.validate.default_address_problems)."""
    address = settings.default_address
    if not address:
        return []
    orders = pd.DataFrame(
        {name: pd.Series([address.get(name, "")], dtype=object) for name in ADDRESS_FIELDS}
    )
    orders = orders.assign(disposition="Return", order_id="[default_address]", first_line=0)
    value_lines = pd.DataFrame({name: [-1] for name in ADDRESS_FIELDS})
    found = concat_findings(
        [
            address_po_box(orders, value_lines),
            address_military(orders, value_lines, settings.home_country),
            address_territory(orders, value_lines, settings.home_country),
            address_fulfillment_center(orders, value_lines, settings),
        ]
    )
    # The country is judged once, by the marketplace's (a territory as a country too).
    said = [str(m) for m in found.loc[found["field"].ne("AddressCountryCode"), "message"]]
    # What address-required refuses in a typed cell, said of the setting: filled in, it was
    # reported on every order at the cell the user had left blank.
    country = _order_country(orders, settings.home_country)
    for name, value in address.items():
        given = pd.Series([value], dtype=object)
        if _only_invisible(given).iloc[0]:
            said.append(
                f"{name} holds only invisible characters: give the {name}, or leave it out."
            )
        elif _stand_in(given, name, country).iloc[0]:
            said.append(
                f"{name} '{value.strip()}' stands in for nothing: give the real {name}, or "
                "leave it out."
            )
    return said
