"""`run`: one batch in a workspace, published safely, recorded, and archived.

Order of steps, so that a run killed at any instant can be finished or undone:
1. outputs are written into ``out/.tmp-<run-id>/`` and flushed to disk;
2. a pending record (what the ledger will hold, which inputs to archive) is saved;
3. the folder is renamed to ``out/<run-id>/`` (published, atomically);
4. the ledger records the run in one transaction;
5. inputs move from ``inbox/`` to ``archive/<run-id>/``, then the pending record goes.
On the next run, ``recover`` finishes every run that was published (steps 4-5) and
removes every unpublished folder, whose inputs are still in the inbox. A run counts as
published by the ledger, or else by its staging folder being gone (``_published``), never
by ``out/<run-id>/`` being there: the user may have moved or renamed it since.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from removal_batch.core.settings import Settings
from removal_batch.faults import checkpoint
from removal_batch.ledger import Ledger, LedgerError, RunRecord
from removal_batch.names import link_loops, link_target
from removal_batch.pipeline import (
    BatchResult,
    FileOutcome,
    ProgressHook,
    SnapshotInfo,
    UsageError,
    display_name,
    new_run_id,
    not_read,
    parse_time,
    run_batch,
    sha256_of,
    skipped,
    unreadable,
)
from removal_batch.workspace import (
    SETTLE_SECONDS,
    Workspace,
    discover_inputs,
    is_broken_link,
    never_read,
    newest_inventory,
    open_for_writing,
    snapshot_still_written,
)

if TYPE_CHECKING:
    import pandas as pd

TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class RunOptions:
    inventory: Path | None = None
    inventory_time: str | None = None
    dry_run: bool = False
    force: bool = False


@dataclass
class RunOutcome:
    result: BatchResult | None
    out_dir: Path | None
    recovered: list[str]
    message: str = ""
    summary: str | None = None  # the text of the published summary.json
    never_read: list[str] = field(default_factory=list)  # see workspace.never_read
    # Runs done but for moving their inputs to the archive (a read-only folder): said, and
    # tried again by the next run. Also pending records that cannot be read (set aside).
    not_archived: list[str] = field(default_factory=list)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PublishError(Exception):
    """The outputs could not be written; nothing was published (exit 3)."""


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _changed(inputs: list[Path], stamps: dict[str, tuple[int, int]]) -> list[Path]:
    """Inputs that changed or vanished while they were read: their orders cannot be
    trusted."""
    changed = []
    for path in inputs:
        try:
            same = _stamp(path) == stamps[path.name]
        except OSError:
            same = False
        if not same:
            changed.append(path)
    return changed


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _archive_inputs(space: Workspace, run_id: str, inputs: list[dict[str, str]]) -> None:
    """Move this run's inputs out of the inbox; only a file with the recorded content moves,
    so a changed file dropped under the same name since then stays in the inbox."""
    target = space.archive / run_id
    target.mkdir(parents=True, exist_ok=True)
    for entry in inputs:
        source = space.inbox / entry["name"]
        if not source.is_file() or (target / entry["name"]).exists():
            continue
        try:
            same = sha256_of(source) == entry["sha256"]
        except OSError:
            same = False  # unreadable now: left in the inbox, as a changed file would be
        if not same:
            continue
        os.replace(source, target / entry["name"])
        checkpoint("archive-input")
    _fsync_dir(target)
    _fsync_dir(space.inbox)


def _pending_records(space: Workspace) -> Iterator[tuple[Path, RunRecord | None]]:
    """Each pending record of a run not finished, with what it holds (None: it cannot be
    read). A record is written to a temporary name, synced and renamed, so a torn write
    never leaves a .json: one that does not read was damaged since (a disk error, an
    edit), and may be the only trace of a run that published its orders."""
    for pending in sorted(space.pending.glob("*.json")):
        try:
            data = json.loads(pending.read_text(encoding="utf-8"))
            record = RunRecord(**{**data, "lines": [tuple(x) for x in data["lines"]]})
        except (OSError, ValueError, KeyError, TypeError):
            yield pending, None
            continue
        yield pending, record


def _set_aside(space: Workspace, ledger: Ledger, pending: Path) -> str:
    """Keep a pending record that cannot be read under another name (recovery no longer
    looks at it) and say what it means. Only for a run whose orders cannot go out twice:
    one the ledger holds, or one that never published (its staging folder is still there).
    """
    aside = pending.with_name(pending.name + ".unreadable")
    kept = f"it is kept as {aside}"
    try:
        os.replace(pending, aside)
    except OSError as exc:
        kept = f"it could not be renamed ({exc.strerror or exc}) and stays as it is"
    run_id = pending.stem
    if ledger.has_run(run_id):
        meaning = (
            "The ledger holds that run, so none of its orders is issued again; its inputs, "
            f"if still in the inbox, are skipped as processed (move them to "
            f"{space.archive / run_id})."
        )
    else:
        meaning = (
            "That run never published anything (its outputs were still being written), so "
            "nothing of it went out; its inputs are read again."
        )
    return f"The record of unfinished run {run_id} ({pending}) cannot be read; {kept}. {meaning}"


def _unreadable_published(space: Workspace, pending: Path) -> str:
    """The record of a run that published (its staging folder is gone) but was not
    recorded cannot be read: which inputs it took is unknown, and a run now would issue
    their orders a second time."""
    run_id = pending.stem
    return (
        f"The record of unfinished run {run_id} ({pending}) cannot be read, and that run "
        f"published its orders (in {space.out / run_id}, unless that folder was moved) "
        "without recording them. Nothing was processed: a run now would issue those orders "
        f"again. If they were or will be uploaded, move that run's request files from the "
        f"inbox to {space.archive / run_id}; then delete {pending} and run again."
    )


def _published(space: Workspace, ledger: Ledger, run_id: str) -> bool:
    """Whether a run with a pending record published its outputs. A run in the ledger did
    (it is recorded only once published). Otherwise its staging folder tells: the rename
    that publishes is what takes it away (the pending record is saved while it is there,
    and recovery removes it only after the pending record). Not ``out/<run-id>/`` being
    there: the user may have renamed or moved it since, and its orders may be uploaded
    already; a run redone for that would issue every one of them a second time."""
    if ledger.has_run(run_id):
        return True
    return not os.path.lexists(space.out / f"{TMP_PREFIX}{run_id}")


def interrupted_runs(space: Workspace, ledger: Ledger) -> list[str]:
    """Runs published but not yet recorded, which ``recover`` finishes (a run recorded but
    not archived has its orders in the ledger already)."""
    return [
        record.run_id
        for _, record in _pending_records(space)
        if record is not None
        and not ledger.has_run(record.run_id)
        and _published(space, ledger, record.run_id)
    ]


def unarchived_runs(space: Workspace, ledger: Ledger) -> list[str]:
    """Runs recorded (their orders published and in the ledger) whose inputs are not yet
    archived: the next run moves them."""
    return [
        record.run_id
        for _, record in _pending_records(space)
        if record is not None and ledger.has_run(record.run_id)
    ]


def _archive_run(
    space: Workspace, ledger: Ledger, run_id: str, inputs: list[dict[str, str]]
) -> str | None:
    """Move a recorded run's inputs to the archive; what went wrong, or None. The run's
    orders are published and recorded by then, so a folder that refuses the move stops
    nothing: its inputs stay in the inbox, where the next run skips them as processed and
    tries the move again (the pending record stays)."""
    try:
        _archive_inputs(space, run_id, inputs)
        checkpoint("archived")
        ledger.mark_archived(run_id)
    except (OSError, LedgerError) as exc:
        why = exc.strerror or exc if isinstance(exc, OSError) else exc
        return (
            f"Run {run_id} is published and recorded, but its inputs could not be moved to "
            f"{space.archive / run_id} ({why}). They stay in the inbox, where the next run "
            "skips them as already processed; fix the folder's permissions, and the next run "
            "moves them."
        )
    return None


def recover(space: Workspace, ledger: Ledger) -> tuple[list[str], list[str]]:
    """Finish runs that were published but not recorded or archived; drop unpublished ones.
    Returns the runs finished, and problems to tell (inputs that could not be archived,
    records that could not be read)."""
    finished, not_archived = [], []
    # In the order the runs published: runs of one second sort by their random suffix, and
    # an input the later one skipped belongs in the archive of the run that processed it.
    records = sorted(_pending_records(space), key=lambda kept: kept[1].issued_at if kept[1] else 0)
    for pending, record in records:
        if record is None:
            if _published(space, ledger, pending.stem) and not ledger.has_run(pending.stem):
                raise UsageError(_unreadable_published(space, pending))
            not_archived.append(_set_aside(space, ledger, pending))
            continue
        if _published(space, ledger, record.run_id):
            ledger.record_run(record)
            checkpoint("recover-recorded")
            problem = _archive_run(space, ledger, record.run_id, record.inputs)
            if problem is not None:
                not_archived.append(problem)
                continue
            finished.append(record.run_id)
        pending.unlink(missing_ok=True)
    for tmp in space.out.glob(TMP_PREFIX + "*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for leftover in space.pending.glob("*.tmp"):
        leftover.unlink(missing_ok=True)
    return finished, not_archived


def _unused_run_id(space: Workspace, ledger: Ledger, run_id: str, started: str) -> str:
    """A run id no earlier run has: two runs in one second draw from 65,536 suffixes, and
    a clash would make the second publish over the first's folder (or recovery take the
    first's folder for the second's, archiving inputs whose orders were never written)."""
    while (
        (space.out / run_id).exists()
        or (space.out / f"{TMP_PREFIX}{run_id}").exists()
        or (space.archive / run_id).exists()
        or (space.pending / f"{run_id}.json").exists()
        or ledger.has_run(run_id)
    ):
        run_id = new_run_id(dt.datetime.fromisoformat(started))
    return run_id


def _skipped(path: Path, digest: str, earlier_run: str) -> FileOutcome:
    return skipped(
        path,
        display_name(path),
        digest,
        f"The same content was already processed in run {earlier_run}; skipped. Use --force "
        "to process it again.",
    )


def _broken_link(path: Path) -> FileOutcome:
    """A link in the inbox to a file that is not there: reported under the link's name, not
    recorded, left in the inbox (it works again once its file is back)."""
    if link_loops(path):
        where = (
            f"This is a link to {link_target(path)}, which leads into a loop of links: no file "
            "is at the end of it."
        )
    else:
        where = (
            f"This is a link to {link_target(path)}, which does not exist (moved, renamed, "
            "or on a drive that is not connected)."
        )
    message = f"{where} Put the file itself in the inbox, or mend the link, then run again."
    return not_read(path, display_name(path), message)


def run_workspace(
    space: Workspace,
    settings: Settings,
    options: RunOptions,
    ledger: Ledger,
    progress: ProgressHook | None = None,
) -> RunOutcome:
    """One run, the lock already held. Raises UsageError for exit-2 problems."""
    from removal_batch.app import write_outputs
    from removal_batch.writers.order_files import fsync_tree

    if options.dry_run:
        # A dry run records nothing and moves nothing (SPEC 6): it cannot finish a run
        # that was interrupted, and would check against a ledger that lacks its orders.
        unfinished = interrupted_runs(space, ledger)
        if unfinished:
            raise UsageError(
                f"Run {unfinished[0]} was interrupted after publishing its orders, and is not "
                "recorded yet; a dry run records nothing, so it cannot finish it. Run "
                "removal-batch run without --dry-run first: it finishes that run."
            )
        recovered: list[str] = []
        not_archived: list[str] = []
    else:
        recovered, not_archived = recover(space, ledger)
    inputs, busy = discover_inputs(space.inbox)
    # Named, as what no run reads is: "cp ... && removal-batch run" otherwise ended with
    # exit 0 and the new file silently left for a later run (and a later place in the
    # first come, first served order).
    still_open = {path for path in busy if open_for_writing(path)}
    passed_over = never_read(space.inbox) + [
        f"{display_name(path)} is still open in the program writing it; it is left in the "
        "inbox for the next run."
        if path in still_open
        else f"{display_name(path)} changed less than {SETTLE_SECONDS:g} seconds ago (it may "
        "still be being written); it is left in the inbox for the next run."
        for path in busy
    ]
    checkpoint("discovered")
    if not inputs:
        return RunOutcome(
            None,
            None,
            recovered,
            "The inbox has no files ready; nothing to do."
            if not busy
            else "The inbox has no files ready: the files in it are still being written "
            "(open in the program writing them). Run again once they are saved."
            if still_open
            else "The inbox has no files ready: the files in it changed in the last "
            f"{SETTLE_SECONDS:g} seconds. Run again in a moment.",
            never_read=passed_over,
            not_archived=not_archived,
        )
    inventory = options.inventory or newest_inventory(space.inventory)
    if inventory is None:
        raise UsageError(
            f"No inventory snapshot: put the Manage FBA Inventory report in {space.inventory} "
            "or give --inventory FILE."
        )
    unsettled = snapshot_still_written(inventory)
    if unsettled is not None:
        raise UsageError(unsettled)
    processed = {} if options.force else ledger.processed_inputs()
    take, skipped, digests = [], [], {}
    stamps: dict[str, tuple[int, int]] = {}
    for path in inputs:
        if is_broken_link(path):
            skipped.append(_broken_link(path))
            continue
        try:
            stamps[path.name] = _stamp(path)
            digests[display_name(path)] = digest = sha256_of(path)
        except FileNotFoundError:
            # Moved or deleted since the inbox was listed: left out, as a file that
            # changes while it is read is, and the rest of the batch goes on.
            stamps.pop(path.name, None)
            passed_over.append(
                f"{display_name(path)} disappeared from the inbox as the run started; it "
                "was not processed."
            )
            continue
        except OSError as exc:
            # Not ours to read (permissions, another program's lock): reported, not
            # recorded in the ledger, so it stays in the inbox for the next run.
            stamps.pop(path.name, None)
            skipped.append(unreadable(path, display_name(path), exc))
            continue
        if digest in processed:
            skipped.append(_skipped(path, digest, processed[digest]))
        else:
            take.append(path)
    checkpoint("hashed")
    if not take and not skipped:
        return RunOutcome(
            None,
            None,
            recovered,
            "No file was processed: the files ready disappeared from the inbox as the run "
            "started" + ("; the others in it are still being written." if busy else "."),
            never_read=passed_over,
            not_archived=not_archived,
        )
    while True:
        result = run_batch(
            take,
            inventory,
            settings,
            options.inventory_time,
            progress,
            used_ids=ledger.order_ids(),
            taken=lambda info: _units_taken(ledger, info),
            generated_before=ledger.generated_orders(),
            skipped=skipped,
            digests=digests,
        )
        changed = _changed([p for p in inputs if p.name in stamps], stamps)
        if not changed:
            break
        # Only those files are left out, as files still being written are: neither
        # recorded nor archived, they are read by the next run. The batch is decided again
        # without them (their orders took ids and units from the others); each round
        # leaves out at least one more file, so this ends.
        for path in changed:
            stamps.pop(path.name, None)
            digests.pop(display_name(path), None)
            passed_over.append(
                f"{display_name(path)} changed or disappeared while the run was reading it; "
                "it was not processed, and is left in the inbox (if still there) for the "
                "next run."
            )
        gone = set(changed)
        take = [p for p in take if p not in gone]
        skipped = [f for f in skipped if f.path not in gone]
        if not take and not skipped:
            return RunOutcome(
                None,
                None,
                recovered,
                "The inbox has no files ready: the files in it changed while the run was "
                "reading them. Run again once they are saved.",
                never_read=passed_over,
                not_archived=not_archived,
            )
    result.not_read = passed_over
    checkpoint("decided")
    result.run_id = _unused_run_id(space, ledger, result.run_id, result.started)
    staging = space.out / f"{TMP_PREFIX}{result.run_id}"
    try:
        staging.mkdir(parents=True)
        summary = write_outputs(result, staging, with_orders=not options.dry_run)
        checkpoint("written")
        fsync_tree(staging)
    except OSError as exc:
        # Disk full, read-only folder...: nothing half-written may stay where it could be
        # taken for output; the inbox and the ledger are untouched.
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(
            f"The outputs could not be written to {space.out} ({exc.strerror or exc}). Nothing "
            "was published and the inbox is untouched; free some space or fix the folder's "
            "permissions, then run again."
        ) from exc
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what was staged goes with the run
        shutil.rmtree(staging, ignore_errors=True)
        raise
    checkpoint("synced")
    final = space.out / result.run_id
    outcome = RunOutcome(
        result, final, recovered, summary=summary, never_read=passed_over, not_archived=not_archived
    )
    if options.dry_run:
        os.replace(staging, final)
        _fsync_dir(space.out)
        return outcome
    record = _record(result, digests, parse_time(result.snapshot.snapshot_time).timestamp())
    _write_json(space.pending / f"{result.run_id}.json", record.__dict__)
    checkpoint("pending-saved")
    os.replace(staging, final)
    _fsync_dir(space.out)
    checkpoint("published")
    try:
        ledger.record_run(record)
    except LedgerError as exc:
        raise LedgerError(
            f"{exc} The orders of run {result.run_id} are written in {final}, but not recorded "
            "and the inbox is untouched: do not upload them yet. Once the ledger can be "
            "written (close any other program using it), run removal-batch run again: it "
            "records this run without writing its orders again, and archives its inputs."
        ) from exc
    checkpoint("recorded")
    problem = _archive_run(space, ledger, result.run_id, record.inputs)
    if problem is None:
        (space.pending / f"{result.run_id}.json").unlink()
    else:
        not_archived.append(problem)
    checkpoint("done")
    return outcome


def _units_taken(ledger: Ledger, info: SnapshotInfo) -> pd.DataFrame:
    """Units per SKU of the orders issued after the snapshot was taken. A snapshot with the
    same bytes as one an earlier run used, or saying the same, is that report
    (Ledger.first_known): it was taken no later than then, whatever its file's time says
    now, and the time used, shown and recorded is moved back to it (``info`` is the
    batch's own). A time given by --inventory-time stands (the user's word, and the way
    to stop deducting orders that were never uploaded); the terminal says what it skips."""
    when = parse_time(info.snapshot_time).timestamp()
    known = ledger.first_known(info.sha256, info.content)
    if known is not None and known < when:
        earlier = dt.datetime.fromtimestamp(known, dt.UTC).isoformat()
        if info.snapshot_time_from == "--inventory-time":
            info.known_since = earlier
        else:
            info.snapshot_time, info.snapshot_time_from = earlier, "earlier-run"
            when = known
    return ledger.taken_since(when)


def _record(result: BatchResult, digests: dict[str, str], snapshot_time: float) -> RunRecord:
    orders = result.decision.orders
    lines = result.decision.lines
    parts = orders["order_id"].ne(orders["base_order_id"])  # orders written in parts
    return RunRecord(
        run_id=result.run_id,
        started=result.started,
        # When the orders are published, to the microsecond: the run's start is kept to the
        # second, and a snapshot saved within that second would seem newer than the orders
        # and have them counted as already in its figures.
        issued_at=time.time(),
        snapshot_sha256=result.snapshot.sha256,
        snapshot_time=snapshot_time,
        snapshot_content=result.snapshot.content,
        inputs=[
            {"sha256": digests[f.name], "name": f.name, "status": f.status}
            for f in result.files
            if f.name in digests and not f.unread
        ],
        orders=[
            {
                "order_id": str(o["order_id"]),
                "disposition": str(o["disposition"]),
                "lines": int(o["lines"]),
                "sellable_units": int(o["sellable_units"]),
                "unsellable_units": int(o["unsellable_units"]),
                "generated": bool(o["generated_id"]),
                "source_file": str(o["source_file"]),
                "fingerprint": o["fingerprint"],  # None unless generated_id
                "sent_fingerprint": o.get("sent_fingerprint"),  # None unless less was sent
            }
            for o in orders.to_dict("records")
        ],
        split_ids=sorted(str(b) for b in orders.loc[parts, "base_order_id"].unique()),
        lines=[
            (str(a), str(b), int(c), int(d))
            for a, b, c, d in zip(
                lines["order_id"], lines["sku"], lines["sellable"], lines["unsellable"], strict=True
            )
        ],
    )
