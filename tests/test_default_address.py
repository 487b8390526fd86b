"""The settings' default address is judged by the request schema's own cell checks, for
the country it will carry (SPEC section 7: it fills blank address fields of Returns)."""

from __future__ import annotations

import pytest

from removal_batch.core.settings import settings_from_mapping
from removal_batch.core.validate import default_address_problems

GOOD_US = {
    "AddressName": "Acme Returns",
    "AddressFieldOne": "100 Dock St",
    "AddressCity": "Reno",
    "AddressStateOrRegion": "NV",
    "AddressPostalCode": "89502",
    "AddressCountryCode": "US",
    "ContactPhoneNumber": "775-555-0100",
}


def problems(address: dict[str, str], **more: object) -> list[str]:
    return default_address_problems(settings_from_mapping({"default_address": address, **more}))


def test_a_good_address_and_none_have_nothing_to_say() -> None:
    assert problems(GOOD_US) == []
    assert default_address_problems(settings_from_mapping({})) == []


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("AddressCountryCode", "USA", "AddressCountryCode 'USA' is not a two-letter country"),
        ("AddressStateOrRegion", "Nevada", "'Nevada' is not a state or province code of US"),
        ("AddressPostalCode", "8950", "its leading zero was probably lost"),
        ("ContactPhoneNumber", "12", "ContactPhoneNumber '12' cannot be a phone number in US"),
        ("AddressName", "A" * 51, "AddressName is 51 characters long; at most 50"),
    ],
)
def test_each_bad_field_is_named_in_a_cells_words(field: str, value: str, said: str) -> None:
    found = problems({**GOOD_US, field: value})
    assert len(found) == 1 and said in found[0]


def test_problems_come_in_the_order_of_the_fields() -> None:
    found = problems({**GOOD_US, "ContactPhoneNumber": "12", "AddressStateOrRegion": "XX"})
    assert [m.split()[0] for m in found] == ["AddressStateOrRegion", "ContactPhoneNumber"]


def test_without_a_country_it_is_judged_as_the_marketplaces() -> None:
    # ON and K1A 0B1 are Canadian: right for a CA seller, wrong for a US one.
    partial = {"AddressStateOrRegion": "ON", "AddressPostalCode": "K1A 0B1"}
    assert problems(partial, marketplace="CA") == []
    assert [m.split()[0] for m in problems(partial)] == [
        "AddressStateOrRegion",
        "AddressPostalCode",
    ]


def test_a_country_the_marketplace_does_not_send_to_is_refused() -> None:
    # Judged as Canadian, the address itself is fine; a US seller's Returns cannot go there.
    canadian = {
        **GOOD_US,
        "AddressCountryCode": "CA",
        "AddressStateOrRegion": "ON",
        "AddressPostalCode": "K1A 0B1",
        "ContactPhoneNumber": "613-555-0100",
    }
    (said,) = problems(canadian)
    assert "'CA' is Canada" in said and "only within the United States (US)" in said
    assert problems(canadian, marketplace="CA") == []
    (said,) = problems({**GOOD_US, "AddressCountryCode": "PR", "AddressStateOrRegion": ""})
    assert "Puerto Rico" in said


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"AddressFieldOne": "PO Box 100"}, "AddressFieldOne 'PO Box 100' is a PO box."),
        ({"AddressCity": "APO", "AddressStateOrRegion": "AE", "AddressPostalCode": "09001"},
         "AddressCity 'APO' is a military (APO/FPO/DPO) address."),
        ({"AddressStateOrRegion": "PR", "AddressPostalCode": "00901"},
         "AddressStateOrRegion 'PR' is a US territory."),
    ],
)  # fmt: skip
def test_the_address_rules_judge_the_default_address(change: dict[str, str], said: str) -> None:
    """A PO box in [default_address] was reported on every Return it filled, at a cell the
    user had left blank, and the settings file was never named (a review's finding)."""
    found = problems({**GOOD_US, **change})
    assert any(said in message for message in found), found


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"AddressName": "N/A"}, "AddressName 'N/A' stands in for nothing: give the real"),
        ({"AddressCity": " TBD "}, "AddressCity 'TBD' stands in for nothing"),
        ({"AddressFieldOne": "\u200b"}, "AddressFieldOne holds only invisible characters"),
        ({"ContactPhoneNumber": "\u200b\u200b"}, "ContactPhoneNumber holds only invisible"),
    ],
)
def test_a_default_address_field_that_says_nothing_is_refused(
    change: dict[str, str], said: str
) -> None:
    """A Return's cell holding "N/A" or only a zero-width space is address-required. In
    [default_address] such a value was accepted, then reported on every order it filled,
    at the cell the user had left blank (exit 1, where a bad setting is exit 2)."""
    found = problems({**GOOD_US, **change})
    assert any(said in message for message in found), found
    assert problems({**GOOD_US, "AddressFieldTwo": "-"}) == []  # not a required line


def test_a_default_address_on_the_blocked_list_is_refused() -> None:
    blocked = [{"AddressFieldOne": "100 Dock St.", "AddressPostalCode": "89502"}]
    found = problems(GOOD_US, blocked_addresses=blocked)
    assert found == [
        "The address of order [default_address] matches a fulfillment center on the blocked "
        "list (AddressFieldOne '100 Dock St', AddressPostalCode '89502'). Removal orders "
        "cannot be sent to another Amazon site; give your own address."
    ]


def test_a_german_default_address_on_the_blocked_list_is_refused_however_spelled() -> None:
    """Straße typed as Str. is the same street: the blocked Amazon site went unnoticed."""
    leipzig = {
        "AddressName": "Lager Nord",
        "AddressFieldOne": "Amazonstr. 1",
        "AddressCity": "Leipzig",
        "AddressPostalCode": "04347",
        "AddressCountryCode": "DE",
        "ContactPhoneNumber": "0341 1234567",
    }
    blocked = [{"AddressFieldOne": "Amazonstraße 1", "AddressPostalCode": "04347"}]
    found = problems(leipzig, marketplace="DE", blocked_addresses=blocked)
    assert found == [
        "The address of order [default_address] matches a fulfillment center on the blocked "
        "list (AddressFieldOne 'Amazonstr. 1', AddressPostalCode '04347'). Removal orders "
        "cannot be sent to another Amazon site; give your own address."
    ]
    beach = {**leipzig, "AddressFieldOne": "Am Strand 1"}
    street = [{"AddressFieldOne": "Am Straße 1"}]
    assert problems(beach, marketplace="DE", blocked_addresses=street) == []


def test_an_italian_province_code_in_the_default_address_is_no_us_territory() -> None:
    """Parma's province is PR: an Italian seller's default address was refused as Puerto
    Rico, and every run stopped (a review's finding)."""
    parma = {
        "AddressName": "Magazzino Rossi",
        "AddressFieldOne": "Via Emilia 10",
        "AddressCity": "Parma",
        "AddressStateOrRegion": "PR",
        "AddressPostalCode": "43121",
        "ContactPhoneNumber": "0521 123456",
    }
    assert problems(parma, marketplace="IT") == []
    assert problems({**parma, "AddressCountryCode": "IT"}, marketplace="IT") == []


def test_a_country_written_out_is_given_its_code_only_where_removals_go() -> None:
    """'Use GB' to a UK seller; to a US seller, whose next run would refuse GB as
    address-foreign, what is wrong with the place itself."""
    (said,) = problems({"AddressCountryCode": "UK"}, marketplace="UK")
    assert said.endswith("Use 'GB' for the United Kingdom.")
    (said,) = problems({"AddressCountryCode": "UK"})
    assert "is the United Kingdom (GB), but the US marketplace sends removal orders only" in said
