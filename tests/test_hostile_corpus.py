"""Every awkward real-world file ends in a file-level code or a clean read, never a trace.

Each file runs through the real command in its own process, with a memory cap
and a timeout, because some of these files were built to exhaust a reader.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from removal_batch.core.codes import CODES

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hostile"
FILES = sorted(p for p in CORPUS.glob("*") if p.name != "SOURCES.md") if CORPUS.is_dir() else []
MEMORY_CAP = 3 << 30


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.skipif(not FILES, reason=f"hostile corpus not present at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_hostile_file_ends_in_a_clear_result(path: Path, inventory: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "removal_batch",
            "check",
            str(path),
            "--inventory",
            str(inventory),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap_memory,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    summary = json.loads(proc.stdout)
    (entry,) = summary["inputs"]
    assert set(entry["counts_by_code"]) <= set(CODES)
    if proc.returncode == 1:
        assert entry["status"] == "rejected"
        assert any(CODES[c].severity in ("fatal", "error") for c in entry["counts_by_code"])


@pytest.mark.skipif(not FILES, reason=f"hostile corpus not present at {CORPUS}")
def test_whole_corpus_through_run_in_a_workspace(tmp_path: Path) -> None:
    """All the awkward files dropped into one inbox: one run takes them all, reports each,
    archives each, and issues nothing twice."""
    import os
    import shutil
    import time

    from workspace_helpers import make_workspace

    root = make_workspace(tmp_path / "ws")
    for path in FILES:
        shutil.copyfile(path, root / "inbox" / path.name)
        os.utime(root / "inbox" / path.name, (time.time() - 60, time.time() - 60))
    proc = subprocess.run(
        [sys.executable, "-m", "removal_batch", "run", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_cap_memory,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert sorted(i["file"] for i in summary["inputs"]) == sorted(p.name for p in FILES)
    for entry in summary["inputs"]:
        assert set(entry["counts_by_code"]) <= set(CODES)
    (run,) = [p for p in (root / "out").iterdir()]
    archived = sorted(p.name for p in (root / "archive" / run.name).iterdir())
    assert archived == sorted(p.name for p in FILES)
    assert list((root / "inbox").iterdir()) == []
