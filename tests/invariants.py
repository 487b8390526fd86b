"""Invariants every run must keep, checked on the files it wrote.

Used by the rule-case table, the property test and the benchmark's sample check.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from removal_batch.core.shape import has_request_header, recognise_request
from removal_batch.readers import read_table


def read_back(path: Path) -> pd.DataFrame:
    """An order or upload file, read by the project's own reader."""
    shaped = recognise_request(read_table(path, has_request_header))
    assert shaped.table is not None, [p.message for p in shaped.problems]
    return shaped.table.rows


def check_written_outputs(
    out_dir: Path,
    lines: pd.DataFrame,
    orders: pd.DataFrame,
    snapshot: pd.DataFrame,
    per_file: int,
) -> None:
    """Order files reproduce the accepted lines exactly once; no SKU is over-requested;
    Disposal orders carry no address; upload files hold whole orders within the limit."""
    expected = Counter(
        zip(
            lines["order_id"],
            lines["sku"],
            lines["sellable"].astype(int),
            lines["unsellable"].astype(int),
            strict=True,
        )
    )
    found: Counter[tuple[str, str, int, int]] = Counter()
    order_files = (
        sorted((out_dir / "orders").glob("*.txt")) if (out_dir / "orders").is_dir() else []
    )
    assert len(order_files) == len(orders)
    for path in order_files:
        rows = read_back(path)
        assert rows["MerchantRemovalOrderID"].nunique() == 1
        order_id = rows["MerchantRemovalOrderID"].iloc[0]
        assert path.name == f"{order_id}.txt"
        if rows["RemovalDisposition"].iloc[0] != "Return":
            assert "Address" not in path.read_text(encoding="utf-8")
            assert "ContactPhoneNumber" not in path.read_text(encoding="utf-8")
        for sku, s, u in zip(
            rows["MerchantSKU"], rows["SellableQuantity"], rows["UnsellableQuantity"], strict=True
        ):
            found[(order_id, sku, int(s), int(u))] += 1
    assert found == expected
    totals = lines.groupby("sku")[["sellable", "unsellable"]].sum()
    have = snapshot.reindex(totals.index)
    assert (totals["sellable"] <= have["sellable"]).all()
    assert (totals["unsellable"] <= have["unsellable"]).all()
    uploads = sorted((out_dir / "upload").glob("*.txt")) if (out_dir / "upload").is_dir() else []
    seen_orders: list[str] = []
    upload_count = 0
    for path in uploads:
        rows = read_back(path)
        assert len(rows) <= per_file
        upload_count += len(rows)
        ids = list(dict.fromkeys(rows["MerchantRemovalOrderID"]))
        # Rows of an order contiguous, and no order in two files.
        assert rows["MerchantRemovalOrderID"].ne(
            rows["MerchantRemovalOrderID"].shift()
        ).sum() == len(ids)
        seen_orders += ids
    assert len(seen_orders) == len(set(seen_orders)) == len(orders)
    assert upload_count == len(lines)
