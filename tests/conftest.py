"""Shared helpers: tiny inventories and request files written per test."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings

from removal_batch.core.settings import Settings
from removal_batch.pipeline import BatchResult, run_batch

# No per-example deadline: on a loaded 2-core CI machine a 200 ms example has taken 278
# ms, and the test failed for the machine's speed, not for what it checks. Slowness is
# the benchmarks' to measure.
hypothesis_settings.register_profile("removal-batch", deadline=None)
hypothesis_settings.load_profile("removal-batch")


@pytest.fixture(autouse=True)
def _temporary_files_kept_to_the_test(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a test's runs leave in the temporary folder (the log of each exit 3 is a new
    file) goes to a folder of the test's own, in this process and in the ones it starts."""
    folder = str(tmp_path_factory.mktemp("tmp"))
    monkeypatch.setenv("TMPDIR", folder)
    monkeypatch.setattr(tempfile, "tempdir", folder)


REQUEST_HEADER = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "AddressName",
    "AddressFieldOne",
    "AddressFieldTwo",
    "AddressFieldThree",
    "AddressCity",
    "AddressCountryCode",
    "AddressStateOrRegion",
    "AddressPostalCode",
    "ContactPhoneNumber",
    "ShippingNotes",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]
RETURN_ADDRESS = {
    "RemovalDisposition": "Return",
    "AddressName": "Acme Returns",
    "AddressFieldOne": "100 Dock St",
    "AddressCity": "Reno",
    "AddressCountryCode": "US",
    "AddressStateOrRegion": "NV",
    "AddressPostalCode": "89502",
    "ContactPhoneNumber": "775-555-0100",
}
INVENTORY_HEADER = [
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
]


def request_rows(
    rows: Sequence[dict[str, str]], header: Sequence[str] = REQUEST_HEADER
) -> list[list[str]]:
    return [list(header)] + [[r.get(h, "") for h in header] for r in rows]


def write_delimited(
    path: Path, rows: list[list[str]], sep: str = "\t", encoding: str = "utf-8"
) -> Path:
    path.write_bytes(("\r\n".join(sep.join(r) for r in rows) + "\r\n").encode(encoding))
    return path


# The small snapshot most tests check against (the fuzz tests too).
INVENTORY_ROWS = [
    INVENTORY_HEADER,
    ["00123", "X000000001", "B000000001", "Widget, blue", "10", "2", "1"],
    ["ABC-1", "X000000002", "B000000002", 'Gadget 12"', "5", "0", "0"],
    ["123456789012", "X000000003", "B000000003", "Café au lait", "--", "7", ""],
    ["SKU-4", "X000000004", "B000000004", "Thing", "100", "100", "0"],
]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_delimited(tmp_path / "inventory.txt", INVENTORY_ROWS)


CheckOne = Callable[..., BatchResult]


@pytest.fixture
def check(inventory: Path) -> CheckOne:
    """Run one batch on the given files against the fixture inventory."""

    def run(*paths: Path, settings: Settings | None = None) -> BatchResult:
        return run_batch(list(paths), inventory, settings or Settings())

    return run


def codes_at(
    result: BatchResult, ignore: frozenset[str] = frozenset({"order-held"})
) -> set[tuple[object, str, str]]:
    """(row, column, code) of every problem of a batch; row None for file-level ones.

    ``order-held`` follows from any error and is checked by its own tests.
    """
    problems = result.problems
    problems = problems[~problems["code"].isin(ignore)]
    return {
        (None if pd.isna(r) else int(r), c, code)
        for r, c, code in zip(problems["row"], problems["column"], problems["code"], strict=True)
    }


def codes(result: BatchResult, ignore: frozenset[str] = frozenset({"order-held"})) -> set[str]:
    return set(result.problems["code"]) - set(ignore)
