"""Messages count the way people write: "1 unit is", "3 units are", never "unit(s)"."""

from __future__ import annotations

from pathlib import Path

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


def test_capped_line_says_one_unit_is_still_available(tmp_path: Path, check: CheckOne) -> None:
    (message,) = _over(tmp_path, check, "cap")
    assert message.endswith("reduced from 3 to 1: only 1 sellable unit is still available.")
