"""The workspace on disk: its folders, the run lock, and which inbox files to take."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from removal_batch import forking
from removal_batch.names import display_name
from removal_batch.readers import SUPPORTED_SUFFIXES

SETTLE_SECONDS = 2.0  # a file modified more recently may still be being written

SETTINGS_TEMPLATE = """\
# removal-batch settings. Every key is optional; the values shown are the defaults.

# The marketplace decides which countries Return orders may go to (US -> US only).
# marketplace = "US"

# A line asking for more units than are available: "reject" it, or "cap" it to what is.
# on_excess = "reject"

# Orders are all-or-nothing, as at Amazon. true sends the valid lines of an order instead.
# allow_partial = false

# Amazon's limits: lines per order (bigger orders are split into -P1, -P2, ...) and per file.
# max_skus_per_order = 10000
# max_skus_per_file = 10000

# Add "Liquidations" where your marketplace offers FBA Liquidations.
# allowed_dispositions = ["Return", "Disposal"]

# Orders with no id get <prefix>-YYYYMMDD-NNNN.
# order_id_prefix = "RB"

# Blank address fields of Return orders are filled from here.
# [default_address]
# AddressName = "Acme Returns"
# AddressFieldOne = "100 Dock St"
# AddressCity = "Reno"
# AddressStateOrRegion = "NV"
# AddressPostalCode = "89502"
# AddressCountryCode = "US"
# ContactPhoneNumber = "775-555-0100"

# Addresses that must never receive a removal (fulfillment centers). Every field filled in
# must match for an address to be refused (a blank one is not compared); give at least one.
# [[blocked_addresses]]
# AddressFieldOne = "4255 Anson Blvd"
# AddressPostalCode = "46052"
"""


class WorkspaceBusy(Exception):
    """Another run holds the workspace lock."""


class WorkspaceUnusable(WorkspaceBusy):
    """The workspace lock cannot be taken at all (no permission, a read-only disk): like
    a busy workspace, nothing was processed."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def state(self) -> Path:
        return self.root / ".removal-batch"

    @property
    def ledger_path(self) -> Path:
        return self.state / "ledger.sqlite3"

    @property
    def pending(self) -> Path:
        """Records of runs between publishing and archiving (for recovery after a crash)."""
        return self.state / "pending"

    @property
    def settings_path(self) -> Path:
        return self.root / "removal-batch.toml"

    def folders(self) -> list[Path]:
        return [self.inbox, self.inventory, self.out, self.archive, self.state, self.pending]

    def exists(self) -> bool:
        return self.inbox.is_dir() and self.state.is_dir()

    def ensure(self) -> None:
        for folder in self.folders():
            folder.mkdir(parents=True, exist_ok=True)


def enclosing_workspace(path: Path) -> Path | None:
    """The workspace a path lies inside (its inbox/, out/...), nearest first; None when
    there is none above it."""
    for parent in path.absolute().parents:
        if Workspace(parent).exists():
            return parent
    return None


def samples_dir() -> Path | None:
    """The bundled sample files: inside an installed wheel, or on top of a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_samples", package.parent / "sample_files"):
        if (candidate / "inbox").is_dir():
            return candidate
    return None


def init_workspace(root: Path, with_samples: bool) -> Workspace:
    space = Workspace(root)
    space.ensure()
    if not space.settings_path.exists():
        space.settings_path.write_text(SETTINGS_TEMPLATE, encoding="utf-8")
    if with_samples:
        samples = samples_dir()
        if samples is None:
            raise FileNotFoundError("the sample files are missing from this installation")
        for source, target in (
            (samples / "inbox", space.inbox),
            (samples / "inventory", space.inventory),
        ):
            for item in sorted(source.iterdir()):
                if item.is_file() and not (target / item.name).exists():
                    shutil.copy2(item, target / item.name)
                    # Copies keep the samples' times; make them "settled" but not in the future.
                    os.utime(target / item.name, (time.time() - 60, time.time() - 60))
    return space


def is_excel_lock(path: Path) -> bool:
    """Excel's lock file (~$name.xlsx), beside a workbook it has open."""
    return path.name.startswith("~$")


def skipped_on_purpose(path: Path) -> bool:
    """Office lock files (Excel's ~$name.xlsx; LibreOffice's .~lock.name.xlsx#, a dot-file)
    and dot-files: never inputs, and never mentioned."""
    return path.name.startswith(".") or is_excel_lock(path)


def is_candidate(path: Path) -> bool:
    """A file that is not skipped on purpose (folders are never inputs)."""
    return path.is_file() and not skipped_on_purpose(path)


def is_request_name(path: Path) -> bool:
    """A name with a request file's extension. Anything else in the inbox (an editor's
    backup orders.txt~ or .bak, a PDF, desktop.ini) is left alone: read by its content, a
    backup copy's orders would be made a second time."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def is_broken_link(path: Path) -> bool:
    """A link in the inbox whose file is gone (moved, renamed, on a drive not connected).
    Nothing to read, but the user may believe a request was dropped: it is reported, not
    passed over in silence."""
    return path.is_symlink() and not path.exists() and not skipped_on_purpose(path)


def input_stat(path: Path) -> os.stat_result | None:
    """The status a run goes by for an inbox entry (a broken link's own), or None for one
    that is not an input or has gone since it was listed."""
    try:
        if is_candidate(path):
            return path.stat()
        if is_broken_link(path):
            return path.lstat()
    except FileNotFoundError:
        pass
    return None


def never_read(inbox: Path) -> list[str]:
    """What the inbox holds that a run never reads, though nothing marks it as skipped on
    purpose (as a dot or ~$ name does): folders, whose files are not looked at, and
    special files (a pipe would block a read forever). One sentence each, so a user who
    dragged a folder of requests in is not told only that there was nothing to do."""
    notes: list[str] = []
    for path in sorted(inbox.iterdir(), key=lambda p: p.name):
        if skipped_on_purpose(path):
            continue
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # gone, or a broken link (an input of its own, reported by the run)
        name = display_name(path)
        if stat.S_ISDIR(mode):
            notes.append(
                f"{name}/ is a folder: files inside folders are not read. Move them into "
                "the inbox itself."
            )
        elif not stat.S_ISREG(mode):
            notes.append(f"{name} is {_special_kind(mode)}, not a file; it is not read.")
        elif not is_request_name(path):
            notes.append(
                f"{name} does not end in a request file's extension "
                f"({', '.join(sorted(SUPPORTED_SUFFIXES))}). Rename it if it holds requests; "
                "an editor's backup copy belongs elsewhere."
            )
    return notes


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def open_for_writing(path: Path) -> bool:
    """Whether a program still has the file open for writing (Linux refuses a read lease
    then). A file written in bursts (a slow copy over the network, a script writing as it
    goes) can stay unchanged for longer than the settling time, and would be read
    half-written. Where leases say nothing (another system, a network file system, another
    user's file), False: the settling time alone decides."""
    if not hasattr(fcntl, "F_SETLEASE"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False  # unreadable: the run reports it
    try:
        # A program opening the file for writing while the lease is held breaks it, and the
        # kernel signals the holder: SIGIO by default, which ends the process. SIGURG is
        # ignored unless handled (removal-batch handles neither).
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno == errno.EAGAIN
    finally:
        os.close(fd)  # lets the lease go as well
    return False


def old_enough(mtime: float, now: float) -> bool:
    """Whether a file's modification time is no sign that it is still being written: at
    least SETTLE_SECONDS old, or as far in the future. A future time comes from a zip
    unpacked from a time zone ahead (zip keeps local times) or a share whose clock runs
    ahead, and stays in the future for hours; a file then still being written is told
    by the lease, watch's look at it over a poll, and the run's check that nothing it
    read changed."""
    return abs(now - mtime) >= SETTLE_SECONDS


def snapshot_still_written(path: Path, now: float | None = None) -> str | None:
    """Why the snapshot at ``path`` must not be read yet (a message), or None. Every
    availability figure comes from it: one read half-written refuses good orders, or caps
    them to the part written so far, and the run archives their files."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None  # missing or unreadable: the snapshot's reading reports it
    name = display_name(path)
    if open_for_writing(path):
        return (
            f"The inventory snapshot {name} is still open in the program writing it; nothing "
            "was processed. Run again once it is saved."
        )
    if not old_enough(mtime, time.time() if now is None else now):
        return (
            f"The inventory snapshot {name} changed less than {SETTLE_SECONDS:g} seconds ago "
            "(it may still be being written); nothing was processed. Run again in a moment."
        )
    return None


def discover_inputs(inbox: Path, now: float | None = None) -> tuple[list[Path], list[Path]]:
    """(settled inputs in name order, files still being written: changed within the
    settling time, or still open for writing). Broken links are inputs too (settled by the
    link's own time), so that a run reports them."""
    now = time.time() if now is None else now
    ready: list[Path] = []
    busy: list[Path] = []
    for path in sorted(inbox.iterdir(), key=lambda p: p.name):
        st = input_stat(path)
        if st is None or not is_request_name(path):
            continue
        settled = old_enough(st.st_mtime, now) and not open_for_writing(path)
        (ready if settled else busy).append(path)
    return ready, busy


def newest_inventory(folder: Path) -> Path | None:
    files = (
        [
            p
            for p in folder.iterdir()
            if is_candidate(p) and (p.suffix.lower() in SUPPORTED_SUFFIXES)
        ]
        if folder.is_dir()
        else []
    )
    return max(files, key=lambda p: (p.stat().st_mtime, p.name)) if files else None


@contextmanager
def run_lock(space: Workspace, wait: float) -> Iterator[None]:
    """One run per workspace. The OS drops the lock when the process dies, even by SIGKILL."""
    try:
        space.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(space.state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        # A workspace on a read-only share, or made by another user: a setup problem
        # found before anything is read (exit 2), not an internal error.
        raise WorkspaceUnusable(
            f"The workspace {space.root} cannot be used: {space.state / 'lock'} cannot be "
            f"written ({exc.strerror}). Run as a user who may write to the workspace."
        ) from exc
    deadline = time.monotonic() + max(wait, 0.0)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"workspace busy: another removal-batch run holds {space.root}. "
                        "Wait for it to finish, or use --wait SECONDS."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        forking.hold(fd)  # a forked helper closes it: the lock dies with the run
        yield
    finally:
        forking.let_go(fd)
        os.close(fd)
