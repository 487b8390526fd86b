"""The rule-case table: each case's problems and orders, exactly; run through the writers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import REQUEST_HEADER, RETURN_ADDRESS, write_delimited
from invariants import check_written_outputs

from removal_batch.app import write_outputs
from removal_batch.core.settings import settings_from_mapping
from removal_batch.pipeline import run_batch

CASES = yaml.safe_load((Path(__file__).parent / "rule_cases" / "order_rules.yaml").read_text())


def write_snapshot(path: Path, snapshot: dict[str, list[Any]]) -> Path:
    rows = [["sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]]
    for sku, spec in snapshot.items():
        fnsku = spec[2] if len(spec) > 2 else ""
        rows.append([sku, fnsku, str(spec[0]), str(spec[1])])
    return write_delimited(path, rows)


def write_case_files(folder: Path, case: dict[str, Any]) -> list[Path]:
    header = case.get("header", REQUEST_HEADER)
    paths = []
    for name, rows in case["files"].items():
        table = [list(header)]
        for row in rows:
            values = dict(RETURN_ADDRESS) if row.get("ret") else {}
            values.update({k: str(v) for k, v in row.items() if k != "ret"})
            table.append([values.get(h, "") for h in header])
        paths.append(write_delimited(folder / name, table))
    return paths


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rule_case(tmp_path: Path, case: dict[str, Any]) -> None:
    snapshot_path = write_snapshot(tmp_path / "inventory.txt", case["snapshot"])
    settings = settings_from_mapping(case.get("settings", {}))
    inputs = write_case_files(tmp_path, case)
    result = run_batch(inputs, snapshot_path, settings)
    problems = result.problems
    found = {
        (f, int(r), c, code)
        for f, r, c, code in zip(
            problems["file"], problems["row"], problems["column"], problems["code"], strict=True
        )
    }
    assert found == {tuple(p) for p in case["problems"]}
    for message in case.get("messages", []):  # words a case pins down, where it names some
        assert message in problems["message"].tolist()
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    expected_orders = {
        oid.replace("{today}", today): {sku: list(q) for sku, q in skus.items()}
        for oid, skus in case["orders"].items()
    }
    lines = result.decision.lines
    got: dict[str, dict[str, list[int]]] = {}
    for oid, sku, s, u in zip(
        lines["order_id"], lines["sku"], lines["sellable"], lines["unsellable"], strict=True
    ):
        got.setdefault(oid, {})[sku] = [int(s), int(u)]
    assert got == expected_orders
    assert result.exit_code == (1 if any(problems["severity"].isin(["error", "fatal"])) else 0)
    out = tmp_path / "out"
    write_outputs(result, out)
    snap = pd.DataFrame(
        {
            "sellable": [v[0] for v in case["snapshot"].values()],
            "unsellable": [v[1] for v in case["snapshot"].values()],
        },
        index=list(case["snapshot"]),
    )
    check_written_outputs(out, lines, result.decision.orders, snap, settings.max_skus_per_file)


def test_a_part_id_issued_in_an_earlier_run_holds_the_long_order(tmp_path: Path) -> None:
    """D1-P1 went out in an earlier run (the ledger's ids): a new three-line D1 would be
    written as D1-P1 again, so it is held with order-id-duplicate; a short D2 is not."""
    case = {
        "files": {
            "a.txt": [
                {
                    "MerchantRemovalOrderID": "D1",
                    "RemovalDisposition": "Disposal",
                    "MerchantSKU": sku,
                    "SellableQuantity": 1,
                }
                for sku in ("A", "B", "C")
            ]
            + [
                {
                    "MerchantRemovalOrderID": "D2",
                    "RemovalDisposition": "Disposal",
                    "MerchantSKU": "A",
                    "SellableQuantity": 1,
                }
            ]
        }
    }
    snapshot_path = write_snapshot(
        tmp_path / "inventory.txt", {"A": [9, 0], "B": [9, 0], "C": [9, 0]}
    )
    settings = settings_from_mapping({"max_skus_per_order": 2})
    inputs = write_case_files(tmp_path, case)
    result = run_batch(inputs, snapshot_path, settings, used_ids={"D1-P1": "r1", "D2-P1": "r1"})
    clash = result.problems[result.problems["code"].eq("order-id-duplicate")]
    assert clash[["row", "column"]].values.tolist() == [[2, "A"]]
    assert "D1-P1 was already issued in an earlier run" in clash["message"].iloc[0]
    assert set(result.decision.orders["order_id"]) == {"D2"}
