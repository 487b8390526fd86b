"""Input files read and hashed while the command is still importing pandas.

Python's start-up and the pandas, numpy and pyarrow imports hold one core for about
0.4 s; the other core has nothing to do. ``check`` names its snapshot and request files
before those imports, so a thread reads them into memory meanwhile, and hashes them when
the summary will show their sha256 (file reads and sha256 both release the GIL). The
readers then take the bytes from here and ``sha256_of`` the digest, instead of reading
each file twice later, when both cores are busy parsing.

Standard library only: this module is imported before pandas. A file is served only
when its size, modification time and inode are what they were when it was read, so a
file rewritten since is read again; anything odd (not a regular file, unreadable, a
workbook) is simply not prefetched, and its reader meets it as usual. A file the thread
has not reached yet is read by whoever asks for it first.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from removal_batch import forking

# Smaller files are read in a few milliseconds: not worth a thread's attention.
MIN_BYTES = 1 << 20
# At most this much is held ahead of the readers (a batch of large files is read as
# usual beyond it); the readers' own limit is 100 MB a file.
BUDGET_BYTES = 256 << 20
# Workbooks are read by calamine in a child process, never from these bytes.
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

Stamp = tuple[int, int, int, int]


@dataclass
class _Entry:
    ready: threading.Event = field(default_factory=threading.Event)
    stamp: Stamp | None = None  # None: not prefetched (the caller reads the file itself)
    data: bytes | None = None
    digest: str = ""


@dataclass
class _Batch:
    """One command's files: what the thread read, and whether the command is over."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    thread: threading.Thread | None = None
    over: bool = False


_lock = threading.Lock()
_current = _Batch()
_threads: list[threading.Thread] = []  # every batch's, the abandoned ones' too (see wait)
# An entry that was asked for before the thread reached it: the asker reads the file.
_CLAIMED = _Entry()
_CLAIMED.ready.set()


def _key(path: Path | str) -> str:
    return os.path.abspath(os.fspath(path))


def _stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _read(path: str, room: int) -> tuple[Stamp, bytes] | None:
    """The file's bytes and stamp, or None when it is not worth or not safe to read here.
    O_NONBLOCK: a named pipe put in a file's place must not hold the thread."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        before = os.fstat(fd)
        size = before.st_size
        if not stat.S_ISREG(before.st_mode) or not MIN_BYTES <= size <= room:
            return None
        if os.pread(fd, 8, 0).startswith(WORKBOOK_MAGIC):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
        if _stamp_of(os.fstat(fd)) != _stamp_of(before) or len(data) != size:
            return None  # being written to: its reader will see what it sees
        return _stamp_of(before), data
    except OSError:
        return None
    finally:
        os.close(fd)


def _prefetch(batch: _Batch, paths: list[str], hashed: bool) -> None:
    room = BUDGET_BYTES
    for path in paths:
        with _lock:
            if batch.over:
                return
            if path in batch.entries:  # claimed by a reader, or named twice
                continue
            entry = batch.entries[path] = _Entry()
        try:
            got = _read(path, room)
            if got is not None:
                entry.digest = hashlib.sha256(got[1]).hexdigest() if hashed else ""
                entry.stamp, entry.data = got
                room -= len(got[1])
        finally:
            entry.ready.set()
        if batch.over:
            entry.data = None


def start(paths: Iterable[Path], hashed: bool = True) -> None:
    """Begin reading ``paths`` (the snapshot first: its thread starts first) on a thread.
    ``hashed``: whether to compute their sha256 too (``digest``)."""
    global _current
    keys = list(dict.fromkeys(_key(p) for p in paths))
    batch = _Batch()
    batch.thread = threading.Thread(
        target=_prefetch, args=(batch, keys, hashed), name="prefetch", daemon=True
    )
    with _lock:
        _current.over = True
        _current = batch
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(batch.thread)
    batch.thread.start()


def _entry(path: Path | str) -> _Entry | None:
    """The finished entry of a file read here and unchanged since, else None."""
    key = _key(path)
    with _lock:
        batch = _current
        entry = batch.entries.get(key)
        if entry is None:
            if batch.thread is None or not batch.thread.is_alive():
                return None
            batch.entries[key] = entry = _CLAIMED
    entry.ready.wait()
    if entry.stamp is None:
        return None
    try:
        same = _stamp_of(os.stat(key)) == entry.stamp
    except OSError:
        same = False
    if not same:
        entry.data = None  # changed since: not worth its memory any more
        return None
    return entry


def take_bytes(path: Path | str) -> bytes | None:
    """The file's bytes, handed over once (the reader owns them from then on)."""
    entry = _entry(path)
    if entry is None:
        return None
    data, entry.data = entry.data, None
    return data


def digest(path: Path | str) -> str | None:
    """The file's sha256, if it was read and hashed here and has not changed since."""
    entry = _entry(path)
    return entry.digest if entry is not None and entry.digest else None


def wait() -> None:
    """Let every prefetch thread finish (a fork must not copy one mid-read)."""
    for thread in list(_threads):
        if thread is not threading.current_thread() and thread.ident is not None:
            thread.join()


def clear() -> None:
    """Forget everything read: the next command starts afresh. Does not wait for the
    thread (an interrupted command leaves at once); it stops after the file in hand."""
    global _current
    with _lock:
        _current.over = True
        for entry in _current.entries.values():
            entry.data = None
        _current = _Batch()


forking.before_fork(wait)
