"""The installed command leaves without tearing the interpreter down, unless a profiler or
coverage tool is watching (they report at a normal exit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_check_json_does_not_import_rich() -> None:
    """check --json prints through no console: rich (0.07 s of start-up) is not imported.
    The same check without --json draws its table with it."""
    samples = Path(__file__).resolve().parents[1] / "sample_files"
    args = [
        "check",
        str(samples / "inbox" / "returns-batch-2026-11.txt"),
        "--inventory",
        str(samples / "inventory" / "fba-inventory-2026-11-20.txt"),
    ]
    for extra, imported in (["--json"], False), ([], True):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "removal_batch", *args, *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert ("rich.console" in modules) == imported


def test_a_stdout_in_a_legacy_encoding_prints_every_sku(tmp_path: Path) -> None:
    """Output redirected on Windows is cp1252, which has no Chinese or emoji: printing the
    table raised once the batch was checked (exit 3). The terminal now shows ? for what it
    cannot carry, and --json escapes it (pure ASCII, read back as the same text)."""
    import json
    import os

    name = "réq-中.txt"
    request = tmp_path / name
    request.write_text(
        "MerchantRemovalOrderID\tRemovalDisposition\tMerchantSKU\tSellableQuantity\t"
        "UnsellableQuantity\nR1\tDisposal\tSKU-中文😀\t1\t0\n",
        encoding="utf-8",
    )
    inventory = Path(__file__).resolve().parents[1] / "sample_files" / "inventory"
    args = ["check", str(request), "--inventory", str(inventory / "fba-inventory-2026-11-20.txt")]
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "removal_batch", *args, *extra],
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr.decode("cp1252", "replace")
        if extra:
            assert done.stdout.isascii()
            summary = json.loads(done.stdout)
            assert [i["file"] for i in summary["inputs"]] == [name]
        else:
            shown = done.stdout.decode("cp1252")
            assert "SKU 'SKU-???'" in shown
            assert "réq-" in shown  # what cp1252 has is shown as it is


def test_the_command_keeps_numpy_to_one_blas_thread_and_small_pages() -> None:
    """numpy's OpenBLAS would start a spinning thread per extra core at import, and numpy
    and Arrow's allocator would advise 2 MB pages that the kernel zeroes at every first
    touch; the command asks for neither before they are imported. Seen from outside: one
    thread after importing numpy, and no memory marked for huge pages (VmFlags "hg") once
    both have allocated large arrays."""
    if not Path("/proc/self/smaps").exists():
        pytest.skip("needs Linux's /proc/self/smaps")
    script = (
        "import os\n"
        "for name in ('OPENBLAS_NUM_THREADS', 'NUMPY_MADVISE_HUGEPAGE',\n"
        "             'MIMALLOC_ARENA_EAGER_COMMIT'):\n"
        "    os.environ.pop(name, None)\n"
        "from removal_batch import cli\n"
        "cli._library_settings()\n"
        "import numpy\n"
        "threads = len(os.listdir('/proc/self/task'))\n"
        "import pyarrow, pyarrow.compute as pc\n"
        "held = [numpy.ones(4_000_000), pc.add(pyarrow.array(numpy.arange(4_000_000)), 1)]\n"
        "with open('/proc/self/smaps') as maps:\n"
        "    advised = sum(1 for line in maps if line.startswith('VmFlags') and ' hg' in line)\n"
        "print(threads, advised)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def _check_not_files(folder: Path, *given: Path | str) -> Any:
    """check run on ``given`` (none of them a readable file): it exits 2 before reading."""
    from click.testing import CliRunner

    from removal_batch.cli import main

    inventory = folder / "inventory.txt"
    inventory.write_text("sku\n")
    result = CliRunner().invoke(main, ["check", *map(str, given), "--inventory", str(inventory)])
    assert result.exit_code == 2
    return result


def test_check_names_what_is_not_a_file(tmp_path: Path) -> None:
    """A folder, a pipe and a missing file given to check: exit 2, each named for what it
    is, with how to give a folder's files."""
    import os

    root = tmp_path
    (root / "requests").mkdir()
    os.mkfifo(root / "pipe.txt")
    (root / "link.txt").symlink_to(root / "moved" / "link.txt")
    (root / "loop-a.txt").symlink_to(root / "loop-b.txt")
    (root / "loop-b.txt").symlink_to(root / "loop-a.txt")
    result = _check_not_files(
        root,
        root / "requests",
        root / "pipe.txt",
        root / "gone.txt",
        root / "link.txt",
        root / "loop-a.txt",
        os.fsdecode(bytes(root) + b"/lost\xff.txt"),  # a name in another encoding
    )

    def bare(text: str) -> str:  # rich wraps long paths anywhere: compare without spaces
        return "".join(text.split())

    said = bare(result.output)
    gone = f"Files not found: {root / 'gone.txt'}, {root / 'lost'}\ufffd.txt."
    assert bare(f"{gone} Check the name and the folder.") in said
    link = f"Link to a file that does not exist: {root / 'link.txt'}"
    assert bare(f"{link} -> {root / 'moved' / 'link.txt'}. Name the file itself") in said
    loop = f"Link that leads round in a loop, to no file: {root / 'loop-a.txt'}"
    assert bare(f"{loop} -> {root / 'loop-b.txt'}. Name the file itself.") in said
    assert bare(f"Folder, not a file: {root / 'requests'}. Name the files in it") in said
    assert bare(f"(for example {root / 'requests' / '*'}).") in said
    pipe = f"Not a regular file (a pipe or a device?): {root / 'pipe.txt'}."
    assert bare(f"{pipe} Save the requests to a file and name that.") in said


def test_check_says_one_or_many_not_files_in_plain_words(tmp_path: Path) -> None:

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = _check_not_files(tmp_path, tmp_path / "a", tmp_path / "b", tmp_path / "c.txt")
    said = "".join(result.output.split())
    assert "".join(f"File not found: {tmp_path / 'c.txt'}. Check".split()) in said
    folders = f"Folders, not files: {tmp_path / 'a'}, {tmp_path / 'b'}. Name the files in them"
    assert "".join(folders.split()) in said


def test_windows_is_told_to_use_wsl_before_anything_runs(tmp_path: Path) -> None:
    # In a process of its own: the command leaves through os._exit. Windows is pretended
    # once the modules are imported (click imports Windows' own modules there).
    program = (
        "import sys; from removal_batch.cli import entry; sys.platform = 'win32'; "
        f"sys.argv = ['removal-batch', 'run', {str(tmp_path)!r}]; entry()"
    )
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "needs Linux" in proc.stderr and "WSL" in proc.stderr
    assert not (tmp_path / "inbox").exists()
