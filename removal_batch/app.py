"""Glue between the CLI and the pipeline: settings, printing, writing outputs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from removal_batch.core.settings import Settings, SettingsError, settings_from_mapping
from removal_batch.faults import checkpoint
from removal_batch.names import carries_any_text, link_loops, link_target, printable, shell_word
from removal_batch.pipeline import (
    EXIT_INTERNAL,
    EXIT_USAGE,
    BatchResult,
    ProgressHook,
    UsageError,
    require_file,
    run_batch,
)

if TYPE_CHECKING:
    from rich.console import Console

    from removal_batch.ledger import Ledger
    from removal_batch.workspace import Workspace


def _console(stderr: bool = False) -> Console:
    """rich's console, imported when something is printed through it: check --json
    prints nothing through it, and importing rich is 0.07 s of start-up. Without markup:
    what is printed quotes paths, file names and cells, whose brackets are theirs."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False)


def print_json(text: str) -> None:
    """--json's text on stdout. Where stdout is not UTF-8 (a legacy encoding: see
    cli._streams_that_print_anything), non-ASCII characters are written as JSON escapes
    (\\u4e2d): pure ASCII reads the same in any encoding, and a JSON reader turns the
    escapes back into the same text (a ? would change a SKU; cp1252 bytes would be read
    wrong as UTF-8, JSON's own encoding)."""
    if not carries_any_text(sys.stdout) and not text.isascii():
        text = json.dumps(json.loads(text), indent=2)
    sys.stdout.write(text + "\n")


def _print_error(message: str) -> None:
    """``removal-batch: message`` on stderr, the prefix in red (a path in the message may
    hold control characters: shown, not sent)."""
    from rich.text import Text

    from removal_batch.writers.terminal import visible

    text = visible(message, newlines=True)
    # One line however long (SPEC 8), the terminal folding it: broken at 80 columns, a
    # log's path came out in two pieces to copy in a log file or the system's journal.
    _console(stderr=True).print(
        Text.assemble(("removal-batch:", "red"), f" {text}"), soft_wrap=True
    )


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    if not path.is_file():
        if path.is_symlink():
            raise UsageError(
                f"Settings file {path} is a link to {os.readlink(path)}, which does not "
                "exist. Point the link at the settings file, or remove it to run with the "
                "default settings."
            )
        require_file(path, "Settings file", "removal-batch.toml")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Settings file {path} cannot be read: {exc.strerror}.") from exc
    try:
        data = tomllib.loads(settings_text(raw))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.name} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path.name} is not text in a known encoding (byte {exc.start + 1} cannot be "
            "read). Save it as UTF-8 (in Notepad: File, Save As, Encoding UTF-8)."
        ) from exc
    try:
        return settings_from_mapping(data, source=path.name)
    except SettingsError as exc:
        raise UsageError(str(exc)) from exc


def settings_text(raw: bytes) -> str:
    """A settings file's text. TOML is UTF-8, but Notepad saves the file as "ANSI"
    (cp1252) or "Unicode" (UTF-16 with a byte-order mark) as readily, and a name like
    Müller GmbH makes the difference; request files in those encodings are read too.
    Windows Notepad also starts UTF-8 with a byte-order mark, which TOML does not allow
    ("line 1 column 1"): it is dropped."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # raises for its five unused bytes


def report_stem(name: str) -> str:
    """An input's name as a safe file name for its report: no control characters, and short
    enough (with '.errors.xlsx') for every file system; a long name keeps a hash suffix."""
    import hashlib
    import re

    clean = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name)
    if clean == name and len(clean.encode("utf-8")) <= 180:
        return clean
    # Changed or shortened: a hash of the real name keeps two inputs from sharing a report.
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    short = clean.encode("utf-8")[:160].decode("utf-8", "ignore")
    return f"{short}~{digest}"


def write_outputs(result: BatchResult, out_dir: Path, with_orders: bool = True) -> str:
    """Every output of a run into ``out_dir`` (which the caller publishes); returns the
    text of summary.json."""
    from removal_batch.writers.order_files import (
        PendingOrderFiles,
        begin_order_files,
        item_lines,
        write_upload_files,
    )
    from removal_batch.writers.summary import write_summary

    decision = result.decision
    pending: PendingOrderFiles | None = None
    try:
        if with_orders and len(decision.orders):
            items = item_lines(decision.lines)  # the same text ends the lines of both
            # The order files are written on the other core while this process writes
            # everything else; their names are known at once.
            pending = begin_order_files(decision.orders, decision.lines, out_dir / "orders", items)
            uploads = write_upload_files(
                decision.orders,
                decision.lines,
                out_dir / "upload",
                result.settings.max_skus_per_file,
                items,
            )
            checkpoint("upload-written")
            decision.orders["output_file"] = pending.names
            decision.orders["upload_file"] = uploads
        _write_error_reports(result, out_dir / "errors")
        summary = write_summary(result, out_dir / "summary.json", dry_run=not with_orders)
        checkpoint("summary-written")
        if pending is not None:
            pending.result()  # waits; raises what the writer met
            checkpoint("orders-written")
    finally:
        if pending is not None:
            pending.cancel()  # a writer not waited for (something above failed): stop it
    return summary


def _write_error_reports(result: BatchResult, errors_dir: Path) -> None:
    errors_dir.mkdir(parents=True, exist_ok=True)
    for outcome in result.files:
        if outcome.problems.empty:
            continue
        # Here, not above: a clean run writes no report.
        from removal_batch.writers.error_report import write_errors_csv, write_errors_xlsx

        base = errors_dir / f"{report_stem(outcome.name)}.errors"
        write_errors_csv(outcome.problems, base.with_name(base.name + ".csv"))
        raw = outcome.table.raw if outcome.table is not None else outcome.refused_raw
        write_errors_xlsx(outcome.problems, raw, base.with_name(base.name + ".xlsx"))
        checkpoint("error-report-written")


# What a check writes into its --out folder; an earlier check's are replaced.
OUTPUT_NAMES = ("orders", "upload", "errors", "summary.json")


def previous_outputs(out_dir: Path) -> list[Path]:
    """The outputs an earlier check left in ``out_dir``, which this one replaces: left
    there, an earlier order file or upload file would be sent to Amazon a second time.
    Raises UsageError when ``out_dir`` holds such names without a summary.json written by
    removal-batch: what is not ours is never moved or deleted."""
    present = [out_dir / n for n in OUTPUT_NAMES if os.path.lexists(out_dir / n)]
    if not present:
        return []
    if not _our_summary(out_dir / "summary.json"):
        names = ", ".join(p.name for p in present)
        raise UsageError(
            f"{printable(str(out_dir))} already holds {names}, not written by removal-batch "
            "(there is no summary.json of its own). Nothing was changed there; give --out "
            "an empty or new folder."
        )
    return present


def _our_summary(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"run_id", "tool_version", "inputs"} <= data.keys()


def publish_into(result: BatchResult, out_dir: Path) -> str:
    """Write everything into a staging folder inside ``out_dir``, then move it in place,
    so a crash never leaves half a file where a reader would take it for whole. An
    earlier check's outputs there are moved aside first, then deleted: the folder then
    holds this check's outputs only (and whatever else the user keeps in it). Returns
    the text of summary.json."""
    from removal_batch.writers.order_files import fsync_tree

    out_dir.mkdir(parents=True, exist_ok=True)
    previous = previous_outputs(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{result.run_id}-", dir=out_dir))
    replaced = Path(tempfile.mkdtemp(prefix=f".replaced-{result.run_id}-", dir=out_dir))
    try:
        summary = write_outputs(result, staging)
        fsync_tree(staging)
        # Ctrl-C or SIGTERM between these renames left the old outputs gone and part of the
        # new ones in place without their summary, which the next check --out refused as
        # not removal-batch's. The renames take a moment: a signal waits for their end.
        with signals_deferred():
            # The old summary first: a crash part-way leaves no summary describing a mix.
            for old in sorted(previous, key=lambda p: p.name != "summary.json"):
                os.replace(old, replaced / old.name)
            for entry in sorted(staging.iterdir(), key=lambda p: p.name == "summary.json"):
                os.replace(entry, out_dir / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(replaced, ignore_errors=True)
    return summary


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM received inside the block take effect at its end (in the main
    thread, where Python handles signals; elsewhere the block runs as it is)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def defer(signum: int, frame: object) -> None:
        received.append(signum)

    stopping = (signal.SIGINT, signal.SIGTERM)
    handlers = {number: signal.signal(number, defer) for number in stopping}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if received:  # sent again, now that its handler is back
            signal.raise_signal(received[0])


def folder_in_the_way(path: Path) -> Path | None:
    """What keeps the folder ``path`` from being made or used: ``path`` itself, or the
    nearest of its parents that exists, when that is not a folder (a file, a broken link).
    mkdir would fail there with an OSError, after the batch was checked."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return None if candidate.is_dir() else candidate
    return None


def workspace_holding(path: Path) -> Path | None:
    """The out/ or archive/ folder of a workspace that ``path`` is in (or is), else None.
    A run's folder there holds a summary.json of removal-batch's own, which check --out
    would take for an earlier check's and replace, orders and all."""
    # As written and as resolved: out/ may be a link to another disk (then the resolved
    # path passes no folder named out), or --out a link into a workspace's out/.
    for base in (Path(os.path.abspath(path)), path.resolve()):
        for folder in (base, *base.parents):
            if folder.name in ("out", "archive") and (folder.parent / ".removal-batch").is_dir():
                return folder
    return None


def folder_not_writable(path: Path) -> Path | None:
    """The folder ``path`` itself, or the nearest of its parents that exists, when this
    user may not write in it: found before the batch is read, not when it is published."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return None if os.access(candidate, os.W_OK | os.X_OK) else candidate
    return None


def _not_a_folder(what: str, path: Path, in_the_way: Path, advice: str) -> str:
    """The message for a folder that something else stands in the way of."""
    if in_the_way.is_symlink() and not in_the_way.exists():
        kind = "a link to something that does not exist"
    elif in_the_way.is_file():
        kind = "a file"
    else:
        kind = "a pipe or a device"
    if in_the_way == path:
        return f"{what} {printable(str(path))} is {kind}, not a folder. {advice}"
    return (
        f"{what} {printable(str(path))} cannot be made: {printable(str(in_the_way))} is "
        f"{kind}, not a folder. {advice}"
    )


def _link_shown(link: Path) -> str:
    """A link and what it names: the link is there, what it names is not. Both are said,
    or the user looks at the link."""
    return f"{printable(str(link))} -> {link_target(link)}"


def _not_files(paths: list[Path]) -> str:
    """What is wrong with the paths that are not files to read ("" when all are)."""
    broken = [p for p in paths if p.is_symlink() and not p.exists()]
    missing = [printable(str(p)) for p in paths if not p.exists() and p not in broken]
    folders = [printable(str(p)) for p in paths if p.is_dir()]
    others = [printable(str(p)) for p in paths if p.exists() and not p.is_file() and not p.is_dir()]
    loops = [p for p in broken if link_loops(p)]
    dangling = [p for p in broken if p not in loops]

    def said(one: str, many: str, names: list[str], advice: str) -> str:
        return f"{one if len(names) == 1 else many}: {', '.join(names)}. {advice}"

    found = []
    if missing:
        found.append(
            said("File not found", "Files not found", missing, "Check the name and the folder.")
        )
    if dangling:
        found.append(
            said(
                "Link to a file that does not exist",
                "Links to files that do not exist",
                [_link_shown(p) for p in dangling],
                "Name the file itself, wherever it is now.",
            )
        )
    if loops:
        found.append(
            said(
                "Link that leads round in a loop, to no file",
                "Links that lead round in a loop, to no file",
                [_link_shown(p) for p in loops],
                "Name the file itself.",
            )
        )
    if folders:
        example = os.path.join(folders[0], "*")
        found.append(
            said(
                "Folder, not a file",
                "Folders, not files",
                folders,
                f"Name the files in {'it' if len(folders) == 1 else 'them'} "
                f"(for example {example}).",
            )
        )
    if others:
        found.append(
            said(
                "Not a regular file (a pipe or a device?)",
                "Not regular files (pipes or devices?)",
                others,
                "Save the requests to a file and name that.",
            )
        )
    return "\n".join(found)


def run_check(
    files: list[Path],
    inventory: Path,
    inventory_time: str | None,
    on_excess: str | None,
    allow_partial: bool | None,
    settings_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
    hashed: bool = True,
) -> int:
    """``hashed``: compute the files' sha256 (False when no summary will show it)."""
    # Excel's lock file (~$name.xlsx) sits beside a workbook open in Excel, and `check
    # folder/*` names it: it holds no requests, and read as a broken workbook it made the
    # check exit 1 and told the user to save it again. Left out and named, as run does.
    from removal_batch.workspace import is_excel_lock

    locks = [f for f in files if is_excel_lock(f)]
    files = [f for f in files if not is_excel_lock(f)]
    try:
        if not files:
            raise UsageError(
                "Only Excel lock files (~$...) were named, which hold no requests: nothing "
                "to check. Name the workbooks themselves."
            )
        settings = load_settings(settings_path).with_overrides(
            on_excess=on_excess, allow_partial=allow_partial or None
        )
        unusable = _not_files(files)
        if unusable:
            raise UsageError(unusable)
        if out_dir is not None:
            # Refused before anything is read: not once the batch is checked (exit 3).
            in_the_way = folder_in_the_way(out_dir)
            if in_the_way is not None:
                raise UsageError(
                    _not_a_folder(
                        "--out",
                        out_dir,
                        in_the_way,
                        "Give --out a new or empty folder; nothing was written.",
                    )
                )
            inside = workspace_holding(out_dir)
            if inside is not None:
                raise UsageError(
                    f"--out {printable(str(out_dir))} is inside the {inside.name}/ folder of "
                    f"the workspace {printable(str(inside.parent))}, where runs keep what "
                    "they issued and read: checking into it could replace a run's orders. "
                    "Give --out a folder outside the workspace's out/ and archive/; nothing "
                    "was written."
                )
            unwritable = folder_not_writable(out_dir)
            if unwritable is not None:
                raise UsageError(
                    f"--out {printable(str(out_dir))} cannot be written: you may not write "
                    f"in {printable(str(unwritable))}. Choose another folder; nothing was "
                    "written."
                )
            if out_dir.is_dir():
                previous_outputs(out_dir)
        # --json prints no progress and no table: the console is not even made.
        console = None if as_json else _console()
        progress, bar = (None, None) if console is None else _progress_console(console, len(files))
        try:
            result = run_batch(
                files, inventory, settings, inventory_time, progress=progress, hashed=hashed
            )
        finally:
            if bar is not None:
                bar.stop()
    except UsageError as exc:
        _print_error(str(exc))
        return EXIT_USAGE
    summary: str | None = None  # the JSON of summary.json, once written
    if out_dir is not None:
        try:
            summary = publish_into(result, out_dir)
        except UsageError as exc:  # the folder changed while the batch was checked
            _print_error(str(exc))
            return EXIT_USAGE
        except OSError as exc:
            from removal_batch.errorlog import write_error_log

            _print_error(
                f"the outputs could not be written to {out_dir} "
                f"({exc.strerror or exc}); nothing half-written was left there."
                + write_error_log(exc)
            )
            return EXIT_INTERNAL
    if as_json:
        from removal_batch.writers.summary import summary_json

        print_json(summary if summary is not None else summary_json(result))
    else:
        from removal_batch.writers.terminal import print_summary

        assert console is not None
        print_summary(result, console, out_dir)
    if locks:  # rich's console only when there is something to say (check --json)
        _tell_never_read(
            _console(stderr=True),
            [
                f"{printable(lock.name)} is the lock file Excel keeps beside a workbook it "
                "has open; it holds no requests."
                for lock in locks
            ],
        )
    return result.exit_code


def _progress_console(console: Console, total: int) -> tuple[ProgressHook | None, Any]:
    """A progress bar on an interactive terminal; nothing when output is piped or logged
    (SPEC 5: a bar while files are read when the terminal is interactive)."""
    if not console.is_terminal:
        return None, None
    from rich.markup import escape
    from rich.progress import Progress

    from removal_batch.writers.terminal import visible

    bar = Progress(console=console, transient=True)
    task = bar.add_task("reading", total=total)
    bar.start()

    def advance(name: str) -> None:
        # The bar's text is markup whatever the console says: a name's brackets escaped.
        bar.update(task, advance=1, description=f"reading {escape(visible(name))}")

    return advance, bar


def run_command(
    root: Path,
    inventory: Path | None,
    inventory_time: str | None,
    on_excess: str | None,
    allow_partial: bool | None,
    dry_run: bool,
    force: bool,
    wait: float,
    as_json: bool,
) -> int:
    from removal_batch.ledger import Ledger, LedgerError
    from removal_batch.run import PublishError, RunOptions, run_workspace
    from removal_batch.workspace import Workspace, WorkspaceBusy, discover_inputs, run_lock

    err = _console(stderr=True)
    console = _console(stderr=as_json)
    space = Workspace(root)
    try:
        if not space.exists():
            raise UsageError(not_a_workspace(root, "run"))
        for folder in (space.out, space.archive):
            # Found when the outputs were published: exit 3, after the whole batch.
            in_the_way = folder_in_the_way(folder)
            if in_the_way is not None:
                raise UsageError(
                    _not_a_folder(
                        f"The workspace's {folder.name} folder",
                        folder,
                        in_the_way,
                        "Move it aside; runs put what they write and read there.",
                    )
                )
        # A link to a moved file is a settings problem, not a workspace without settings:
        # its blocked addresses and dispositions would be dropped without a word.
        settings_path = space.settings_path
        settings_file = settings_path if os.path.lexists(settings_path) else None
        settings = load_settings(settings_file).with_overrides(
            on_excess=on_excess, allow_partial=allow_partial or None
        )
        options = RunOptions(inventory, inventory_time, dry_run, force)
        with run_lock(space, wait):
            ledger = Ledger(space.ledger_path)
            try:
                ready, _ = discover_inputs(space.inbox)
                progress, bar = (None, None) if as_json else _progress_console(console, len(ready))
                try:
                    outcome = run_workspace(space, settings, options, ledger, progress)
                except KeyboardInterrupt:
                    _tell_unfinished(space, ledger)
                    raise
                finally:
                    if bar is not None:
                        bar.stop()
            finally:
                ledger.close()
    except (UsageError, WorkspaceBusy, LedgerError) as exc:
        _print_error(str(exc))
        return EXIT_USAGE
    except PublishError as exc:
        # Exit 3: one line, and where the log with the system's own error is (SPEC 8).
        from removal_batch.errorlog import write_error_log

        _print_error(str(exc) + write_error_log(exc))
        return EXIT_INTERNAL
    for run_id in outcome.recovered:
        err.print(f"Finished run {run_id}, which had been interrupted.", highlight=False)
    for problem in outcome.not_archived:
        err.print(problem, style="yellow", highlight=False, markup=False)
    if outcome.result is None:
        if as_json:
            nothing = {"message": outcome.message, "not_read": outcome.never_read, "exit_code": 0}
            print_json(json.dumps(nothing))
        else:
            console.print(outcome.message)
        _tell_never_read(err, outcome.never_read)
        return 0
    result = outcome.result
    if as_json:
        from removal_batch.writers.summary import summary_json

        # summary.json's own text: built once (0.1 s for a million lines).
        print_json(
            outcome.summary if outcome.summary is not None else summary_json(result, dry_run)
        )
    else:
        from removal_batch.writers.terminal import print_summary

        print_summary(result, console, outcome.out_dir)
        if dry_run:
            console.print("Dry run: no orders written, nothing recorded, inbox untouched.")
    _tell_never_read(err, outcome.never_read)
    return result.exit_code


def _tell_unfinished(space: Workspace, ledger: Ledger) -> None:
    """After Ctrl-C or SIGTERM: a run stopped between publishing its orders and recording
    them is finished by the next run, which the user must know before uploading anything;
    one stopped after recording them has sent nothing twice, and its orders are whole."""
    from removal_batch.run import interrupted_runs, unarchived_runs

    with contextlib.suppress(Exception):  # the interruption is what is said, come what may
        for run_id in interrupted_runs(space, ledger):
            _print_error(
                f"run {run_id} was stopped after publishing its orders in "
                f"{space.out / run_id}, before recording them. The next removal-batch run "
                "records them (without writing them again) and archives their inputs."
            )
        for run_id in unarchived_runs(space, ledger):
            _print_error(
                f"run {run_id} was stopped after publishing and recording its orders in "
                f"{space.out / run_id}: they are ready to upload. Its input files are still "
                "in the inbox; the next removal-batch run moves them to the archive without "
                "processing them again."
            )


def _tell_never_read(err: Console, notes: list[str]) -> None:
    """Last, on stderr (--json keeps stdout to the summary): what the inbox holds that no
    run reads."""
    for note in notes:
        err.print(f"Not read: {note}", highlight=False, markup=False)


def not_a_workspace(root: Path, command: str) -> str:
    """Why ``root`` is no workspace, and what to run instead: "init" only where a
    workspace can be made (not on a file, not inside another workspace)."""
    from removal_batch.workspace import enclosing_workspace

    shown = printable(str(root))
    outer = enclosing_workspace(root)
    if outer is not None:
        return (
            f"{shown} is inside the workspace {printable(str(outer))}: give the workspace "
            f"itself, as in removal-batch {command} {shell_word(str(outer))}"
        )
    if root.exists() and not root.is_dir():
        return (
            f"{shown} is a file, not a workspace: give the workspace's folder (the one "
            "holding inbox/ and inventory/)."
        )
    return (
        f"{shown} is not a removal-batch workspace. Make one with: removal-batch init "
        f"{shell_word(str(root))}"
    )


def init_command(root: Path, samples: bool) -> int:
    from removal_batch.workspace import Workspace, enclosing_workspace, init_workspace

    in_the_way = folder_in_the_way(root)
    if in_the_way is not None:
        advice = "A workspace is a folder: give the name of a new or existing folder."
        _print_error(_not_a_folder("The workspace", root, in_the_way, advice))
        return EXIT_USAGE
    outer = enclosing_workspace(root)
    if outer is not None and not Workspace(root).exists():
        # Its folders would be inputs of the outer one's runs (an inbox/ in its inbox).
        _print_error(
            f"{printable(str(root))} is inside the workspace {printable(str(outer))}; a "
            "workspace in it would have its folders taken for that workspace's files. "
            "Choose a folder outside it."
        )
        return EXIT_USAGE
    real = _real_snapshots(Workspace(root)) if samples else []
    if real:
        # The samples' snapshot, copied in as new, would be the newest: the next run would
        # check the user's requests against it, and send the sample orders for real.
        _print_error(
            f"{printable(str(root))} is a workspace in use: its inventory folder holds "
            f"{printable(real[0].name)}. The sample files would be taken for real requests "
            "and a real snapshot. Make a separate workspace for them: removal-batch init "
            "OTHER-FOLDER --samples"
        )
        return EXIT_USAGE
    try:
        space = init_workspace(root, samples)
    except (FileExistsError, NotADirectoryError) as exc:
        # A file where one of its folders goes (inbox, ...).
        where = printable(str(exc.filename or root))
        _print_error(
            f"The workspace {printable(str(root))} could not be made: {where}: "
            f"{exc.strerror or exc}. Move that out of the way, or choose another folder."
        )
        return EXIT_USAGE
    except OSError as exc:
        # A folder not ours to write, a read-only disk, a full one: the place, not a bug.
        where = printable(str(exc.filename or root))
        _print_error(
            f"The workspace {printable(str(root))} could not be made: {where}: "
            f"{exc.strerror or exc}. Choose a folder you may write in, on a disk with room."
        )
        return EXIT_USAGE
    console = _console()
    console.print(f"Workspace ready: {space.root}", highlight=False, soft_wrap=True)
    console.print(f"  drop request files into   {space.inbox}", highlight=False, soft_wrap=True)
    console.print(f"  the inventory report into {space.inventory}", highlight=False, soft_wrap=True)
    console.print(
        f"  settings:                 {space.settings_path}", highlight=False, soft_wrap=True
    )
    console.print(
        f"Then run: removal-batch run {shell_word(str(root))}", highlight=False, soft_wrap=True
    )
    return 0


def _real_snapshots(space: Workspace) -> list[Path]:
    """Snapshots in the workspace's inventory folder other than the samples' own."""
    from removal_batch.workspace import is_candidate, samples_dir

    if not space.inventory.is_dir():
        return []
    samples = samples_dir()
    ours = {p.name for p in (samples / "inventory").iterdir()} if samples is not None else set()
    return sorted(p for p in space.inventory.iterdir() if is_candidate(p) and p.name not in ours)


def template_command(path: Path, force: bool = False, settings_path: Path | None = None) -> int:
    """``force``: replace a file of that name (it may be a workbook already filled in).
    ``settings_path``: the removal-batch.toml the filled workbook will be run with; its
    allowed dispositions are the ones the drop-down offers."""
    if path.suffix.lower() != ".xlsx":
        _print_error("the template is an .xlsx workbook.")
        return EXIT_USAGE
    try:
        settings = load_settings(settings_path)
    except UsageError as exc:
        _print_error(str(exc))
        return EXIT_USAGE
    shown = printable(str(path))
    # Refused, not overwritten: the name may be a workbook already filled in.
    if path.is_dir():
        _print_error(
            f"{shown} is a folder; name the workbook to write in it, such as "
            f"{shown}/removal-request.xlsx."
        )
        return EXIT_USAGE
    if os.path.lexists(path) and not force:
        _print_error(
            f"{shown} already exists; choose another name or delete it first (or give "
            "--force to replace it)."
        )
        return EXIT_USAGE
    in_the_way = folder_in_the_way(path.parent)
    if in_the_way is not None:
        _print_error(
            _not_a_folder("The workbook", path, in_the_way, "Choose another place for it.")
        )
        return EXIT_USAGE
    from removal_batch.writers.template import write_template

    try:
        write_template(path, settings)
    except OSError as exc:
        # A folder not ours to write, a full disk: the user's to fix, not a fault of ours.
        # The workbook is written to a temporary name and renamed: nothing is left at FILE.
        # A folder above it that could not be made is named; the temporary file is not.
        failed = exc.filename
        where = (
            f"{printable(str(failed))}: "
            if failed is not None and Path(failed).parent != path.parent
            else ""
        )
        _print_error(
            f"The template {shown} could not be written: {where}{exc.strerror or exc}. "
            "No workbook was written there."
        )
        return EXIT_USAGE
    _console().print(f"Template written: {path}", highlight=False)
    return 0


# After a run that processed nothing (exit 2: the workspace busy, no snapshot yet, a
# settings error) or failed (exit 3: a full disk, a read-only out folder), the files wait
# this long, then are tried again; twice as long after each failure in a row, up to
# WATCH_RETRY_MAX.
WATCH_RETRY_AFTER = 30.0
WATCH_RETRY_MAX = 600.0


def _watched_run(root: Path, wait: float) -> int:
    """One run for watch. An unexpected error ends that run (exit 3, one line and a log),
    not the watch: the files stay in the inbox and are tried again."""
    try:
        return run_command(root, None, None, None, None, False, False, wait, False)
    except Exception as exc:
        from removal_batch.errorlog import write_error_log

        where = write_error_log(exc)
        _print_error(f"internal error ({type(exc).__name__}: {exc}).{where}")
        return EXIT_INTERNAL


def watch_command(root: Path, poll: float, wait: float, max_runs: int | None) -> int:
    """Run whenever inbox files have settled: a file is taken once its size and modification
    time stayed the same over one poll and it is older than the settling time."""
    import gc
    import time

    from removal_batch.workspace import (
        Workspace,
        input_stat,
        is_broken_link,
        is_request_name,
        never_read,
        old_enough,
        open_for_writing,
    )

    gc.enable()  # one process, run after run: cycles must not pile up (see cli.entry)

    space = Workspace(root)
    console = _console()
    if not space.exists():
        _print_error(not_a_workspace(root, "watch"))
        return EXIT_USAGE
    console.print(f"Watching {space.inbox} (Ctrl-C to stop).", highlight=False)
    seen: dict[str, tuple[int, float, float]] = {}
    # Files a run has taken up, as they were then. One left in the inbox (unreadable, or a
    # name that is not UTF-8) is no reason to run again, and again, until it changes: its
    # size, time or status (a chmod, a rename: ctime).
    handled: dict[str, tuple[int, float, float]] = {}
    runs = 0
    told: set[str] = set()  # never-read entries named already (a run names them again)
    retry_at = 0.0
    failures = 0  # runs in a row that processed nothing or failed
    lost: str | None = None  # why the inbox cannot be read, while it cannot
    running = False  # a run is under way (a stop then stops it part-way)
    try:
        while max_runs is None or runs < max_runs:
            try:
                notes = never_read(space.inbox)
                current = {}
                for path in space.inbox.iterdir():
                    # A name no run reads (orders.txt~, notes.tmp) is named once in the
                    # notes above, and is no reason for a run that would find nothing.
                    if not is_request_name(path) and not is_broken_link(path):
                        continue
                    st = input_stat(path)
                    if st is not None:
                        current[path.name] = (st.st_size, st.st_mtime, st.st_ctime)
            except OSError as exc:
                # Renamed or deleted, a network drive gone, its permissions changed: said
                # once, and watched for until it is back (nothing in it was lost by us).
                if lost is None:
                    lost = exc.strerror or str(exc)
                    _print_error(
                        f"The inbox {space.inbox} cannot be read ({lost}). Waiting for it to "
                        "come back; Ctrl-C stops."
                    )
                seen = {}
                time.sleep(poll)
                continue
            if lost is not None:
                lost = None
                console.print(
                    f"The inbox {space.inbox} is back; watching it again.", highlight=False
                )
            _tell_never_read(console, [n for n in notes if n not in told])
            told = set(notes)
            handled = {n: sig for n, sig in handled.items() if current.get(n) == sig}
            # Unchanged over one poll, and not open for writing: a run leaves such a file
            # in the inbox, and watch would take it as handled, and wait for a change
            # that closing it does not make.
            settled = [
                n
                for n, sig in current.items()
                if seen.get(n) == sig and n not in handled and not open_for_writing(space.inbox / n)
            ]
            seen = current
            now = time.time()
            old = all(old_enough(current[n][1], now) for n in settled)
            if settled and old and now >= retry_at:
                running = True
                code = _watched_run(root, wait)
                running = False
                console.print(f"run finished with exit code {code}", highlight=False)
                runs += 1
                if code in (EXIT_USAGE, EXIT_INTERNAL):
                    # Nothing was processed, or nothing published (a full disk): the files
                    # are not set aside as handled, or they would wait for a change of their
                    # own that may never come. Freeing space changes nothing in the inbox.
                    pause = min(WATCH_RETRY_AFTER * 2**failures, WATCH_RETRY_MAX)
                    failures += 1
                    retry_at = time.time() + pause
                    what = "Nothing was processed" if code == EXIT_USAGE else "The run failed"
                    console.print(
                        f"{what}; the files stay in the inbox and are tried again in "
                        f"{pause:g} seconds.",
                        highlight=False,
                    )
                else:
                    failures = 0
                    # Only the settled files: the run surely took those (older than its
                    # settling time); one still being written stays a reason for the next run.
                    handled.update((n, current[n]) for n in settled)
                seen = {}
            time.sleep(poll)
    except KeyboardInterrupt:
        console.print("Stopped watching.")
        if running:
            # A run was stopped part-way: said as run says it, with its exit code (130,
            # 143), not as a quiet success to a service manager.
            raise
    return 0


# The last of the module's import: a signal drill holds a command here, in its imports
# (tests/test_signals.py).
checkpoint("app-imported")
