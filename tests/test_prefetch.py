"""The files `check` reads and hashes while it starts: served only while unchanged, never
a hang, and the command's result the same with or without them."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from removal_batch import prefetch
from removal_batch.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_files"


@pytest.fixture(autouse=True)
def every_size(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small test files are prefetched too; nothing is left over for the next test."""
    monkeypatch.setattr(prefetch, "MIN_BYTES", 1)
    yield
    prefetch.clear()


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bytes_and_digest_are_the_files(tmp_path: Path) -> None:
    a = _file(tmp_path / "a.txt", "sku\tqty\nA\t1\n")
    b = _file(tmp_path / "b.txt", "other content\n" * 100)
    prefetch.start([a, b])
    prefetch.wait()
    assert prefetch.digest(b) == hashlib.sha256(b.read_bytes()).hexdigest()
    assert prefetch.take_bytes(a) == a.read_bytes()
    assert prefetch.take_bytes(a) is None  # handed over once
    assert prefetch.digest(a) == hashlib.sha256(a.read_bytes()).hexdigest()


def test_a_file_changed_since_it_was_read_is_read_again(tmp_path: Path) -> None:
    a = _file(tmp_path / "a.txt", "first version\n")
    b = _file(tmp_path / "b.txt", "first version\n")
    prefetch.start([a, b])
    prefetch.wait()
    a.write_text("second, longer version\n")
    # Same size, another time: a rewrite the size alone would not show.
    b.write_text("fixed version\n")
    os.utime(b, ns=(1_000_000_000, 1_000_000_000))
    assert prefetch.take_bytes(a) is None and prefetch.digest(a) is None
    assert prefetch.take_bytes(b) is None and prefetch.digest(b) is None


def _hold_reads_of(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[threading.Event, threading.Event]:
    """The thread's read of ``name`` waits (10 s at most) for the first event to be set;
    the second is set when that read has begun."""
    release, started = threading.Event(), threading.Event()
    real_read = prefetch._read

    def held(path: str, room: int) -> tuple[prefetch.Stamp, bytes] | None:
        if path.endswith(name):
            started.set()
            release.wait(10)
        return real_read(path, room)

    monkeypatch.setattr(prefetch, "_read", held)
    return release, started


def test_a_file_not_reached_yet_is_left_to_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread busy with a big snapshot must not make the request file's reader wait."""
    slow = _file(tmp_path / "inventory.txt", "x\n")
    wanted = _file(tmp_path / "requests.txt", "y\n")
    release, started = _hold_reads_of(monkeypatch, "inventory.txt")
    prefetch.start([slow, wanted])
    assert started.wait(10)
    assert prefetch.take_bytes(wanted) is None  # at once: the reader reads it itself
    release.set()
    prefetch.wait()
    assert prefetch.digest(wanted) is None  # and the thread did not read it after all
    assert prefetch.take_bytes(slow) == b"x\n"


def test_odd_paths_are_skipped_without_a_hang(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)  # opening it for reading would wait for a writer
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    workbook = tmp_path / "book.txt"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    text = _file(tmp_path / "a.txt", "a\n")
    prefetch.start([pipe, folder, workbook, tmp_path / "missing.txt", text])
    thread = prefetch._current.thread
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    for path in (pipe, folder, workbook, tmp_path / "missing.txt"):
        assert prefetch.take_bytes(path) is None
    assert prefetch.take_bytes(text) == b"a\n"


def test_only_the_budget_is_held_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefetch, "BUDGET_BYTES", 150)
    first = _file(tmp_path / "a.txt", "a" * 100)
    second = _file(tmp_path / "b.txt", "b" * 100)
    prefetch.start([first, second])
    prefetch.wait()
    assert prefetch.take_bytes(first) == b"a" * 100
    assert prefetch.take_bytes(second) is None


def _check_summary(monkeypatch: pytest.MonkeyPatch, min_bytes: int) -> dict[str, object]:
    monkeypatch.setattr(prefetch, "MIN_BYTES", min_bytes)
    inbox = SAMPLES / "inbox"
    result = CliRunner().invoke(
        main,
        [
            "check",
            *(str(p) for p in sorted(inbox.iterdir())),
            "--inventory",
            str(next((SAMPLES / "inventory").iterdir())),
            "--inventory-time",
            "2026-11-20T00:00:00+00:00",
            "--json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    summary: dict[str, object] = json.loads(result.stdout)
    for key in ("run_id", "started", "finished"):
        summary.pop(key, None)
    return summary


def test_check_gives_the_same_result_from_prefetched_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[str] = []
    real_take = prefetch.take_bytes

    def counted(path: Path | str) -> bytes | None:
        data = real_take(path)
        if data is not None:
            served.append(Path(path).name)
        return data

    monkeypatch.setattr(prefetch, "take_bytes", counted)
    with_prefetch = _check_summary(monkeypatch, 1)
    assert "fba-inventory-2026-11-20.txt" in served  # the files did come from the thread
    served.clear()
    without = _check_summary(monkeypatch, 1 << 40)
    assert served == []
    assert with_prefetch == without


def test_clear_does_not_wait_for_a_read_in_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted command leaves at once, whatever the thread is reading; what it was
    reading is not served to the next command."""
    slow = _file(tmp_path / "inventory.txt", "x\n")
    later = _file(tmp_path / "requests.txt", "y\n")
    release, started = _hold_reads_of(monkeypatch, "inventory.txt")
    prefetch.start([slow, later])
    thread = prefetch._current.thread
    assert thread is not None and started.wait(10)
    prefetch.clear()  # returns while the read is held
    assert thread.is_alive()
    release.set()
    thread.join(10)
    assert prefetch.take_bytes(slow) is None and prefetch.take_bytes(later) is None


def test_files_read_unhashed_give_no_digest(tmp_path: Path) -> None:
    """A file read without its hash must not claim the empty digest: the caller hashes it."""
    a = _file(tmp_path / "a.txt", "sku\tqty\nA\t1\n")
    prefetch.start([a], hashed=False)
    prefetch.wait()
    assert prefetch.digest(a) is None
    assert prefetch.take_bytes(a) == a.read_bytes()


def test_check_hashes_its_files_only_for_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sha256 of inputs and snapshot is shown only in the summary (--json, --out): a
    plain check does not spend a core on it, and --json still gives the files' digests."""
    inbox = SAMPLES / "inbox"
    files = sorted(p for p in inbox.iterdir() if p.suffix == ".txt")
    inventory = next((SAMPLES / "inventory").iterdir())
    args = ["check", *(str(p) for p in files), "--inventory", str(inventory)]

    def refused(*args: object) -> None:
        raise AssertionError("hashed without a summary to show it")

    with monkeypatch.context() as patched:
        patched.setattr(prefetch.hashlib, "sha256", refused)
        plain = CliRunner().invoke(main, args)
    assert plain.exit_code in (0, 1), plain.output
    assert "internal error" not in plain.output
    summary = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert summary["snapshot"]["sha256"] == hashlib.sha256(inventory.read_bytes()).hexdigest()
    digests = {f["file"]: f["sha256"] for f in summary["inputs"]}
    assert digests == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
