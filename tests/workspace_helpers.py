"""Workspaces for tests: made with the real `init`, filled with small request files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import INVENTORY_HEADER, write_delimited

HEADER = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]


def age(path: Path, seconds: float = 60) -> Path:
    """Make a file look settled (written ``seconds`` ago)."""
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def make_workspace(root: Path, stock: dict[str, tuple[int, int]] | None = None) -> Path:
    from removal_batch.workspace import init_workspace

    init_workspace(root, with_samples=False)
    stock = stock or {"00A": (10, 5), "00B": (10, 5), "00C": (10, 5)}
    rows = [INVENTORY_HEADER] + [
        [s, "", "", "", str(a), str(b), "0"] for s, (a, b) in stock.items()
    ]
    age(write_delimited(root / "inventory" / "inventory.txt", rows), 3600)
    return root


def drop(root: Path, name: str, orders: list[tuple[str, list[tuple[str, int, int]]]]) -> Path:
    """A request file with Disposal orders: [(order id, [(sku, sellable, unsellable)])]."""
    rows = [HEADER]
    for order_id, lines in orders:
        for i, (sku, s, u) in enumerate(lines):
            rows.append(
                [order_id if i == 0 else "", "Disposal" if i == 0 else "", sku, str(s), str(u)]
            )
    return age(write_delimited(root / "inbox" / name, rows))


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "removal_batch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def ledger_orders(root: Path) -> list[str]:
    path = root / ".removal-batch" / "ledger.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        try:
            rows = conn.execute("SELECT order_id FROM orders").fetchall()
        except sqlite3.OperationalError as exc:
            # A test polling a running command can open the file between its creation
            # and the commit of its tables: no orders are recorded yet.
            if "no such table" not in str(exc):
                raise
            return []
        return sorted(r[0] for r in rows)


def published_orders(root: Path) -> list[str]:
    """Order files in every published run folder (hidden staging folders excluded)."""
    found = []
    for run in (root / "out").iterdir():
        if run.name.startswith("."):
            continue
        found += [p.stem for p in (run / "orders").glob("*.txt")]
    return sorted(found)


def run_summaries(root: Path) -> list[dict[str, object]]:
    return [
        json.loads((p / "summary.json").read_text())
        for p in sorted((root / "out").iterdir())
        if not p.name.startswith(".")
    ]
