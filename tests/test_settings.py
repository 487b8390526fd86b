"""removal-batch.toml values (SPEC section 7): each bad value is refused with its name, and
the accepted spellings end as one value."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import RETURN_ADDRESS, CheckOne, codes, request_rows, write_delimited

from removal_batch.cli import main
from removal_batch.core.settings import Settings, SettingsError, settings_from_mapping

# Every whole-number setting, from the dataclass (not from the checking code's own list,
# so a limit that code forgot would show here).
COUNTS = tuple(f.name for f in fields(Settings) if f.type == "int")


@pytest.mark.parametrize("key", COUNTS)
@pytest.mark.parametrize("value", [0, -1, True, False, "5", 2.5])
def test_a_limit_is_a_whole_number_of_one_or_more(key: str, value: Any) -> None:
    # true is 1 to Python; in a settings file it is a mistake, not a limit of one.
    with pytest.raises(SettingsError, match=f"'{key}' must be a whole number of 1 or more"):
        settings_from_mapping({key: value})


@pytest.mark.parametrize("key", COUNTS)
def test_a_limit_of_one_is_taken(key: str) -> None:
    assert getattr(settings_from_mapping({key: 1}), key) == 1


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"marketplace": "ca"}, {"marketplace": "CA"}),
        (
            {"allowed_dispositions": ["return", "DISPOSAL"]},
            {"allowed_dispositions": ("Return", "Disposal")},
        ),
        ({"allowed_dispositions": ["Liquidation"]}, {"allowed_dispositions": ("Liquidations",)}),
        ({"allowed_dispositions": ["Return", "return"]}, {"allowed_dispositions": ("Return",)}),
        ({"order_id_prefix": "A" * 31}, {"order_id_prefix": "A" * 31}),
        ({"on_excess": "cap", "allow_partial": True}, {"on_excess": "cap", "allow_partial": True}),
        (
            {"default_address": {"AddressCity": "Reno"}},
            {"default_address": {"AddressCity": "Reno"}},
        ),
        (  # trimmed; a blank field is as if not written
            {"default_address": {"AddressCity": " Reno ", "AddressFieldOne": "   "}},
            {"default_address": {"AddressCity": "Reno"}},
        ),
        (  # a blank field of a blocked address is not compared
            {"blocked_addresses": [{"AddressFieldOne": "4255 Anson Blvd", "AddressFieldTwo": ""}]},
            {"blocked_addresses": ({"AddressFieldOne": "4255 Anson Blvd"},)},
        ),
    ],
)
def test_accepted_spellings(data: dict[str, Any], expected: dict[str, Any]) -> None:
    settings = settings_from_mapping(data)
    assert {key: getattr(settings, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"marketplace": "XX"}, "'marketplace' must be one of"),
        ({"marketplace": 5}, "'marketplace' must be one of"),
        ({"on_excess": "sometimes"}, '\'on_excess\' must be "reject" or "cap"'),
        ({"allow_partial": "yes"}, "'allow_partial' must be true or false"),
        ({"allowed_dispositions": []}, "'allowed_dispositions' must be a non-empty list"),
        ({"allowed_dispositions": "Return"}, "'allowed_dispositions' must be a non-empty list"),
        ({"allowed_dispositions": ["Refund"]}, "'Refund' is not one of"),
        ({"order_id_prefix": "A" * 32}, "'order_id_prefix' must be 1-31 letters"),
        ({"order_id_prefix": "-RB"}, "'order_id_prefix' must be 1-31 letters"),
        ({"order_id_prefix": ""}, "'order_id_prefix' must be 1-31 letters"),
        ({"default_address": "Reno"}, "must be a table of address fields"),
        ({"default_address": {"Town": "Reno"}}, "unknown address field 'Town'"),
        ({"default_address": {"AddressPostalCode": 89502}}, "'AddressPostalCode' must be text"),
        (
            {"blocked_addresses": {"AddressCity": "Reno"}},
            "must be a list of [[blocked_addresses]] tables",
        ),
        ({"colour": "red"}, "unknown setting 'colour'"),
        # Matching every field of nothing, it would block every Return order.
        ({"blocked_addresses": [{}]}, "'blocked_addresses'[0] has no address field filled in"),
        (
            {"blocked_addresses": [{"AddressFieldOne": "4255 Anson Blvd"}, {"AddressCity": " "}]},
            "'blocked_addresses'[1] has no address field filled in",
        ),
        # Compared without punctuation, "-" is blank: it matched every Return whose
        # AddressFieldTwo was blank.
        (
            {"blocked_addresses": [{"AddressFieldTwo": "-"}]},
            "'blocked_addresses'[0]: AddressFieldTwo '-' has no letter or digit to match",
        ),
        (
            {"blocked_addresses": [{"AddressFieldOne": "1 Dock St", "AddressCity": "..."}]},
            "AddressCity '...' has no letter or digit to match",
        ),
    ],
)
def test_bad_values_are_refused_by_name(data: dict[str, Any], said: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(said)):
        settings_from_mapping(data)


def test_every_limit_is_checked_here() -> None:
    # SPEC section 7's two order and file limits, and section 4's size limits.
    assert len(COUNTS) == 6 and {"max_skus_per_order", "max_rows", "max_cell_chars"} < set(COUNTS)


def test_no_settings_are_the_defaults() -> None:
    assert settings_from_mapping({}) == Settings()


def test_a_bare_blocked_addresses_table_stops_the_check(tmp_path: Path, inventory: Path) -> None:
    """A settings file holding only [[blocked_addresses]] blocked every Return order."""
    settings = tmp_path / "removal-batch.toml"
    settings.write_text("[[blocked_addresses]]\n", encoding="utf-8")
    request = write_delimited(
        tmp_path / "r.txt",
        request_rows(
            [
                {
                    **RETURN_ADDRESS,
                    "MerchantRemovalOrderID": "R1",
                    "MerchantSKU": "SKU-4",
                    "SellableQuantity": "1",
                }
            ]
        ),
    )
    args = ["check", str(request), "--inventory", str(inventory), "--settings", str(settings)]
    result = CliRunner().invoke(main, args, terminal_width=400)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "setting 'blocked_addresses'[0] has no address field filled in" in said


def test_a_blocked_entry_without_fields_blocks_nothing(check: CheckOne, tmp_path: Path) -> None:
    """Settings made in code skip the file's check: the rule itself compares no blank field,
    and an entry with none left matches no order, not every one."""
    row = {**RETURN_ADDRESS, "MerchantRemovalOrderID": "R1", "MerchantSKU": "SKU-4"}
    request = write_delimited(tmp_path / "r.txt", request_rows([{**row, "SellableQuantity": "1"}]))
    for entry in ({}, {"AddressFieldTwo": ""}, {"AddressCity": " "}):
        result = check(request, settings=Settings(blocked_addresses=(entry,)))
        assert "address-fulfillment-center" not in codes(result), entry
    blocked = {"AddressFieldOne": RETURN_ADDRESS["AddressFieldOne"], "AddressFieldTwo": ""}
    result = check(request, settings=Settings(blocked_addresses=(blocked,)))
    assert "address-fulfillment-center" in codes(result)


def test_a_settings_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with a BOM; TOML refused it at line 1 column 1."""
    from removal_batch.app import load_settings

    path = tmp_path / "removal-batch.toml"
    path.write_text('\ufeffmarketplace = "CA"\nallow_partial = true\n', encoding="utf-8")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    settings = load_settings(path)
    assert (settings.marketplace, settings.allow_partial) == ("CA", True)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8"])
def test_a_settings_file_saved_by_notepad_in_any_of_its_encodings_is_read(
    tmp_path: Path, encoding: str
) -> None:
    """Notepad saves as "ANSI" (cp1252) or "Unicode" (UTF-16 with a byte-order mark) as
    readily as UTF-8. A German company name stopped the run with "'utf-8' codec can't
    decode byte 0xfc", though the TOML in it was right."""
    from removal_batch.app import load_settings

    path = tmp_path / "removal-batch.toml"
    text = 'marketplace = "DE"\n[default_address]\nAddressName = "M\u00fcller GmbH"\n'
    path.write_bytes(text.encode(encoding))
    settings = load_settings(path)
    assert settings.marketplace == "DE"
    assert settings.default_address["AddressName"] == "M\u00fcller GmbH"


def test_a_settings_file_in_no_known_encoding_says_to_save_it_as_utf8(tmp_path: Path) -> None:
    from removal_batch.app import load_settings
    from removal_batch.pipeline import UsageError

    path = tmp_path / "removal-batch.toml"
    path.write_bytes(b'marketplace = "DE"\n# \x81\n')  # unused in cp1252, invalid UTF-8
    with pytest.raises(UsageError, match="Save it as UTF-8"):
        load_settings(path)


def test_a_workspace_settings_link_to_a_moved_file_stops_the_run(tmp_path: Path) -> None:
    """An agency shares one settings file by a link; the file moved. The run went on with
    the defaults, so an order to a blocked fulfillment center was written (review H1)."""
    from workspace_helpers import drop, make_workspace

    root = make_workspace(tmp_path / "ws")
    settings = root / "removal-batch.toml"
    settings.unlink(missing_ok=True)
    settings.symlink_to(tmp_path / "moved.toml")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    result = CliRunner().invoke(main, ["run", str(root)])
    assert result.exit_code == 2
    said = "".join(result.output.split())  # rich folds a long path anywhere
    assert f"isalinkto{tmp_path / 'moved.toml'},whichdoesnotexist" in said
    assert (root / "inbox" / "a.txt").exists()
