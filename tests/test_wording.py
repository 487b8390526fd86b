"""Messages count the way people write: "1 unit is", "3 units are", never "unit(s)"."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CheckOne, request_rows, write_delimited

from removal_batch.core.settings import Settings
from removal_batch.core.wording import counted, is_are


def test_counted_takes_the_number_of_its_count() -> None:
    assert counted(1, "line") == "1 line"
    assert counted(0, "line") == "0 lines"
    assert counted(12_000, "order") == "12,000 orders"
    assert counted(2, "box", "boxes") == "2 boxes"
    assert (is_are(1), is_are(0), is_are(2)) == ("is", "are", "are")


def _over(tmp_path: Path, check: CheckOne, on_excess: str) -> list[str]:
    # ABC-1 has 5 sellable units: the first order takes 4, so 1 is left for the second.
    rows = [
        {
            "MerchantRemovalOrderID": "D1",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "ABC-1",
            "SellableQuantity": "4",
        },
        {
            "MerchantRemovalOrderID": "D2",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "ABC-1",
            "SellableQuantity": "3",
        },
    ]
    path = write_delimited(tmp_path / "a.txt", request_rows(rows))
    result = check(path, settings=Settings(on_excess=on_excess))
    problems = result.problems
    return list(problems.loc[problems["code"].str.startswith("quantity-"), "message"])


def test_over_request_says_one_unit_is_available(tmp_path: Path, check: CheckOne) -> None:
    (message,) = _over(tmp_path, check, "reject")
    assert message.startswith("3 sellable units of SKU 'ABC-1' requested, but only 1 is available")
    assert "unit(s)" not in message


def test_a_refused_over_request_says_how_to_put_it_right(tmp_path: Path, check: CheckOne) -> None:
    """'Only 1 is available' left the user to guess what to do about it: the message ends
    with the way out, for a line decided in turn and for one of an order held already (a
    bad disposition), and for a SKU with nothing left."""
    # ABC-1 has 5 sellable units: D1 takes 4, so 1 is left for D2 and none for D3.
    rows = [
        {"MerchantRemovalOrderID": "D1", "MerchantSKU": "ABC-1", "SellableQuantity": "4"},
        {"MerchantRemovalOrderID": "D2", "MerchantSKU": "ABC-1", "SellableQuantity": "3"},
        {"MerchantRemovalOrderID": "D3", "MerchantSKU": "ABC-1", "SellableQuantity": "2"},
    ]
    for row in rows:
        row["RemovalDisposition"] = "Disposal"
    path = write_delimited(tmp_path / "a.txt", request_rows(rows))
    said = _messages(check(path), "quantity-exceeds-sellable")
    cap = ", or run with --on-excess cap to have it lowered for you."
    lower = " Lower the quantity to 1 or less" + cap
    none_left = " None is left to remove: delete the row."  # its only quantity: 0 fixes nothing
    assert said == [
        "3 sellable units of SKU 'ABC-1' requested, but only 1 is available (5 in the "
        "snapshot, 4 already requested by earlier orders)." + lower,
        "2 sellable units of SKU 'ABC-1' requested, but only 1 is available (5 in the "
        "snapshot, 4 already requested by earlier orders)." + lower,
    ]
    # D3 held for its disposition: its line is told what it could get in its place.
    rows[1]["SellableQuantity"] = "1"
    rows[2]["RemovalDisposition"] = "Recycle"
    path = write_delimited(tmp_path / "b.txt", request_rows(rows))
    said = _messages(check(path), "quantity-exceeds-sellable")
    assert said == [
        "2 sellable units of SKU 'ABC-1' requested, but only 0 are available (5 in the "
        "snapshot, 5 already requested by earlier orders)." + none_left
    ]


@pytest.mark.parametrize("on_excess", ["reject", "cap"])
def test_an_over_request_gives_the_cell_as_typed_for_its_value(
    tmp_path: Path, check: CheckOne, on_excess: str
) -> None:
    """The report's value is the cell as typed; allocation's records gave the number it
    counted ('7' for a cell holding 0007), where every other record gives the cell. D2's
    order is held for its disposition: its line is judged in its place, as typed too."""
    rows = [
        {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"},
        {"MerchantRemovalOrderID": "D2", "RemovalDisposition": "Recycle"},
    ]
    for row, typed in zip(rows, ["0007", "+9"], strict=True):
        row |= {"MerchantSKU": "ABC-1", "SellableQuantity": typed}
    settings = Settings(on_excess=on_excess)
    path = write_delimited(tmp_path / "a.txt", request_rows(rows))
    problems = check(path, settings=settings).problems
    counted = problems[problems["code"].str.startswith("quantity-")]
    # With cap, D1 is lowered to 5 (quantity-capped) and D2's line, with nothing left, is
    # refused all the same.
    assert counted["value"].tolist() == ["0007", "+9"]


def test_capped_line_says_one_unit_is_still_available(tmp_path: Path, check: CheckOne) -> None:
    (message,) = _over(tmp_path, check, "cap")
    assert message.endswith("reduced from 3 to 1: only 1 sellable unit is still available.")


def _messages(result, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    problems = result.problems
    return problems.loc[problems["code"].eq(code), "message"].tolist()


def test_a_field_missing_from_the_whole_file_says_to_add_the_column(
    tmp_path: Path, check: CheckOne
) -> None:
    """'Fill it on the order's first row' helps no one whose file has no such column: the
    file's own names for it are suggested where they are common ones."""
    from conftest import RETURN_ADDRESS

    header = [
        "MerchantRemovalOrderID", "RemovalDisposition", "AddressName", "Address Line 1",
        "AddressCity", "AddressCountryCode", "AddressStateOrRegion", "Zip",
        "ContactPhoneNumber", "MerchantSKU", "SellableQuantity", "UnsellableQuantity",
    ]  # fmt: skip
    row = {**RETURN_ADDRESS, "MerchantRemovalOrderID": "Q1", "MerchantSKU": "ABC-1"}
    row |= {"Address Line 1": "1 Main St", "Zip": "89502", "SellableQuantity": "1"}
    result = check(write_delimited(tmp_path / "q.txt", request_rows([row], header)))
    assert _messages(result, "header-unknown") == [
        "Column D 'Address Line 1' is not a column of the Removal Request template; its "
        "values are ignored. If it holds the AddressFieldOne values, rename the column "
        "AddressFieldOne.",
        "Column H 'Zip' is not a column of the Removal Request template; its values are "
        "ignored. If it holds the AddressPostalCode values, rename the column "
        "AddressPostalCode.",
    ]
    assert _messages(result, "address-required") == [
        f"Return order Q1 has no {name}: the file has no {name} column. Add one, with that "
        "name, and fill it on the order's first row."
        for name in ("AddressFieldOne", "AddressPostalCode")
    ]


def test_a_feed_missing_a_key_says_to_add_the_key_line(tmp_path: Path, check: CheckOne) -> None:
    from conftest import RETURN_ADDRESS

    keys = {"MerchantRemovalOrderID": "F1", **RETURN_ADDRESS, "AddressCity": ""}
    del keys["AddressName"]
    lines = [f"{k}\t{v}" for k, v in keys.items()]
    lines += ["", "MerchantSKU\tSellableQuantity\tUnsellableQuantity", "ABC-1\t1\t0"]
    (tmp_path / "f.txt").write_text("\n".join(lines) + "\n")
    assert _messages(check(tmp_path / "f.txt"), "address-required") == [
        "Return order F1 has no AddressCity. A Return needs name, address line one, city, "
        "country, postal code and phone (and state in the US and Canada); type it after the "
        "tab on its line at the top of the file.",
        "Return order F1 has no AddressName: the file has no AddressName line. Add one among "
        "the key lines at the top (AddressName, a tab, then the value).",
    ]


def test_a_feed_without_its_disposition_line_is_told_to_add_the_line(
    tmp_path: Path, check: CheckOne
) -> None:
    """A feed without its RemovalDisposition key line was told to add a column to its SKU
    header row ("even if some of its cells stay blank"): done, the file is no feed."""
    lines = ["MerchantRemovalOrderID\tF1", "", "MerchantSKU\tSellableQuantity", "ABC-1\t1"]
    (tmp_path / "f.txt").write_text("\n".join(lines) + "\n")
    assert _messages(check(tmp_path / "f.txt"), "header-missing") == [
        "The file has no RemovalDisposition line. Add one among the key lines above the SKU "
        "header (row 3): RemovalDisposition, a tab, then the value.",
        "The required column UnsellableQuantity is missing from the header row (row 3). Add "
        "it, even if some of its cells stay blank.",
    ]


def test_a_partly_typed_address_says_why_the_default_did_not_fill_it(
    tmp_path: Path, check: CheckOne
) -> None:
    from conftest import RETURN_ADDRESS

    row = {**RETURN_ADDRESS, "MerchantRemovalOrderID": "Q1", "AddressPostalCode": ""}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "1"}
    settings = Settings(default_address={"AddressPostalCode": "89502", "AddressCity": "Reno"})
    result = check(write_delimited(tmp_path / "q.txt", request_rows([row])), settings=settings)
    (message,) = _messages(result, "address-required")
    assert message.endswith(
        "fill it on the order's first row. (The settings' [default_address] fills only "
        "orders that give no part of an address of their own.)"
    )


def test_a_refused_liquidation_says_where_it_is_allowed_and_keeps_its_address(
    tmp_path: Path, check: CheckOne
) -> None:
    """Liquidations not allowed by the settings: the message says how to allow them, and
    no address-ignored warning claims the address is left out (changed to Return, as the
    message suggests, the order needs it; its problems stay reported)."""
    from conftest import RETURN_ADDRESS

    row = {**RETURN_ADDRESS, "MerchantRemovalOrderID": "L1", "RemovalDisposition": "Liquidation"}
    row |= {"AddressPostalCode": "ABCDE", "MerchantSKU": "ABC-1", "SellableQuantity": "1"}
    result = check(write_delimited(tmp_path / "l.txt", request_rows([row])))
    assert _messages(result, "disposition-invalid") == [
        "RemovalDisposition 'Liquidation' is not allowed here; use Return or Disposal. To send "
        "it, add it to allowed_dispositions in the settings file (Amazon liquidates only in "
        "some marketplaces)."
    ]
    assert _messages(result, "address-ignored") == []
    assert len(_messages(result, "postal-code-invalid")) == 1
    allowed = Settings(allowed_dispositions=("Return", "Disposal", "Liquidations"))
    result = check(write_delimited(tmp_path / "l.txt", request_rows([row])), settings=allowed)
    assert len(_messages(result, "address-ignored")) == 1
    assert _messages(result, "postal-code-invalid") == []


def test_a_refused_disposal_is_told_how_to_allow_it_without_liquidation_advice(
    tmp_path: Path, check: CheckOne
) -> None:
    """With allowed_dispositions = ["Return", "Liquidations"], a Disposal was told that
    "Amazon liquidates only in some marketplaces": a caution about liquidation alone."""
    row = {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "1"}
    allowed = Settings(allowed_dispositions=("Return", "Liquidations"))
    result = check(write_delimited(tmp_path / "d.txt", request_rows([row])), settings=allowed)
    assert _messages(result, "disposition-invalid") == [
        "RemovalDisposition 'Disposal' is not allowed here; use Return or Liquidations. To "
        "send it, add it to allowed_dispositions in the settings file."
    ]


def test_a_split_order_names_its_parts_and_the_setting(tmp_path: Path, check: CheckOne) -> None:
    """'has more than 3 lines; written as 2 orders S1-P1, -P2, ...' named neither the
    setting that split it nor its last part (a review's finding)."""
    rows = [
        {"MerchantRemovalOrderID": "S1", "RemovalDisposition": "Disposal"}
        | {"MerchantSKU": "00123", "SellableQuantity": "1"},
        {"MerchantSKU": "ABC-1", "SellableQuantity": "1"},
        {"MerchantSKU": "SKU-4", "SellableQuantity": "1"},
        {"MerchantSKU": "123456789012", "UnsellableQuantity": "1"},
    ]
    path = write_delimited(tmp_path / "s.txt", request_rows(rows))
    for limits, said in [
        ({"max_skus_per_order": 3}, "more than 3 lines (max_skus_per_order); it is written as "
         "2 orders, S1-P1 and S1-P2."),
        ({"max_skus_per_file": 1}, "more than 1 line (max_skus_per_file: an order is never "
         "split across upload files); it is written as 4 orders, S1-P1 to S1-P4."),
    ]:  # fmt: skip
        (message,) = _messages(check(path, settings=Settings(**limits)), "order-split")
        assert message == "Order S1 has " + said


def test_the_many_lines_wording_of_an_excess_is_the_one_lines() -> None:
    """Held orders' lines are worded in one vectorised step: the same sentence as a line's."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.allocation import _BY_CAP, _exceeds, _exceeds_each, _lower_it

    # sku, asked, free, in the snapshot, beyond it, the line's other quantity
    cases = [("A", 1, 0, 0, 0, 0), ("B-2", 2, 1, 1, 0, 0), ("C", 1_500, 3, 10, 0, 1)]
    cases += [("D", 7_000, 2_500, 9, 0, 0), ("E", 1, 0, 4, 6, 2)]
    skus, asked, free, listed, beyond, other = (list(c) for c in zip(*cases, strict=True))
    each = _exceeds_each(
        pd.Series(skus),
        np.array(asked),
        np.array(free),
        "sellable",
        np.array(listed),
        np.array(beyond),
        np.array(other),
        _BY_CAP,
    )
    one = [
        _exceeds(*case[:3], "sellable", *case[3:5]) + _lower_it(case[2], case[5]) for case in cases
    ]
    assert each.tolist() == one


def test_only_a_disposition_the_settings_can_allow_is_told_how(
    tmp_path: Path, check: CheckOne
) -> None:
    """'Disposals' was told to be added to allowed_dispositions, which refuses it (a
    review's finding); only the names the setting takes, and not yet allowed, are."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows = [
        {"MerchantRemovalOrderID": f"D{i}", "RemovalDisposition": value, "MerchantSKU": "ABC-1"}
        | {"SellableQuantity": "1"}
        for i, value in enumerate(["Disposals", "Returns", "liquidation", "Recycle"])
    ]
    result = check(write_delimited(tmp_path / "d.txt", request_rows(rows, header)))
    said = _messages(result, "disposition-invalid")
    assert ["allowed_dispositions" in m for m in said] == [False, False, True, False]


def test_no_column_is_told_to_take_the_name_of_one_the_file_has(
    tmp_path: Path, check: CheckOne
) -> None:
    """'Notes' beside ShippingNotes was told to be renamed ShippingNotes: done, the file is
    refused for two ShippingNotes columns (a review's finding)."""
    from conftest import REQUEST_HEADER

    header = [*REQUEST_HEADER, "Notes"]
    row = {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "1", "Notes": "x"}
    result = check(write_delimited(tmp_path / "n.txt", request_rows([row], header)))
    (said,) = _messages(result, "header-unknown")
    assert said == (
        "Column P 'Notes' is not a column of the Removal Request template; its values are ignored."
    )


def test_an_over_request_writes_large_numbers_with_thousands_separators() -> None:
    """'only 999999 are available (1000000 in the snapshot...)' is hard to read at a
    glance; every figure of the message is grouped, one line or many at once."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.allocation import _BY_CAP, _exceeds, _exceeds_each

    one = _exceeds("ABC-1", 1_200_000, 999_999, "sellable", 1_000_000, 0)
    assert one == (
        "1,200,000 sellable units of SKU 'ABC-1' requested, but only 999,999 are available "
        "(1,000,000 in the snapshot, 1 already requested by earlier orders)."
    )
    many = _exceeds_each(
        pd.Series(["ABC-1", "B"]),
        np.array([1_200_000, 3]),
        np.array([0, 2]),
        "unsellable",
        np.array([2_500_000, 2]),
        np.array([0, 0]),
        np.array([1, 1]),
        _BY_CAP,
    )
    assert [m.partition(").")[0] + ")." for m in many] == [
        "1,200,000 unsellable units of SKU 'ABC-1' requested, but only 0 are available "
        "(2,500,000 in the snapshot, 2,500,000 already requested by earlier orders).",
        "3 unsellable units of SKU 'B' requested, but only 2 are available (2 in the snapshot).",
    ]


def test_a_long_value_is_quoted_in_part_and_its_length_grouped(
    tmp_path: Path, check: CheckOne
) -> None:
    """A cell holding a pasted page of text made a message screens long; the message
    quotes its start and says how long it is (the report's value column has it whole)."""
    rows = [
        {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Q" * 500, "MerchantSKU": "ABC-1"},
        {
            "MerchantRemovalOrderID": "D2",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "X" * 3000,
        },
    ]
    for row in rows:
        row["SellableQuantity"] = "1"
    result = check(write_delimited(tmp_path / "long.txt", request_rows(rows)))
    (disposition,) = _messages(result, "disposition-invalid")
    assert disposition.startswith("RemovalDisposition '" + "Q" * 40 + "...' (500 characters) is")
    (too_long,) = _messages(result, "value-too-long")
    assert too_long.startswith("MerchantSKU is 3,000 characters long; at most 40")


def test_a_value_refused_for_an_invisible_character_says_so(
    tmp_path: Path, check: CheckOne
) -> None:
    """'Dis\\u00adposal' looks like Disposal on screen: "not allowed here; use Return or
    Disposal" left the user staring at a cell that says Disposal."""
    rows = [
        {
            "MerchantRemovalOrderID": "D1",
            "RemovalDisposition": "Dis\u00adposal",
            "MerchantSKU": "ABC-1",
            "SellableQuantity": "1",
        },
        {
            "MerchantRemovalOrderID": "D2\u200b",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "ABC-1",
            "SellableQuantity": "1",
        },
    ]
    result = check(write_delimited(tmp_path / "u.txt", request_rows(rows)))
    assert _messages(result, "disposition-invalid") == [
        "RemovalDisposition 'Dis\u00adposal' holds an invisible character (U+00AD), probably "
        "pasted in with it: without it, it reads 'Disposal'. Delete the cell's text and type "
        "it again."
    ]
    # A SKU too long is told it is too long, invisible character or not.
    rows = [{**rows[1], "MerchantRemovalOrderID": "D3", "MerchantSKU": "A\u200b" + "B" * 40}]
    longer = check(write_delimited(tmp_path / "v.txt", request_rows(rows)))
    assert _messages(longer, "value-too-long") == [
        "MerchantSKU is 42 characters long; at most 40 are accepted. Shorten it."
    ]
    assert _messages(result, "order-id-invalid") == [
        "MerchantRemovalOrderID 'D2\u200b' holds an invisible character (U+200B), probably "
        "pasted in with it: without it, it reads 'D2'. Delete the cell's text and type it "
        "again."
    ]


@pytest.mark.parametrize("held", [False, True], ids=["decided", "held-before"])
def test_units_requested_beyond_the_snapshot_are_counted_in_full(
    tmp_path: Path, held: bool
) -> None:
    """Earlier runs requested 10 units of a SKU the new snapshot lists 4 of: nothing is
    free, and the message said '4 already requested', what was left after clipping at
    zero, not the 10 requested (found by a read-through of allocation)."""
    import pandas as pd
    from conftest import INVENTORY_HEADER, REQUEST_HEADER

    from removal_batch.pipeline import run_batch

    inventory = write_delimited(
        tmp_path / "inventory.txt", [INVENTORY_HEADER, ["ABC-1", "", "", "", "4", "5", "0"]]
    )
    row = {"MerchantRemovalOrderID": "O2", "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "1"}
    rows = [row]
    if held:  # another line of the order holds it back before allocation
        rows.append({"MerchantSKU": "NOT-LISTED", "SellableQuantity": "1"})
    request = write_delimited(tmp_path / "r.txt", request_rows(rows, REQUEST_HEADER))
    taken = pd.DataFrame({"sellable": [10], "unsellable": [0]}, index=["ABC-1"])
    result = run_batch([request], inventory, Settings(), taken=taken)
    (said,) = _messages(result, "quantity-exceeds-sellable")
    assert said.startswith(
        "1 sellable unit of SKU 'ABC-1' requested, but only 0 are available (4 in the "
        "snapshot, 10 already requested by earlier orders)."
    )


@pytest.mark.parametrize("other", [0, 2], ids=["nothing-else-asked", "unsellable-asked"])
def test_a_line_with_nothing_left_is_told_what_fixes_it(tmp_path: Path, other: int) -> None:
    """Asked for a sellable unit of a SKU with none, and no unsellable: "set the quantity
    to 0" made the line quantity-zero, and --on-excess cap dropped it with its error, the
    order held either way (found by a read-through of the messages). With unsellable
    units asked too, setting the sellable ones to 0 does fix it."""
    from conftest import INVENTORY_HEADER, REQUEST_HEADER

    from removal_batch.pipeline import run_batch

    inventory = write_delimited(
        tmp_path / "inventory.txt", [INVENTORY_HEADER, ["ABC-1", "", "", "", "0", "5", "0"]]
    )
    row = {"MerchantRemovalOrderID": "O1", "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "1", "UnsellableQuantity": str(other)}
    request = write_delimited(tmp_path / "r.txt", request_rows([row], REQUEST_HEADER))
    (said,) = _messages(run_batch([request], inventory, Settings()), "quantity-exceeds-sellable")
    if other:
        assert said.endswith(
            "Set the quantity to 0, or run with --on-excess cap to have it lowered for you."
        )
    else:
        assert said.endswith(
            "only 0 are available (0 in the snapshot). None is left to remove: delete the row."
        )


def test_a_row_left_out_of_an_order_sent_in_part_says_so(tmp_path: Path) -> None:
    """With --allow-partial, P1 went out without its bad row, and nothing said so: fixed and
    dropped again, the file's P1 was refused as sent already, "delete its rows", and the
    row was never sent (found by a read-through of the messages). Not said of a held
    order's rows, nor without --allow-partial."""
    from conftest import REQUEST_HEADER

    from removal_batch.pipeline import run_batch

    inventory = tmp_path / "inventory.txt"
    inventory.write_text(
        "sku\tafn-fulfillable-quantity\tafn-unsellable-quantity\nA\t9\t0\nB\t9\t0\n"
    )
    rows = [
        {"MerchantRemovalOrderID": "P1", "RemovalDisposition": "Disposal", "MerchantSKU": "A"},
        {"MerchantSKU": "B", "SellableQuantity": "x"},
        {"MerchantRemovalOrderID": "P2", "RemovalDisposition": "Recycle", "MerchantSKU": "A"},
        {"MerchantSKU": "B", "SellableQuantity": "x"},
    ]
    for row in rows:
        row.setdefault("SellableQuantity", "1")
    request = write_delimited(tmp_path / "r.txt", request_rows(rows, REQUEST_HEADER))
    note = (
        " (Order P1 was sent without this row, as --allow-partial does: to send the row, "
        "give it an order id of its own.)"
    )
    partial = run_batch([request], inventory, Settings(allow_partial=True))
    assert partial.decision.orders["order_id"].tolist() == ["P1"]
    said = _messages(partial, "value-not-integer")
    assert [m.endswith(note) for m in said] == [True, False]  # P2 was held, not sent
    assert not any(
        m.endswith(note)
        for m in _messages(run_batch([request], inventory, Settings()), "value-not-integer")
    )
