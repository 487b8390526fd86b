"""What the terminal shows: a long batch lists the files with problems, counts the rest."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import request_rows, write_delimited

from removal_batch.cli import main
from removal_batch.writers.terminal import SHOWN_FILES


def test_long_batch_lists_troubled_files_and_counts_the_rest(
    tmp_path: Path, inventory: Path
) -> None:
    files = []
    for i in range(SHOWN_FILES + 10):
        quantity = "x" if i in (3, SHOWN_FILES + 7) else "1"  # two files with a bad cell
        row = {
            "MerchantRemovalOrderID": f"D{i}",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "SKU-4",
            "SellableQuantity": quantity,
        }
        files.append(write_delimited(tmp_path / f"r{i:03d}.txt", request_rows([row])))
    result = CliRunner().invoke(
        main, ["check", *map(str, files), "--inventory", str(inventory)], terminal_width=200
    )
    assert result.exit_code == 1
    out = result.output
    # Both files with problems are listed, even the one past the first SHOWN_FILES names.
    assert "r003.txt" in out and f"r{SHOWN_FILES + 7:03d}.txt" in out
    assert f"r{SHOWN_FILES + 9:03d}.txt" not in out
    assert "... and 10 more file(s): 10 accepted (see summary.json)." in out
