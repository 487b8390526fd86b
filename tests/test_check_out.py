"""check --out DIR: a second check into the same folder replaces the first one's outputs
(an order file or upload file left from it would reach Amazon twice), never touches what
is not removal-batch's, and a failed write leaves the earlier outputs as they were."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from workspace_helpers import drop, make_workspace

import removal_batch.writers.order_files as order_files
from removal_batch.cli import main


def _check(inputs: list[Path], inventory: Path, out: Path) -> tuple[int, str]:
    args = ["check", *map(str, inputs), "--inventory", str(inventory), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    return result.exit_code, " ".join(result.output.split())


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    drop(root, "first.txt", [("D1", [("00A", 1, 0)]), ("D2", [("00B", 1, 0)])])
    drop(root, "second.txt", [("D3", [("00C", 1, 0)])])
    drop(root, "bad.txt", [("D4", [("GONE", 1, 0)])])
    return root


def test_a_second_check_replaces_the_first_ones_outputs(workspace: Path, tmp_path: Path) -> None:
    inbox, inventory = workspace / "inbox", workspace / "inventory" / "inventory.txt"
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own")
    assert _check([inbox / "first.txt", inbox / "bad.txt"], inventory, out)[0] == 1
    assert {"orders/D1.txt", "orders/D2.txt", "errors/bad.txt.errors.csv"} <= set(_tree(out))
    assert _check([inbox / "second.txt"], inventory, out)[0] == 0
    assert _tree(out) == [
        "errors",
        "notes.txt",
        "orders",
        "orders/D3.txt",
        "summary.json",
        "upload",
        "upload/removal-orders-001.txt",
    ]
    assert (out / "notes.txt").read_text() == "the user's own"
    summary = json.loads((out / "summary.json").read_text())
    assert [i["file"] for i in summary["inputs"]] == ["second.txt"]


def test_a_folder_holding_outputs_not_ours_is_refused(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "orders").mkdir(parents=True)
    (out / "orders" / "mine.txt").write_text("kept")
    inventory = workspace / "inventory" / "inventory.txt"
    code, said = _check([workspace / "inbox" / "first.txt"], inventory, out)
    assert code == 2 and "already holds orders, not written by removal-batch" in said
    assert _tree(out) == ["orders", "orders/mine.txt"]


def test_a_failed_write_leaves_the_earlier_outputs(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, inventory = workspace / "inbox", workspace / "inventory" / "inventory.txt"
    out = tmp_path / "out"
    assert _check([inbox / "first.txt"], inventory, out)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full(folder_fd: int, name: str, parts: list[bytes | memoryview]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(order_files, "_write", full)
    assert _check([inbox / "second.txt"], inventory, out)[0] == 3
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_ctrl_c_while_the_outputs_are_moved_in_waits_for_the_last_move(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (SIGTERM alike) between the renames that publish a check's outputs left the
    earlier ones gone and part of the new ones without their summary, which the next
    check --out refused as not removal-batch's."""
    inbox, inventory = workspace / "inbox", workspace / "inventory" / "inventory.txt"
    out = tmp_path / "out"
    assert _check([inbox / "first.txt"], inventory, out)[0] == 0
    real_replace = os.replace
    interrupted: list[str] = []

    def replace_then_interrupt(source: str | Path, target: str | Path) -> None:
        real_replace(source, target)
        if not interrupted and Path(target).parent == out:  # the first output moved in
            interrupted.append(Path(target).name)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    code, said = _check([inbox / "second.txt"], inventory, out)
    assert interrupted and code == 130 and "interrupted" in said
    assert _tree(out) == [
        "errors",
        "orders",
        "orders/D3.txt",
        "summary.json",
        "upload",
        "upload/removal-orders-001.txt",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert [i["file"] for i in summary["inputs"]] == ["second.txt"]


def test_out_naming_a_file_is_refused_before_anything_is_written(
    workspace: Path, tmp_path: Path
) -> None:
    """--out naming a file failed after the batch was checked ("File exists", exit 3)."""
    inventory = workspace / "inventory" / "inventory.txt"
    request = workspace / "inbox" / "first.txt"
    taken = tmp_path / "report.txt"
    taken.write_text("mine")
    code, said = _check([request], inventory, taken)
    assert code == 2, said
    bare = "".join(said.split())  # rich folds a long path anywhere
    assert "".join(f"--out {taken} is a file, not a folder.".split()) in bare
    code, said = _check([request], inventory, taken / "out")
    assert code == 2, said
    wanted = f"--out {taken / 'out'} cannot be made: {taken} is a file, not a folder."
    assert "".join(wanted.split()) in "".join(said.split())
    assert taken.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", "ws"]


def test_one_file_named_through_a_linked_folder_is_read_once(
    tmp_path: Path, inventory: Path
) -> None:
    """check d1/a.txt d2/a.txt, d2 a link to d1: one file by one name. Its second name
    was reported as a skipped copy, whose report was written over the file's own, and
    the file's errors were lost (a review's finding)."""
    from conftest import request_rows, write_delimited

    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").symlink_to(tmp_path / "d1")
    rows = [{"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}]
    rows[0] |= {"MerchantSKU": "ABC-1", "SellableQuantity": "x"}
    write_delimited(tmp_path / "d1" / "a.txt", request_rows(rows))
    paths = [tmp_path / "d1" / "a.txt", tmp_path / "d2" / "a.txt"]
    result = run_batch(paths, inventory, Settings())
    assert [(f.name, f.status) for f in result.files] == [("a.txt", "rejected")]
    assert "value-not-integer" in set(result.problems["code"])


def test_check_never_writes_into_a_workspaces_run_folder(workspace: Path) -> None:
    """A run's folder holds a summary.json of removal-batch's own: check --out there took it
    for an earlier check's and replaced the run's order files, while the ledger kept them
    as issued (review H6). Anywhere in out/ or archive/ is refused before reading."""
    assert CliRunner().invoke(main, ["run", str(workspace)]).exit_code == 1
    (run_folder,) = [p for p in (workspace / "out").iterdir() if not p.name.startswith(".")]
    before = _tree(run_folder)
    inputs = sorted((workspace / "archive").rglob("*.txt"))
    inventory = workspace / "inventory" / "inventory.txt"
    for out in (run_folder, workspace / "out" / "new", workspace / "archive" / "x"):
        code, said = _check(inputs, inventory, out)
        assert code == 2, said
        assert "where runs keep what they issued and read" in said
    assert _tree(run_folder) == before
    assert not (workspace / "out" / "new").exists()


def test_check_never_writes_into_a_run_folder_through_a_linked_out(workspace: Path) -> None:
    """out/ a link to another disk: the resolved path passes no folder named out, and a
    run's orders were replaced all the same (review of the session's changes)."""
    out = workspace / "out"
    elsewhere = workspace.parent / "bigdisk"
    out.rename(elsewhere)
    out.symlink_to(elsewhere)
    assert CliRunner().invoke(main, ["run", str(workspace)]).exit_code == 1
    (run_folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    before = _tree(run_folder)
    inputs = sorted((workspace / "archive").rglob("*.txt"))
    code, said = _check(inputs, workspace / "inventory" / "inventory.txt", run_folder)
    assert code == 2, said
    assert _tree(run_folder) == before


def test_a_file_refused_at_its_header_is_shown_annotated(workspace: Path, tmp_path: Path) -> None:
    """A file refused for its header (a column twice) had an errors.xlsx of the Errors
    sheet alone: the input, with the cell to mend coloured, was left out. A file with no
    header at all has no cell to show, and no Annotated sheet."""
    import openpyxl
    from conftest import write_delimited

    twice = write_delimited(
        tmp_path / "twice.txt",
        [
            ["Removal requests"],
            ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SKU"]
            + ["SellableQuantity", "UnsellableQuantity"],
            ["D1", "Disposal", "00A", "00A", "1", "0"],
        ],
    )
    none = write_delimited(tmp_path / "none.txt", [["a", "b"], ["1", "2"]])
    inventory = workspace / "inventory" / "inventory.txt"
    assert _check([twice, none], inventory, tmp_path / "out")[0] == 1
    errors = tmp_path / "out" / "errors"
    book = openpyxl.load_workbook(errors / "twice.txt.errors.xlsx")
    assert book.sheetnames == ["Errors", "Annotated"]
    sheet = book["Annotated"]
    assert [c.value for c in sheet[1]] == ["Problems", "Row", *"ABCDEF"]
    assert [c.value for c in sheet[3]][:3] == ["D: header-duplicate", 2, "MerchantRemovalOrderID"]
    marked = [c.coordinate for row in sheet.iter_rows() for c in row if c.fill.fill_type]
    assert marked == ["F3"]  # column D of the input, on its header row (row 2)
    assert "header-duplicate" in sheet["F3"].comment.text
    assert openpyxl.load_workbook(errors / "none.txt.errors.xlsx").sheetnames == ["Errors"]


def test_an_excel_lock_file_named_by_a_glob_is_left_out_and_named(
    workspace: Path, tmp_path: Path
) -> None:
    """`check folder/*` while a workbook is open in Excel names its lock file ~$name.xlsx.
    It was read as a broken workbook: exit 1 for a clean batch, and advice to save again a
    file that is not the user's. It is left out, and named at the end."""
    inbox, inventory = workspace / "inbox", workspace / "inventory" / "inventory.txt"
    lock = inbox / "~$orders.xlsx"
    lock.write_bytes(b"\x08Jane Doe" + b" " * 46 + b"\x00" * 100)
    code, said = _check([inbox / "first.txt", lock], inventory, tmp_path / "out")
    assert code == 0, said
    assert "Not read: ~$orders.xlsx is the lock file Excel keeps beside a workbook" in said
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [i["file"] for i in summary["inputs"]] == ["first.txt"]
    code, said = _check([lock], inventory, tmp_path / "out2")
    assert code == 2 and "Only Excel lock files (~$...) were named" in said
