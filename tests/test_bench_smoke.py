"""The benchmark script runs end to end at a tiny size, so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"


def test_bench_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--scale",
            "0.002",
            "--cases",
            "large,xlsx,many,help,reports,contested",
            "--data",
            str(tmp_path / "data"),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = results.read_text()
    for case in ("1.", "2.", "3.", "5.", "6.", "7."):
        assert f"| {case}" in table
    assert "lines/s" in table
