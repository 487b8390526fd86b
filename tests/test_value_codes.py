"""One test per value code, at the row and column the user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import INVENTORY_HEADER, RETURN_ADDRESS, codes_at, request_rows, write_delimited
from hypothesis import given
from hypothesis import strategies as st

from removal_batch.core.settings import Settings, settings_from_mapping
from removal_batch.pipeline import run_batch

# Digits and the hyphen as an East Asian input method types them (U+FF10-FF19, U+FF0D).
FULL_WIDTH = str.maketrans("0123456789-", "".join(map(chr, range(0xFF10, 0xFF1A))) + "\uff0d")

BASE = {
    "MerchantRemovalOrderID": "R1",
    **RETURN_ADDRESS,
    "MerchantSKU": "00123",
    "SellableQuantity": "1",
    "UnsellableQuantity": "0",
}
# Column letters of the fixture header.
COL = {
    "MerchantRemovalOrderID": "A",
    "RemovalDisposition": "B",
    "AddressName": "C",
    "AddressFieldOne": "D",
    "AddressCity": "G",
    "AddressCountryCode": "H",
    "AddressStateOrRegion": "I",
    "AddressPostalCode": "J",
    "ContactPhoneNumber": "K",
    "MerchantSKU": "M",
    "SellableQuantity": "N",
    "UnsellableQuantity": "O",
}

CASES = [
    ("value-missing", {"MerchantSKU": ""}),
    ("value-not-integer", {"SellableQuantity": "2.5"}),
    ("value-not-integer", {"UnsellableQuantity": "ten"}),
    ("value-negative", {"SellableQuantity": "-3"}),
    ("value-too-long", {"MerchantSKU": "S" * 41}),
    ("value-too-long", {"AddressName": "N" * 51}),
    # Characters are counted, not bytes: 51 characters of two bytes each.
    ("value-too-long", {"AddressName": "\u00e9" * 51}),
    ("order-id-invalid", {"MerchantRemovalOrderID": "RMV 2026/11"}),
    ("order-id-invalid", {"MerchantRemovalOrderID": "-starts-with-dash"}),
    ("order-id-invalid", {"MerchantRemovalOrderID": "A" * 51}),
    ("disposition-invalid", {"RemovalDisposition": "Recycle"}),
    ("country-invalid", {"AddressCountryCode": "USA"}),
    ("state-invalid", {"AddressStateOrRegion": "Nevada"}),
    ("postal-code-invalid", {"AddressPostalCode": "2134"}),
    ("postal-code-invalid", {"AddressPostalCode": "ABCDE"}),
    ("phone-invalid", {"ContactPhoneNumber": "12"}),
]


@pytest.mark.parametrize(
    ("code", "change"), CASES, ids=[f"{c}-{list(v.values())[0][:12]}" for c, v in CASES]
)
def test_value_code_at_its_cell(tmp_path: Path, check, code: str, change: dict[str, str]) -> None:
    rows = [BASE, {**BASE, "MerchantRemovalOrderID": "R2", **change}]
    result = check(write_delimited(tmp_path / "v.txt", request_rows(rows)))
    (field,) = change
    assert codes_at(result) == {(3, COL[field], code)}
    problem = result.problems[result.problems["code"].eq(code)].iloc[0]
    assert problem["field"] == field
    assert problem["value"] == change[field]
    assert problem["severity"] == "error"
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("UnsellableQuantity", ""),  # blank = 0
        ("UnsellableQuantity", "-0"),  # zero, however it is signed: not value-negative
        ("UnsellableQuantity", "-0.0"),
        ("SellableQuantity", "5.0"),
        ("SellableQuantity", " 7 "),
        ("AddressPostalCode", "02134"),
        ("AddressPostalCode", "89502-1234"),
        ("ContactPhoneNumber", "(775) 555-0100"),
        ("ContactPhoneNumber", "+1 775 555 0100"),
        ("RemovalDisposition", "return"),
        ("AddressCountryCode", "us"),
        ("MerchantRemovalOrderID", "RMV-2026_11.a"),
        # 50 characters (the limit) in 100 bytes of UTF-8.
        ("AddressName", "\u00e9" * 50),
    ],
)
def test_acceptable_values_pass(tmp_path: Path, check, field: str, value: str) -> None:
    result = check(write_delimited(tmp_path / "ok.txt", request_rows([{**BASE, field: value}])))
    assert result.problems.empty


def test_canadian_address_checks(tmp_path: Path, check) -> None:
    ca = {
        **BASE,
        "AddressCountryCode": "CA",
        "AddressStateOrRegion": "ON",
        "AddressPostalCode": "K1A 0B1",
        "ContactPhoneNumber": "613-555-0199",
    }
    bad = {
        **ca,
        "MerchantRemovalOrderID": "R2",
        "AddressStateOrRegion": "NV",
        "AddressPostalCode": "12345",
    }
    path = write_delimited(tmp_path / "ca.txt", request_rows([ca, bad]))
    result = check(path, settings=Settings(marketplace="CA"))
    assert codes_at(result) == {(3, "I", "state-invalid"), (3, "J", "postal-code-invalid")}


def test_a_row_without_a_country_is_judged_by_its_orders(tmp_path: Path, check) -> None:
    """An order's country given on its second row is the country of the state, postal
    code and phone on its first: a Canadian address was judged as a US one there, and
    refused for its state and postal code beside the one thing wrong with it (Canada,
    from the US marketplace). Wrong values are said wrong for Canada."""
    ca = {
        **BASE,
        "AddressCountryCode": "",
        "AddressStateOrRegion": "ON",
        "AddressPostalCode": "K1A 0B1",
        "ContactPhoneNumber": "613-555-0199",
    }
    second = {"MerchantSKU": "SKU-4", "SellableQuantity": "1", "AddressCountryCode": "CA"}
    bad = {**ca, "MerchantRemovalOrderID": "R2", "AddressStateOrRegion": "ZZ"}
    # A London phone and postcode, judged as British by the GB on the next row.
    gb = {**ca, "MerchantRemovalOrderID": "R3", "AddressStateOrRegion": ""}
    gb |= {"AddressPostalCode": "SW1A 1AA", "ContactPhoneNumber": "020 7946 0958"}
    rows = request_rows(
        [ca, second, {**bad, "AddressPostalCode": "K1A"}, second, gb]
        + [{**second, "AddressCountryCode": "GB"}]
    )
    result = check(write_delimited(tmp_path / "ca.txt", rows))
    assert codes_at(result) == {
        (3, "H", "address-foreign"),
        (4, "I", "state-invalid"),
        (4, "J", "postal-code-invalid"),
        (5, "H", "address-foreign"),
        (7, "H", "address-foreign"),
    }
    said = result.problems.set_index("code")["message"]
    assert "not a state or province code of CA" in said["state-invalid"]
    assert said["postal-code-invalid"].endswith("a postal code is written like K1A 0B1.")


def test_lost_leading_zero_message_says_so(tmp_path: Path, check) -> None:
    result = check(
        write_delimited(tmp_path / "z.txt", request_rows([{**BASE, "AddressPostalCode": "2134"}]))
    )
    assert "leading zero" in result.problems["message"][0]


def test_one_bad_column_does_not_hide_another(tmp_path: Path, check) -> None:
    row = {
        **BASE,
        "SellableQuantity": "x",
        "UnsellableQuantity": "-1",
        "AddressCountryCode": "ZZ",
        "MerchantSKU": "",
    }
    result = check(write_delimited(tmp_path / "many.txt", request_rows([row])))
    assert codes_at(result) == {
        (2, "N", "value-not-integer"),
        (2, "O", "value-negative"),
        (2, "H", "country-invalid"),
        (2, "M", "value-missing"),
    }


def test_liquidations_only_where_settings_allow(tmp_path: Path, check) -> None:
    row = {
        "MerchantRemovalOrderID": "L1",
        "RemovalDisposition": "Liquidations",
        "MerchantSKU": "00123",
        "SellableQuantity": "1",
    }
    path = write_delimited(tmp_path / "l.txt", request_rows([row]))
    assert codes_at(check(path)) == {(2, "B", "disposition-invalid")}
    allowed = Settings(allowed_dispositions=("Return", "Disposal", "Liquidations"))
    assert check(path, settings=allowed).problems.empty


def test_feed_order_field_problem_is_reported_once_at_its_cell(tmp_path: Path, check) -> None:
    path = tmp_path / "feed.txt"
    path.write_text(
        "MerchantRemovalOrderID\tFEED 1\nRemovalDisposition\tDisposal\n\n"
        "MerchantSKU\tSellableQuantity\tUnsellableQuantity\n00123\t1\t0\nABC-1\t1\tx\n"
    )
    result = check(path)
    assert codes_at(result) == {(1, "B", "order-id-invalid"), (6, "C", "value-not-integer")}
    assert result.files[0].shape == "feed"


def test_feed_order_rule_problem_points_at_its_key_line(tmp_path: Path, check) -> None:
    """Order rules (decided after validation) placed in a feed file: the order field's
    own line and value cell, not the item row the order starts on."""
    path = tmp_path / "feed.txt"
    keys = [
        ("MerchantRemovalOrderID", "F1"),
        ("RemovalDisposition", "Return"),
        ("AddressName", "Acme Returns"),
        ("AddressFieldOne", "PO Box 5"),
        ("AddressCity", "Reno"),
        ("AddressCountryCode", "US"),
        ("AddressStateOrRegion", "NV"),
        ("AddressPostalCode", "89502"),
        ("ContactPhoneNumber", "775-555-0100"),
    ]
    path.write_text(
        "".join(f"{k}\t{v}\n" for k, v in keys)
        + "\nMerchantSKU\tSellableQuantity\tUnsellableQuantity\n00123\t1\t0\n"
    )
    result = check(path)
    assert result.files[0].shape == "feed"
    assert codes_at(result) == {(4, "B", "address-po-box")}


def test_a_disposal_feed_is_written_without_its_bad_address(tmp_path: Path, check) -> None:
    """A feed's address key lines are one cell each: a Disposal's bad state there is
    withdrawn with the address (one address-ignored warning at the first address line)."""
    path = tmp_path / "feed.txt"
    path.write_text(
        "MerchantRemovalOrderID\tF2\nRemovalDisposition\tDisposal\nAddressName\tAcme\n"
        "AddressStateOrRegion\tXX\n\nMerchantSKU\tSellableQuantity\tUnsellableQuantity\n"
        "00123\t1\t0\nABC-1\t1\t0\n"
    )
    result = check(path)
    assert codes_at(result) == {(3, "B", "address-ignored")}
    assert list(result.decision.orders["order_id"]) == ["F2"]


def test_absurdly_large_quantity_is_not_a_whole_number_of_units(tmp_path: Path, check) -> None:
    # Found by the fuzzer: 400 digits overflowed the integer the units are counted in.
    row = {**BASE, "SellableQuantity": "9" * 400}
    result = check(write_delimited(tmp_path / "big.txt", request_rows([row])))
    assert codes_at(result) == {(2, "N", "value-not-integer")}
    assert "999,999,999" in result.problems["message"][0]


@given(
    st.lists(
        st.sampled_from(["PO Box 12", "p.o. box 7", "1 Main St", "PSC 3, Box 4", "", "Unit 5"]),
        max_size=40,
    )
)
def test_address_patterns_on_distinct_values_match_every_value(values: list[str]) -> None:
    """The address rules match each distinct value once and spread the answer back."""
    import pandas as pd

    from removal_batch.core.rules.address import MILITARY_BOX, PO_BOX, _contains

    series = pd.Series(values, dtype="str", index=range(100, 100 + len(values)))
    for pattern, case in ((PO_BOX, True), (MILITARY_BOX, False)):
        expected = series.str.contains(pattern, case=case, regex=True, na=False).astype(bool)
        pd.testing.assert_series_equal(_contains(series, pattern, case), expected)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["775-555-0100", "12", "", "+44 20 7946 0958", "613-555-0199"]),
            st.sampled_from(["US", "CA", "GB", "", "ZZ"]),
        ),
        max_size=30,
    )
)
def test_phone_verdicts_of_distinct_pairs_reach_every_row(rows: list[tuple[str, str]]) -> None:
    """Phones are judged once per distinct (phone, country); every row gets its own."""
    import pandas as pd

    from removal_batch.core.checks import _phone_possible, judged_country, phone_for_country

    frame = pd.DataFrame(
        {"ContactPhoneNumber": [p for p, _ in rows], "AddressCountryCode": [c for _, c in rows]},
        index=range(7, 7 + len(rows)),
        dtype="str",
    )
    for blank_country in ("US", "GB"):
        countries = judged_country(frame, blank_country) if rows else pd.Series(dtype="str")
        expected = [
            phone == "" or _phone_possible(phone, country)
            for phone, country in zip(frame["ContactPhoneNumber"], countries, strict=True)
        ]
        assert phone_for_country(frame, blank_country=blank_country).tolist() == expected


def test_sku_duplicate_on_no_lines_finds_nothing() -> None:
    """The integer keys take the largest SKU number; with no lines there is none."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.rules.lines import sku_duplicate

    empty = pd.DataFrame(
        {
            "order_no": np.empty(0, dtype=np.int64),
            "sku_pos": np.empty(0, dtype=np.int64),
            "sku": pd.Series([], dtype="str"),
        }
    )
    assert sku_duplicate(empty).empty


@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("0123456789+-. x\u00b2\u0663\uff15")), max_size=12),
        max_size=30,
    )
)
def test_whole_number_test_agrees_with_its_pattern(values: list[str]) -> None:
    """The ASCII-digits shortcut gives the pattern's answer for every value: '²' (a digit
    to str.isdigit, not to the pattern) fails, ten digits fail; the Arabic '٣' and the
    full-width '５' are decimal digits to the pattern, as before the shortcut."""
    import re

    import pandas as pd

    from removal_batch.core.checks import DOT_GROUPED, WHOLE_NUMBER, is_whole_number
    from removal_batch.core.raw_table import TEXT

    series = pd.Series(values, dtype=TEXT)
    expected = [
        re.fullmatch(WHOLE_NUMBER, v) is not None and re.fullmatch(DOT_GROUPED, v) is None
        for v in values
    ]
    assert is_whole_number(series).tolist() == expected


def test_a_point_before_three_zeros_is_not_taken_for_a_whole_number() -> None:
    """1.000 is a thousand to a German user and one to an American: neither is guessed. A
    point that cannot group thousands (four digits before it, two zeros after it, a zero
    or a minus in front) leaves the number as plain as before."""
    import pandas as pd

    from removal_batch.core.checks import is_whole_number
    from removal_batch.core.raw_table import TEXT

    values = ["1.000", "10.000", "100.000", "+7.000", "1000.000", "1.00", "0.000", "-1.000"]
    whole = is_whole_number(pd.Series(values, dtype=TEXT)).tolist()
    assert whole == [False, False, False, False, True, True, True, True]


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        (
            {"AddressCountryCode": "USA"},
            "'USA' is not a two-letter country code (ISO 3166-1). Use 'US' for the United States.",
        ),
        ({"AddressCountryCode": "united states"}, "Use 'US' for the United States."),
        # A code the next run would refuse is not suggested: the US marketplace sends
        # removals only within the US, and never to a US territory.
        (
            {"AddressCountryCode": "UK"},
            "'UK' is the United Kingdom (GB), but the US marketplace sends removal orders only "
            "within the United States (US): give an address there.",
        ),
        # Written as its own people write it: pycountry knows the English names only.
        (
            {"AddressCountryCode": "Deutschland"},
            "'Deutschland' is Germany (DE), but the US marketplace sends removal orders only "
            "within the United States (US): give an address there.",
        ),
        ({"AddressCountryCode": "Estados Unidos"}, "Use 'US' for the United States."),
        (
            {"AddressCountryCode": "Canada"},
            "'Canada' is Canada (CA), but the US marketplace sends removal orders only within "
            "the United States (US): give an address there.",
        ),
        (
            {"AddressCountryCode": "Puerto Rico"},
            "'Puerto Rico' is a US territory: Amazon does not send removal orders to US "
            "territories; give an address in the 50 states or DC.",
        ),
        (
            {"AddressStateOrRegion": "Puerto Rico"},
            "'Puerto Rico' is a US territory: Amazon does not send removal orders to US "
            "territories; give an address in the 50 states or DC.",
        ),
        (
            {"AddressCountryCode": "ZZZ"},
            "'ZZZ' is not a two-letter country code (ISO 3166-1), such as US, CA or GB.",
        ),
        (
            {"AddressStateOrRegion": "Nevada"},
            "'Nevada' is not a state or province code of US; use the two-letter code: 'NV'.",
        ),
        # The USPS "state" of military post written out: said as what it is, not told to
        # become AE, which address-military would then refuse.
        (
            {"AddressStateOrRegion": "Armed Forces  Europe"},
            "'Armed Forces  Europe' is military post (APO/FPO/DPO): Amazon does not send "
            "removal orders there; give a civilian street address.",
        ),
        (
            {
                "AddressStateOrRegion": "ontario",
                "AddressCountryCode": "CA",
                "AddressPostalCode": "K1A 0B1",
            },
            "'ontario' is not a state or province code of CA; use the two-letter code: 'ON'.",
        ),
        # Examples of the address's own country ('ON' would fail in the US too).
        ({"AddressStateOrRegion": "Nevda"}, "use the two-letter code, such as NV or TX."),
        (
            {
                "AddressStateOrRegion": "Ontaryo",
                "AddressCountryCode": "CA",
                "AddressPostalCode": "K1A 0B1",
            },
            "code of CA; use the two-letter code, such as ON or BC.",
        ),
    ],
)
def test_a_country_or_state_written_out_gets_its_code(
    tmp_path: Path, check, cells: dict[str, str], said: str
) -> None:
    result = check(write_delimited(tmp_path / "c.txt", request_rows([{**BASE, **cells}])))
    messages = result.problems.loc[result.problems["code"].str.endswith("-invalid"), "message"]
    assert len(messages) == 1 and said in messages.iloc[0]


@pytest.mark.parametrize(
    ("sku", "said", "not_said"),
    [
        # The snapshot has 00123: the zeros were lost on the way.
        ("123", "Did you mean '00123'? Its leading zeros were probably lost", "scientific"),
        # Other capitals, and an invisible character pasted in with the SKU.
        ("abc-1", "Did you mean 'ABC-1'? The snapshot writes it with other capitals", "zeros"),
        ("SKU-4\u200b", "invisible character (U+200B)", "Check the spelling"),
        ("\ufeffABC-1", "invisible character (U+FEFF)", "capitals"),
        # A non-breaking hyphen or full-width letters, from a word processor or an East
        # Asian keyboard: the same SKU written plainly.
        ("SKU\u20114", "written plainly it is 'SKU-4', which the snapshot lists", "Did you"),
        ("\uff33\uff2b\uff35-4", "written plainly it is 'SKU-4'", "Check the spelling"),
        # A cell wrapped with Alt+Enter, as Excel saves it: quoted, with a line break.
        ('"SKU-\n4"', "written plainly it is 'SKU-4'", "Check the spelling"),
        # A tab pasted into a quoted cell, with no listed SKU in it: the tab is named.
        ('"SKU-\t9"', "It holds a tab, which a tab-delimited upload file cannot", "spelling"),
        # Two slips at once: no one explanation fits, so the general advice.
        ("\u200dabc-1", "Check the spelling", "Did you mean"),
        # Excel's display of 123456789012, saved into a CSV: no SKU can be guessed back.
        ("1.23457E+11", "Excel turned into scientific notation", "Check the spelling"),
        ("1,23457E+11", "Excel turned into scientific notation", "Did you mean"),
        ("NO-SUCH-SKU", "Check the spelling, or use a newer snapshot", "scientific"),
        # A failed formula's error, explained as itself (each had #N/A's words before).
        ("#N/A", "spreadsheet error, not a SKU: a lookup in the formula found nothing", "del"),
        ("#REF!", "not a SKU: the formula points at cells that were deleted", "lookup"),
        ("#NAME?", "not a SKU: the formula uses a name the spreadsheet does not", "lookup"),
        ("#NUM!", "not a SKU: the formula in the cell failed", "lookup"),
        # A SKU typed 3-12 or 1/2, saved by Excel into a CSV or text file as the date it
        # became, in the forms its locales write (review H7: "Check the spelling").
        ("12-Mar", "It looks like a date: Excel turns a SKU typed like 3-12", "spelling"),
        ("Mar-26", "It looks like a date", "spelling"),
        ("3/12/2026", "It looks like a date", "spelling"),
        ("12.03.26", "It looks like a date", "spelling"),
        # pandas and others write a whole number read as a float with ".0".
        ("123456789012.0", "saved with '.0' after it: remove the '.0'", "spelling"),
        # Two neighbours swapped, one of them a letter.
        (
            "BAC-1",
            "Did you mean 'ABC-1'? The snapshot lists it, and this SKU has 'BA' where",
            "zeros",
        ),
        # A sibling's number is never guessed (SKU-4 is listed; SKU-5 may be a product).
        ("SKU-5", "Check the spelling", "Did you mean"),
        # The FNSKU off Amazon's label, typed as the SKU (in small letters too).
        ("X000000002", "It is the FNSKU of SKU 'ABC-1' in the snapshot: put that SKU", "spelling"),
        ("x000000004", "It is the FNSKU of SKU 'SKU-4'", "spelling"),
    ],
)
def test_an_unknown_sku_says_what_probably_happened(
    tmp_path: Path, check, sku: str, said: str, not_said: str
) -> None:
    result = check(
        write_delimited(tmp_path / "s.txt", request_rows([{**BASE, "MerchantSKU": sku}]))
    )
    assert codes_at(result) == {(2, "M", "sku-unknown")}
    message = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"].iloc[0]
    typed = sku.strip('"')  # a quoted cell's text
    assert f"SKU '{typed}' is not in the inventory snapshot" in message
    assert said in message and not_said not in message


def test_a_sku_excel_stored_as_a_date_says_so(tmp_path: Path, check) -> None:
    """A SKU typed 3-12 into a General cell is a date in the workbook; it is read as the
    date (the typed text is gone), and the message says what happened."""
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    for row in request_rows([BASE, {**BASE, "MerchantRemovalOrderID": "R2"}]):
        book.active.append(row)
    book.active["M3"] = datetime.date(2026, 3, 12)
    book.save(tmp_path / "d.xlsx")
    result = check(tmp_path / "d.xlsx")
    assert codes_at(result) == {(3, "M", "sku-unknown")}
    message = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"].iloc[0]
    assert "SKU '2026-03-12' is not in the inventory snapshot" in message
    assert "It looks like a date: Excel turns a SKU typed like 3-12" in message
    assert "Check the spelling" not in message


TERRITORIES = ["PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"]


@pytest.mark.parametrize("code", TERRITORIES)
def test_every_us_territory_is_refused_as_state_and_as_country(
    tmp_path: Path, check, code: str
) -> None:
    rows = [
        {**BASE, "MerchantRemovalOrderID": "R1", "AddressStateOrRegion": code},
        {**BASE, "MerchantRemovalOrderID": "R2", "AddressCountryCode": code},
    ]
    result = check(write_delimited(tmp_path / "t.txt", request_rows(rows)))
    found = {(row, column) for row, column, c in codes_at(result) if c == "address-territory"}
    assert found == {(2, "I"), (3, "H")}
    # A territory as the country is reported as one, not also as a foreign country.
    assert "address-foreign" not in {c for row, _, c in codes_at(result) if row == 3}


def test_a_repeated_sku_names_the_row_it_first_appears_on(tmp_path: Path, check) -> None:
    again = {"MerchantSKU": "00123", "SellableQuantity": "1"}
    rows = [BASE, {"MerchantSKU": "ABC-1", "SellableQuantity": "1"}, again, again]
    result = check(write_delimited(tmp_path / "r.txt", request_rows(rows)))
    repeats = result.problems[result.problems["code"].eq("sku-duplicate")]
    assert list(repeats["row"]) == [4, 5]
    assert all("'00123' is already in order R1 at row 2." in m for m in repeats["message"])


def test_no_sku_is_guessed_when_two_lost_the_same_zeros(tmp_path: Path) -> None:
    """'123' could be 0123 or 00123 when the snapshot lists both: no guess, only the hint
    to check the spelling. With one of them listed, that one is named."""
    rows = [
        INVENTORY_HEADER,
        ["0123", "", "", "", "5", "0", "0"],
        ["00123", "", "", "", "5", "0", "0"],
    ]
    both = write_delimited(tmp_path / "both.txt", rows)
    one = write_delimited(tmp_path / "one.txt", rows[:2])
    request = write_delimited(tmp_path / "r.txt", request_rows([{**BASE, "MerchantSKU": "123"}]))

    def advice(snapshot: Path) -> str:
        problems = run_batch([request], snapshot, Settings()).problems
        return str(problems.loc[problems["code"].eq("sku-unknown"), "message"].iloc[0])

    assert "Did you mean" not in advice(both) and "Check the spelling" in advice(both)
    assert "Did you mean '0123'?" in advice(one)


def test_no_guess_from_a_snapshot_without_a_sku_to_guess(tmp_path: Path) -> None:
    """No SKU of the snapshot starts with a zero (or differs only in capitals): the guesses
    have nothing to look through, and the general advice is given."""
    from conftest import INVENTORY_HEADER

    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    snapshot = write_delimited(
        tmp_path / "inv.txt", [INVENTORY_HEADER, ["SKU-4", "X4", "B4", "Thing", "5", "0", "0"]]
    )
    request = write_delimited(tmp_path / "r.txt", request_rows([{**BASE, "MerchantSKU": "123"}]))
    result = run_batch([request], snapshot, Settings())
    (message,) = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"]
    assert message.endswith("Check the spelling, or use a newer snapshot.")


def test_an_fnsku_of_two_skus_says_so(tmp_path: Path) -> None:
    """Not 'not in the snapshot': it is there twice, and the user must pick the SKU."""
    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    snapshot = write_delimited(
        tmp_path / "inv.txt",
        [
            ["sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"],
            ["A", "X00000000A", "10", "0"],
            ["B", "X00000000A", "10", "0"],
        ],
    )
    header = [
        "MerchantRemovalOrderID",
        "RemovalDisposition",
        "FNSKU",
        "SellableQuantity",
        "UnsellableQuantity",
    ]
    row = {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
    request = write_delimited(
        tmp_path / "r.txt",
        request_rows([{**row, "FNSKU": "X00000000A", "SellableQuantity": "1"}], header=header),
    )
    result = run_batch([request], snapshot, Settings())
    (message,) = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"]
    assert message == (
        "FNSKU X00000000A belongs to more than one SKU in the inventory snapshot; give the "
        "MerchantSKU instead."
    )


def test_messages_made_once_per_distinct_failure_are_the_same() -> None:
    """Each distinct (code, field, value, country) gets its message once and the rest are
    copies: the same text as building every one."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.schema import length_limits
    from removal_batch.core.validate import _explained, _messages

    rng = np.random.default_rng(3)
    kinds = [
        ("value-not-integer", "SellableQuantity", "x", "US"),
        ("value-not-integer", "UnsellableQuantity", "1.5", "US"),
        ("value-negative", "SellableQuantity", "-2", "US"),
        ("value-too-long", "AddressName", "A" * 60, "US"),
        ("state-invalid", "AddressStateOrRegion", "Nevada", "US"),
        ("state-invalid", "AddressStateOrRegion", "ontario", "CA"),
        ("postal-code-invalid", "AddressPostalCode", "2134", "US"),
        ("country-invalid", "AddressCountryCode", "USA", "USA"),
        ("phone-invalid", "ContactPhoneNumber", "12", "GB"),
        ("value-missing", "MerchantSKU", "", "US"),
    ]
    picks = rng.integers(0, len(kinds), 2500)
    failures = pd.DataFrame(
        [kinds[i] for i in picks], columns=["code", "field", "value", "country"]
    )
    failures.index = pd.RangeIndex(7, 7 + len(failures))
    settings = Settings()
    limits = failures["field"].map(length_limits()).fillna(0).astype(int)
    expected = _messages(failures.assign(limit=limits), settings)
    said = _explained(failures, settings)
    assert said.tolist() == expected.tolist() and said.index.equals(failures.index)
    assert "at most 50" in said[failures["field"].eq("AddressName")].iloc[0]


def test_a_thousand_bad_cells_each_get_their_message(tmp_path: Path, check) -> None:
    """Past a thousand failures the messages are shared between equal ones; every row
    still gets its own problem, in its own place."""
    rows = [
        {**BASE, "MerchantRemovalOrderID": f"R{i}", "SellableQuantity": "x"} for i in range(1100)
    ]
    result = check(write_delimited(tmp_path / "x.txt", request_rows(rows)))
    bad = result.problems[result.problems["code"].eq("value-not-integer")]
    assert sorted(bad["row"].astype(int)) == list(range(2, 1102))
    assert set(bad["message"]) == {
        "SellableQuantity must be a whole number of units (at most 999,999,999), like 3; "
        "'x' is not. Leave the cell blank for 0."
    }


TYPO_SNAPSHOT = [
    "CANDLE-SOY-LAV",
    "CANDLE-SOY-VAN",
    "SHIRT-L",
    "SHIRT-XL",
    "TEE-BLK",
    "PAPER-TOWEL",
    "PAPER-TOWER",
    "MUG-12OZ",
    "SOCK-XXL",
]


@pytest.mark.parametrize(
    ("sku", "guess"),
    [
        (
            "CANDEL-SOY-LAV",
            "Did you mean 'CANDLE-SOY-LAV'? The snapshot lists it, and this SKU "
            "has 'EL' where it has 'LE'. If that is the product, correct the SKU in the file.",
        ),
        (
            "CANDDLE-SOY-VAN",
            "'CANDLE-SOY-VAN'? The snapshot lists it, and this SKU has one 'D' too many.",
        ),
        (
            "CANLE-SOY-LAV",
            "'CANDLE-SOY-LAV'? The snapshot lists it, and this SKU has one 'D' too few.",
        ),
        (
            "CANDKE-SOY-LAV",
            "'CANDLE-SOY-LAV'? The snapshot lists it, and this SKU has 'K' where it has 'L'.",
        ),
        ("TEE-BKL", "'TEE-BLK'? The snapshot lists it, and this SKU has 'KL' where it has 'LK'."),
        # Sizes, colours and packs differ by a character: siblings, not slips.
        ("SHIRT-M", ""),
        ("SHIRT-XXL", ""),
        ("CANDLE-SOY-LAX", ""),
        ("TEE-BLU", ""),
        ("MUG-21OZ", ""),
        ("SOCK-XL", ""),
        ("SOCK-XXXL", ""),
        # One slip from two listed SKUs: no guess.
        ("PAPER-TOWEX", ""),
    ],
)
def test_a_sku_one_typing_slip_from_a_listed_one_is_named(
    tmp_path: Path, sku: str, guess: str
) -> None:
    rows = [INVENTORY_HEADER] + [[s, "", "", "", "5", "0", "0"] for s in TYPO_SNAPSHOT]
    snapshot = write_delimited(tmp_path / "inv.txt", rows)
    request = write_delimited(tmp_path / "r.txt", request_rows([{**BASE, "MerchantSKU": sku}]))
    problems = run_batch([request], snapshot, Settings()).problems
    (message,) = problems.loc[problems["code"].eq("sku-unknown"), "message"]
    if guess:
        assert guess in message and "Check the spelling" not in message
    else:
        assert "Did you mean" not in message and "Check the spelling" in message


def test_no_slip_is_guessed_among_many_unknown_skus(tmp_path: Path) -> None:
    """Past TYPO_MAX_UNKNOWN distinct unknown SKUs the batch met the wrong snapshot: the
    slip guess is not made for any of them (it would cost time and mean little)."""
    from removal_batch.core.rules.lines import TYPO_MAX_UNKNOWN

    rows = [INVENTORY_HEADER, ["CANDLE-SOY-LAV", "", "", "", "5", "0", "0"]]
    snapshot = write_delimited(tmp_path / "inv.txt", rows)

    def messages(count: int) -> list[str]:
        skus = ["CANDEL-SOY-LAV"] + [f"NOT-LISTED-{i:03d}" for i in range(count - 1)]
        lines = [
            {**BASE, "MerchantRemovalOrderID": f"R{i}", "MerchantSKU": sku}
            for i, sku in enumerate(skus)
        ]
        request = write_delimited(tmp_path / "r.txt", request_rows(lines))
        problems = run_batch([request], snapshot, Settings()).problems
        return list(problems.loc[problems["code"].eq("sku-unknown"), "message"])

    assert "Did you mean 'CANDLE-SOY-LAV'" in messages(TYPO_MAX_UNKNOWN)[0]
    many = messages(TYPO_MAX_UNKNOWN + 1)
    assert len(many) == TYPO_MAX_UNKNOWN + 1
    assert not any("Did you mean" in m for m in many)


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        (
            {"SellableQuantity": "1,000"},
            "SellableQuantity must be a whole number of units written without separators; "
            "'1,000' has a thousands comma: write it as 1000.",
        ),
        (
            {"SellableQuantity": "1,00"},
            "'1,00' has a decimal comma; a quantity is a whole number: write it as 1.",
        ),
        (
            {"AddressPostalCode": "\uff18\uff19\uff15\uff10\uff12"},
            "is typed in full-width characters, which carriers cannot read: type it with "
            "plain ones, 89502.",
        ),
        # phonenumbers reads full-width digits (an East Asian input method's) as digits.
        (
            {"ContactPhoneNumber": "775-555-0199".translate(FULL_WIDTH)},
            "is typed in full-width characters, which carriers cannot read: type it with "
            "plain ones, 775-555-0199.",
        ),
        (
            {"ContactPhoneNumber": "+44 20 7946 0000"},
            "ContactPhoneNumber '+44 20 7946 0000' is a number in GB, not in US where the order "
            "goes; give a phone number there, for the carrier.",
        ),
        (
            {"SellableQuantity": "1 000"},
            "'1 000' has spaces or apostrophes between its digits: write it as 1000.",
        ),
        (
            {"UnsellableQuantity": "10,0"},
            "UnsellableQuantity '10,0' has a decimal comma; a quantity is a whole number: "
            "write it as 10.",
        ),
        (
            {"SellableQuantity": "5\u200b"},
            "holds an invisible character (pasted along with the number): type the number "
            "again in the cell.",
        ),
        (
            {"SellableQuantity": "2.000"},
            "SellableQuantity '2.000' could mean 2 or 2000 units (in much of Europe 1.000 is a "
            "thousand): write 2 or 2000, without the point.",
        ),
        (
            {"UnsellableQuantity": "+12.000"},
            "'+12.000' could mean 12 or 12000 units",
        ),
        # A part of a unit: "leave the cell blank for 0" would ask for none.
        (
            {"SellableQuantity": "2.5"},
            "SellableQuantity '2.5' is a part of a unit; a quantity counts whole units: type "
            "the whole number meant, like 2 or 3.",
        ),
        ({"UnsellableQuantity": ",5"}, "'',5'' is a part of a unit".replace("''", "'")),
        (
            {"SellableQuantity": "1.500"},
            "SellableQuantity '1.500' is no whole number of units, unless its point groups "
            "thousands (as in much of Europe): write 1500 if that is meant, without the point, "
            "or the whole number meant.",
        ),
        (
            {"SellableQuantity": "x"},
            "SellableQuantity must be a whole number of units (at most 999,999,999), like 3; "
            "'x' is not. Leave the cell blank for 0.",
        ),
        (
            {"AddressPostalCode": "2134"},
            "has only 4 digits: its leading zero was probably lost (e.g. 02134 became 2134).",
        ),
        (
            {"AddressPostalCode": "213"},
            "has only 3 digits: its leading zeros were probably lost (e.g. 02134 became 2134).",
        ),
        (
            # Its zero is there: a digit is missing, not a zero lost.
            {"AddressPostalCode": "0610"},
            "AddressPostalCode '0610' is not a valid postal code for US",
        ),
    ],
)
def test_a_number_written_the_office_way_says_how_to_write_it(
    tmp_path: Path, check, cells: dict[str, str], said: str
) -> None:
    result = check(write_delimited(tmp_path / "n.txt", request_rows([{**BASE, **cells}])))
    problems = result.problems[result.problems["code"].ne("order-held")]
    assert len(problems) == 1 and said in problems["message"].iloc[0]


def test_every_postal_example_in_the_messages_passes_its_countrys_check() -> None:
    """The message's example for a country must be a code the check accepts, and every
    country the schema knows has one."""
    import re

    import yaml

    from removal_batch.core.validate import POSTAL_EXAMPLES

    schema = yaml.safe_load((Path(__file__).parents[1] / "schemas" / "request.yaml").read_text())
    (patterns,) = [c["patterns"] for c in schema["checks"] if "patterns" in c]
    assert set(POSTAL_EXAMPLES) == set(patterns)
    for country, text in POSTAL_EXAMPLES.items():
        examples = re.findall(r"(?:like|written|or) ([A-Z0-9][A-Z0-9 -]*[A-Z0-9])", text)
        assert examples, country
        for example in examples:
            assert re.fullmatch(patterns[country], example), (country, example)


@pytest.mark.parametrize(
    ("country", "code", "valid"),
    [
        ("CA", "K1A 0B1", True),
        ("CA", "H0H 0H0", True),
        ("CA", "V6B4Y8", True),
        ("CA", "D1A 1A1", False),  # D, F, I, O, Q and U are never used
        ("CA", "K1O 1A1", False),
        ("CA", "K1A 1U1", False),
        ("CA", "W1A 1A1", False),  # W and Z never first
        ("CA", "Z1A 1A1", False),
        ("GB", "GIR 0AA", True),
        ("GB", "SW1A 1AA", True),
        ("GB", "GIR 1AA", False),
    ],
)
def test_postal_codes_take_the_letters_their_post_uses(
    tmp_path: Path, check, country: str, code: str, valid: bool
) -> None:
    state = {"CA": "ON", "GB": ""}[country]
    row = {**BASE, "AddressCountryCode": country, "AddressStateOrRegion": state}
    row |= {"AddressPostalCode": code, "ContactPhoneNumber": "+1 613 555 0142"}
    result = check(write_delimited(tmp_path / "p.txt", request_rows([row])))
    found = set(result.problems["code"])
    assert ("postal-code-invalid" in found) != valid, found


def test_a_wrong_postal_code_says_how_its_country_writes_them(tmp_path: Path, check) -> None:
    rows = [{**BASE, "AddressPostalCode": "ABCDE"}]
    result = check(write_delimited(tmp_path / "p.txt", request_rows(rows)))
    said = result.problems.loc[result.problems["code"].eq("postal-code-invalid"), "message"]
    assert list(said) == [
        "AddressPostalCode 'ABCDE' is not a valid postal code for US; a ZIP code is written "
        "12345 or 12345-6789."
    ]


def test_a_held_order_names_its_first_error_and_how_many_it_has(tmp_path: Path) -> None:
    """The order-held record stands on the order's first row; the errors that hold it may
    be far below: it names the first one's row and code, and counts them."""
    stock = [INVENTORY_HEADER] + [[f"S{i:02d}", "", "", "", "9", "0", "0"] for i in range(41)]
    snapshot = write_delimited(tmp_path / "inv.txt", stock)
    lines = [{**BASE, "MerchantRemovalOrderID": "R1", "MerchantSKU": "S40"}] + [
        {"MerchantSKU": f"S{i:02d}", "SellableQuantity": "1"} for i in range(40)
    ]
    lines[31] = {"MerchantSKU": "NO-SUCH-SKU", "SellableQuantity": "1"}  # row 33
    lines[36] = {"MerchantSKU": "S35", "SellableQuantity": "x"}  # row 38, its own SKU
    lines.append(
        {**BASE, "MerchantRemovalOrderID": "R2", "MerchantSKU": "S40", "SellableQuantity": "0"}
    )  # row 43
    request = write_delimited(tmp_path / "h.txt", request_rows(lines))
    problems = run_batch([request], snapshot, Settings()).problems
    held = problems[problems["code"].eq("order-held")]
    assert dict(zip(held["row"].astype(int), held["message"], strict=True)) == {
        2: "Order R1 is held back and not written. Its rows have 2 errors, the first on row 33 "
        "(sku-unknown): fix them and run again (or use --allow-partial to send the valid "
        "lines).",
        # Its one line is the bad one: --allow-partial would send nothing, so is not named.
        43: "Order R2 is held back and not written. Its rows have 1 error, on row 43 "
        "(quantity-zero): fix it and run again.",
    }


def test_only_orders_allow_partial_would_send_in_part_suggest_it(tmp_path: Path, check) -> None:
    """An order held for an order-level error (its address, its disposition) is held under
    --allow-partial too; suggesting it sent users round in a circle (a review's finding)."""
    rows = [
        {**BASE, "MerchantRemovalOrderID": "R1", "AddressPostalCode": "ABCDE"},
        {"MerchantSKU": "ABC-1", "SellableQuantity": "1"},
        {**BASE, "MerchantRemovalOrderID": "R2", "MerchantSKU": "NO-SUCH-SKU"},
        {"MerchantSKU": "ABC-1", "SellableQuantity": "1"},
    ]
    result = check(write_delimited(tmp_path / "p.txt", request_rows(rows)))
    said = result.problems.loc[result.problems["code"].eq("order-held"), "message"].tolist()
    assert said[0].endswith("(postal-code-invalid): fix it and run again.")
    assert said[1].endswith(
        "(sku-unknown): fix it and run again (or use --allow-partial to send the valid lines)."
    )
    partial = check(
        write_delimited(tmp_path / "p.txt", request_rows(rows)),
        settings=Settings(allow_partial=True),
    )
    assert partial.decision.orders["order_id"].tolist() == ["R2"]
    # The same id in another file is another order, held for its id alone: no hint there.
    again = write_delimited(
        tmp_path / "q.txt", request_rows([{**BASE, "MerchantRemovalOrderID": "R2"}])
    )
    result = check(tmp_path / "p.txt", again)
    held = result.problems[result.problems["code"].eq("order-held")]
    hint = held["message"].str.contains("--allow-partial")
    assert dict(zip(held["file"], hint, strict=True)) == {"p.txt": True, "q.txt": False}


def test_a_held_order_under_allow_partial_does_not_suggest_it(tmp_path: Path, check) -> None:
    rows = [{**BASE, "AddressPostalCode": "ABCDE"}]
    result = check(
        write_delimited(tmp_path / "p.txt", request_rows(rows)),
        settings=Settings(allow_partial=True),
    )
    (said,) = result.problems.loc[result.problems["code"].eq("order-held"), "message"]
    assert said.endswith("(postal-code-invalid): fix it and run again.")


def test_held_messages_fall_back_to_the_general_sentence() -> None:
    """decide_orders gives held orders the general sentence (it has not seen the value
    problems); an order whose errors are not found keeps it when the others are pointed."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.problems import held_messages

    ids = pd.Series(["A", "B"], dtype=object)
    general = "Order A is held back and not written, because of the errors reported on its rows."
    hinted, plain = np.array([True, False]), np.array([False, False])
    assert (
        held_messages(ids, False, hinted)[0] == f"{general} Fix them and run again "
        "(or use --allow-partial to send the valid lines)."
    )
    assert held_messages(ids, False, plain)[0] == f"{general} Fix them and run again."
    assert held_messages(ids, True, hinted)[0] == f"{general} Fix them and run again."
    pointed = held_messages(
        ids,
        True,
        plain,
        pd.Series([7, None], dtype="Int64"),
        pd.Series(["sku-unknown", None], dtype=object),
        pd.Series([3, None], dtype="float64"),
    )
    assert list(pointed) == [
        "Order A is held back and not written. Its rows have 3 errors, the first on row 7 "
        "(sku-unknown): fix them and run again.",
        "Order B is held back and not written, because of the errors reported on its rows. "
        "Fix them and run again.",
    ]


@pytest.mark.parametrize(
    ("cells", "code", "field", "said"),
    [
        (
            {"AddressName": "#N/A"},
            "value-missing",
            "AddressName",
            "AddressName holds the spreadsheet error #N/A, not a value: a lookup in the formula "
            "found nothing. Correct the formula, or type the value in its place.",
        ),
        (
            {"AddressCity": "Err:502"},
            "value-missing",
            "AddressCity",
            "AddressCity holds the spreadsheet error Err:502, not a value: the formula in the "
            "cell failed.",
        ),
        # The postal code's own rule refuses it too: one problem, the rule's, explained.
        (
            {"AddressPostalCode": "#REF!"},
            "postal-code-invalid",
            "AddressPostalCode",
            "the formula points at cells that were deleted",
        ),
        (
            {"MerchantSKU": "#N/A"},
            "sku-unknown",
            "MerchantSKU",
            "It is a spreadsheet error, not a SKU",
        ),
    ],
)
def test_a_formula_left_in_a_text_cell_is_no_value(
    tmp_path: Path, check, cells: dict[str, str], code: str, field: str, said: str
) -> None:
    """A text file exported from a sheet whose lookup failed holds '#N/A' in the cell: a
    name, a city, a note of '#N/A' is no address. One problem per cell."""
    result = check(write_delimited(tmp_path / "f.txt", request_rows([{**BASE, **cells}])))
    problems = result.problems[result.problems["code"].ne("order-held")]
    assert list(zip(problems["code"], problems["field"], strict=True)) == [(code, field)]
    assert said in problems["message"].iloc[0]


def test_text_that_only_looks_like_a_formula_is_text(tmp_path: Path, check) -> None:
    """A note starting with '=' (a CSV export writes formulas' results, so it is text), a
    '#' house number, 'N/A' without '#': plain text, accepted."""
    cells = {
        "ShippingNotes": "=> fragile, call first",
        "AddressName": "=Acme Inc",
        "AddressFieldOne": "#12 Elm St",
        "AddressFieldTwo": "N/A",
    }
    result = check(write_delimited(tmp_path / "t.txt", request_rows([{**BASE, **cells}])))
    assert result.problems.empty


def test_country_and_state_codes_go_out_in_capitals(tmp_path: Path, check) -> None:
    """'us' and 'nv' are accepted (codes are compared without regard to case) and written
    as codes are written; a region's name is left as typed."""
    rows = [
        {**BASE, "AddressCountryCode": "us", "AddressStateOrRegion": "nv"},
        {
            **BASE,
            "MerchantRemovalOrderID": "R2",
            "AddressCountryCode": "US",
            "AddressStateOrRegion": "Nv",
        },
    ]
    result = check(write_delimited(tmp_path / "c.txt", request_rows(rows)))
    assert result.problems.empty
    orders = result.decision.orders
    assert list(orders["AddressCountryCode"]) == ["US", "US"]
    assert list(orders["AddressStateOrRegion"]) == ["NV", "NV"]


def test_the_default_address_goes_out_trimmed_and_its_codes_in_capitals(
    tmp_path: Path, check
) -> None:
    """The settings' [default_address] is written as a typed cell would be: " Reno " kept
    its spaces and "us", "nv" went out in small letters."""
    default = {
        "AddressFieldOne": " 100 Dock St ",
        "AddressCity": " Reno ",
        "AddressStateOrRegion": "nv",
        "AddressPostalCode": "89502",
        "AddressCountryCode": "us",
        "ContactPhoneNumber": "775-555-0100",
    }
    row = {"MerchantRemovalOrderID": "R1", "RemovalDisposition": "Return"}
    row |= {"AddressName": "Acme Returns", "MerchantSKU": "00123", "SellableQuantity": "1"}
    settings = settings_from_mapping({"default_address": default})
    result = check(write_delimited(tmp_path / "d.txt", request_rows([row])), settings=settings)
    assert result.problems.empty
    (order,) = result.decision.orders.to_dict("records")
    assert [order[name] for name in default] == [
        "100 Dock St",
        "Reno",
        "NV",
        "89502",
        "US",
        "775-555-0100",
    ]


def test_a_blank_default_street_is_no_street(tmp_path: Path, check) -> None:
    """AddressFieldOne = "   " counted as given: the order was written with a blank street."""
    default = {**RETURN_ADDRESS, "AddressFieldOne": "   "}
    del default["RemovalDisposition"]
    row = {"MerchantRemovalOrderID": "R1", "RemovalDisposition": "Return"}
    row |= {"MerchantSKU": "00123", "SellableQuantity": "1"}
    settings = settings_from_mapping({"default_address": default})
    result = check(write_delimited(tmp_path / "d.txt", request_rows([row])), settings=settings)
    assert codes_at(result) == {(2, "D", "address-required")}
    assert result.decision.lines.empty


@given(
    st.lists(st.text(alphabet=st.sampled_from(list("ab#=:é ")), max_size=6), max_size=20),
    st.integers(min_value=0, max_value=5),
)
def test_holds_byte_reads_the_values_bytes_only(values: list[str], skip: int) -> None:
    """The byte test behind the spreadsheet-error check agrees with looking at every value,
    on a slice of a longer array (whose buffers hold bytes outside it) and on chunks."""
    import pandas as pd

    from removal_batch.core.fields import holds_byte
    from removal_batch.core.raw_table import TEXT

    whole = pd.Series(["#", *values, "="], dtype=TEXT)
    sliced = whole.iloc[1 + min(skip, len(values)) : 1 + len(values)]
    expected = any(ch in v for v in sliced for ch in "#=:")
    assert holds_byte(sliced, b"#=:") == expected
    halves = [pd.Series(values[:skip], dtype=TEXT), pd.Series(values[skip:], dtype=TEXT)]
    chunked = pd.concat(halves, ignore_index=True)
    assert holds_byte(chunked, b"#=:") == any(ch in v for v in values for ch in "#=:")


def test_an_id_differing_only_in_capitals_names_the_other(tmp_path: Path, inventory: Path) -> None:
    rows = [
        {**BASE, "MerchantRemovalOrderID": "AB1"},
        {**BASE, "MerchantRemovalOrderID": "ab1"},
        {**BASE, "MerchantRemovalOrderID": "r7"},
    ]
    request = write_delimited(tmp_path / "a.txt", request_rows(rows))
    used_ids = {"R7": "20261128-101500-ab12", "X": "20261128-101500-ab12"}
    result = run_batch([request], inventory, Settings(), used_ids=used_ids)
    said = result.problems.loc[result.problems["code"].eq("order-id-duplicate"), "message"]
    assert said.tolist() == [
        "Order id ab1 differs only in capitals from order AB1 (a.txt row 2) of this batch: "
        "their order files would be one file on Windows and macOS. Give one of them another "
        "id.",
        "Order id r7 differs only in capitals from order R7, issued in run "
        "20261128-101500-ab12 (their order files would be one file on Windows and macOS). If "
        "this is that order, it was sent already: delete its rows. Only a different order "
        "needs a new id.",
    ]
    assert result.decision.orders["order_id"].tolist() == ["AB1"]


def test_an_id_used_in_two_files_names_where_the_first_is(tmp_path: Path, inventory: Path) -> None:
    """Which of two orders with one id keeps it is the file first in name order: the
    message says where that order is, so the user can tell which of the two to change."""
    first = write_delimited(
        tmp_path / "a.txt", request_rows([{**BASE, "MerchantRemovalOrderID": "Q0"}] * 1)
    )
    later = [{**BASE, "MerchantRemovalOrderID": "Q1"}, {**BASE, "MerchantRemovalOrderID": "Q0"}]
    second = write_delimited(tmp_path / "b.txt", request_rows(later))
    result = run_batch([first, second], inventory, Settings())
    said = result.problems.loc[result.problems["code"].eq("order-id-duplicate"), "message"]
    assert said.tolist() == [
        "Order id Q0 is also used by an order in another file of this batch (a.txt row 2). "
        "Each removal order needs its own id."
    ]


def test_an_id_used_in_two_files_names_the_sheet_and_the_id_line(
    tmp_path: Path, inventory: Path
) -> None:
    """'(a.xlsx row 3)' sent the user to the sheet the workbook opens on, not the request
    sheet after it; '(b.txt row 4)' to a feed's first SKU line, not its id line."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Requests")
    for row in [["Removal requests"], *request_rows([{**BASE, "MerchantRemovalOrderID": "Q0"}])]:
        sheet.append(row)
    book.save(tmp_path / "a.xlsx")
    feed = ["MerchantRemovalOrderID\tQ1", "RemovalDisposition\tDisposal", ""]
    feed += ["MerchantSKU\tSellableQuantity\tUnsellableQuantity", "00123\t1\t0"]
    (tmp_path / "b.txt").write_text("\n".join(feed) + "\n")
    later = [{**BASE, "MerchantRemovalOrderID": "Q0"}, {**BASE, "MerchantRemovalOrderID": "Q1"}]
    third = write_delimited(tmp_path / "c.txt", request_rows(later))
    result = run_batch([tmp_path / "a.xlsx", tmp_path / "b.txt", third], inventory, Settings())
    said = result.problems.loc[result.problems["code"].eq("order-id-duplicate"), "message"]
    assert [m.partition("(")[2].partition(")")[0] for m in said] == [
        "a.xlsx sheet 'Requests' row 3",
        "b.txt row 1",
    ]


def _sku_and_fnsku_lines(tmp_path: Path, lines: list[tuple[str, str]]) -> Path:
    """A request file of one-line Disposal orders D1, D2... giving (MerchantSKU, FNSKU)."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [
        {"MerchantRemovalOrderID": f"D{i}", "RemovalDisposition": "Disposal"}
        | {"MerchantSKU": sku, "FNSKU": fnsku, "SellableQuantity": "1"}
        for i, (sku, fnsku) in enumerate(lines, start=1)
    ]
    return write_delimited(tmp_path / "f.txt", request_rows(rows, header))


def test_a_sku_and_an_fnsku_of_different_items_are_refused(tmp_path: Path, inventory: Path) -> None:
    """Both columns filled, naming two items of the snapshot: the FNSKU was ignored and the
    MerchantSKU's units sent without a word (two reviews' finding). Matching ones pass."""
    request = _sku_and_fnsku_lines(
        tmp_path,
        [("00123", "X000000002"), ("00123", "X000000001"), ("ABC-1", "X999")]
        # The same FNSKU in small letters is the same code.
        + [("SKU-4", "x000000004")],
    )
    result = run_batch([request], inventory, Settings())
    assert codes_at(result) == {(2, "D", "sku-unknown"), (4, "D", "sku-unknown")}
    said = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"].tolist()
    assert said == [
        "MerchantSKU '00123' and FNSKU 'X000000002' name different items: in the inventory "
        "snapshot, the FNSKU of '00123' is 'X000000001', and 'X000000002' is the FNSKU of "
        "'ABC-1'. Correct the one that is wrong, or clear the FNSKU cell.",
        "MerchantSKU 'ABC-1' and FNSKU 'X999' name different items: in the inventory "
        "snapshot, the FNSKU of 'ABC-1' is 'X000000002'. Correct the one that is wrong, or "
        "clear the FNSKU cell.",
    ]
    assert result.decision.orders["order_id"].tolist() == ["D2", "D4"]


def test_an_fnsku_of_another_item_beside_a_sku_without_one_is_refused(tmp_path: Path) -> None:
    """A SKU the snapshot lists with no FNSKU, beside the FNSKU of another SKU: nothing was
    compared, and the line went out as the MerchantSKU's without a word, though which item
    was meant cannot be told. An FNSKU the snapshot does not know is no other item."""
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [["sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]]
        + [["A", "", "10", "0"], ["B", "X00000000B", "10", "0"]],
    )
    request = _sku_and_fnsku_lines(tmp_path, [("A", "x00000000b"), ("A", "X999")])
    result = run_batch([request], inventory, Settings())
    assert codes_at(result) == {(2, "D", "sku-unknown")}
    assert result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"].tolist() == [
        "MerchantSKU 'A' and FNSKU 'x00000000b' name different items: in the inventory "
        "snapshot, 'A' has no FNSKU, and 'x00000000b' is the FNSKU of 'B'. Correct the one "
        "that is wrong, or clear the FNSKU cell."
    ]
    assert result.decision.orders["order_id"].tolist() == ["D2"]


def test_an_fnsku_not_found_says_why_where_it_can(tmp_path: Path) -> None:
    """A seller SKU typed in the FNSKU column, and a snapshot whose report has no fnsku
    column, were both told only that the FNSKU "is not in the inventory snapshot"."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [
        {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
        | {"FNSKU": "B", "SellableQuantity": "1"},
        {"MerchantRemovalOrderID": "D2", "RemovalDisposition": "Disposal"}
        | {"FNSKU": "X999", "SellableQuantity": "1"},
    ]
    request = write_delimited(tmp_path / "f.txt", request_rows(rows, header))
    quantities = ["afn-fulfillable-quantity", "afn-unsellable-quantity"]
    listed = write_delimited(
        tmp_path / "listed.txt",
        [["sku", "fnsku", *quantities], ["B", "X00000000B", "10", "0"]],
    )
    problems = run_batch([request], listed, Settings()).problems
    said = problems.loc[problems["code"].eq("sku-unknown"), "message"].tolist()
    assert said[0].endswith("It is a SKU the snapshot lists: put it in the MerchantSKU column.")
    assert said[-1] == "FNSKU 'X999' is not in the inventory snapshot listed.txt."
    bare = write_delimited(tmp_path / "bare.txt", [["sku", *quantities], ["B", "10", "0"]])
    result = run_batch([request], bare, Settings())
    found = result.problems.loc[result.problems["code"].eq("sku-unknown"), "message"].tolist()
    assert found[-1] == (
        "FNSKU 'X999' is not in the inventory snapshot bare.txt. It lists no FNSKUs (the "
        "report has no fnsku column), so none can be looked up: give the MerchantSKU, or "
        "download the report with its fnsku column."
    )


def test_an_fnsku_in_small_letters_finds_its_sku(tmp_path: Path, inventory: Path) -> None:
    """Alone in its line as beside a MerchantSKU, an FNSKU typed in small letters is the
    same code: x000000001 is 00123's (review H4: alone, it was sku-unknown)."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [
        {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
        | {"FNSKU": "x000000001", "SellableQuantity": "1"},
    ]
    request = write_delimited(tmp_path / "f.txt", request_rows(rows, header))
    result = run_batch([request], inventory, Settings())
    assert codes_at(result) == set()
    assert result.decision.orders["order_id"].tolist() == ["D1"]
    assert result.decision.lines["sku"].tolist() == ["00123"]


def test_a_held_order_with_a_generated_id_echoes_the_blank_cell(
    tmp_path: Path, inventory: Path
) -> None:
    """The report's value is what the cell holds: the CSV showed the generated id at A2
    while the annotated sheet showed A2 blank (a review's finding)."""
    rows = [{**BASE, "MerchantRemovalOrderID": "", "MerchantSKU": "NO-SUCH"}]
    request = write_delimited(tmp_path / "g.txt", request_rows(rows))
    problems = run_batch([request], inventory, Settings()).problems
    (held,) = problems[problems["code"].eq("order-held")].itertuples()
    assert held.value == "" and held.order_id.startswith("RB-")
    assert f"Order {held.order_id} is held back" in held.message


def test_generated_and_part_ids_do_not_differ_only_in_capitals(
    tmp_path: Path, inventory: Path
) -> None:
    """A generated RB-...-0001 beside a typed rb-...-0001, and parts X-P1, X-P2 beside a
    typed x-p1: two order files that Windows and macOS keep as one (a review's finding)."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    typed = {**BASE, "MerchantRemovalOrderID": f"rb-{today}-0001"}
    blank = {**BASE, "MerchantRemovalOrderID": ""}
    first = write_delimited(tmp_path / "a.txt", request_rows([typed]))
    second = write_delimited(tmp_path / "b.txt", request_rows([blank]))
    ids = run_batch([first, second], inventory, Settings()).decision.orders["order_id"]
    assert sorted(ids) == [f"RB-{today}-0002", f"rb-{today}-0001"]
    ledger = {f"Rb-{today}-0001": "r1"}
    ids = run_batch([second], inventory, Settings(), used_ids=ledger).decision.orders["order_id"]
    assert ids.tolist() == [f"RB-{today}-0002"]
    rows = [
        {**BASE, "MerchantRemovalOrderID": "X"},
        {"MerchantSKU": "ABC-1", "SellableQuantity": "1"},
        {**BASE, "MerchantRemovalOrderID": "x-p1", "MerchantSKU": "SKU-4"},
    ]
    split = write_delimited(tmp_path / "s.txt", request_rows(rows))
    result = run_batch([split], inventory, Settings(max_skus_per_order=1))
    said = result.problems.loc[result.problems["code"].eq("order-id-duplicate"), "message"]
    assert said.tolist() == [
        "Order X has 2 lines, more than 1, so it would be written as orders X-P1, X-P2...; "
        "but X-P1 is the id of another order in this batch (in other capitals: one file on "
        "Windows and macOS). Give one of the two orders another id."
    ]
    assert result.decision.orders["order_id"].tolist() == ["x-p1"]


@pytest.mark.parametrize(
    ("field", "column", "value", "said"),
    [
        (
            "ContactPhoneNumber",
            "K",
            "1.61756E+10",
            "is a number Excel turned into scientific notation, which loses its last digits",
        ),
        ("MerchantRemovalOrderID", "A", "3/12/2026", "looks like a date: Excel turns an id"),
    ],
)
def test_an_identifier_excel_changed_says_what_happened(
    tmp_path: Path, check, field: str, column: str, value: str, said: str
) -> None:
    """'Check for missing or extra digits' for a phone Excel shortened, and the bare id
    rule for an id it made a date, told nothing of the cause (review H7)."""
    result = check(write_delimited(tmp_path / "p.txt", request_rows([{**BASE, field: value}])))
    problems = result.problems
    found = problems[problems["column"].eq(column) & problems["code"].ne("order-held")]
    assert len(found) == 1 and said in found["message"].iloc[0]


def test_ids_are_compared_in_capitals_of_a_to_z_only(tmp_path: Path, inventory: Path) -> None:
    """Unicode capitalises a dotless i to I, a long s to S and ß to SS: an id refused for
    one of them (order-id-invalid) held back the valid id it capitalises to, in another
    file, in the ledger or as a part id, with "differs only in capitals"."""
    first = write_delimited(
        tmp_path / "a.txt",
        request_rows(
            [
                {**BASE, "MerchantRemovalOrderID": "ORD\u0131D1"},
                {**BASE, "MerchantRemovalOrderID": "\u017fr7"},
                {**BASE, "MerchantRemovalOrderID": "stra\u00dfe-p1", "MerchantSKU": "SKU-4"},
            ]
        ),
    )
    rows = [
        {**BASE, "MerchantRemovalOrderID": "ORDID1"},
        {**BASE, "MerchantRemovalOrderID": "STRASSE"},
        {"MerchantSKU": "ABC-1", "SellableQuantity": "1"},
    ]
    second = write_delimited(tmp_path / "b.txt", request_rows(rows))
    result = run_batch(
        [first, second],
        inventory,
        Settings(max_skus_per_order=1),
        used_ids={"SR7": "20261128-101500-ab12"},
    )
    assert codes_at(result) == {
        (2, "A", "order-id-invalid"),
        (3, "A", "order-id-invalid"),
        (4, "A", "order-id-invalid"),
        (3, "A", "order-split"),  # b.txt's STRASSE, written as two parts
    }
    written = result.decision.orders["order_id"].tolist()
    assert written == ["ORDID1", "STRASSE-P1", "STRASSE-P2"]


def test_an_fnsku_matches_in_capitals_of_a_to_z_only(tmp_path: Path) -> None:
    """x000000001 is X000000001; an FNSKU with a dotless i is not one with an I."""
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [INVENTORY_HEADER, ["SKU-I", "XI00001", "", "", "5", "0", "0"]],
    )
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [
        {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
        | {"FNSKU": "x\u013100001", "SellableQuantity": "1"},
        {"MerchantRemovalOrderID": "D2", "RemovalDisposition": "Disposal"}
        | {"MerchantSKU": "SKU-I", "FNSKU": "X\u013100001", "SellableQuantity": "1"},
        {"MerchantRemovalOrderID": "D3", "RemovalDisposition": "Disposal"}
        | {"FNSKU": "xi00001", "SellableQuantity": "1"},
    ]
    request = write_delimited(tmp_path / "f.txt", request_rows(rows, header))
    result = run_batch([request], inventory, Settings())
    assert codes_at(result) == {(2, "D", "sku-unknown"), (3, "D", "sku-unknown")}
    assert result.decision.orders["order_id"].tolist() == ["D3"]


def _phone_file(tmp_path: Path, country: str, state: str, postal: str, phone: str) -> Path:
    """A one-row request whose Return address is in ``country`` with ``phone``."""
    row = {**BASE, "AddressCountryCode": country, "AddressStateOrRegion": state}
    row |= {"AddressPostalCode": postal, "ContactPhoneNumber": phone}
    return write_delimited(tmp_path / "p.txt", request_rows([row]))


def _phone_refusals(result) -> list[str]:  # type: ignore[no-untyped-def]
    return result.problems.loc[result.problems["code"].eq("phone-invalid"), "message"].tolist()


@pytest.mark.parametrize(
    ("country", "state", "postal", "phone", "local"),
    [
        ("US", "NV", "89501", "555-0142", True),
        ("US", "NV", "89501", "5550142", True),
        ("CA", "ON", "K1A 0B1", "555 0142", True),
        ("GB", "", "SW1A 1AA", "7946 0958", True),
        ("US", "NV", "89501", "775-555-0142", False),
        ("CA", "ON", "K1A 0B1", "613-555-0142", False),
        ("GB", "", "SW1A 1AA", "020 7946 0958", False),
    ],
)
def test_a_phone_without_its_area_code_is_refused(
    tmp_path: Path, check, country: str, state: str, postal: str, phone: str, local: bool
) -> None:
    """555-0142 is dialled only within its area: a carrier's depot elsewhere cannot call
    it. phonenumbers calls it possible (locally only); it is refused, and said why."""
    said = _phone_refusals(check(_phone_file(tmp_path, country, state, postal, phone)))
    if local:
        assert said == [
            f"ContactPhoneNumber '{phone}' has no area code: the carrier must be able to call "
            f"it from anywhere in {country}. Write the whole number, with its area code."
        ]
    else:
        assert said == []


@pytest.mark.parametrize(
    ("country", "state", "postal", "phone", "refused"),
    [
        ("US", "NV", "89501", "000-000-0000", True),
        ("US", "NV", "89501", "123-456-7890", True),
        ("US", "NV", "89501", "1111111111", True),
        ("US", "NV", "89501", "+1 775 155 0142", True),
        ("CA", "ON", "K1A 0B1", "013-555-0142", True),
        ("US", "NV", "89501", "1-775-555-0142", False),
        ("US", "NV", "89501", "(800) 555-0199 x12", False),
        ("CA", "ON", "K1A 0B1", "613-555-0142", False),
        ("GB", "", "SW1A 1AA", "020 7946 0958", False),
    ],
)
def test_a_north_american_phone_outside_the_numbering_plan_is_refused(
    tmp_path: Path, check, country: str, state: str, postal: str, phone: str, refused: bool
) -> None:
    """000-000-0000 and 123-456-7890 have a US number's ten digits, so phonenumbers calls
    them possible; but no area code or exchange starts with 0 or 1: they were stand-ins,
    and went out on the label. The plan's rule only: London's 020 is not judged by it."""
    result = check(_phone_file(tmp_path, country, state, postal, phone))
    said = _phone_refusals(result)
    if refused:
        assert said == [
            f"ContactPhoneNumber '{phone}' cannot be dialled: in {country} no area code or "
            "exchange (the first and the fourth digit) starts with 0 or 1, so it looks like "
            "a stand-in. Give the number the carrier can call."
        ]
        assert result.decision.orders.empty
    else:
        assert said == []


@pytest.mark.parametrize(
    ("phone", "said"),
    [
        (
            "860-555-0119 (cell)",
            "ContactPhoneNumber '860-555-0119 (cell)' holds a note, '(cell)', besides the "
            "number: a phone's letters are dialled as digits. Leave only the number in the "
            "cell (an extension may follow it, as x12).",
        ),
        (
            "8605550119.0",
            "ContactPhoneNumber '8605550119.0' ends in '.0', as a number saved from a "
            "spreadsheet does: write the number without it.",
        ),
    ],
)
def test_a_phone_with_the_right_digits_says_what_else_is_in_the_cell(
    tmp_path: Path, check, phone: str, said: str
) -> None:
    """Both were told to check for missing or extra digits, though the digits are right
    (found by a read-through of the order rules)."""
    row = {**BASE, "ContactPhoneNumber": phone}
    assert _phone_refusals(check(write_delimited(tmp_path / "p.txt", request_rows([row])))) == [
        said
    ]


@pytest.mark.parametrize(("country", "postal"), [("DE", "1067"), ("MX", "6600"), ("FR", "100")])
def test_a_postal_code_that_lost_its_zeros_says_so_outside_the_us(
    tmp_path: Path, check, country: str, postal: str
) -> None:
    """Dresden's 01067 typed into a number cell is 1067: said as for a US ZIP code."""
    row = {**BASE, "AddressCountryCode": country, "AddressStateOrRegion": ""}
    row |= {"AddressPostalCode": postal}
    result = check(write_delimited(tmp_path / "p.txt", request_rows([row])))
    said = result.problems.loc[result.problems["code"].eq("postal-code-invalid"), "message"]
    (message,) = said.tolist()
    assert "probably lost (e.g. 01067 became 1067)" in message
    assert message.endswith("Format the column as Text and type the full postal code.")


@pytest.mark.parametrize(
    "postal", ["\u3012100-0001", "\u3012 \uff11\uff10\uff10-\uff10\uff10\uff10\uff11"]
)
def test_a_japanese_postal_mark_is_named_and_left_out(tmp_path: Path, check, postal: str) -> None:
    """〒 is written before a postal code on Japanese envelopes and forms: the code is
    refused with it (it is no part of it), and the message gives the code without it."""
    row = {**BASE, "AddressCountryCode": "JP", "AddressStateOrRegion": ""}
    row |= {"AddressPostalCode": postal, "ContactPhoneNumber": "03-1234-5678"}
    result = check(write_delimited(tmp_path / "p.txt", request_rows([row])))
    said = result.problems.loc[result.problems["code"].eq("postal-code-invalid"), "message"]
    assert said.tolist() == [
        f"AddressPostalCode '{postal}' starts with the postal mark \u3012, which is not part of "
        "the code: write 100-0001."
    ]


def test_an_order_without_an_id_in_the_same_file_dropped_twice_goes_out_once(
    tmp_path: Path, inventory: Path
) -> None:
    """The same file saved twice, apart (another line end, a browser's "(1)"): the sha256
    check does not know them for one file, and its order without an id went out twice
    under two generated ids. A file of another name asks for its own order."""
    row = {**BASE, "MerchantRemovalOrderID": ""}
    first = write_delimited(tmp_path / "weekly.txt", request_rows([row]))
    again = tmp_path / "weekly (1).txt"
    again.write_bytes(first.read_bytes().replace(b"\r\n", b"\n"))
    other = tmp_path / "other.txt"  # the same order, another file: bytes apart too
    other.write_bytes(first.read_bytes() + b"\r\n")
    result = run_batch([first, again, other], inventory, Settings())
    said = result.problems.loc[result.problems["code"].eq("order-id-duplicate")]
    assert said["file"].tolist() == ["weekly.txt"]
    assert (
        said["message"]
        .iloc[0]
        .startswith("This order repeats the order without an id of weekly (1).txt, in this batch")
    )
    assert sorted(result.decision.orders["source_file"]) == ["other.txt", "weekly (1).txt"]


@pytest.mark.parametrize("with_sku_column", [False, True], ids=["fnsku-only", "both-columns"])
def test_a_blank_item_cell_is_placed_where_the_file_names_items(
    tmp_path: Path, with_sku_column: bool
) -> None:
    """A file naming its items by FNSKU alone: a row with a blank FNSKU was reported under
    MerchantSKU, a column the file does not have, with no column letter to point at."""
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [INVENTORY_HEADER, ["SKU-1", "X000000001", "", "", "5", "0", "0"]],
    )
    header = ["MerchantRemovalOrderID", "RemovalDisposition"]
    header += ["MerchantSKU", "FNSKU"] if with_sku_column else ["FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [{"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}]
    rows[0] |= {"SellableQuantity": "1"}
    request = write_delimited(tmp_path / "f.txt", request_rows(rows, header))
    problems = run_batch([request], inventory, Settings()).files[0].problems
    missing = problems[problems["code"].eq("value-missing")]
    if with_sku_column:
        assert missing[["row", "column", "field"]].values.tolist() == [[2, "C", "MerchantSKU"]]
        assert missing["message"].str.startswith("MerchantSKU is blank.").all()
    else:
        assert missing[["row", "column", "field"]].values.tolist() == [[2, "C", "FNSKU"]]
        assert missing["message"].tolist() == [
            "FNSKU is blank. Every row needs the FNSKU (or the seller SKU) of the item to "
            "remove; delete the row if it is not needed."
        ]


def test_a_placeholder_address_is_reported_with_the_value_typed(tmp_path: Path, check) -> None:
    """The report's value column was blank for 'N/A' and 'TBD' (found by a read-through of
    the messages): it holds the cell as typed, blank for a blank one."""
    row = {**BASE, "AddressName": "N/A", "AddressFieldOne": "", "AddressCity": "TBD"}
    result = check(write_delimited(tmp_path / "p.txt", request_rows([row])))
    found = result.problems[result.problems["code"].eq("address-required")]
    assert found[["field", "value"]].values.tolist() == [
        ["AddressName", "N/A"],
        ["AddressFieldOne", ""],
        ["AddressCity", "TBD"],
    ]


def test_a_seller_sku_in_an_fnsku_column_is_told_where_it_belongs(tmp_path: Path, check) -> None:
    """'FNSKU is 13 characters long; at most 10 are accepted. Shorten it.' Shortening a
    seller SKU does not make it an FNSKU (found by a read-through of the messages)."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "FNSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    row = {"MerchantRemovalOrderID": "F4", "RemovalDisposition": "Disposal"}
    row |= {"FNSKU": "SPONGE-KIT-12", "SellableQuantity": "1"}
    result = check(write_delimited(tmp_path / "f.txt", request_rows([row], header)))
    said = result.problems.loc[result.problems["code"].eq("value-too-long"), "message"]
    assert said.tolist() == [
        "FNSKU 'SPONGE-KIT-12' is 13 characters long, and an FNSKU has 10 (like X00A9PWO15). "
        "If it is the seller SKU, put it in a MerchantSKU column."
    ]
