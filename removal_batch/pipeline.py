"""One batch: read -> validate -> decide -> write.

The pipeline owns the order of the stages and nothing else: reading is done by
``readers``, judging by ``core``, and files by ``writers``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from removal_batch import __version__, forking, prefetch
from removal_batch.core.decide import (
    NO_IDS,
    NO_REPEATS,
    Decision,
    ValidatedFile,
    decide_orders,
)
from removal_batch.core.fields import EXCEL_CELL_CHARS, column_letter
from removal_batch.core.inventory import (
    Snapshot,
    SnapshotError,
    parse_snapshot,
    snapshot_columns,
    snapshot_header_fit,
)
from removal_batch.core.problems import (
    Problem,
    concat_problems,
    name_rows_left_out,
    point_held_orders_at_errors,
    problems_frame,
    sort_problems,
    without_cells,
)
from removal_batch.core.raw_table import REQUEST_HEADER, RawTable, longest_cell
from removal_batch.core.schema import inventory_schema
from removal_batch.core.settings import Settings
from removal_batch.core.shape import RequestTable, has_request_header, recognise_request
from removal_batch.core.snapshot_time import (
    SnapshotTimeError,
    column_time,
    modified_time,
    option_time,
)
from removal_batch.core.validate import (
    ValidationResult,
    default_address_problems,
    prepare_validation,
    validate_tables,
)
from removal_batch.faults import checkpoint
from removal_batch.names import display_name
from removal_batch.readers import (
    PendingRead,
    ReadError,
    ReadLimits,
    begin_read,
    cannot_open,
    read_table,
)

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# A snapshot is the seller's whole catalog: far larger than any one request file.
SNAPSHOT_LIMITS = ReadLimits(max_bytes=2 << 30, max_rows=20_000_000)


T = TypeVar("T")


class UsageError(Exception):
    """Usage, settings or snapshot problem: nothing was processed (exit 2)."""


@dataclass
class FileOutcome:
    """What became of one input file."""

    name: str
    path: Path
    sha256: str
    shape: str = ""
    encoding: str = ""
    sheet: str = ""
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    status: str = "rejected"
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: RequestTable | None = None
    # The cells of a file refused at its header (a column twice, one missing), kept for
    # the error report's Annotated sheet when a problem points at one of its rows.
    refused_raw: RawTable | None = None
    validation: ValidationResult | None = None
    # Request rows the workbook hides (by hand or by a filter): read like the others.
    hidden_rows: list[int] = field(default_factory=list)
    # Columns the workbook hides that were read as a field: letter -> field.
    hidden_columns: dict[str, str] = field(default_factory=dict)
    other_request_sheets: list[str] = field(default_factory=list)
    sheet_hidden: bool = False
    # Reported without being read (a name that is not text, a broken link...): a run does
    # not record it as processed, and leaves it in the inbox for the user to mend.
    unread: bool = False

    def counts_by_code(self) -> dict[str, int]:
        if self.problems.empty:
            return {}
        return {str(k): int(v) for k, v in self.problems["code"].value_counts().items()}


@dataclass
class SnapshotInfo:
    file: str
    sha256: str
    skus: int
    snapshot_time: str
    # Where snapshot_time came from: "--inventory-time", "snapshot-date" (the report's
    # column), "modified" (the file's modification time) or "earlier-run" (a run used the
    # same report before: run._units_taken).
    snapshot_time_from: str = "modified"
    # Snapshot.content_digest ("" when not hashed): the same report saved again matches.
    content: str = ""
    # When an earlier run used this same report, if --inventory-time gives a later time
    # (which stands): the orders issued between are not deducted.
    known_since: str = ""


@dataclass
class BatchResult:
    run_id: str
    started: str
    finished: str
    snapshot: SnapshotInfo
    files: list[FileOutcome]
    decision: Decision
    exit_code: int
    settings: Settings = field(default_factory=Settings)
    tool_version: str = __version__
    # What the inbox held that no run reads (folders, pipes): one sentence each.
    not_read: list[str] = field(default_factory=list)

    @property
    def problems(self) -> pd.DataFrame:
        return concat_problems(f.problems for f in self.files)


def sha256_of(path: Path) -> str:
    known = prefetch.digest(path)  # hashed while the command started, and unchanged since
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> tuple[int, int]:
    """Size and modification time: a file being rewritten changes one of them."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise UsageError(f"{display_name(path)} disappeared while it was being read.") from exc
    return st.st_size, st.st_mtime_ns


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


def limits_of(settings: Settings) -> ReadLimits:
    return ReadLimits(
        max_bytes=settings.max_file_bytes,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_rows=settings.max_rows,
    )


def parse_time(text: str) -> dt.datetime:
    """An ISO date or date-time; naive values are taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"'{text}' is not a date or time; use ISO form such as 2026-11-26 or "
            "2026-11-26T08:00:00Z."
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def not_read(path: Path, name: str, message: str, sha256: str = "") -> FileOutcome:
    """A request file reported as file-unreadable under its name, without being read, and
    left where it is ("" for a sha256 that cannot be known)."""
    outcome = FileOutcome(name=name, path=path, sha256=sha256, unread=True)
    outcome.problems = problems_frame([Problem("file-unreadable", message, file=name)])
    return outcome


def skipped(path: Path, name: str, sha256: str, message: str) -> FileOutcome:
    """A request file not read because its content is read already (earlier in the batch,
    or by an earlier run): file-already-processed, saying where."""
    outcome = FileOutcome(name=name, path=path, sha256=sha256, status="skipped")
    outcome.problems = problems_frame([Problem("file-already-processed", message, file=name)])
    return outcome


def unreadable(path: Path, name: str, error: OSError) -> FileOutcome:
    """A request file the system will not let us open (no permission, a folder in its
    place, gone since it was listed)."""
    return not_read(path, name, cannot_open(error))


def _badly_named(path: Path, name: str) -> FileOutcome:
    """A request file whose name is not valid UTF-8: reported, not read (the ledger and the
    outputs could not name it, and a run could not archive it under the name shown)."""
    try:
        digest = sha256_of(path)
    except OSError as exc:
        return unreadable(path, name, exc)
    message = (
        f"The file name '{name}' is not valid text (UTF-8); the characters shown as \ufffd "
        "cannot be read. Rename the file, then run again."
    )
    return not_read(path, name, message, digest)


def _refuse_same_names(paths: Sequence[Path]) -> None:
    """Reports, order sources and the ledger name an input by its file name: two inputs
    of one name (from two folders) would have their problems mixed up. Names that differ
    only in capitals (req.txt, REQ.txt) would have their reports written as one file on
    Windows and macOS, as order ids are compared."""
    by_name: dict[str, list[Path]] = {}
    for path in paths:
        # lower(), not casefold(): Windows and macOS tell straße.txt from strasse.txt.
        by_name.setdefault(path.name.lower(), []).append(path)
    for same in by_name.values():
        if len(same) < 2:
            continue
        names = sorted({p.name for p in same})
        where = ", ".join(str(p) for p in same)
        if len(names) == 1:
            raise UsageError(
                f"{len(same)} inputs are named {names[0]} ({where}); the reports are named "
                "after the files. Rename one, or check them one at a time."
            )
        raise UsageError(
            f"{len(same)} inputs are named {' and '.join(names)} ({where}), which differ only "
            "in capitals: their reports would be one file on Windows and macOS. Rename one, "
            "or check them one at a time."
        )


def _one_name_per_file(
    paths: Sequence[Path], digests: Mapping[str, str]
) -> tuple[list[Path], list[tuple[FileOutcome, str]]]:
    """Each file once, in name order: a path given twice (or a link of the same name) is
    read once without a word; a second name of one file (a link to it in the inbox) is
    named as skipped (with the name of the file read), where it had vanished from the
    summary. The file itself is read rather than a link to it."""
    first_of: dict[Path, Path] = {}
    twins = []
    for path in sorted(paths, key=lambda p: (p.is_symlink(), p.name, str(p))):
        try:
            target = path.resolve()
        except (OSError, RuntimeError):  # a loop of links: reported when it is read
            target = path
        first = first_of.setdefault(target, path)
        # The same path twice, or the same name (its reports would be written over the
        # file's own): read once, without a word.
        if first is path or first.name == path.name:
            continue
        twins.append(
            (
                skipped(
                    path,
                    path.name,
                    digests.get(path.name, ""),
                    f"The same file as {first.name} (another name for it, such as a link), "
                    "read in this batch: skipped, so that its orders are not made twice.",
                ),
                first.name,
            )
        )
    ordered = sorted(set(first_of.values()), key=lambda p: (p.name, str(p)))
    return ordered, twins


def _without_copies(
    paths: list[Path], digests: dict[str, str]
) -> tuple[list[Path], list[FileOutcome]]:
    """The batch without the files whose content an earlier file of it has (the same file
    dropped twice): read twice, its orders would be made twice (generated ids differ).
    Only files of one size are hashed; ``digests`` holds those known, and gains these."""
    sizes: dict[int, list[Path]] = {}
    for path in paths:
        with contextlib.suppress(OSError):  # reported when it is read
            sizes.setdefault(path.stat().st_size, []).append(path)
    first_of: dict[str, str] = {}
    copies: dict[Path, FileOutcome] = {}
    for same_size in sizes.values():
        if len(same_size) < 2:
            continue
        for path in same_size:
            try:
                digest = digests.get(path.name) or sha256_of(path)
            except OSError:
                continue
            digests[path.name] = digest
            earlier = first_of.setdefault(digest, path.name)
            if earlier != path.name:
                copies[path] = skipped(
                    path,
                    path.name,
                    digest,
                    f"The same content as {earlier}, read in this batch: skipped, so that its "
                    "orders are not made twice.",
                )
    return [p for p in paths if p not in copies], list(copies.values())


def require_file(path: Path, what: str, example: str) -> None:
    """A UsageError unless ``path`` is a file (or a link to one): a folder, a pipe and a
    name that is not there are each said as what they are. ``example``: a file name to
    suggest inside a folder given instead."""
    if path.is_file():
        return
    if path.is_dir():
        raise UsageError(
            f"{what} {path} is a folder, not a file: name the file in it (for example "
            f"{path / example})."
        )
    if path.exists():
        raise UsageError(f"{what} {path} is not a file (a pipe or a device?): give the file.")
    raise UsageError(f"{what} not found: {path}")


def _require_snapshot_file(path: Path) -> None:
    require_file(path, "Inventory snapshot", "inventory.txt")


def _begin_snapshot_read(path: Path) -> PendingRead:
    return begin_read(
        path,
        snapshot_header_fit,
        SNAPSHOT_LIMITS,
        display_name(path),
        quoting=path.suffix.lower() == ".csv",
        columns=snapshot_columns,
    )


def load_snapshot(
    path: Path,
    settings: Settings,
    inventory_time: str | None = None,
    begun: tuple[PendingRead, tuple[int, int]] | None = None,
    hashed: bool = True,
) -> tuple[Snapshot, SnapshotInfo]:
    """Read and check the inventory snapshot; any problem is a UsageError (exit 2).
    ``begun``: its read, begun earlier, and the file's stamp taken just before.
    ``hashed``: False leaves SnapshotInfo.sha256 "" (nothing will show it)."""
    _require_snapshot_file(path)
    if begun is None:
        before = _stamp(path)
        pending = _begin_snapshot_read(path)
    else:
        pending, before = begun
    try:
        raw = pending.result()
        snapshot = parse_snapshot(raw)
    except ReadError as exc:
        raise UsageError(f"Inventory snapshot {display_name(path)}: {exc.message}") from exc
    except SnapshotError as exc:
        if has_request_header(raw) == REQUEST_HEADER:
            # "Download the report again" would send the user away from the real problem:
            # the newest file where the snapshot is looked for is a request.
            raise UsageError(
                f"Inventory snapshot {display_name(path)} is a removal request file, not "
                "an inventory report. Move it into the inbox (or out of the inventory "
                "folder), or give --inventory the Manage FBA Inventory report."
            ) from exc
        raise UsageError(str(exc)) from exc
    # Checked against now, a moment after the run started: CLOCK_SKEW dwarfs the moment.
    now, name = utc_now(), display_name(path)
    try:
        if inventory_time:
            when, time_from = option_time(inventory_time, now), "--inventory-time"
        elif snapshot.snapshot_date:
            when, time_from = column_time(snapshot.snapshot_date, name, now), "snapshot-date"
        else:
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            when, time_from = modified_time(modified, name, now), "modified"
    except SnapshotTimeError as exc:
        raise UsageError(str(exc)) from exc
    sha256 = sha256_of(path) if hashed else ""
    if _stamp(path) != before:
        raise UsageError(
            f"Inventory snapshot {display_name(path)} changed while it was being read; nothing was "
            "processed. Wait until it is completely saved, then run again."
        )
    checkpoint("snapshot-read")
    info = SnapshotInfo(
        file=display_name(path),
        sha256=sha256,
        skus=snapshot.sku_count,
        snapshot_time=when.isoformat(),
        snapshot_time_from=time_from,
        content=snapshot.content_digest() if hashed else "",
    )
    return snapshot, info


def start_side_work(name: str, work: Callable[..., T], *args: Any) -> Future[T]:
    """``work(*args)`` on a thread of its own, which a fork waits for."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    future = pool.submit(work, *args)
    forking.side_work_started(future)
    pool.shutdown(wait=False)  # the thread ends with the work
    return future


class SnapshotLoad:
    """The snapshot, loaded on a second thread while the request files are read and
    validated: Arrow's parsing and hashing release the GIL, so on two cores the snapshot
    costs little more than the longer of the two. ``result`` raises what loading raised.
    A fork (a workbook's reader) waits until the load is over; start a workbook's read
    before the load to have both at once."""

    def __init__(self, future: Future[tuple[Snapshot, SnapshotInfo]]):
        self._future = future

    @classmethod
    def start(
        cls,
        path: Path,
        settings: Settings,
        inventory_time: str | None = None,
        hashed: bool = True,
    ) -> SnapshotLoad:
        _require_snapshot_file(path)  # the commonest mistake, reported before anything is read
        # A workbook's child process is forked here, by the calling thread, before the
        # snapshot's thread exists: forked from that thread, the fork would wait for the
        # thread's own work (forks wait for side work) and could copy a lock the main
        # thread holds in Arrow. A text file is read on the snapshot's thread.
        before = _stamp(path)
        begun = (_begin_snapshot_read(path), before)
        return cls(
            start_side_work(
                "snapshot", load_snapshot, path, settings, inventory_time, begun, hashed
            )
        )

    @classmethod
    def ready(cls, loaded: tuple[Snapshot, SnapshotInfo]) -> SnapshotLoad:
        """A snapshot read earlier, in the same shape as one being read."""
        future: Future[tuple[Snapshot, SnapshotInfo]] = Future()
        future.set_result(loaded)
        return cls(future)

    def done(self) -> bool:
        return self._future.done()

    def raise_if_failed(self) -> None:
        """A snapshot found bad stops the batch now, not after every input has been read."""
        if self.done():
            self._future.result()

    def result(self) -> tuple[Snapshot, SnapshotInfo]:
        return self._future.result()


def _prepare_schemas(settings: Settings, snapshot_pending: bool) -> None:
    """pandera and both schemas loaded ahead of their use. The inventory schema first: the
    snapshot's thread needs it as soon as its file is parsed, and would otherwise build it
    there (0.05 s on the path that decides when the batch can be decided). A default
    address the checks refuse stops the batch (UsageError): every Return it fills would
    carry it to Amazon."""
    if snapshot_pending:
        inventory_schema()
    prepare_validation(settings)
    wrong = default_address_problems(settings)
    if wrong:
        raise UsageError(
            "Setting [default_address] cannot be used: "
            + " ".join(wrong)
            + " Correct it in the settings file, then run again."
        )


def _beyond_memory(outcome: FileOutcome, name: str) -> FileOutcome:
    """One file too big for the memory there is is that file's problem, not the batch's:
    a 66 MB CSV of 4,000 rows padded out to 16,384 columns took 2.2 GB more than its
    size to shape, and under a 3 GB cap the whole check ended as an internal error."""
    message = (
        "The file needs more memory to check than is available: it holds far "
        "more cells than a request file (about 15 columns; empty columns count too). "
        "Delete the columns and rows that are not requests, or split the file, and drop "
        "that in."
    )
    outcome.problems = problems_frame([Problem("file-too-large", message, file=name)])
    return outcome


def read_request(
    path: Path,
    name: str,
    settings: Settings,
    begun: PendingRead | None = None,
    hashed: bool = True,
    known_digest: str = "",
) -> FileOutcome:
    """Read and recognise one request file (validation is per batch). Never raises for bad
    content. ``begun``: the read of this file, started earlier with begin_read.
    ``hashed``: False leaves the outcome's sha256 "" (nothing will show it).
    ``known_digest``: its sha256, when the caller has just computed it."""
    digest = known_digest
    try:
        if hashed and not digest:
            digest = sha256_of(path)
    except OSError as exc:
        if begun is not None:
            begun.cancel()
        return unreadable(path, name, exc)
    outcome = FileOutcome(name=name, path=path, sha256=digest)
    try:
        if begun is not None:
            raw = begun.result()
        else:
            raw = read_table(path, has_request_header, limits_of(settings), display_name=name)
    except ReadError as exc:
        problem = Problem(
            exc.code, exc.message, file=name, row=exc.row, column=exc.column, value=exc.value
        )
        outcome.problems = problems_frame([problem])
        return outcome
    except MemoryError:
        return _beyond_memory(outcome, name)
    outcome.encoding, outcome.sheet = raw.encoding, raw.sheet
    outcome.other_request_sheets = raw.other_request_sheets
    outcome.sheet_hidden = raw.sheet_hidden
    # A text file of fewer bytes than the cell limit cannot hold a cell over it (a
    # character is at least one byte); most request files are that small.
    try:
        size: int | None = path.stat().st_size
    except OSError:  # moved away since it was read: what was read is checked all the same
        size = None
    small_text = not raw.sheet and size is not None and size <= settings.max_cell_chars
    length, at_row, at_col = (0, 0, 0) if small_text else longest_cell(raw, settings.max_cell_chars)
    if length > settings.max_cell_chars:
        # Excel's own limit by default; max_cell_chars in the settings may set another.
        excel = settings.max_cell_chars == EXCEL_CELL_CHARS
        message = (
            f"The cell at row {at_row}, column {column_letter(at_col)} holds {length:,} "
            f"characters; the limit is {settings.max_cell_chars:,}"
            + (
                " (Excel's own). No request cell needs that much: check the file was "
                "exported correctly."
                if excel
                else " (max_cell_chars in the settings). Shorten the cell, or raise the limit."
            )
        )
        outcome.problems = problems_frame([Problem("file-too-large", message, file=name)])
        return outcome
    try:
        shaped = recognise_request(raw)
    except MemoryError:
        del raw
        return _beyond_memory(outcome, name)
    found = problems_frame(shaped.problems)
    if shaped.table is None:
        outcome.problems = found
        # Rows of a table refused whole: read, and all rejected, as the report shows them.
        outcome.shape, outcome.rows = shaped.refused_shape, shaped.refused_rows
        if found["row"].notna().any():
            outcome.refused_raw = raw
        return outcome
    table = shaped.table
    if len(table.rows) > settings.max_rows:
        message = (
            f"The file has {len(table.rows):,} request rows; the limit is "
            f"{settings.max_rows:,} (max_rows in the settings). Split it into smaller files."
        )
        outcome.problems = problems_frame([Problem("file-too-large", message, file=name)])
        outcome.rows = len(table.rows)  # all rejected, as the table and summary say
        return outcome
    # A repeat of the header row is a row of the file, rejected (its sku-unknown says why).
    rows = len(table.rows) + len(table.repeated_headers)
    outcome.table, outcome.shape, outcome.rows = table, table.shape, rows
    if len(raw.hidden_rows):
        sources = table.rows["source_row"].to_numpy()
        outcome.hidden_rows = sources[np.isin(sources, raw.hidden_rows)].astype(int).tolist()
    if len(raw.hidden_columns):
        hidden = {column_letter(int(c)) for c in raw.hidden_columns}
        outcome.hidden_columns = {
            letter: name for name, letter in table.field_columns.items() if letter in hidden
        }
    outcome.problems = found
    return outcome


def validate_outcomes(outcomes: Sequence[FileOutcome], settings: Settings) -> None:
    """Validate every readable file of the batch in one pass; attach each file's results."""
    readable = [o for o in outcomes if o.table is not None]
    results = validate_tables([o.table for o in readable if o.table is not None], settings)
    for outcome, checked in zip(readable, results, strict=True):
        outcome.problems = concat_problems([outcome.problems, checked.problems])
        outcome.validation = checked


def _fill_order_ids(outcome: FileOutcome, decision: Decision) -> None:
    """Value problems found before grouping name the order their row belongs to."""
    orders_of_rows = decision.row_orders.get(outcome.name)
    problems = outcome.problems
    if orders_of_rows is None or problems.empty:
        return
    blank = problems["order_id"].eq("") & problems["row"].notna()
    if blank.any():
        found = problems.loc[blank, "row"].astype("int64").map(orders_of_rows)
        problems.loc[blank, "order_id"] = found.fillna("").to_numpy()


ProgressHook = Callable[[str], None]


def run_batch(
    paths: Sequence[Path],
    inventory: Path,
    settings: Settings,
    inventory_time: str | None = None,
    progress: ProgressHook | None = None,
    *,
    loaded: tuple[Snapshot, SnapshotInfo] | SnapshotLoad | None = None,
    used_ids: Mapping[str, str] = NO_IDS,
    taken: pd.DataFrame | Callable[[SnapshotInfo], pd.DataFrame] | None = None,
    generated_before: Mapping[tuple[str, str], tuple[str, str]] = NO_REPEATS,
    skipped: Sequence[FileOutcome] = (),
    hashed: bool = True,
    digests: Mapping[str, str] | None = None,
) -> BatchResult:
    """Check a batch of request files against one snapshot; writes nothing.

    ``loaded``: the snapshot, already read or being read. ``used_ids`` and ``taken``: order
    ids (each -> the run that issued it) and units per SKU issued by earlier runs (the
    ledger); ``taken`` may depend on the snapshot. ``generated_before``: orders issued under
    a generated id, (source file name, fingerprint) -> (order id, run id) (the ledger).
    ``skipped``: inputs not read this time.
    ``hashed``: False when no summary or ledger will show the files' sha256 (they stay
    ""): hashing a 100 MB snapshot costs 0.05 s of a core that the readers want.
    ``digests``: file name -> sha256 of inputs the caller hashed already (``run``, to
    consult the ledger; it checks that they did not change meanwhile), so that they are
    not read a second time for it.
    """
    started = utc_now()
    # Files in name order, whatever order they were given in: allocation depends on it.
    ordered, twins = _one_name_per_file(paths, digests or {})
    badly_named = [_badly_named(p, display_name(p)) for p in ordered if display_name(p) != p.name]
    ordered = [p for p in ordered if display_name(p) == p.name]
    _refuse_same_names(ordered)
    digests = dict(digests or {})  # with those hashed to find copies: not read again
    ordered, copies = _without_copies(ordered, digests)
    # A workbook's read starts first (a fork waits for a snapshot being loaded): its child
    # process then works on the other core while the snapshot loads.
    first = (
        begin_read(ordered[0], has_request_header, limits_of(settings), ordered[0].name)
        if ordered
        else None
    )
    outcomes = []
    load: SnapshotLoad
    try:
        if loaded is None:
            load = SnapshotLoad.start(inventory, settings, inventory_time, hashed)
        elif isinstance(loaded, SnapshotLoad):
            load = loaded
        else:
            load = SnapshotLoad.ready(loaded)
        # Imports and tables validation needs, loaded on a third thread: Python work, done
        # while the two reads spend most of their time in Arrow, which releases the GIL.
        preparing = start_side_work("prepare", _prepare_schemas, settings, not load.done())
        for index, path in enumerate(ordered):
            load.raise_if_failed()
            if preparing.done():
                preparing.result()  # a refused default address stops the batch now
            if progress:
                progress(path.name)
            begun = first if index == 0 else None
            known = digests.get(path.name, "")
            outcomes.append(read_request(path, path.name, settings, begun, hashed, known))
            checkpoint("read-input")
    finally:
        if first is not None:
            first.cancel()  # a child not waited for (the snapshot failed): stop it
    load.raise_if_failed()
    preparing.result()
    validate_outcomes(outcomes, settings)
    validated = [
        ValidatedFile(o.name, o.table, o.validation)
        for o in outcomes
        if o.table is not None and o.validation is not None
    ]

    def units_taken() -> pd.DataFrame | None:
        # Called by the decision on this thread (the ledger's connection belongs to it).
        return taken(load.result()[1]) if callable(taken) else taken

    # The decision waits for the snapshot only where it needs it: orders are grouped and
    # checked while the snapshot's last steps finish.
    decision = decide_orders(
        validated,
        lambda: load.result()[0],
        settings,
        started,
        used_ids,
        units_taken,
        generated_before,
    )
    info = load.result()[1]  # raises what loading raised, when nothing was decided
    # Per file, the ids of its orders written: with --allow-partial, rows of them left out
    # say so (name_rows_left_out).
    sent_by_file = (
        {
            str(name): frozenset(part["base_order_id"])
            for name, part in decision.orders.groupby("source_file")
        }
        if settings.allow_partial
        else {}
    )
    for outcome in outcomes:
        outcome.problems = without_cells(
            outcome.problems, decision.withdrawn_cells.get(outcome.name)
        )
        _fill_order_ids(outcome, decision)
        extra = decision.problems_by_file.get(outcome.name)
        if extra is not None and len(extra):
            outcome.problems = concat_problems([outcome.problems, extra])
        outcome.problems = point_held_orders_at_errors(
            sort_problems(outcome.problems),
            settings.allow_partial,
            decision.partial_would_send.get(outcome.name, frozenset()),
        )
        if settings.allow_partial:
            outcome.problems = name_rows_left_out(
                outcome.problems, sent_by_file.get(outcome.name, frozenset())
            )
        outcome.accepted = decision.accepted_rows.get(outcome.name, 0)
        outcome.rejected = outcome.rows - outcome.accepted
        fatal = outcome.problems["severity"].eq("fatal").any() if len(outcome.problems) else False
        if fatal or outcome.accepted == 0:
            outcome.status = "rejected"
        elif outcome.rejected:
            outcome.status = "partial"
        else:
            outcome.status = "accepted"
    # A second name of a file read has that file's content, and its sha256.
    read_digests = {o.name: o.sha256 for o in outcomes}
    for twin, first_name in twins:
        twin.sha256 = twin.sha256 or read_digests.get(first_name, "")
    outcomes = sorted(
        [*outcomes, *skipped, *badly_named, *copies, *(t for t, _ in twins)],
        key=lambda o: o.name,
    )
    bad = any(
        len(o.problems) and o.problems["severity"].isin(["fatal", "error"]).any() for o in outcomes
    )
    return BatchResult(
        run_id=new_run_id(started),
        started=started.isoformat(),
        finished=utc_now().isoformat(),
        snapshot=info,
        files=outcomes,
        decision=decision,
        exit_code=EXIT_REJECTED if bad else EXIT_OK,
        settings=settings,
    )
