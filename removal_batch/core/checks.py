"""Vectorised value checks, registered with pandera so the YAML schemas can name them.

Registering happens when a schema is first loaded (``register_checks``), not on import:
pandera takes a quarter of a second to import, and the rules that call the plain helpers
here must not wait for it.

Every check treats a blank cell as passing: whether a blank is allowed is the
business of ``not_blank``/``sku_present`` (value-missing) and of the order rules.
All checks take text columns; nothing is coerced first, so one bad column never
hides another column's problems.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from removal_batch.core.fields import arrow_strings, holds_byte, is_arrow_text, non_empty
from removal_batch.core.raw_table import NOT_CALCULATED, SPREADSHEET_ERROR

CheckFn = Callable[..., pd.Series]
# At most nine digits (leading zeros aside): no real removal asks for a billion units, and
# a longer "number" would overflow the integer it is counted in.
WHOLE_NUMBER = r"[+-]?0*\d{1,9}(\.0*)?"
# "1.000" is one unit where '.' marks decimals and a thousand where it groups thousands
# (German, Dutch, Italian...): refused rather than guessed, as either guess may be wrong.
DOT_GROUPED = r"\+?0*[1-9]\d{0,2}\.000"
ORDER_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}"


def _blank(series: pd.Series) -> pd.Series:
    # From the lengths (non_empty): a third of the time of comparing each value with "".
    return pd.Series(~non_empty(series), index=series.index)


def _filled_cells(series: pd.Series, test: CheckFn) -> pd.Series:
    """``test`` applied to the filled cells only, blank ones passing. Order fields are
    filled on an order's first line only, a twentieth of a typical file's rows."""
    filled = non_empty(series)
    ok = np.ones(len(series), dtype=bool)
    if filled.any():
        ok[filled] = test(series[filled]).to_numpy(dtype=bool)
    return pd.Series(ok, index=series.index)


def is_whole_number(series: pd.Series) -> pd.Series:
    import pyarrow.compute as pc

    # Nearly every quantity is at most nine ASCII digits: two Arrow kernels settle those
    # (a third of the time pandas' three string tests took), and the regular expression
    # (5x slower) runs only on the rest.
    text = arrow_strings(series)
    digits = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(text), 9))
    plain = pd.Series(np.asarray(pc.fill_null(digits, False)), index=series.index)
    if plain.all():
        return plain
    rest = series[~plain]
    whole = rest.str.fullmatch(WHOLE_NUMBER) & ~rest.str.fullmatch(DOT_GROUPED)
    plain[~plain] = whole.fillna(False).astype(bool)
    return plain


# A formula whose result was never saved, as the workbook reader gives it. Text that
# starts with "=" is text: a CSV export writes formulas' results, not formulas.
UNSAVED_FORMULA = re.escape(NOT_CALCULATED) + r"=.*"

# What Excel makes of an identifier typed into a General cell: a long number in
# scientific notation (its last digits gone), and a date, as a workbook gives it
# (2026-03-12) or as Excel and others write it into a CSV or text file (12-Mar, Mar-26,
# 3/12/2026, 12.03.2026).
EXCEL_SCIENTIFIC = r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+"
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
EXCEL_DATE = (
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
    rf"|\d{{1,2}}-{_MONTH}(?:-\d{{2,4}})?|{_MONTH}-\d{{2,4}}"
    r"|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\.\d{1,2}\.\d{2,4}"
)


def is_formula_leftover(series: pd.Series) -> pd.Series:
    """The cells that show a failed or uncalculated formula instead of a value."""
    import pyarrow.compute as pc

    # Without a '#' or ':' anywhere in the column's bytes, no cell is one (nearly every
    # column: 0.1 ms where the prefix tests below take 2-3 ms).
    if not holds_byte(series, b"#:"):
        return pd.Series(False, index=series.index)
    text = arrow_strings(series)
    # Prefix tests, then the patterns only on cells starting with '#' or 'Err:'.
    marked = pc.or_(pc.starts_with(text, "#"), pc.starts_with(text, "Err:"))
    found = pd.Series(np.asarray(pc.fill_null(marked, False)), index=series.index)
    if found.any():
        pattern = f"(?:{SPREADSHEET_ERROR})|(?s:{UNSAVED_FORMULA})"
        found[found] = series[found].str.fullmatch(pattern).fillna(False).astype(bool)
    return found


# (name, pandera options, function) of every check, registered by register_checks.
_CHECKS: list[tuple[str, dict[str, Any], CheckFn]] = []


def _register(name: str, **kwargs: Any) -> Callable[[CheckFn], CheckFn]:
    def wrap(fn: CheckFn) -> CheckFn:
        _CHECKS.append((name, kwargs, fn))
        return fn

    return wrap


def register_checks() -> None:
    """Make every check known to pandera, once however often it is called. Called by
    schema.pandera(), under its import lock."""
    from pandera import extensions
    from pandera.api.checks import Check

    for name, kwargs, fn in _CHECKS:
        if not hasattr(Check, name):
            extensions.register_check_method(**kwargs)(fn)


@_register("not_blank")
def not_blank(series: pd.Series) -> pd.Series:
    return ~_blank(series)


@_register("text_length", statistics=["max_value"])
def text_length(series: pd.Series, *, max_value: int) -> pd.Series:
    """At most ``max_value`` characters. A character takes at least one byte in UTF-8, so a
    column whose longest value has at most ``max_value`` bytes passes without counting
    characters (a millisecond per million values, against pandas' str.len: 4 ms)."""
    if is_arrow_text(series) and len(series):
        import pyarrow.compute as pc

        longest = pc.max(pc.binary_length(arrow_strings(series))).as_py()
        if longest is None or longest <= max_value:
            return pd.Series(True, index=series.index)
    return pd.Series(series.str.len().fillna(0).to_numpy() <= max_value, index=series.index)


@_register("shows_a_value")
def shows_a_value(series: pd.Series) -> pd.Series:
    return ~is_formula_leftover(series)


@_register("whole_number")
def whole_number(series: pd.Series) -> pd.Series:
    return _blank(series) | is_whole_number(series)


@_register("not_negative")
def not_negative(series: pd.Series) -> pd.Series:
    # Only whole numbers are judged here; "abc" is value-not-integer, not negative. The
    # regular expressions run only on the (few) cells that start with a minus sign.
    minus = series.str.startswith("-").fillna(False).astype(bool)
    ok = pd.Series(True, index=series.index)
    if minus.any():
        signed = series[minus]
        negative_zero = signed.str.fullmatch(r"-0+(\.0*)?").fillna(False).astype(bool)
        ok[minus] = ~is_whole_number(signed) | negative_zero
    return ok


@_register("order_id_format")
def order_id_format(series: pd.Series) -> pd.Series:
    return _filled_cells(series, lambda s: s.str.fullmatch(ORDER_ID).fillna(False).astype(bool))


@_register("disposition_allowed", statistics=["allowed"])
def disposition_allowed(series: pd.Series, *, allowed: list[str]) -> pd.Series:
    accepted = {a.lower() for a in allowed}
    if "liquidations" in accepted:
        accepted.add("liquidation")
    return _filled_cells(series, lambda s: s.str.lower().isin(accepted))


@cache
def country_codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


def load_reference_data() -> None:
    """Load pycountry's country and subdivision tables and import phonenumbers now: the
    address checks would otherwise load them on first use, in the middle of validation."""
    import phonenumbers  # noqa: F401
    import pycountry

    country_codes()
    len(pycountry.subdivisions)  # the table is read on first use


# Countries whose name takes "the" in a sentence ("returns to the United Kingdom").
NAMED_WITH_THE = frozenset(
    "US GB NL AE PH BS GM DO CF MV MH SB KY KM SC TC VG VI FO FK MP UM CC".split()  # noqa: SIM905 - codes read best on one line
)


@cache
def country_name(code: str) -> str:
    """'CA' -> 'Canada', 'US' -> 'the United States': the common name where ISO's
    official one is long, as it is said in a sentence."""
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    with warnings.catch_warnings():  # pycountry 23 warns when a country has no common name
        warnings.simplefilter("ignore")
        name = str(getattr(found, "common_name", None) or found.name)
    return f"the {name}" if code in NAMED_WITH_THE else name


@cache
def subdivision_codes(country: str) -> frozenset[str]:
    """State/province codes of a country, without the 'US-' prefix."""
    return frozenset(_subdivisions_by_name(country).values())


# Countries of Amazon's marketplaces as their own people write them (pycountry knows the
# English names only): 'Deutschland' on a German seller's sheet means DE.
OWN_NAMES = {
    "deutschland": "DE",
    "bundesrepublik deutschland": "DE",
    "españa": "ES",
    "espana": "ES",
    "méxico": "MX",
    "italia": "IT",
    "nederland": "NL",
    "polska": "PL",
    "sverige": "SE",
    "belgië": "BE",
    "belgie": "BE",
    "belgique": "BE",
    "belgien": "BE",
    "brasil": "BR",
    "österreich": "AT",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "日本": "JP",
    "nippon": "JP",
    "nihon": "JP",
    "estados unidos": "US",
    "états-unis": "US",
    "etats-unis": "US",
    "vereinigte staaten": "US",
    "royaume-uni": "GB",
    "vereinigtes königreich": "GB",
    "reino unido": "GB",
    "regno unito": "GB",
}


@cache
def country_meant(value: str) -> str:
    """The two-letter code of a country written another way ('USA', 'United States',
    'UK', 'Deutschland'), or "" when the value names no country."""
    import pycountry

    text = value.strip()
    # Dotted abbreviations ("U.S.A.", "U.S.", "U.K.") are the letters without their dots.
    if re.fullmatch(r"(?:[A-Za-z]\.\s*){2,3}", text):
        text = re.sub(r"[.\s]", "", text)
    if text.upper() in ("UK", "US"):  # the short names; the United Kingdom's code is GB
        return "GB" if text.upper() == "UK" else "US"
    own = OWN_NAMES.get(text.lower())
    if own is not None:
        return own
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return ""


@cache
def _subdivisions_by_name(country: str) -> dict[str, str]:
    """Lower-case name -> code (without the 'US-' prefix) of a country's subdivisions."""
    import pycountry

    found = pycountry.subdivisions.get(country_code=country) or []
    names = {s.name.lower(): s.code.split("-", 1)[1] for s in found}
    # Also without accents: ISO writes "Quebec", Quebeckers write "Québec"; ISO writes
    # "Michoacán", a sheet may hold "Michoacan".
    return {**{_unaccented(n): c for n, c in names.items()}, **names}


def _unaccented(text: str) -> str:
    import unicodedata

    apart = unicodedata.normalize("NFKD", text)
    return "".join(c for c in apart if not unicodedata.combining(c))


# The USPS "states" of military post, written out: codes the state check takes (and
# address-military refuses), but no subdivisions in ISO's tables.
MILITARY_STATE_NAMES = {
    "armed forces americas": "AA",
    "armed forces europe": "AE",
    "armed forces pacific": "AP",
}


def state_meant(value: str, country: str) -> str:
    """The code of a state or province written out in full ('Nevada' -> 'NV'), or ""."""
    name = " ".join(value.lower().split())
    if country == "US" and name in MILITARY_STATE_NAMES:
        return MILITARY_STATE_NAMES[name]
    by_name = _subdivisions_by_name(country)
    return by_name.get(name) or by_name.get(_unaccented(name), "")


@_register("country_code")
def country_code(series: pd.Series) -> pd.Series:
    return _filled_cells(series, lambda s: s.str.upper().isin(country_codes()))


# A column validation may add (core.validate): the country of each row's order, where
# another of its rows gives it. A row that leaves its country blank is judged by its
# order's: "K1A 0B1" on an order's first row and CA on its second is a Canadian code.
ORDER_COUNTRY = "order_country"


def _country_columns(frame: pd.DataFrame) -> list[str]:
    """The columns judged_country reads."""
    return ["AddressCountryCode", *([ORDER_COUNTRY] if ORDER_COUNTRY in frame else [])]


def as_country_codes(country: pd.Series, home_country: str) -> pd.Series:
    """Upper-case country cells as codes: one that writes out the marketplace's own
    country (``home_country``: 'USA', 'United States' in the US marketplace) as its code,
    anything else as it is. country-invalid asks for that code; the address's state,
    postal code and territory are judged by it in the same pass, not only once the user
    has changed it (and then found the next error). A country outside the marketplace
    is left alone: country-invalid says so, and the rest of the address must change."""
    unknown = country.ne("") & ~country.isin(country_codes())
    if not unknown.any():
        return country
    named = country[unknown]
    meant = {
        value: home_country if country_meant(value) == home_country else value
        for value in named.unique()
    }
    country = country.copy()
    country[unknown] = named.map(meant)
    return country


def judged_country(frame: pd.DataFrame, blank_country: str) -> pd.Series:
    """The address's country as a code (see as_country_codes); a blank one is the order's
    (ORDER_COUNTRY), else ``blank_country`` (the marketplace's: Settings.home_country)."""
    country = frame["AddressCountryCode"].str.upper()
    if ORDER_COUNTRY in frame:
        country = country.mask(country.eq(""), frame[ORDER_COUNTRY].str.upper())
    return as_country_codes(country.mask(country.eq(""), blank_country), blank_country)


@_register("state_for_country", statistics=["countries", "extra_codes", "blank_country"])
def state_for_country(
    frame: pd.DataFrame,
    *,
    countries: list[str],
    extra_codes: dict[str, list[str]] | None = None,
    blank_country: str = "US",
) -> pd.Series:
    """State codes of the listed countries, plus postal extras (the USPS military codes)."""
    ok = pd.Series(True, index=frame.index)
    # Most rows continue an order and leave it blank; only two columns are needed.
    filled = frame.loc[
        frame["AddressStateOrRegion"].ne(""), ["AddressStateOrRegion", *_country_columns(frame)]
    ]
    state = filled["AddressStateOrRegion"].str.upper()
    country = judged_country(filled, blank_country)
    for code in countries:
        rows = country.eq(code)
        if rows.any():
            known = subdivision_codes(code) | frozenset((extra_codes or {}).get(code, []))
            ok[rows[rows].index] = state[rows].isin(known)
    return ok


@_register("postal_code_for_country", statistics=["patterns", "blank_country"])
def postal_code_for_country(
    frame: pd.DataFrame, *, patterns: dict[str, str], blank_country: str = "US"
) -> pd.Series:
    ok = pd.Series(True, index=frame.index)
    # Most rows continue an order and leave it blank; only two columns are needed.
    filled = frame.loc[
        frame["AddressPostalCode"].ne(""), ["AddressPostalCode", *_country_columns(frame)]
    ]
    postal = filled["AddressPostalCode"]
    country = judged_country(filled, blank_country)
    for code, pattern in patterns.items():
        rows = country.eq(code)
        if rows.any():
            matched = postal[rows].str.fullmatch(pattern, flags=re.IGNORECASE)
            # The patterns' \d is any script's digit: a ZIP typed in full-width digits would
            # pass and go out as typed, which carriers cannot read.
            plain = postal[rows].str.isascii()
            ok[rows[rows].index] = (matched.fillna(False) & plain).astype(bool)
    return ok


def _phone_region(country: str) -> str:
    """The country a phone is judged by: the address's, or the one its invalid code means
    ('UK', 'United Kingdom' -> GB); "" when none is known ('Deutschland'). A London
    number on an address written 'UK' was judged as a US one and refused beside the
    (right) country-invalid."""
    return country if country in country_codes() else country_meant(country)


@cache
def _parsed_phone(phone: str, country: str) -> tuple[Any, bool]:
    """(the number, or None when it cannot be read or its country is unknown; whether it
    is dialled with another country's code than the address's: +44 ... on a US address)."""
    import phonenumbers

    region = _phone_region(country)
    if not region:
        return None, False
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None, False
    home_code = phonenumbers.country_code_for_region(region)
    return number, bool(home_code) and number.country_code != home_code


def _phone_verdict(phone: str, country: str) -> Any:
    """phonenumbers' ValidationResult for a number of the address's country, or None: it
    cannot be read, or is another country's (+44 ... on a US address)."""
    import phonenumbers

    number, abroad = _parsed_phone(phone, country)
    if number is None or abroad:
        return None
    return phonenumbers.is_possible_number_with_reason(number)


def _phone_possible(phone: str, country: str) -> bool:
    import phonenumbers

    if not _phone_region(country):
        return True  # no country to judge it by: country-invalid says what is wrong
    # One only dialled from within its area (555-0142, no area code) reaches no one from a
    # carrier's desk elsewhere: possible "locally only" is not possible here.
    possible = _phone_verdict(phone, country) == phonenumbers.ValidationResult.IS_POSSIBLE
    return possible and not phone_outside_nanp_plan(phone, country)


def phone_outside_nanp_plan(phone: str, country: str) -> bool:
    """Whether a number of the North American plan (+1: the US, Canada, the Caribbean)
    has an area code or exchange starting with 0 or 1, which the plan never gives out:
    000-000-0000 and 123-456-7890 are the right length (possible, to phonenumbers) but
    typed as stand-ins. A rule of the plan's structure, not a list of codes in use, so
    a newly opened area code passes."""
    import phonenumbers

    number, abroad = _parsed_phone(phone, country)
    if number is None or abroad or number.country_code != 1:
        return False
    # With its leading zeros (kept apart from national_number by phonenumbers).
    digits = phonenumbers.national_significant_number(number)
    return len(digits) == 10 and (digits[0] in "01" or digits[3] in "01")


def phone_lacks_area_code(phone: str, country: str) -> bool:
    """Whether a number is one dialled only within its area: the area code left out."""
    import phonenumbers

    local = phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    return _phone_verdict(phone, country) == local


def phone_abroad(phone: str, country: str) -> str:
    """The country a number dialled with another country's code belongs to ("GB" for
    +44 ... on a US address), else ""."""
    import phonenumbers

    number, abroad = _parsed_phone(phone, country)
    if not abroad:
        return ""
    return str(phonenumbers.region_code_for_number(number) or f"+{number.country_code}")


@_register("phone_for_country", statistics=["blank_country"])
def phone_for_country(frame: pd.DataFrame, *, blank_country: str = "US") -> pd.Series:
    phone = frame["ContactPhoneNumber"]
    ok = _blank(phone)
    todo = ~ok
    if todo.any():
        # Few distinct phones per file (often one for every order): judge each distinct
        # (phone, country) pair once and spread the verdicts back.
        pairs = pd.DataFrame(
            {
                "p": phone[todo],
                "c": judged_country(frame.loc[todo, _country_columns(frame)], blank_country),
            }
        )
        codes, distinct = pd.factorize(pd.MultiIndex.from_frame(pairs))
        # phonenumbers reads any script's digits: a number typed in full-width digits
        # passed and went out as typed, which carriers cannot read (as postal codes).
        verdict = np.array([p.isascii() and _phone_possible(p, c) for p, c in distinct], dtype=bool)
        ok = ok.copy()
        ok[todo] = verdict[codes]
    return ok


@_register("sku_present")
def sku_present(frame: pd.DataFrame) -> pd.Series:
    """MerchantSKU is required on every row; an FNSKU may stand in for it."""
    return ~(_blank(frame["MerchantSKU"]) & _blank(frame["FNSKU"]))
