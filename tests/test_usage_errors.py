"""Bad command-line input is a usage error (exit 2) with a plain message, never an
internal error (exit 3) and never a run that does something else than was asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from workspace_helpers import make_workspace

from removal_batch.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), terminal_width=400)


def bare(text: str) -> str:
    """Without white space: rich folds a long path anywhere."""
    return "".join(text.split())


def said(result: Result) -> str:
    return bare(result.output)


@pytest.mark.parametrize("option", ["--poll", "--wait"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf"])
def test_watch_refuses_seconds_that_are_not_a_duration(
    tmp_path: Path, option: str, value: str
) -> None:
    # --max-runs 0: without the check, watch would leave at once (exit 0), not hang.
    root = make_workspace(tmp_path / "ws")
    result = invoke("watch", str(root), option, value, "--max-runs", "0")
    assert result.exit_code == 2, result.output
    assert bare(f"Invalid value for '{option}'") in said(result)
    assert bare("is not a number of seconds, 0 or more") in said(result)


def test_watch_refuses_a_poll_time_sleep_cannot_take(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    result = invoke("watch", str(root), "--poll", "1e10", "--max-runs", "0")
    assert result.exit_code == 2, result.output
    assert bare("at most 86,400 (a day)") in said(result)
    assert invoke("watch", str(root), "--poll", "0", "--max-runs", "0").exit_code == 0


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_run_refuses_a_wait_that_is_not_a_duration(tmp_path: Path, value: str) -> None:
    """A NaN --wait never gave up on a busy workspace (NaN compares false)."""
    root = make_workspace(tmp_path / "ws")
    result = invoke("run", str(root), "--wait", value)
    assert result.exit_code == 2, result.output
    assert bare("Invalid value for '--wait'") in said(result)


def test_init_on_a_file_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    """init of a regular file's name failed with NotADirectoryError (exit 3)."""
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    result = invoke("init", str(taken))
    assert result.exit_code == 2, result.output
    assert bare(f"The workspace {taken} is a file, not a folder.") in said(result)
    below = invoke("init", str(taken / "ws"))
    assert below.exit_code == 2, below.output
    assert bare(f"cannot be made: {taken} is a file, not a folder.") in said(below)
    assert taken.read_text() == "mine"


def test_init_names_a_file_where_a_workspace_folder_goes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "inbox").write_text("not a folder")
    result = invoke("init", str(root))
    assert result.exit_code == 2, result.output
    assert bare(f"could not be made: {root / 'inbox'}: File exists.") in said(result)


def test_template_never_overwrites_a_file_unless_forced(tmp_path: Path) -> None:
    """template wrote over an existing file, even a workbook already filled in."""
    path = tmp_path / "requests.xlsx"
    path.write_bytes(b"a filled-in workbook")
    result = invoke("template", str(path))
    assert result.exit_code == 2, result.output
    assert bare(f"{path} already exists; choose another name or delete it first") in said(result)
    assert path.read_bytes() == b"a filled-in workbook"
    assert invoke("template", str(path), "--force").exit_code == 0
    assert path.read_bytes().startswith(b"PK")  # a workbook now
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    assert invoke("template", str(folder), "--force").exit_code == 2
    assert invoke("template", str(path / "x.xlsx")).exit_code == 2  # under a file


def test_a_workspace_whose_lock_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    """A read-only share, or a workspace made by another user: the lock's PermissionError
    ended the run as an internal error, exit 3 (review H1). Here the lock is a folder,
    which fails the same way for root too."""
    from workspace_helpers import make_workspace

    root = make_workspace(tmp_path / "ws")
    (root / ".removal-batch" / "lock").unlink(missing_ok=True)
    (root / ".removal-batch" / "lock").mkdir()
    result = invoke("run", str(root))
    assert result.exit_code == 2, result.output
    assert "cannotbeused:" in said(result) and "lockcannotbewritten" in said(result)


def test_an_out_folder_this_user_may_not_write_is_refused_before_reading(
    tmp_path: Path, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch was read and checked, then publishing failed with exit 3 (review H1).
    os.access answers for the user; root may write anywhere, so it is asked here."""
    import os

    from conftest import RETURN_ADDRESS, request_rows, write_delimited

    import removal_batch.app as app

    request = write_delimited(
        tmp_path / "r.txt",
        request_rows([{"MerchantRemovalOrderID": "R1", **RETURN_ADDRESS, "MerchantSKU": "00123"}]),
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(app.os, "access", lambda p, mode: real(p, mode) and Path(p) != locked)
    read: list[object] = []
    monkeypatch.setattr(app, "run_batch", lambda *a, **k: read.append(a))
    result = invoke(
        "check", str(request), "--inventory", str(inventory), "--out", str(locked / "o")
    )
    assert result.exit_code == 2, result.output
    assert f"youmaynotwritein{locked}" in said(result)
    assert read == []


@pytest.mark.parametrize("folder", ["out", "archive"])
def test_a_workspace_folder_that_is_a_file_is_a_usage_error(tmp_path: Path, folder: str) -> None:
    """out/ replaced by a file: the whole batch was read and checked, then publishing
    failed with exit 3 and advice to free some space (review H6)."""
    import shutil

    from workspace_helpers import drop, make_workspace

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    shutil.rmtree(root / folder)
    (root / folder).write_text("oops")
    result = invoke("run", str(root))
    assert result.exit_code == 2, result.output
    assert f"Theworkspace's{folder}folder" in said(result) and "isafile,notafolder" in said(result)
    assert (root / "inbox" / "a.txt").exists()


def test_a_folder_inside_a_workspace_is_named_as_such_and_gets_no_workspace(
    tmp_path: Path,
) -> None:
    """run pointed at ws/inbox was told to make a workspace there with init, and init did:
    its folders then turned up as files in every run of ws; a file was told to be made a
    workspace (found by a read-through of the commands)."""
    root = make_workspace(tmp_path / "ws")
    for command in ("run", "watch"):
        result = invoke(command, str(root / "inbox"), *(["--max-runs", "0"] * (command == "watch")))
        assert result.exit_code == 2, result.output
        assert bare(f"{root / 'inbox'} is inside the workspace {root}") in said(result)
        assert bare(f"as in removal-batch {command} {root}") in said(result)
        assert "init" not in result.output
    result = invoke("init", str(root / "inbox"))
    assert result.exit_code == 2, result.output
    assert bare(f"is inside the workspace {root};") in said(result)
    assert not (root / "inbox" / "inbox").exists()
    assert invoke("init", str(root)).exit_code == 0  # the workspace itself, again: fine
    (tmp_path / "notes.txt").write_text("x")
    result = invoke("run", str(tmp_path / "notes.txt"))
    assert result.exit_code == 2, result.output
    assert bare("is a file, not a workspace") in said(result)


@pytest.mark.parametrize("what", ["folder", "pipe"])
def test_a_folder_or_pipe_given_as_a_file_is_not_said_to_be_missing(
    tmp_path: Path, what: str
) -> None:
    """--inventory and --settings of a folder (or a pipe) said 'not found', of something
    that is there."""
    import os

    root = make_workspace(tmp_path / "ws")
    odd = tmp_path / "odd"
    if what == "folder":
        odd.mkdir()
    else:
        os.mkfifo(odd)
    request = root / "inbox" / "a.txt"
    request.write_text("x")
    for option in ("--inventory", "--settings"):
        args = [
            "check",
            str(request),
            "--inventory",
            str(odd if option == "--inventory" else request),
        ]
        if option == "--settings":
            args += ["--settings", str(odd)]
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "not found" not in result.output
        expected = "is a folder, not a file" if what == "folder" else "is not a file"
        assert bare(expected) in said(result)


def test_init_on_a_disk_that_refuses_writing_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only disk (EROFS) is no PermissionError: init called it an internal error,
    exit 3 with a log, where the place is the problem (a review's finding)."""
    import errno

    from removal_batch import workspace

    def read_only(root: Path, samples: bool) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(root))

    monkeypatch.setattr(workspace, "init_workspace", read_only)
    result = invoke("init", str(tmp_path / "ws"))
    assert result.exit_code == 2, result.output
    words = " ".join(result.output.split())
    assert "could not be made" in words and "Read-only file system" in words
    assert "internal error" not in result.output


def test_commands_to_copy_quote_a_path_with_spaces(tmp_path: Path) -> None:
    """'removal-batch run my removals' pasted back is two arguments (a review's finding);
    an error message stays on one line, however long, for a log file to copy from."""
    made = invoke("init", str(tmp_path / "my removals"))
    assert made.exit_code == 0, made.output
    assert f"Then run: removal-batch run '{tmp_path / 'my removals'}'" in made.output
    missing = tmp_path / ("a folder with a name long enough to pass eighty columns" * 2)
    refused = invoke("run", str(missing))
    assert refused.exit_code == 2
    (line,) = refused.output.strip().splitlines()
    assert line.endswith(f"Make one with: removal-batch init '{missing}'")
