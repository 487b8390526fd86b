"""Deterministic benchmark data: an inventory snapshot and request files of any size.

    python bench/generate.py --out bench/data --skus 1000000 --lines 1000000 --orders 50000

Seeded, so every run of the benchmark measures the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

INVENTORY_COLUMNS = [
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "per-unit-volume",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
]
REQUEST_COLUMNS = [
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


def sku_names(n: int) -> np.ndarray:
    # Leading zeros on purpose: they must survive every reader.
    return np.char.add("0", np.char.zfill(np.arange(n).astype(str), 7)).astype(object)


def inventory_frame(skus: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = sku_names(skus)
    fulfillable = rng.integers(20, 500, skus)
    unsellable = rng.integers(2, 50, skus)
    reserved = rng.integers(0, 10, skus)
    frame = pd.DataFrame({c: "" for c in INVENTORY_COLUMNS}, index=range(skus))
    frame["sku"] = names
    frame["fnsku"] = np.char.add("X", np.char.zfill(np.arange(skus).astype(str), 9))
    frame["asin"] = np.char.add("B", np.char.zfill(np.arange(skus).astype(str), 9))
    frame["product-name"] = np.char.add("Product ", np.arange(skus).astype(str))
    frame["condition"] = "New"
    frame["your-price"] = "19.99"
    frame["mfn-listing-exists"] = "No"
    frame["mfn-fulfillable-quantity"] = ""
    frame["afn-listing-exists"] = "Yes"
    frame["afn-warehouse-quantity"] = (fulfillable + unsellable + reserved).astype(str)
    frame["afn-fulfillable-quantity"] = fulfillable.astype(str)
    frame["afn-unsellable-quantity"] = unsellable.astype(str)
    frame["afn-reserved-quantity"] = reserved.astype(str)
    frame["afn-total-quantity"] = (fulfillable + unsellable + reserved).astype(str)
    for col in INVENTORY_COLUMNS[14:]:
        frame[col] = "0"
    return frame


def request_frame(
    lines: int, orders: int, skus: int, seed: int = 11, prefix: str = "BENCH"
) -> pd.DataFrame:
    """``lines`` rows in ``orders`` orders; every SKU distinct within an order, quantities small
    enough that nothing is over-requested unless SKUs repeat across orders."""
    rng = np.random.default_rng(seed)
    per_order = lines // orders
    order_no = np.repeat(np.arange(orders), per_order)
    order_no = np.concatenate([order_no, np.full(lines - len(order_no), orders - 1)])
    sku_index = rng.permutation(skus)[:lines] if lines <= skus else rng.integers(0, skus, lines)
    first = np.r_[True, order_no[1:] != order_no[:-1]]
    is_return = (order_no % 4) == 0
    frame = pd.DataFrame({c: "" for c in REQUEST_COLUMNS}, index=range(lines))
    ids = np.char.add(f"{prefix}-", np.char.zfill(order_no.astype(str), 6)).astype(object)
    frame["MerchantRemovalOrderID"] = np.where(first, ids, "")
    frame["RemovalDisposition"] = np.where(first, np.where(is_return, "Return", "Disposal"), "")
    address = {
        "AddressName": "Acme Returns",
        "AddressFieldOne": "100 Dock St",
        "AddressCity": "Reno",
        "AddressCountryCode": "US",
        "AddressStateOrRegion": "NV",
        "AddressPostalCode": "89502",
        "ContactPhoneNumber": "775-555-0100",
    }
    for col, value in address.items():
        frame[col] = np.where(first & is_return, value, "")
    frame["MerchantSKU"] = sku_names(skus)[sku_index]
    frame["SellableQuantity"] = rng.integers(0, 10, lines).astype(str)
    frame["UnsellableQuantity"] = rng.integers(1, 3, lines).astype(str)
    return frame


def write_text(frame: pd.DataFrame, path: Path, sep: str = "\t") -> Path:
    frame.to_csv(path, sep=sep, index=False, lineterminator="\n")
    return path


def write_xlsx(frame: pd.DataFrame, path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Removal Request")
    sheet.append(list(frame.columns))
    quantities = {"SellableQuantity", "UnsellableQuantity"}
    cols = list(frame.columns)
    for row in frame.itertuples(index=False):
        cells = zip(cols, row, strict=True)
        sheet.append([int(v) if c in quantities else (v or None) for c, v in cells])
    book.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/data"))
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--formats", default="txt", help="comma list of txt,csv,xlsx")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(inventory_frame(args.skus), args.out / "inventory.txt")
    requests = request_frame(args.lines, args.orders, args.skus)
    for fmt in args.formats.split(","):
        name = args.out / f"requests-{args.lines}.{fmt}"
        if fmt == "xlsx":
            write_xlsx(requests, name)
        else:
            write_text(requests, name, sep="," if fmt == "csv" else "\t")
        print(name)


if __name__ == "__main__":
    main()
