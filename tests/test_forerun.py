"""The workbook read that ``check`` begins before importing pandas (readers.forerun): its
result is the usual reader's, it is served only for the file and settings it was begun
for, and a forerun nobody takes is stopped, never left running."""

from __future__ import annotations

import errno
import faulthandler
import json
import os
import pickle
import signal
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from removal_batch.cli import main
from removal_batch.core.inventory import snapshot_header_fit
from removal_batch.core.raw_table import RawTable
from removal_batch.core.shape import has_request_header
from removal_batch.readers import PendingRead, ReadError, ReadLimits, begin_read, forerun, workbook

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_files" / "inbox" / "removal-request-2026-11.xlsx"
SAMPLE_INVENTORY = HERE.parent / "sample_files" / "inventory" / "fba-inventory-2026-11-20.txt"
CORPUS = HERE.parents[1] / "shared" / "corpus"
SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
# Small enough to read twice each in a test; the large ones are the hostile corpus test's.
WORKBOOKS = sorted(
    [SAMPLE, *(HERE / "data").glob("*.xls")]
    + (
        [
            p
            for p in CORPUS.rglob("*")
            if p.suffix.lower() in SUFFIXES and p.stat().st_size < 300_000
        ]
        if CORPUS.is_dir()
        else []
    )
)


@pytest.fixture(autouse=True)
def no_forerun_left() -> Iterator[None]:
    yield
    forerun.clear()


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(file name, served from the forerun) for every claim made."""
    made: list[tuple[str, bool]] = []
    claim = forerun.claim

    def recording(path: Path, *args: Any) -> tuple[int, int] | None:
        got = claim(path, *args)
        made.append((path.name, got is not None))
        return got

    monkeypatch.setattr(forerun, "claim", recording)
    return made


def _outcome(pending: PendingRead) -> Any:
    try:
        return pending.result()
    except ReadError as exc:
        return (exc.code, exc.message)


def _same(a: Any, b: Any) -> bool:
    """Two reads' outcomes alike: the same error, or tables equal in every part."""
    if not isinstance(a, RawTable) or not isinstance(b, RawTable):
        return bool(a == b)
    for name, left in vars(a).items():
        right = vars(b)[name]
        if isinstance(left, pd.DataFrame):
            if not (left.equals(right) and list(left.dtypes) == list(right.dtypes)):
                return False
        elif isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            if left is None or right is None or not np.array_equal(left, right):
                return False
        elif left != right:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:  # reaped already
        return False


@pytest.mark.parametrize("path", WORKBOOKS, ids=[p.name for p in WORKBOOKS])
def test_a_forerun_reads_as_the_usual_reader_does(
    path: Path, claims: list[tuple[str, bool]]
) -> None:
    usual = _outcome(begin_read(path, has_request_header, ReadLimits(), path.name))
    claims.clear()
    forerun.start([path])
    pid = forerun._current.pid if forerun._current else 0
    ahead = _outcome(begin_read(path, has_request_header, ReadLimits(), path.name))
    assert _same(ahead, usual)
    assert forerun._current is None
    if path == SAMPLE or path.parent == HERE / "data":
        assert pid  # a workbook's read is begun ahead
    if pid and isinstance(usual, RawTable):
        assert claims == [(path.name, True)]
    elif pid and not claims:  # refused before its read (a zip bomb): the forerun is stopped
        assert not _alive(pid)


def test_check_takes_the_forerun_and_reports_what_it_would_have_read(
    claims: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["check", str(SAMPLE), "--inventory", str(SAMPLE_INVENTORY), "--json"]
    ahead = json.loads(CliRunner().invoke(main, args).output)
    assert claims == [(SAMPLE.name, True)]
    claims.clear()
    monkeypatch.setattr(forerun, "start", lambda *a, **k: None)  # the usual child only
    usual = json.loads(CliRunner().invoke(main, args).output)
    assert claims == [(SAMPLE.name, False)]
    assert ahead["inputs"] == usual["inputs"] and ahead["orders"] == usual["orders"]
    assert ahead["orders"]  # the sample has orders to compare


def test_a_file_changed_since_the_forerun_began_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "requests.xlsx"
    path.write_bytes(SAMPLE.read_bytes())
    forerun.start([path])
    pid = forerun._current.pid if forerun._current else 0
    assert pid
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # it has read the file (not reaped)
    # Another workbook under the same name: what was read ahead is the old one.
    path.write_bytes((HERE / "data" / "merged-cells.xls").read_bytes())
    got = begin_read(path, has_request_header, ReadLimits(), path.name).result()
    usual = workbook.read_workbook(path, path.name, has_request_header, ReadLimits())
    assert _same(got, usual)
    assert not _same(
        got, workbook.read_workbook(SAMPLE, path.name, has_request_header, ReadLimits())
    )
    assert not _alive(pid)


@pytest.mark.parametrize(
    "how",
    ["other limits", "another name", "the snapshot's header test", "a text file first"],
)
def test_a_forerun_asked_for_something_else_is_stopped(
    tmp_path: Path, how: str, claims: list[tuple[str, bool]]
) -> None:
    forerun.start([SAMPLE])
    assert forerun._current is not None
    pid = forerun._current.pid
    limits, name, probe, path = ReadLimits(), SAMPLE.name, has_request_header, SAMPLE
    if how == "other limits":
        limits = ReadLimits(max_rows=500)
    elif how == "another name":
        name = "renamed.xlsx"
    elif how == "the snapshot's header test":
        probe = snapshot_header_fit
    else:
        path = tmp_path / "a.txt"
        path.write_text("MerchantRemovalOrderID\tSKU\nA\tB\n")
    pending = begin_read(path, probe, limits, name)
    assert not _alive(pid)
    assert not any(served for _, served in claims)
    if how != "a text file first":
        table = pending.result()
        assert table.file == name
    else:
        pending.result()


def test_a_forerun_nobody_claims_is_stopped_when_the_command_ends() -> None:
    forerun.start([SAMPLE])
    assert forerun._current is not None
    pid = forerun._current.pid
    forerun.clear()
    assert not _alive(pid)


def test_a_forerun_that_could_not_import_its_reader_leaves_the_read_to_the_usual_child(
    monkeypatch: pytest.MonkeyPatch, claims: list[tuple[str, bool]]
) -> None:
    monkeypatch.setattr(forerun, "_serve", lambda *args: forerun.NOT_SERVED)
    forerun.start([SAMPLE])
    got = begin_read(SAMPLE, has_request_header, ReadLimits(), SAMPLE.name).result()
    assert claims == [(SAMPLE.name, True)]
    usual = workbook.read_workbook(SAMPLE, SAMPLE.name, has_request_header, ReadLimits())
    assert _same(got, usual)


def test_a_named_pipe_given_as_a_workbook_does_not_hold_the_command(tmp_path: Path) -> None:
    fifo = tmp_path / "requests.xlsx"
    os.mkfifo(fifo)
    forerun.start([fifo])  # would block opening the pipe for reading, waiting for a writer
    assert forerun._current is None


def test_a_reader_killed_while_leaving_its_result_is_a_file_problem_not_a_trace() -> None:
    """The result is trusted only from a child that ended cleanly: half of it, left by a
    child the kernel killed, is not unpickled."""
    result = forerun.result_file()
    pid = os.fork()
    if pid == 0:
        try:
            data = pickle.dumps(("ok", list(range(100_000))))
            forerun.write_result(result, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(0)
    with pytest.raises(ReadError) as raised:
        workbook._child_result(pid, result)
    assert raised.value.code == "file-too-large"


@pytest.mark.parametrize("failing", ["fork", "result_file"])
def test_a_forerun_the_system_cannot_begin_leaves_the_read_to_the_usual_child(
    failing: str, monkeypatch: pytest.MonkeyPatch, claims: list[tuple[str, bool]]
) -> None:
    """No process to spare (a container's limit on processes) or no file for the result
    when ``check`` starts: it was a traceback; the usual child reads the file instead."""
    target: Any = os if failing == "fork" else forerun
    real = getattr(target, failing)
    calls = []

    def once_refused() -> Any:
        calls.append(failing)
        if len(calls) == 1:  # the forerun's: the usual child's is let through
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return real()

    monkeypatch.setattr(target, failing, once_refused)
    fds = set(os.listdir("/proc/self/fd"))
    args = ["check", str(SAMPLE), "--inventory", str(SAMPLE_INVENTORY), "--json"]
    got = CliRunner().invoke(main, args)
    assert got.exception is None or isinstance(got.exception, SystemExit), got.exception
    assert got.exit_code == 0 and json.loads(got.output)["orders"]
    assert claims == [(SAMPLE.name, False)]
    assert set(os.listdir("/proc/self/fd")) <= fds  # the forerun's result file is closed


def test_a_workbook_the_forerun_had_no_memory_for_is_read_by_the_usual_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claims: list[tuple[str, bool]]
) -> None:
    """The forerun's memory cap also holds the imports it does itself (1.4 GB of address
    space, Arrow's arena among them), which the usual child's does not: the sample with a
    stray cell at DU1048576 was file-too-large when `check` read it first, and read in
    full by `run`, or second in a batch. Here the forerun's room is a few megabytes."""
    path = tmp_path / "requests.xlsx"
    with zipfile.ZipFile(SAMPLE) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                stray = b'<row r="200000"><c r="Z200000" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", stray + b"</sheetData>")
            target.writestr(item, data)
    monkeypatch.setattr(forerun, "READER_ALLOWANCE", 0)
    monkeypatch.setattr(forerun, "IMPORT_ALLOWANCE", 32 << 20)
    confine = forerun.confine_child

    def quietly(cap: int) -> None:  # in the child: its abort is expected, not pytest's news
        faulthandler.disable()
        confine(cap)

    monkeypatch.setattr(forerun, "confine_child", quietly)
    forerun.start([path])
    got = _outcome(begin_read(path, has_request_header, ReadLimits(), path.name))
    assert claims == [(path.name, True)]
    usual = workbook.read_workbook(path, path.name, has_request_header, ReadLimits())
    assert _same(got, usual)
