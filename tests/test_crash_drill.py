"""Crash drill: a run killed by SIGKILL at each step, then run again.

After every crash and restart: each order is issued exactly once (the ledger and the
published folders in out/ agree, and match a run that never crashed), every input is
in archive/ or still in inbox/, and nothing half-written is visible in out/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from workspace_helpers import cli, drop, ledger_orders, make_workspace, published_orders

# Steps of a run, in order: reading, deciding, writing, publishing, ledger, archiving.
POINTS = [
    "discovered",
    "snapshot-read",
    "hashed",
    "read-input#1",
    "read-input#2",
    "read-input#3",
    "decided",
    "order-file#1",
    "order-file#3",
    "orders-written",
    "upload-written",
    "error-report-written",
    "summary-written",
    "written",
    "synced",
    "pending-saved",
    "published",
    "ledger-run-inserted",
    "ledger-lines-inserted",
    "recorded",
    "archive-input#1",
    "archive-input#2",
    "archive-input#3",
    "archived",
    "done",
]


def _inputs(root: Path) -> None:
    drop(root, "a.txt", [("D1", [("00A", 2, 0), ("00B", 1, 1)]), ("D2", [("00C", 1, 0)])])
    drop(root, "b.txt", [("D3", [("00A", 2, 0)]), ("D4", [("NOPE", 1, 0)])])  # D4 is held
    drop(root, "c.txt", [("D5", [("00A", 9, 0)]), ("D6", [("00B", 3, 0)])])  # D5 exceeds


def _digests(paths: list[Path]) -> list[str]:
    return sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    """A workspace prepared once; the orders a run that never crashes issues."""
    template = make_workspace(tmp_path_factory.mktemp("template") / "ws")
    _inputs(template)
    inputs = _digests(list((template / "inbox").iterdir()))
    clean = tmp_path_factory.mktemp("clean") / "ws"
    shutil.copytree(template, clean)
    assert cli("run", str(clean)).returncode == 1  # D4 and D5 are rejected
    orders = ledger_orders(clean)
    assert orders == ["D1", "D2", "D3", "D6"]
    return template, inputs, orders


def _check(root: Path, inputs: list[str], orders: list[str]) -> None:
    assert ledger_orders(root) == published_orders(root) == orders
    kept = [p for p in (root / "inbox").iterdir()] + list((root / "archive").glob("*/*"))
    assert _digests(kept) == inputs
    visible = [p for p in (root / "out").iterdir() if not p.name.startswith(".")]
    for run in visible:
        assert (run / "summary.json").is_file()  # published folders are whole
    assert not [p for p in (root / "out").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("point", POINTS)
def test_killed_run_is_finished_or_undone(tmp_path: Path, reference, point: str) -> None:
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    crashed = cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": point})
    assert crashed.returncode == -signal.SIGKILL, f"{point} was not reached: {crashed.stderr}"
    # Before recovery: nothing half-written is visible; inputs are all still somewhere.
    for run in (p for p in (root / "out").iterdir() if not p.name.startswith(".")):
        assert (run / "summary.json").is_file()
    again = cli("run", str(root))
    assert again.returncode in (0, 1), again.stderr
    assert "Traceback" not in again.stderr
    quiet = cli("run", str(root))
    assert quiet.returncode == 0 and "nothing to do" in quiet.stdout
    _check(root, inputs, orders)


def test_killed_twice_during_recovery(tmp_path: Path, reference) -> None:
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    assert cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": "published"}).returncode == -9
    second = cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": "recover-recorded"})
    assert second.returncode == -9
    assert cli("run", str(root)).returncode in (0, 1)
    _check(root, inputs, orders)


# Runs the CLI with every order file written by the forked child, however few the orders.
FORKED_WRITER = (
    "import removal_batch.writers.order_files as o; o.FORK_FROM_ORDERS = 1; "
    "from removal_batch.cli import main; main()"
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
@pytest.mark.parametrize("point", ["order-file#1", "order-file#3"])
def test_killed_in_the_order_writer_child(tmp_path: Path, reference, point: str) -> None:
    """A crash point reached in the forked order writer takes the whole run down (a power
    cut stops both processes); the next run still issues every order once."""
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    crashed = subprocess.run(
        [sys.executable, "-c", FORKED_WRITER, "run", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REMOVAL_BATCH_KILL_AT": point},
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert [p.name for p in (root / "out").iterdir() if not p.name.startswith(".")] == []
    assert cli("run", str(root)).returncode == 1
    _check(root, inputs, orders)


# The forked order writer made slow: it is still writing when its run is killed.
SLOW_FORKED_WRITER = (
    "import time, removal_batch.writers.order_files as o; o.FORK_FROM_ORDERS = 1; "
    "real = o._write; o._write = lambda *a: (time.sleep(1.5), real(*a))[1]; "
    "from removal_batch.cli import main; main()"
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_a_run_killed_while_its_writer_works_leaves_the_workspace_free(
    tmp_path: Path, reference
) -> None:
    """The forked writer outlives a run killed beside it. It inherited the lock's
    descriptor, and an flock lasts while any of its descriptors is open: the next run was
    told the workspace was busy though no run was going. The child closes it."""
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    # No pipes: the orphaned writer would hold them open, and the wait for them would
    # outlast it.
    crashed = subprocess.run(
        [sys.executable, "-c", SLOW_FORKED_WRITER, "run", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        env={**os.environ, "REMOVAL_BATCH_KILL_AT": "upload-written"},
    )
    assert crashed.returncode == -signal.SIGKILL
    after = cli("run", str(root), "--wait", "0")
    assert after.returncode in (0, 1), after.stdout + after.stderr
    _check(root, inputs, orders)


def test_a_dry_run_does_not_finish_an_interrupted_run(tmp_path: Path, reference) -> None:
    """A dry run records nothing and moves nothing (SPEC 6), and so cannot finish a run
    killed after publishing: it stops and says so; the next real run finishes it."""
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    assert cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": "published"}).returncode == -9
    inbox_before = sorted(p.name for p in (root / "inbox").iterdir())
    dry = cli("run", str(root), "--dry-run")
    assert dry.returncode == 2
    assert "a dry run records nothing, so it cannot finish it" in " ".join(dry.stderr.split())
    assert ledger_orders(root) == []
    assert sorted(p.name for p in (root / "inbox").iterdir()) == inbox_before
    assert cli("run", str(root)).returncode in (0, 1)
    _check(root, inputs, orders)


def test_a_file_rewritten_before_recovery_is_processed_not_archived(
    tmp_path: Path, reference
) -> None:
    """A run published but killed before archiving; meanwhile a.txt is replaced by new
    requests under the same name. Recovery archives only what the crashed run read: the
    new a.txt stays in the inbox and the next run issues its order."""
    template, _, _ = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    assert cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": "published"}).returncode == -9
    new = drop(root, "a.txt", [("D7", [("00C", 1, 0)])])
    content = new.read_bytes()
    again = cli("run", str(root))
    assert again.returncode in (0, 1), again.stderr
    assert "D7" in ledger_orders(root) and "D7" in published_orders(root)
    archived = {p.read_bytes() for p in (root / "archive").glob("*/a.txt")}
    assert content in archived  # archived by the run that processed it


@pytest.mark.parametrize("point", ["published", "ledger-run-inserted", "archive-input#1"])
@pytest.mark.parametrize("where", ["renamed in out", "moved out of the workspace"])
def test_a_published_run_whose_folder_was_moved_is_not_redone(
    tmp_path: Path, reference, point: str, where: str
) -> None:
    """A run killed after publishing; before the next run, the user renames its folder
    (marked as uploaded) or moves it away. Its orders went out: recovery records the run
    and archives its inputs, and issues none of its orders a second time. It went by the
    folder out/<run-id>: without it, the run was taken for one never published, and
    redone (every order issued twice), or, recorded already, its inputs stayed in the
    inbox for good."""
    template, inputs, orders = reference
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    assert cli("run", str(root), env={"REMOVAL_BATCH_KILL_AT": point}).returncode == -9
    (run,) = [p for p in (root / "out").iterdir() if not p.name.startswith(".")]
    target = (
        run.with_name(f"uploaded {run.name}")
        if where == "renamed in out"
        else tmp_path / "sent" / run.name
    )
    target.parent.mkdir(exist_ok=True)
    shutil.move(run, target)
    if point == "published":
        # Not recorded yet: a dry run cannot finish it, whatever became of its folder.
        assert cli("run", str(root), "--dry-run").returncode == 2
    again = cli("run", str(root))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Finished run {run.name}" in again.stderr
    assert "nothing to do" in again.stdout
    assert sorted(p.stem for p in (target / "orders").glob("*.txt")) == orders
    assert ledger_orders(root) == orders
    assert published_orders(root) == (orders if where == "renamed in out" else [])
    assert list((root / "inbox").iterdir()) == []
    assert _digests(list((root / "archive" / run.name).iterdir())) == inputs


def test_a_pending_record_that_cannot_be_read_is_kept_and_told(tmp_path: Path) -> None:
    """A pending record is renamed into place whole, so one that does not read was damaged
    since (a disk error, an edit). Recovery deleted it without a word. Where the run never
    published (its staging folder is there), it is set aside and the user told once."""
    root = make_workspace(tmp_path / "ws")
    run_id = "20261129-000000-abcd"
    pending = root / ".removal-batch" / "pending" / f"{run_id}.json"
    pending.write_text('{"run_id": "20261129-000000-abcd", "started": "2026-11-')
    (root / "out" / f".tmp-{run_id}").mkdir()
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    proc = cli("run", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    said = " ".join(proc.stderr.split())
    assert run_id in said and "cannot be read" in said and "never published" in said, said
    assert not pending.exists()
    kept = pending.with_name(pending.name + ".unreadable")
    assert kept.read_text().startswith('{"run_id": "20261129-000000-abcd"')
    again = cli("run", str(root))  # told once: the record set aside is not looked at again
    assert again.returncode == 0 and "cannot be read" not in again.stderr


def test_an_unreadable_record_of_a_published_run_stops_the_run(tmp_path: Path) -> None:
    """The record of a run that published (no staging folder) but was not recorded: its
    inputs are still in the inbox, and which they are is unknown. Set aside, the next run
    issued their orders a second time; every run stops (exit 2) until the user says, by
    deleting the record, that the inputs are dealt with."""
    root = make_workspace(tmp_path / "ws")
    run_id = "20261129-000000-abcd"
    pending = root / ".removal-batch" / "pending" / f"{run_id}.json"
    pending.write_text('{"run_id": "20261129-000000-abcd", "started": "2026-11-')
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    for _ in range(2):
        proc = cli("run", str(root))
        assert proc.returncode == 2, proc.stderr
        said = " ".join(proc.stderr.split())
        assert "Traceback" not in said and "Nothing was processed" in said, said
        assert f"thendelete{pending}andrunagain" in "".join(said.split())  # folded anywhere
        assert ledger_orders(root) == [] and pending.exists()
    pending.unlink()
    assert cli("run", str(root)).returncode == 0
    assert ledger_orders(root) == ["D1"]
