"""SIGTERM (``kill``, ``timeout``, a service manager) stops a command as Ctrl-C does: its
helper processes are stopped with it, and it says so in one line with exit 143."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_files" / "inbox" / "removal-request-2026-11.xlsx"
SAMPLE_INVENTORY = HERE.parent / "sample_files" / "inventory" / "fba-inventory-2026-11-20.txt"


def _held_command(point: str, *args: str) -> subprocess.Popen[bytes]:
    """removal-batch ``args``, each of its processes stopped where it reaches ``point``
    (faults.checkpoint), in a session of its own for _stop_all."""
    return subprocess.Popen(
        [sys.executable, "-m", "removal_batch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, REMOVAL_BATCH_HOLD_AT=point),
        start_new_session=True,
    )


def _stop_all(proc: subprocess.Popen[bytes]) -> None:
    """Whatever the command left running (a test that fails leaves a held process)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found += [int(t) for t in (task / "children").read_text().split()]
    return found


def _wait_for_child(proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until the command has a child process: its workbook reader, held at the start of
    its read by REMOVAL_BATCH_HOLD_AT."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if _children(proc.pid):
            time.sleep(0.3)  # past the fork, into the held read
            return
        time.sleep(0.05)
    raise AssertionError("the workbook's reader never started")


def test_sigterm_stops_check_and_its_workbook_reader(tmp_path: Path) -> None:
    proc = _held_command(
        "workbook-child-read", "check", str(SAMPLE), "--inventory", str(SAMPLE_INVENTORY), "--json"
    )
    try:
        _wait_for_child(proc)
        proc.send_signal(signal.SIGTERM)
        # stdout ends only when every process holding it has: a reader left running (held
        # here for good) would keep it open until the timeout.
        out, err = proc.communicate(timeout=30)
    finally:
        _stop_all(proc)
    assert proc.returncode == 143
    assert out == b""
    message = err.decode()
    assert "Traceback" not in message
    assert message.strip() == ("removal-batch: stopped (SIGTERM); no output was left half-written.")


def test_sigterm_stops_a_run_before_it_publishes_and_the_next_run_does_it(
    tmp_path: Path,
) -> None:
    from workspace_helpers import drop, ledger_orders, make_workspace

    root = make_workspace(tmp_path / "ws")
    dropped = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    proc = _held_command("written", "run", str(root))  # outputs staged, not published
    try:
        deadline = time.monotonic() + 60
        while not list((root / "out").glob(".tmp-*/summary.json")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        _stop_all(proc)
    assert proc.returncode == 143, err
    assert "Traceback" not in err.decode()
    assert os.listdir(root / "out") == []  # nothing published, nothing staged left
    assert dropped.exists() and ledger_orders(root) == []
    again = subprocess.run(
        [sys.executable, "-m", "removal_batch", "run", str(root), "--json"],
        capture_output=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert ledger_orders(root) == ["D1"] and not dropped.exists()


def test_a_run_stopped_after_recording_says_its_orders_are_ready(tmp_path: Path) -> None:
    """Stopped between recording its orders and archiving its inputs, a run had published
    and recorded everything, and said only that no output was left half-written."""
    from workspace_helpers import drop, ledger_orders, make_workspace

    root = make_workspace(tmp_path / "ws")
    dropped = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    proc = _held_command("recorded", "run", str(root))
    try:
        deadline = time.monotonic() + 60
        while ledger_orders(root) != ["D1"]:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # past the commit, into the held step
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        _stop_all(proc)
    said = " ".join(err.decode().split())
    assert proc.returncode == 143, said
    (run,) = os.listdir(root / "out")
    assert f"run {run} was stopped after publishing and recording its orders" in said
    assert "ready to upload" in said and dropped.exists()
    again = subprocess.run(
        [sys.executable, "-m", "removal_batch", "run", str(root)], capture_output=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert not dropped.exists() and (root / "archive" / run / "a.txt").exists()
    assert ledger_orders(root) == ["D1"]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.parametrize("command", ["run", "watch", "init", "template"])
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_commands_imports_is_a_stop(
    tmp_path: Path, command: str, sent: signal.Signals
) -> None:
    """The application was imported before the command's guard: a signal in that half
    second reached click, which printed "Aborted!" and exited 1, the code of a rejected
    file (found by a read-through of the commands)."""
    from workspace_helpers import make_workspace

    root = make_workspace(tmp_path / "ws")
    target = {
        "run": [str(root)],
        "watch": [str(root)],
        "init": [str(tmp_path / "new")],
        "template": [str(tmp_path / "t.xlsx")],
    }[command]
    proc = _held_command("app-imported", command, *target)
    try:
        # Held once its CPU time stops growing: the imports are done, the pause begun.
        deadline, last = time.monotonic() + 60, -1
        while (ticks := _cpu_ticks(proc.pid)) != last:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            last = ticks
            time.sleep(0.5)
        proc.send_signal(sent)
        out, err = proc.communicate(timeout=30)
    finally:
        _stop_all(proc)
    if command == "watch":  # as when it is stopped later (README)
        assert (proc.returncode, out.decode().strip()) == (0, "Stopped watching.")
        return
    how = "stopped (SIGTERM)" if sent == signal.SIGTERM else "interrupted"
    assert (proc.returncode, err.decode().strip()) == (
        143 if sent == signal.SIGTERM else 130,
        f"removal-batch: {how}; no output was left half-written.",
    )


def test_a_signal_while_a_fork_waits_for_side_work_stops_it(tmp_path: Path) -> None:
    """A fork waits for the side threads' work (a snapshot still loading). Waited for in
    os.fork's at-fork hook, a SIGTERM or Ctrl-C there was dropped as unraisable ("Exception
    ignored in ..."), and the run went on to publish its orders and exit 0 (a review's
    finding). The wait is now in plain code, where the signal stops it: no fork is made."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from removal_batch import forking

    class Stop(Exception):
        pass

    def stop(signum: int, frame: object) -> None:
        raise Stop

    release = threading.Event()
    previous = signal.signal(signal.SIGUSR1, stop)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        forking.side_work_started(pool.submit(release.wait, 10))
        main = threading.get_ident()
        threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGUSR1)).start()
        threading.Timer(1.0, release.set).start()
        made: list[int] = []

        def fork_and_leave_the_child() -> None:
            pid = forking.fork()
            if pid == 0:  # a fork was made all the same: the child leaves at once
                os._exit(0)
            made.append(pid)
            os.waitpid(pid, 0)

        with pytest.raises(Stop):
            fork_and_leave_the_child()
        assert made == []
    finally:
        release.set()
        pool.shutdown()
        signal.signal(signal.SIGUSR1, previous)


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_watch_stopped_during_a_run_says_so_and_exits_as_run_does(
    tmp_path: Path, stop: int, code: int
) -> None:
    """A watch stopped while its run was staging outputs said only "Stopped watching." and
    exited 0: to a service manager, a success (a review's finding). Nothing is published,
    and the exit and the words are run's."""
    from workspace_helpers import drop, ledger_orders, make_workspace

    root = make_workspace(tmp_path / "ws")
    dropped = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    proc = _held_command("written", "watch", str(root), "--poll", "0.2")
    try:
        deadline = time.monotonic() + 60
        while not list((root / "out").glob(".tmp-*/summary.json")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=30)
    finally:
        _stop_all(proc)
    assert proc.returncode == code, err
    assert "Stopped watching." in out.decode()
    assert "no output was left half-written" in err.decode()
    assert "Traceback" not in err.decode()
    assert os.listdir(root / "out") == []
    assert dropped.exists() and ledger_orders(root) == []
