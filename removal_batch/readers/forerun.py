"""A request workbook's read, begun before the command has imported pandas.

Python's start-up and the pandas, numpy and pyarrow imports hold one core for about half a
second; a workbook's reader then needs as long again for calamine to parse the sheet
(0.4 s for 100,000 lines), in a child process forked after those imports. ``check`` names
its files on the command line, so the child of the workbook it will read first is forked
here, at once: it parses the sheet with calamine while the command imports pandas, and
imports pandas itself on a second thread meanwhile (calamine lets go of the GIL while it
parses). Then it turns the cells into text exactly as a child forked later would (the
same code, ``workbook.serve_read``), and the pipeline takes its result instead of forking
another (``claim``).

Standard library and python-calamine only: this module runs before pandas is imported.
A read is claimed only for the same file (unchanged since: size, time, inode), the same
name, limits and header test; anything else stops the child, as does the end of the
command (``clear``). Whatever goes wrong here only means the usual read happens instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from removal_batch import forking
from removal_batch.readers import OLE_MAGIC, WORKBOOK_SUFFIXES, ZIP_MAGIC, ReadLimits

PREFERRED_SHEET = "removal request"
# Memory a workbook may take on top of what the process already has. A workbook can declare
# billions of cells in a few bytes (one cell at XFD1048576); calamine would try to allocate
# them all and abort the whole process, so workbooks are read in a child process with a cap.
READER_ALLOWANCE = 4 << 30
# Allowed on top for a child forked before pandas, numpy, pyarrow and the readers are
# imported. They add 1.4 GB of address space (Arrow's 1 GB arena; 0.37 GB resident), more
# than this: the forerun's room is the usual child's or less, so its out of memory is not
# trusted, and the usual child reads the workbook again (workbook._forerun_result).
IMPORT_ALLOWANCE = 1 << 30
# calamine takes its row count as a 32-bit number; no sheet has more rows than Excel's
# 1,048,576 (an .ods as many), so a larger max_rows setting reads the whole sheet.
MOST_SHEET_ROWS = 1 << 20
# The header test the child applies: the request files' (core.shape.has_request_header).
REQUEST_PROBE = ("removal_batch.core.shape", "has_request_header")

Stamp = tuple[int, int, int, int]
DEFAULT_LIMITS = ReadLimits()


def vm_size() -> int:
    """This process's address space in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def sheet_order(book: Any) -> list[str]:
    """'Removal Request' first if present (hidden or not: SPEC 3.1 says it is used if it
    exists), then the visible worksheets in order."""
    import python_calamine

    worksheets = [
        meta for meta in book.sheets_metadata if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]
    preferred = [m.name for m in worksheets if m.name.strip().lower() == PREFERRED_SHEET][:1]
    visible = [
        m.name
        for m in worksheets
        if m.visible == python_calamine.SheetVisibleEnum.Visible and m.name not in preferred
    ]
    return preferred + visible


def named_as_what_it_is(path: Path) -> bool:
    """Whether the file's extension names the kind of workbook its first bytes show."""
    with path.open("rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    if magic.startswith(OLE_MAGIC):
        return suffix == ".xls"
    return magic.startswith(ZIP_MAGIC) and suffix in WORKBOOK_SUFFIXES - {".xls"}


def sheet_rows(limits: ReadLimits) -> int:
    """How many rows of a sheet are read: past the limit, so that going over it is seen."""
    return limits.max_rows + 101


def too_many_rows(handle: Any, limits: ReadLimits) -> bool:
    """Whether calamine's parsed sheet is over the row limit (file-too-large)."""
    over = limits.max_rows + 100
    return bool(handle.total_height > over and handle.height > over)


# In the forked child only: the workbook calamine opened, its first sheet parsed, and that
# sheet's rows, for the workbook reader to take instead of doing the same work again.
@dataclass
class _Parsed:
    path: str = ""
    book: Any = None
    sheet: str = ""
    handle: Any = None
    rows: list[list[Any]] | None = None
    nrows: int = 0
    book_served: bool = False


_parsed = _Parsed()


def _parse_ahead(path: Path, limits: ReadLimits) -> None:
    """calamine's share of the read: open the workbook, parse the sheet read first, take its
    rows. Anything unusual (a misnamed or damaged file, a sheet over the limit) is left to
    the reader, which meets it again and says what it is."""
    import python_calamine

    if not named_as_what_it_is(path):
        return
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    _parsed.path, _parsed.book = _key(path), book
    order = sheet_order(book)
    if not order:
        return
    handle = book.get_sheet_by_name(order[0])
    _parsed.sheet, _parsed.handle = order[0], handle
    if too_many_rows(handle, limits):
        return  # file-too-large: the reader says so without reading the rows
    _parsed.nrows = sheet_rows(limits)
    _parsed.rows = rows_of(handle, _parsed.nrows)


def rows_of(handle: Any, nrows: int | None) -> list[list[Any]]:
    """calamine's rows of a parsed sheet, the first ``nrows`` (all for None)."""
    return handle.to_python(
        skip_empty_area=True, nrows=None if nrows is None else min(nrows, MOST_SHEET_ROWS)
    )


def opened_book(path: Path) -> Any:
    """The workbook opened ahead (in the child, the first time it is asked for), else None."""
    if _parsed.book is None or _parsed.book_served or _parsed.path != _key(path):
        return None
    _parsed.book_served = True
    return _parsed.book


def parsed_sheet(book: Any, sheet: str) -> Any:
    """The sheet parsed ahead, if it is ``sheet`` of ``book``, else None."""
    if book is None or book is not _parsed.book or sheet != _parsed.sheet:
        return None
    return _parsed.handle


def sheet_values(handle: Any, nrows: int) -> list[list[Any]] | None:
    """The rows taken ahead from ``handle`` (``nrows`` asked for), once, else None."""
    if handle is None or handle is not _parsed.handle or nrows != _parsed.nrows:
        return None
    rows, _parsed.rows = _parsed.rows, None
    return rows


# The child's exit status when it stopped before reading (its imports failed): the
# pipeline then reads the workbook the usual way.
NOT_SERVED = 75


@dataclass
class _Forerun:
    key: str
    stamp: Stamp
    name: str
    limits: ReadLimits
    pid: int
    result: int  # the file the child leaves its result in (result_file)


_lock = threading.Lock()
_current: _Forerun | None = None


def _stamp(path: Path | str) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _looks_like_workbook(path: Path, limits: ReadLimits) -> bool:
    """A regular file within the size limit that starts as a workbook does. O_NONBLOCK: a
    named pipe given as a file must not hold the command here."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not 0 < st.st_size <= limits.max_bytes:
            return False
        return os.pread(fd, 8, 0).startswith((ZIP_MAGIC, OLE_MAGIC))
    except OSError:
        return False
    finally:
        os.close(fd)


def start(files: list[Path], limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Fork the reader of the file ``check`` reads first (the first by name, as the
    pipeline orders them), when that file is a workbook. The caller has started no thread
    yet (a fork copies only the calling one)."""
    global _current
    if not files or not hasattr(os, "fork"):
        return
    path = min(files, key=lambda p: (p.name, str(p)))
    stamp = _stamp(path)
    if stamp is None or not _looks_like_workbook(path, limits):
        return
    cap = vm_size() + READER_ALLOWANCE + IMPORT_ALLOWANCE
    try:
        result = result_file()
    except OSError:  # no memfd and no temporary folder: the usual read says what it can
        return
    try:
        pid = forking.fork()
    except OSError:  # no process to spare now (a limit on processes): the usual read
        os.close(result)
        return
    if pid == 0:
        code = NOT_SERVED
        try:
            code = _serve(path, limits, result, cap)
        finally:
            os._exit(code)
    with _lock:
        previous, _current = _current, _Forerun(_key(path), stamp, path.name, limits, pid, result)
    if previous is not None:
        _stop(previous)


def result_file() -> int:
    """A file a forked reader leaves its result in, for the parent to take in one read once
    the child has ended: in memory (memfd) where the system has it, else a nameless
    temporary file. Parent and child share the descriptor; reads and writes give their
    offsets (pread) or only append."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.memfd_create("removal-batch-read", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as handle:
        return os.dup(handle.fileno())


def write_result(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_result(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    parts = []
    offset = 0
    while offset < size:
        part = os.pread(fd, size - offset, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _key(path: Path | str) -> str:
    return os.path.abspath(os.fspath(path))


def confine_child(cap: int) -> None:
    """First steps of a forked reader: let go of what the parent holds, keep a reader's
    abort backtrace off the user's screen (they get our message instead), and cap its
    memory at ``cap`` bytes of address space."""
    import resource

    forking.in_child()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _import_reader() -> None:
    import removal_batch.core.shape
    import removal_batch.readers.workbook  # noqa: F401 - imported for the main thread


def _serve(path: Path, limits: ReadLimits, result: int, cap: int) -> int:
    """The child: parse with calamine while the reader's imports load, then read."""
    confine_child(cap)
    importer = threading.Thread(target=_import_reader, name="forerun-imports")
    importer.start()
    try:
        _parse_ahead(path, limits)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001, S110 - the reader meets it again and names it
        pass
    importer.join()
    try:
        from removal_batch.core.shape import has_request_header
        from removal_batch.readers.workbook import serve_read
    except BaseException:  # noqa: BLE001 - not served: the pipeline reads it itself
        return NOT_SERVED
    serve_read(path, path.name, has_request_header, limits, result)
    return 0


def claim(path: Path, name: str, limits: ReadLimits, probe: Any) -> tuple[int, int] | None:
    """The child already reading ``path`` as asked (pid and the file it leaves its result
    in), which the caller now owns; None otherwise. Either way the forerun is over: a
    child reading another file, or with other settings, is stopped."""
    global _current
    with _lock:
        forerun, _current = _current, None
    if forerun is None:
        return None
    asked = (getattr(probe, "__module__", ""), getattr(probe, "__qualname__", ""))
    if (
        forerun.key == _key(path)
        and forerun.name == name
        and forerun.limits == limits
        and asked == REQUEST_PROBE
        and _stamp(path) == forerun.stamp
    ):
        return forerun.pid, forerun.result
    _stop(forerun)
    return None


def _stop(forerun: _Forerun) -> None:
    with contextlib.suppress(OSError):
        os.close(forerun.result)
    with contextlib.suppress(OSError):
        os.kill(forerun.pid, signal.SIGKILL)
        os.waitpid(forerun.pid, 0)


def clear() -> None:
    """Stop a forerun nobody claimed (the command is over, or read another file first)."""
    global _current
    with _lock:
        forerun, _current = _current, None
    if forerun is not None:
        _stop(forerun)
