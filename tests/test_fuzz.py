"""Fuzzing of request files: every hostile input ends in exit 0, 1 or 2 with SPEC codes.

Never exit 3, never a traceback. Most cases run in process through
``run_batch`` (which must not raise for bad content: it returns problems): every
code must be in the catalogue with its severity, the exit code must follow from
them, and no written line may take negative, zero or unavailable units; for a
quarter of them the reports and order files are written and checked too
(tests/invariants.py). A smaller number run through the real command in a
subprocess with a memory cap and a timeout, including inputs built to make a
reader allocate absurd amounts of memory or time. The inputs this fuzzer once
broke the product with are replayed as plain tests in every profile
(``KNOWN_IN_PROCESS``, ``KNOWN_HOSTILE``).

Profiles (environment variable ``REMOVAL_BATCH_FUZZ``):

- unset or ``quick``: the CI profile, derandomised (the same cases every run), well
  under a minute.
- ``long``: 20,000 in-process cases and 200 command runs, random::

      REMOVAL_BATCH_FUZZ=long python -m pytest tests/test_fuzz.py -p no:cacheprovider

- a number N: N in-process cases in all (and N/100 command runs, at least 10), random.

Other variables:

- ``REMOVAL_BATCH_FUZZ_REPORT=FILE``: append one JSON line per test process with the
  number of cases run and their outcomes (exit codes, codes seen, slowest case).
  A one-line count is always printed at the end of the module (on stderr under xdist).
- ``REMOVAL_BATCH_FUZZ_KEEP=DIR``: write every failing input to DIR; hypothesis
  replays the minimal failing case last, so the newest file per test is the minimal one.

A failure prints the minimal ``FuzzFile`` (name, how it was made, and its bytes when
they are short); in the long profile it also prints a blob for ``@reproduce_failure``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import INVENTORY_ROWS, write_delimited
from fuzz_strategies import (
    FuzzFile,
    far_reference_workbook,
    huge_cell_text_file,
    quantity_text_file,
    random_files,
    shared_string_count_workbook,
    text_files,
    wide_text_file,
    workbook_files,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import check_written_outputs

from removal_batch.core.codes import CODES
from removal_batch.core.inventory import Snapshot
from removal_batch.core.settings import Settings
from removal_batch.pipeline import BatchResult, SnapshotInfo, UsageError, load_snapshot, run_batch

PROFILE = os.environ.get("REMOVAL_BATCH_FUZZ", "quick").strip().lower() or "quick"
QUICK = PROFILE == "quick"
if QUICK:
    TOTAL, CLI_CASES = 100, 8
elif PROFILE == "long":
    TOTAL, CLI_CASES = 20_000, 200
elif PROFILE.isdigit():
    TOTAL = int(PROFILE)
    CLI_CASES = max(10, TOTAL // 100)
else:
    raise ValueError(f"REMOVAL_BATCH_FUZZ must be quick, long or a number, not {PROFILE!r}")
# In-process cases: text files, workbooks, random bytes.
TEXT_CASES = max(1, TOTAL * 50 // 100)
BOOK_CASES = max(1, TOTAL * 35 // 100)
RANDOM_CASES = max(1, TOTAL - TEXT_CASES - BOOK_CASES)

MEMORY_CAP = 3 << 30
CLI_TIMEOUT = 120
KEEP = os.environ.get("REMOVAL_BATCH_FUZZ_KEEP")
REPORT = os.environ.get("REMOVAL_BATCH_FUZZ_REPORT")


class Loaded(tuple[Snapshot, SnapshotInfo]):
    """The snapshot, read once, with a short repr for hypothesis' falsifying examples."""

    def __repr__(self) -> str:
        return "<snapshot of the fuzz inventory>"


STATS: Counter[str] = Counter()
SLOWEST: dict[str, tuple[float, str]] = {}


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=QUICK,
        database=None,
        print_blob=not QUICK,
        suppress_health_check=list(HealthCheck),
    )


# ---------------------------------------------------------------------------
# Fixtures and bookkeeping
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same snapshot as tests/conftest.py's ``inventory`` fixture, once per module."""
    folder = tmp_path_factory.mktemp("fuzz-inventory")
    return write_delimited(folder / "inventory.txt", INVENTORY_ROWS)


@pytest.fixture(scope="module")
def snapshot(fuzz_inventory: Path) -> Loaded:
    """Read once and passed to ``run_batch(loaded=...)``, as a workspace run does."""
    return Loaded(load_snapshot(fuzz_inventory, Settings()))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cases")


@pytest.fixture(scope="module", autouse=True)
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    cases = {k: v for k, v in STATS.items() if k.startswith("cases:")}
    line = {
        "profile": PROFILE,
        "pid": os.getpid(),
        "cases": sum(cases.values()),
        "counts": dict(sorted(STATS.items())),
        "slowest": {k: [round(v[0], 2), v[1]] for k, v in SLOWEST.items()},
    }
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    failures = sum(v for k, v in STATS.items() if k.startswith("failed:"))
    message = (
        f"[fuzz] profile={PROFILE} cases={line['cases']} "
        f"({', '.join(f'{k[6:]}={v}' for k, v in sorted(cases.items()))}); failed={failures}"
    )
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            terminal.write_line("")
            terminal.write_line(message)
    else:  # an xdist worker: the report file is the place to look
        sys.stderr.write(message + "\n")


def _materialise(file: FuzzFile, scratch: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    path = folder / file.name
    path.write_bytes(file.data)
    return path


def _keep(file: FuzzFile, test: str) -> None:
    if not KEEP:
        return
    folder = Path(KEEP)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.time_ns()}"
    (folder / f"{test}-{stamp}-{file.name}").write_bytes(file.data)
    (folder / f"{test}-{stamp}-{file.name}.kind.txt").write_text(file.kind, encoding="utf-8")


def _timed(test: str, seconds: float, file: FuzzFile) -> None:
    if seconds > SLOWEST.get(test, (0.0, ""))[0]:
        SLOWEST[test] = (seconds, f"{file.name} {len(file.data):,} bytes: {file.kind}")


# ---------------------------------------------------------------------------
# In process
# ---------------------------------------------------------------------------


def check_in_process(
    file: FuzzFile, test: str, scratch: Path, inventory: Path, snapshot: Loaded, write: bool
) -> None:
    from removal_batch.app import write_outputs

    STATS[f"cases:{test}"] += 1
    path = _materialise(file, scratch)
    started = time.perf_counter()
    try:
        try:
            result = run_batch([path], inventory, Settings(), loaded=snapshot)
        except UsageError:
            STATS["usage-error"] += 1
            return
        if write:
            write_outputs(result, path.parent / "out")
            STATS["outputs-written"] += 1
        _timed(test, time.perf_counter() - started, file)
        check_lines(result, snapshot)
        if write:
            check_written_outputs(
                path.parent / "out",
                result.decision.lines,
                result.decision.orders,
                snapshot[0].frame,
                Settings().max_skus_per_file,
            )
        assert result.exit_code in (0, 1)
        problems = result.problems
        found = list(zip(problems["code"], problems["severity"], strict=True))
        unknown = {code for code, _ in found if code not in CODES}
        assert not unknown, f"codes not in the SPEC: {sorted(unknown)}"
        wrong = {(c, s) for c, s in found if s != CODES[c].severity}
        assert not wrong, f"severity differs from the catalogue: {sorted(wrong)}"
        rejected = any(s in ("fatal", "error") for _, s in found)
        assert result.exit_code == (1 if rejected else 0)
        (outcome,) = result.files
        assert outcome.status in ("accepted", "partial", "rejected")
        if any(s == "fatal" for _, s in found):
            assert outcome.status == "rejected"
        STATS[f"exit:{result.exit_code}"] += 1
        for code in {c for c, _ in found}:
            STATS[f"code:{code}"] += 1
    except BaseException:
        STATS[f"failed:{test}"] += 1
        _keep(file, test)
        raise
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def check_lines(result: BatchResult, snapshot: Loaded) -> None:
    """Whatever the input, a written line takes whole units that are really available."""
    lines = result.decision.lines
    if not len(lines):
        return
    units = lines[["sellable", "unsellable"]].astype("int64")
    assert (units >= 0).all().all(), f"negative quantities written:\n{lines.head()}"
    assert (units.sum(axis=1) > 0).all(), f"lines of zero units written:\n{lines.head()}"
    totals = units.groupby(lines["sku"]).sum()
    have = snapshot[0].frame.reindex(totals.index)
    assert (totals["sellable"] <= have["sellable"]).all(), "more sellable units than available"
    assert (totals["unsellable"] <= have["unsellable"]).all(), "more unsellable than available"


writes = st.integers(0, 3).map(lambda n: n == 0)  # write the reports for a quarter


# Found by this fuzzer; each runs in every profile.
KNOWN_IN_PROCESS = {
    "txt-cell-of-131073-chars": huge_cell_text_file(131_073, ".txt"),
    "csv-cell-of-131073-chars": huge_cell_text_file(131_073, ".csv"),
    "sellable-of-19-digits": quantity_text_file("9" * 19),
    "unsellable-of-2**63": quantity_text_file(str(2**63), "UnsellableQuantity"),
    "sellable-of-309-digits": quantity_text_file("9" * 309),
    "unsellable-of-400-digits": quantity_text_file("1" + "0" * 400, "UnsellableQuantity"),
}


@pytest.mark.parametrize("name", sorted(KNOWN_IN_PROCESS))
def test_known_hostile_file_never_raises(
    name: str, scratch: Path, fuzz_inventory: Path, snapshot: Loaded
) -> None:
    check_in_process(KNOWN_IN_PROCESS[name], "known", scratch, fuzz_inventory, snapshot, True)


@fuzz_settings(TEXT_CASES)
@given(file=text_files(), write=writes)
def test_text_file_never_raises(
    file: FuzzFile, write: bool, scratch: Path, fuzz_inventory: Path, snapshot: Loaded
) -> None:
    check_in_process(file, "text", scratch, fuzz_inventory, snapshot, write)


@fuzz_settings(BOOK_CASES)
@given(file=workbook_files(), write=writes)
def test_workbook_never_raises(
    file: FuzzFile, write: bool, scratch: Path, fuzz_inventory: Path, snapshot: Loaded
) -> None:
    check_in_process(file, "workbook", scratch, fuzz_inventory, snapshot, write)


@fuzz_settings(RANDOM_CASES)
@given(file=random_files(), write=writes)
def test_random_bytes_never_raise(
    file: FuzzFile, write: bool, scratch: Path, fuzz_inventory: Path, snapshot: Loaded
) -> None:
    check_in_process(file, "random", scratch, fuzz_inventory, snapshot, write)


# ---------------------------------------------------------------------------
# Through the command, in a subprocess
# ---------------------------------------------------------------------------


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REMOVAL_BATCH_KILL_AT", None)
    return env


command_files = st.one_of(
    text_files(dangerous=True),
    workbook_files(dangerous=True),
    workbook_files(dangerous=True),
    random_files(),
)


def run_command(
    file: FuzzFile, with_out: bool, scratch: Path, inventory: Path, as_json: bool = True
) -> None:
    """``removal-batch check FILE [--json]`` in a subprocess: a clear exit and SPEC codes.
    Without --json the terminal summary is printed, quoting names and cells."""
    STATS["cases:command"] += 1
    path = _materialise(file, scratch)
    out = path.parent / "out"
    command = [sys.executable, "-m", "removal_batch", "check", str(path)]
    command += ["--inventory", str(inventory)] + (["--json"] if as_json else [])
    if with_out:
        command += ["--out", str(out)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CLI_TIMEOUT,
            preexec_fn=_cap_memory,
            env=_environment(),
        )
        _timed("command", time.perf_counter() - started, file)
        tail = proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr, tail
        assert proc.returncode in (0, 1, 2), f"exit {proc.returncode}: {tail}"
        STATS[f"command-exit:{proc.returncode}"] += 1
        if "panicked" in proc.stderr:
            STATS["command-stderr-rust-panic-message"] += 1
        if proc.returncode == 2:
            return
        if not as_json:
            # Control characters of a name or cell are shown escaped, never sent as they are.
            sent = {
                c for c in proc.stdout if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0
            }
            assert not sent, f"control characters printed: {sorted(sent)}"
        if as_json:
            summary = json.loads(proc.stdout)
        elif with_out:
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        else:
            STATS["command-terminal-only"] += 1
            return
        (entry,) = summary["inputs"]
        found = set(entry["counts_by_code"])
        assert found <= set(CODES), f"codes not in the SPEC: {sorted(found - set(CODES))}"
        rejected = any(CODES[c].severity in ("fatal", "error") for c in found)
        assert proc.returncode == (1 if rejected else 0)
        if with_out:
            assert (out / "summary.json").is_file()
        for code in found:
            STATS[f"command-code:{code}"] += 1
    except BaseException:
        STATS["failed:command"] += 1
        _keep(file, "command")
        raise
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@fuzz_settings(CLI_CASES)
@given(file=command_files, with_out=st.booleans(), as_json=st.booleans())
def test_command_ends_in_a_clear_exit(
    file: FuzzFile, with_out: bool, as_json: bool, scratch: Path, fuzz_inventory: Path
) -> None:
    run_command(file, with_out, scratch, fuzz_inventory, as_json)


# Small files that made a reader ask for absurd memory or time (found by this fuzzer).
KNOWN_HOSTILE = {
    "xlsx-cell-at-XFD1048576": far_reference_workbook("XFD1048576"),
    "xlsx-cell-at-XFD100000": far_reference_workbook("XFD100000"),
    "xlsx-shared-strings-uniqueCount-4e9": shared_string_count_workbook("4000000000"),
    "txt-500k-empty-cells": wide_text_file(500_000, ".txt"),
    "csv-100k-empty-cells": wide_text_file(100_000, ".csv"),
}


@pytest.mark.parametrize("name", sorted(KNOWN_HOSTILE))
def test_known_hostile_file_ends_in_a_clear_exit(
    name: str, scratch: Path, fuzz_inventory: Path
) -> None:
    run_command(KNOWN_HOSTILE[name], False, scratch, fuzz_inventory)
