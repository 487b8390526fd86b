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
    # Without --out no summary.json is written: the rest is pointed at --out.
    assert "... and 10 more files: 10 accepted (run with --out DIR to see them all)." in out
    result = CliRunner().invoke(
        main,
        ["check", *map(str, files), "--inventory", str(inventory), "--out", str(tmp_path / "o")],
        terminal_width=200,
    )
    assert "... and 10 more files: 10 accepted (see summary.json)." in result.output


def _one_disposal(path: Path, order_id: str, sku: str) -> Path:
    """A request file with one Disposal line of one unit."""
    row = {
        "MerchantRemovalOrderID": order_id,
        "RemovalDisposition": "Disposal",
        "MerchantSKU": sku,
        "SellableQuantity": "1",
    }
    return write_delimited(path, request_rows([row]))


def test_brackets_in_names_cells_and_paths_are_shown_as_typed(
    tmp_path: Path, inventory: Path
) -> None:
    """rich reads "[...]" as markup: a file named '[bold]returns [v2].txt' was listed as
    'returns .txt', and a cell holding 'A[/b]', quoted in its error, made the summary fail
    with an internal error (exit 3) after the batch was done. Names, cells and paths are
    printed as they are, and a long name is folded, not cut short with an ellipsis."""
    named = "[bold]returns [v2].txt"
    bad = _one_disposal(tmp_path / named, "D1", "A[/b]")
    long_name = "removal-request-" + "x" * 60 + ".txt"
    good = _one_disposal(tmp_path / long_name, "D2", "SKU-4")
    result = CliRunner().invoke(
        main, ["check", str(bad), str(good), "--inventory", str(inventory)], terminal_width=80
    )
    assert result.exit_code == 1, result.output
    out = result.output
    bare = "".join(out.split())  # the table folds long cells onto several lines
    assert "".join(named.split()) in bare
    assert "SKU 'A[/b]' is not in the inventory" in " ".join(out.split())
    assert long_name in bare and "…" not in out
    missing = CliRunner().invoke(
        main, ["check", str(tmp_path / "a[" / "b]" / "c.txt"), "--inventory", str(inventory)]
    )
    assert missing.exit_code == 2, missing.output
    said = "".join(missing.output.split())
    assert "".join(f"File not found: {tmp_path / 'a[' / 'b]' / 'c.txt'}".split()) in said


def test_control_characters_in_cells_and_names_are_shown_not_sent(
    tmp_path: Path, inventory: Path
) -> None:
    """An ESC in a cell or a name would reach the terminal as the start of a sequence that
    recolours, moves the cursor or erases lines (a rejection could be wiped from sight).
    It is shown as \\x1b."""
    bad = _one_disposal(tmp_path / "wipe\x1b[2J.txt", "D1", "A\x1b[2K\x1b[1AB")
    result = CliRunner().invoke(
        main, ["check", str(bad), "--inventory", str(inventory)], terminal_width=200
    )
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output
    said = " ".join(result.output.split())  # rich wraps at 80 columns here
    assert "SKU 'A\\x1b[2K\\x1b[1AB' is not in the inventory" in said
    assert "wipe\\x1b[2J.txt" in "".join(result.output.split())  # a table cell may fold
    missing = CliRunner().invoke(
        main, ["check", str(tmp_path / "gone\x1b[2J.txt"), "--inventory", str(inventory)]
    )
    assert missing.exit_code == 2 and "\x1b" not in missing.output
    assert "gone\\x1b[2J.txt" in "".join(missing.output.split())


def test_a_batch_of_mostly_unknown_skus_points_at_the_snapshot(
    tmp_path: Path, inventory: Path
) -> None:
    """Twenty-odd identical sku-unknown lines hide the likelier mistake: the snapshot."""
    from removal_batch.writers.terminal import WRONG_SNAPSHOT_LINES

    def check(known: int, unknown: int) -> str:
        rows = [
            {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"},
            *({} for _ in range(known + unknown - 1)),
        ]
        for i, row in enumerate(rows):
            row.update({"MerchantSKU": "SKU-4" if i < known else f"GONE-{i}"})
            row["SellableQuantity"] = "1"
        path = write_delimited(tmp_path / f"r{known}-{unknown}.txt", request_rows(rows))
        result = CliRunner().invoke(
            main, ["check", str(path), "--inventory", str(inventory)], terminal_width=200
        )
        return " ".join(result.output.split())

    said = "name SKUs that the inventory snapshot inventory.txt does not list"
    most = check(known=1, unknown=WRONG_SNAPSHOT_LINES)
    assert f"Most lines ({WRONG_SNAPSHOT_LINES} of {WRONG_SNAPSHOT_LINES + 1}) {said}" in most
    assert said not in check(known=1, unknown=WRONG_SNAPSHOT_LINES - 1)  # too few to say
    assert said not in check(known=WRONG_SNAPSHOT_LINES, unknown=WRONG_SNAPSHOT_LINES)


def test_the_snapshot_checked_against_is_named_with_its_age(
    tmp_path: Path, inventory: Path
) -> None:
    import datetime as dt
    import json
    import os
    import re

    from conftest import INVENTORY_ROWS

    request = _one_disposal(tmp_path / "r.txt", "D1", "SKU-4")

    def said(*args: str) -> str:
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        result = CliRunner().invoke(
            main, ["check", str(request), *args, "--out", str(out)], terminal_width=300
        )
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "summary.json").read_text())
        # rich folds a long line: read the output as one line of words.
        words = " ".join(result.output.split())
        line = re.search(
            r"Checked against .*?(?:this run\.(?: Units sold .*? report\.)?|started\.)", words
        )
        assert line is not None, words
        return f"{line.group(0)} [{summary['snapshot']['snapshot_time_from']}]"

    given = said("--inventory", str(inventory), "--inventory-time", "2020-01-02T03:04:00Z")
    days = (dt.datetime.now(dt.UTC) - dt.datetime(2020, 1, 2, 3, 4, tzinfo=dt.UTC)).days
    assert given == (
        f"Checked against inventory snapshot inventory.txt (4 SKUs), as of 2020-01-02 03:04 "
        f"UTC (as given by --inventory-time), {days:,} days before this run. Units sold since "
        "then still count as available: if stock has moved, download a fresh Manage FBA "
        "Inventory report. [--inventory-time]"
    )
    # A clock a minute or two ahead of this one: taken (see CLOCK_SKEW), and said.
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    dated = write_delimited(
        tmp_path / "dated.txt",
        [[*INVENTORY_ROWS[0], "snapshot-date"]]
        + [[*row, ahead.isoformat()] for row in INVENTORY_ROWS[1:]],
    )
    assert said("--inventory", str(dated)).endswith(
        f"as of {ahead:%Y-%m-%d %H:%M} UTC (the report's snapshot-date), after this run "
        "started. [snapshot-date]"
    )
    three_hours_ago = dt.datetime.now().timestamp() - 3 * 3600 - 60
    os.utime(inventory, (three_hours_ago, three_hours_ago))
    assert said("--inventory", str(inventory)).endswith(
        "(the file's modification time), 3 hours before this run. [modified]"
    )


def test_a_workbook_problem_names_its_sheet(tmp_path: Path, inventory: Path) -> None:
    """Excel opens a workbook on whichever sheet was last shown: "row 2 column D" alone
    sends the user to the wrong sheet when the one read is not it."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Removal Request")
    row = {
        "MerchantRemovalOrderID": "D1",
        "RemovalDisposition": "Disposal",
        "MerchantSKU": "SKU-4",
        "SellableQuantity": "x",
    }
    for values in request_rows([row]):
        sheet.append(values)
    book.save(tmp_path / "book.xlsx")
    result = CliRunner().invoke(
        main,
        ["check", str(tmp_path / "book.xlsx"), "--inventory", str(inventory)],
        terminal_width=200,
    )
    assert result.exit_code == 1
    assert "value-not-integer book.xlsx sheet 'Removal Request' row 2 column N:" in result.output
