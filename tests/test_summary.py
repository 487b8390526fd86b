"""summary.json: the orders list built column by column is the text json.dumps writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import INVENTORY_HEADER, request_rows, write_delimited

from removal_batch.core.raw_table import TEXT
from removal_batch.core.settings import Settings
from removal_batch.pipeline import run_batch
from removal_batch.writers.summary import orders_json, summary_dict, summary_json

AWKWARD = ["plain.txt", 'say "hi".txt', "back\\slash.txt", "tab\there.txt", "ünï ✓.txt", "\x01"]


def test_orders_json_is_what_json_dumps_writes() -> None:
    n = len(AWKWARD)
    orders = pd.DataFrame(
        {
            "order_id": pd.array([f"R{i}" for i in range(n)], dtype=TEXT),
            "disposition": pd.array(["Return", "Disposal"] * (n // 2), dtype=TEXT),
            "lines": range(1, n + 1),
            "sellable_units": [0, 5, 10**12, 3, 2, 1],
            "unsellable_units": [1, 0, 0, 0, 7, 0],
            "source_file": pd.array(AWKWARD, dtype=TEXT),
            "output_file": pd.array([f"orders/R{i}.txt" for i in range(n)], dtype=TEXT),
            "upload_file": pd.array(["upload/removal-orders-001.txt"] * (n - 1) + [None], TEXT),
        }
    )
    expected = [
        {
            "id": f"R{i}",
            "disposition": orders["disposition"][i],
            "lines": i + 1,
            "sellable_units": int(orders["sellable_units"][i]),
            "unsellable_units": int(orders["unsellable_units"][i]),
            "source_file": AWKWARD[i],
            "output_file": f"orders/R{i}.txt",
            "upload_file": "upload/removal-orders-001.txt" if i < n - 1 else "",
        }
        for i in range(n)
    ]
    assert orders_json(orders) == json.dumps(expected, ensure_ascii=False)
    assert orders_json(orders.iloc[:0]) == "[]"


def test_a_large_summary_is_the_compact_dump_of_the_whole(tmp_path: Path) -> None:
    """Over 1,000 orders the text is put together from its sections; it must be exactly
    json.dumps of the same summary."""
    skus = [f"S{i:04d}" for i in range(1001)]
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [INVENTORY_HEADER, *[[s, "", "", "Thing", "5", "0", "0"] for s in skus]],
    )
    rows = [
        {
            "MerchantRemovalOrderID": f"D{i}",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": sku,
            "SellableQuantity": "1",
        }
        for i, sku in enumerate(skus)
    ]
    request = write_delimited(tmp_path / 'a "quoted" name.txt', request_rows(rows))
    result = run_batch([request], inventory, Settings())
    assert len(result.decision.orders) == 1001
    text = summary_json(result)
    assert text == json.dumps(summary_dict(result), ensure_ascii=False)
    assert json.loads(text)["totals"]["sellable_units"] == 1001


def test_a_table_refused_whole_counts_its_rows_as_rejected(tmp_path: Path, inventory: Path) -> None:
    """A header problem or shifted records refuse the whole file, after its rows were
    read (the annotated report shows them): the summary said 0 rows and no shape (found
    by a read-through of the outputs). A file of no recognisable kind has no rows to
    count."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    line = ["D1", "Disposal", "00123", "00123", "1", "0"]
    twice = write_delimited(tmp_path / "a.txt", [header, line, line, line])
    missing = write_delimited(tmp_path / "b.txt", [header[:1] + header[2:3], ["D1", "00123"]])
    shifted = tmp_path / "c.txt"
    shifted.write_text("\t".join(header[:3]) + "\nD1\tDisposal\t00123\tx\nD2\tDisposal\t00123\n")
    feed = write_delimited(
        tmp_path / "d.txt",
        [
            ["MerchantRemovalOrderID", "F1"],  # and no RemovalDisposition line
            [],
            ["MerchantSKU", "SellableQuantity", "UnsellableQuantity"],
            ["00123", "1", "0"],
        ],
    )
    unknown = write_delimited(tmp_path / "e.txt", [["what"], ["is this"]])
    result = run_batch([twice, missing, shifted, feed, unknown], inventory, Settings())
    inputs = {i["file"]: i for i in summary_dict(result)["inputs"]}
    assert {n: (i["shape"], i["rows"], i["rejected"], i["status"]) for n, i in inputs.items()} == {
        "a.txt": ("table", 3, 3, "rejected"),
        "b.txt": ("table", 1, 1, "rejected"),
        "c.txt": ("table", 2, 2, "rejected"),
        "d.txt": ("feed", 1, 1, "rejected"),
        "e.txt": ("", 0, 0, "rejected"),
    }


def test_totals_add_up_the_inputs(tmp_path: Path, inventory: Path) -> None:
    """Per input and in total: rows, accepted and rejected rows, orders and units, and
    problems by severity, as counted from the batch itself."""
    good = {"RemovalDisposition": "Disposal", "SellableQuantity": "1"}
    a = write_delimited(
        tmp_path / "a.txt",
        request_rows(
            [
                {**good, "MerchantRemovalOrderID": "D1", "MerchantSKU": "00123"},
                {**good, "MerchantRemovalOrderID": "D2", "MerchantSKU": "NOPE"},
                {**good, "MerchantRemovalOrderID": "D3", "MerchantSKU": "SKU-4"},
            ]
        ),
    )
    b = write_delimited(
        tmp_path / "b.txt",
        request_rows([{**good, "MerchantRemovalOrderID": "D4", "MerchantSKU": "ABC-1"}]),
    )
    result = run_batch([a, b], inventory, Settings())
    summary = summary_dict(result)
    inputs = {i["file"]: i for i in summary["inputs"]}
    assert [(inputs[n]["rows"], inputs[n]["accepted"], inputs[n]["rejected"]) for n in inputs] == [
        (3, 2, 1),
        (1, 1, 0),
    ]
    totals = summary["totals"]
    assert (totals["files"], totals["rows"], totals["accepted_rows"], totals["rejected_rows"]) == (
        2,
        4,
        3,
        1,
    )
    assert (totals["orders"], totals["sellable_units"], totals["unsellable_units"]) == (3, 3, 0)
    # D2's unknown SKU (error) holds the order (info).
    assert totals["problems_by_severity"] == {"error": 1, "info": 1}


def test_a_second_name_of_a_file_read_carries_its_sha256(tmp_path: Path, check) -> None:
    """A link to a file of the batch is skipped (its orders would go out twice), and its
    sha256 was null in summary.json: SPEC 5 gives every input its sha256."""
    from removal_batch.pipeline import sha256_of

    rows = request_rows(
        [
            {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
            | {"MerchantSKU": "SKU-4", "SellableQuantity": "1", "UnsellableQuantity": "0"}
        ]
    )
    first = write_delimited(tmp_path / "a.txt", rows)
    (tmp_path / "b.txt").symlink_to(first)
    result = check(first, tmp_path / "b.txt")
    outcomes = {o.name: o for o in result.files}
    assert outcomes["b.txt"].status == "skipped"
    assert outcomes["b.txt"].sha256 == outcomes["a.txt"].sha256 == sha256_of(first)
