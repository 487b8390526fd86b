"""Return addresses country by country: a country written out is judged as the country it
names in the same pass; look-alike characters are named; codes go out in capitals; the
same postal code or city typed two ways is no conflict."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RETURN_ADDRESS, CheckOne, codes_at, request_rows, write_delimited

from removal_batch.core.settings import settings_from_mapping
from removal_batch.pipeline import BatchResult


def returns(tmp_path: Path, check: CheckOne, *rows: dict[str, str], **settings: str) -> BatchResult:
    lines = []
    for row in rows:
        line = {**RETURN_ADDRESS, "MerchantSKU": "SKU-4", "SellableQuantity": "1"}
        line["UnsellableQuantity"] = "0"
        lines.append({**line, **row})
    path = write_delimited(tmp_path / "requests.txt", request_rows(lines))
    return check(path, settings=settings_from_mapping(settings))


def messages(result: BatchResult, code: str) -> list[str]:
    problems = result.problems
    return problems.loc[problems["code"] == code, "message"].tolist()


def test_a_country_written_out_still_has_its_state_postal_code_and_territory_judged(
    tmp_path: Path, check: CheckOne
) -> None:
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCountryCode": "USA"}
        | {"AddressStateOrRegion": "", "AddressPostalCode": "2134"},
        {"MerchantRemovalOrderID": "R2", "AddressCountryCode": "United States"}
        | {"AddressStateOrRegion": "PR", "AddressPostalCode": "00901"},
        {"MerchantRemovalOrderID": "R3", "AddressCountryCode": "usa"}
        | {"AddressStateOrRegion": "Nevada", "AddressPostalCode": "ABCDE"},
        {"MerchantRemovalOrderID": "R4", "AddressCountryCode": "U.S."}
        | {"AddressStateOrRegion": "PR", "AddressPostalCode": "00901"},
    )
    assert codes_at(result) == {
        (2, "H", "country-invalid"),
        (2, "I", "address-required"),
        (2, "J", "postal-code-invalid"),
        (3, "H", "country-invalid"),
        (3, "I", "address-territory"),
        (4, "H", "country-invalid"),
        (4, "I", "state-invalid"),
        (4, "J", "postal-code-invalid"),
        (5, "H", "country-invalid"),
        (5, "I", "address-territory"),
    }
    assert any("'U.S.'" in m and "Use 'US'" in m for m in messages(result, "country-invalid"))
    assert not any("USA" in m for m in messages(result, "phone-invalid"))


def test_a_foreign_country_written_out_is_refused_once_and_the_rest_left_alone(
    tmp_path: Path, check: CheckOne
) -> None:
    """Outside the marketplace the whole address must change: country-invalid says so,
    and the address is not judged as Canadian (nor called foreign a second time)."""
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCountryCode": "Canada"}
        | {"AddressStateOrRegion": "NV", "AddressPostalCode": "89502"},
    )
    assert codes_at(result) == {(2, "H", "country-invalid")}
    (said,) = messages(result, "country-invalid")
    assert "is Canada (CA), but the US marketplace" in said


def test_a_no_break_space_or_an_en_dash_is_named_not_called_full_width(
    tmp_path: Path, check: CheckOne
) -> None:
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressPostalCode": "89502\u20131234"},
        {"MerchantRemovalOrderID": "R2", "ContactPhoneNumber": "775\u2013555\u20130100"},
        {"MerchantRemovalOrderID": "R3", "ContactPhoneNumber": "775\u00a0555\u00a00100"},
        {"MerchantRemovalOrderID": "R4", "AddressPostalCode": "\uff18\uff19\uff15\uff10\uff12"},
    )
    postal = messages(result, "postal-code-invalid")
    phone = messages(result, "phone-invalid")
    assert any("an en dash (U+2013), which looks like a hyphen" in m for m in postal)
    assert any("'89502-1234'" in m for m in postal)
    assert any("an en dash (U+2013)" in m and "'775-555-0100'" in m for m in phone)
    assert any("a no-break space (U+00A0), which looks like a space" in m for m in phone)
    assert not any("full-width" in m for m in phone)
    assert any("full-width" in m and "89502" in m for m in postal)


def test_a_postal_code_or_city_typed_two_ways_in_one_order_is_no_conflict(
    tmp_path: Path, check: CheckOne
) -> None:
    canada = {
        "AddressCountryCode": "CA",
        "AddressStateOrRegion": "ON",
        "AddressCity": "Toronto",
        "AddressPostalCode": "M5H 2N2",
        "ContactPhoneNumber": "416-555-0199",
    }
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", **canada},
        {**canada, "AddressPostalCode": "m5h2n2", "AddressCity": "TORONTO"}
        | {"RemovalDisposition": "", "MerchantSKU": "ABC-1"},
        {"MerchantRemovalOrderID": "R2", **canada},
        {**canada, "AddressPostalCode": "M5H 2N3"}
        | {"RemovalDisposition": "", "MerchantSKU": "ABC-1"},
        marketplace="CA",
    )
    assert codes_at(result) == {(5, "J", "order-conflict")}
    written = result.decision.orders.set_index("order_id")
    assert written.loc["R1", "AddressPostalCode"] == "M5H 2N2"  # the first value kept


def test_postal_codes_and_longer_state_codes_go_out_in_capitals(
    tmp_path: Path, check: CheckOne
) -> None:
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCountryCode": "au"}
        | {"AddressStateOrRegion": "nsw", "AddressPostalCode": "2000"}
        | {"AddressCity": "Sydney", "ContactPhoneNumber": "02 9374 4000"},
        {"MerchantRemovalOrderID": "R2", "AddressCountryCode": "AU"}
        | {"AddressStateOrRegion": "Outback", "AddressPostalCode": "2000"}
        | {"AddressCity": "Sydney", "ContactPhoneNumber": "02 9374 4000"},
        marketplace="AU",
    )
    assert codes_at(result) == set()
    written = result.decision.orders.set_index("order_id")
    assert written.loc["R1", "AddressStateOrRegion"] == "NSW"
    assert written.loc["R1", "AddressCountryCode"] == "AU"
    assert written.loc["R2", "AddressStateOrRegion"] == "Outback"  # a name, as typed


def test_a_british_postcode_in_small_letters_goes_out_in_capitals(
    tmp_path: Path, check: CheckOne
) -> None:
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCountryCode": "gb"}
        | {"AddressStateOrRegion": "", "AddressPostalCode": "sw1a 2aa"}
        | {"AddressCity": "London", "ContactPhoneNumber": "020 7946 0958"},
        marketplace="UK",
    )
    assert codes_at(result) == set()
    assert result.decision.orders["AddressPostalCode"].tolist() == ["SW1A 2AA"]


@pytest.mark.parametrize(
    ("state", "phone", "code", "said"),
    [
        # The province with its accent, as Quebeckers write it (ISO's name has none).
        ("Québec", "514-555-0100", "state-invalid", "'QC'"),
        # An extension in French: shown as carriers' systems read it.
        ("QC", "514-555-0100 poste 12", "phone-invalid", "'514-555-0100 x12'"),
    ],
)
def test_quebec_as_quebeckers_write_it_is_shown_as_carriers_read_it(
    tmp_path: Path, check: CheckOne, state: str, phone: str, code: str, said: str
) -> None:
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCountryCode": "CA"}
        | {"AddressStateOrRegion": state, "AddressPostalCode": "H2X 1Y4"}
        | {"AddressCity": "Montréal", "ContactPhoneNumber": phone},
        marketplace="CA",
    )
    assert any(said in m for m in messages(result, code))


def test_the_italian_town_of_none_is_no_placeholder_there(tmp_path: Path, check: CheckOne) -> None:
    italy = {"AddressCountryCode": "IT", "AddressStateOrRegion": "TO"}
    italy |= {"AddressPostalCode": "10060", "ContactPhoneNumber": "011 986 1234"}
    result = returns(
        tmp_path,
        check,
        {"MerchantRemovalOrderID": "R1", "AddressCity": "None", **italy},
        {"MerchantRemovalOrderID": "R2", "AddressCity": "N/A", **italy},
        marketplace="IT",
    )
    assert codes_at(result) == {(3, "G", "address-required")}


def test_a_blocked_street_on_line_two_is_named_as_line_two(tmp_path: Path, check: CheckOne) -> None:
    blocked = [{"AddressFieldOne": "4255 Anson Blvd", "AddressPostalCode": "46052"}]
    lines = [
        {**RETURN_ADDRESS, "MerchantRemovalOrderID": "R1", "MerchantSKU": "SKU-4"}
        | {"SellableQuantity": "1", "UnsellableQuantity": "0"}
        | {"AddressFieldOne": "Amazon.com Services LLC", "AddressFieldTwo": "4255 Anson Blvd"}
        | {"AddressCity": "Whitestown", "AddressStateOrRegion": "IN"}
        | {"AddressPostalCode": "46052", "ContactPhoneNumber": "317-555-0100"}
    ]
    path = write_delimited(tmp_path / "requests.txt", request_rows(lines))
    result = check(path, settings=settings_from_mapping({"blocked_addresses": blocked}))
    found = messages(result, "address-fulfillment-center")
    assert len(found) == 1
    assert "(AddressFieldTwo '4255 Anson Blvd', AddressPostalCode '46052')" in found[0]


def test_a_default_address_in_the_town_of_none_is_no_placeholder() -> None:
    """The settings' default address is held to the same rule as a typed one."""
    from removal_batch.core.rules.address import default_address_refusals

    italy = {"AddressName": "Acme Srl", "AddressFieldOne": "Via Roma 1"}
    italy |= {"AddressCountryCode": "IT", "AddressStateOrRegion": "TO"}
    italy |= {"AddressPostalCode": "10060", "ContactPhoneNumber": "011 986 1234"}
    for city, refused in (("None", False), ("N/A", True)):
        settings = settings_from_mapping(
            {"marketplace": "IT", "default_address": {**italy, "AddressCity": city}}
        )
        said = default_address_refusals(settings)
        assert any("stands in for nothing" in s for s in said) == refused, said
