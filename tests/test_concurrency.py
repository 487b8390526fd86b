"""One run per workspace: a second run waits for the lock or exits 2 'workspace busy'."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from workspace_helpers import cli, drop, ledger_orders, make_workspace, published_orders

from removal_batch.workspace import Workspace, run_lock


def _start(root: Path, wait: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "removal_batch", "run", str(root), "--wait", wait],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_run_exits_2_while_the_workspace_is_busy(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    with run_lock(Workspace(root), wait=0):
        busy = cli("run", str(root), "--wait", "0.5")
    assert busy.returncode == 2
    assert "workspace busy" in busy.stderr
    assert [p.name for p in (root / "inbox").iterdir()] == ["a.txt"]
    assert ledger_orders(root) == []


def test_second_run_waits_for_the_lock(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    with run_lock(Workspace(root), wait=0):
        waiting = _start(root, "60")
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert ledger_orders(root) == ["D1"]


def test_two_runs_started_together_never_process_the_same_file(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    for i in range(4):
        drop(root, f"f{i}.txt", [(f"D{i}", [("00A", 1, 0)])])
    first, second = _start(root, "60"), _start(root, "60")
    results = [p.communicate(timeout=120) for p in (first, second)]
    assert sorted([first.returncode, second.returncode]) == [0, 0], results
    assert sum("nothing to do" in out for out, _ in results) == 1
    with sqlite3.connect(root / ".removal-batch" / "ledger.sqlite3") as conn:
        shas = [r[0] for r in conn.execute("SELECT sha256 FROM inputs")]
    assert len(shas) == len(set(shas)) == 4
    assert ledger_orders(root) == published_orders(root) == ["D0", "D1", "D2", "D3"]
