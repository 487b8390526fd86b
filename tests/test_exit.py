"""The installed command leaves without tearing the interpreter down, unless a profiler or
coverage tool is watching (they report at a normal exit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import atexit, sys
atexit.register(lambda: print("teardown ran"))
if {watched}:
    sys.setprofile(lambda *args: None)
sys.argv = ["removal-batch", *{args}]
from removal_batch.cli import entry
entry()
"""


@pytest.mark.parametrize("watched", [False, True], ids=["plain", "profiled"])
@pytest.mark.parametrize(
    ("args", "code"), [(["--version"], 0), (["check", "no-such-file.txt", "--inventory", "x"], 2)]
)
def test_exit_code_and_output_survive_the_fast_exit(
    watched: bool, args: list[str], code: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(watched=watched, args=args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert ("removal-batch, version" in done.stdout) == (code == 0)
    assert ("not found" in done.stderr) == (code == 2)
    assert ("teardown ran" in done.stdout) == watched
