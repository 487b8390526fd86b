"""The command line: parse options, call the pipeline, print. Nothing else lives here.

Heavy libraries (pandas, pandera, openpyxl) are imported inside the commands so
that ``removal-batch --help`` answers at once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from removal_batch import __version__, prefetch
from removal_batch.readers import forerun

EXIT_USAGE, EXIT_INTERNAL = 2, 3
# As a shell reports a command ended by SIGINT or SIGTERM (128 + the signal's number).
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


def _internal_error(exc: BaseException) -> None:
    """Exit 3 with one line and the full trace in a log file, never a traceback on screen."""
    from removal_batch.errorlog import write_error_log

    where = write_error_log(exc)
    click.echo(f"removal-batch: internal error ({type(exc).__name__}: {exc}).{where}", err=True)
    sys.exit(EXIT_INTERNAL)


def _library_settings() -> None:
    """Defaults of numpy and Arrow that cost a batch time, changed before either is
    imported (a setting the user made is kept):

    - numpy's OpenBLAS starts a thread per core at import, which spins for a while: 0.1 s
      of a core at start-up, taken from the readers. Nothing here multiplies matrices.
    - numpy (for every array of 4 MB or more) and Arrow's allocator, mimalloc (for its
      1 GB arena, committed at once), ask the kernel for 2 MB pages. The kernel then
      zeroes, and may first compact, 2 MB at each first touch: perf put a quarter of a
      million-line check's CPU in clear_page_erms. System time of that check: 0.45-1.07 s
      with the requests, 0.27-0.47 s without."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")


def _streams_that_print_anything() -> None:
    """A console or pipe in a legacy encoding (Windows' cp1252 when the output is redirected
    to a file, a latin-1 locale) cannot carry a SKU in Chinese or an emoji: printing the
    table raised, and the batch ended as an internal error after it was checked. Such
    characters are shown as ? there instead; --json escapes them (app.print_json)."""
    from removal_batch.names import carries_any_text

    for stream in (sys.stdout, sys.stderr):
        if not carries_any_text(stream) and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="replace")


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a service manager stopping ``watch``), raised where
    the main thread is, so that it cleans up as after Ctrl-C. Left to its default, it
    ended the process on the spot: a workbook's reader, a child process, read on holding
    the command's stdout (``check … | jq`` waited for it), and staged outputs stayed."""


def _stop_on_sigterm() -> None:
    import signal

    def terminated(signum: int, frame: object) -> None:
        # A second SIGTERM, if the cleanup hangs, ends the process at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)


def _no_cycle_collection() -> None:
    """A command runs one batch and leaves: reference counting frees its tables as it goes,
    and what cycles remain go with the process. The cycle collector's passes over every
    object (pandas', pandera's, a workbook's cells) cost a million-line check 0.05 s and a
    100,000-line workbook 0.1 s; peak memory was the same without them. ``watch``, which
    stays, turns collection back on."""
    gc.disable()


def _refuse_unsupported_system() -> None:
    """On Windows a run needed fcntl's locks at its first step and failed there as an
    internal error about a missing module: said at once instead, with what to do."""
    if sys.platform == "win32":
        print(
            "removal-batch needs Linux or another POSIX system such as macOS: it relies on "
            "their file locks and on fork(). On Windows, install and run it inside WSL "
            "(Windows Subsystem for Linux).",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)


def entry() -> None:
    """The installed command: run ``main``, then leave without tearing the interpreter down.

    By the time a command returns, every output is closed, published and synced, the ledger
    closed and the lock released; what is left is freeing a big batch's objects one by one
    and unloading pandas, 0.2-0.3 s after a million-line check for nothing (mypy leaves
    the same way)."""
    _refuse_unsupported_system()
    _library_settings()  # before anything imports numpy or pyarrow
    _no_cycle_collection()
    _streams_that_print_anything()
    _stop_on_sigterm()
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message") prints the message and exits 1
            print(exc.code, file=sys.stderr)
            code = 1
    if sys.gettrace() is not None or sys.getprofile() is not None:
        # A profiler or coverage tool is watching: it reports at a normal exit.
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (| head) has nothing left to be told.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _inventory_time(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--inventory-time refused before anything is read or written: a time that is not one,
    or one no snapshot can have (in the future, before 2000; see core.snapshot_time)."""
    if value is None:
        return None
    import datetime as dt

    from removal_batch.core.snapshot_time import SnapshotTimeError, option_time

    try:
        option_time(value, dt.datetime.now(dt.UTC))
    except SnapshotTimeError as exc:
        raise click.UsageError(str(exc), ctx) from None
    return value


# time.sleep refuses more than about 292 years; a look at the inbox once a day is plenty.
MAX_POLL = 86_400.0


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """--wait and --poll: a number of seconds, 0 or more. click takes "nan" and "inf" as
    floats: a NaN wait never gave up on a busy workspace, and a NaN, infinite or negative
    poll failed inside time.sleep (exit 3)."""
    import math

    limit = MAX_POLL if param.name == "poll" else math.inf
    if not (math.isfinite(value) and 0 <= value <= limit):  # NaN fails every comparison
        wanted = "a number of seconds, 0 or more"
        if limit < math.inf:
            wanted += f" and at most {limit:,.0f} (a day)"
        raise click.BadParameter(f"{value:g} is not {wanted}, such as 5 or 0.5.", ctx, param)
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="removal-batch")
def main() -> None:
    """Check Amazon FBA removal-request files before upload, and write the orders."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--inventory",
    "inventory",
    required=True,
    type=click.Path(path_type=Path),
    help="The Manage FBA Inventory report to check quantities against.",
)
@click.option(
    "--inventory-time",
    default=None,
    callback=_inventory_time,
    help="When the snapshot was taken (ISO time).",
)
@click.option(
    "--on-excess",
    type=click.Choice(["reject", "cap"]),
    default=None,
    help="A line over what is available: reject it, or cap it to what is.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    default=None,
    help="Send the valid lines of an order that has errors.",
)
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(path_type=Path),
    default=None,
    help="A removal-batch.toml with settings.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the error reports, orders and summary.json here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def check(
    files: tuple[Path, ...],
    inventory: Path,
    inventory_time: str | None,
    on_excess: str | None,
    allow_partial: bool | None,
    settings_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Check FILES against the inventory snapshot, without a workspace or ledger."""
    # The files' sha256 is shown only in the summary (--out, --json): hashed only then.
    hashed = out_dir is not None or as_json
    # Before pandas is imported: the first workbook's reader starts at once (forked before
    # any thread exists), and the files are read (and hashed) on the idle core meanwhile.
    forerun.start(list(files))
    prefetch.start([inventory, *files], hashed=hashed)

    def check_files() -> int:
        from removal_batch.app import run_check

        return run_check(
            list(files),
            inventory=inventory,
            inventory_time=inventory_time,
            on_excess=on_excess,
            allow_partial=allow_partial,
            settings_path=settings_path,
            out_dir=out_dir,
            as_json=as_json,
            hashed=hashed,
        )

    try:
        _guarded(check_files)
    finally:
        forerun.clear()
        prefetch.clear()


def _guarded(action: Callable[[], int]) -> None:
    """Run a command: exit with its code; one line and a log for anything unexpected.
    ``action`` imports what the command needs itself: a signal during those imports (half
    a second of pandas) is a stop like any other, not click's "Aborted!" and exit 1, the
    code of a rejection."""
    try:
        code = action()
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        how = "stopped (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        click.echo(f"removal-batch: {how}; no output was left half-written.", err=True)
        sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
    except BaseException as exc:
        _internal_error(exc)
    sys.exit(code)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--samples", is_flag=True, help="Put the sample requests and snapshot in it.")
def init(directory: Path, samples: bool) -> None:
    """Make a workspace in DIRECTORY (inbox/, inventory/, out/, archive/, settings)."""

    def make() -> int:
        from removal_batch.app import init_command

        return init_command(directory, samples)

    _guarded(make)


@main.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "--inventory",
    type=click.Path(path_type=Path),
    default=None,
    help="Use this snapshot instead of the newest file in inventory/.",
)
@click.option(
    "--inventory-time",
    default=None,
    callback=_inventory_time,
    help="When the snapshot was taken (ISO time).",
)
@click.option(
    "--on-excess",
    type=click.Choice(["reject", "cap"]),
    default=None,
    help="A line over what is available: reject it, or cap it to what is.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    default=None,
    help="Send the valid lines of an order that has errors.",
)
@click.option(
    "--dry-run", is_flag=True, help="Check and report only: no orders, no ledger, inbox untouched."
)
@click.option("--force", is_flag=True, help="Process files whose content was processed before.")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    callback=_seconds,
    show_default=True,
    help="Seconds to wait for another run of this workspace to finish.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def run(
    directory: Path,
    inventory: Path | None,
    inventory_time: str | None,
    on_excess: str | None,
    allow_partial: bool | None,
    dry_run: bool,
    force: bool,
    wait: float,
    as_json: bool,
) -> None:
    """Process the files in DIRECTORY/inbox as one batch (DIRECTORY defaults to here)."""

    def process() -> int:
        from removal_batch.app import run_command

        return run_command(
            directory,
            inventory,
            inventory_time,
            on_excess,
            allow_partial,
            dry_run,
            force,
            wait,
            as_json,
        )

    _guarded(process)


@main.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "--poll",
    type=float,
    default=1.0,
    callback=_seconds,
    show_default=True,
    help="Seconds between looks at the inbox.",
)
@click.option(
    "--wait",
    type=float,
    default=60.0,
    callback=_seconds,
    show_default=True,
    help="Seconds each run waits for another run to finish.",
)
@click.option("--max-runs", type=int, default=None, hidden=True)
def watch(directory: Path, poll: float, wait: float, max_runs: int | None) -> None:
    """Run whenever new files have settled in DIRECTORY/inbox; Ctrl-C stops."""

    def keep_watching() -> int:
        try:
            from removal_batch.app import watch_command
        except KeyboardInterrupt:  # stopped before it began: as when stopped later
            click.echo("Stopped watching.")
            return 0
        return watch_command(directory, poll, wait, max_runs)

    _guarded(keep_watching)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option(
    "--settings",
    "settings_path",
    type=click.Path(path_type=Path),
    default=None,
    help="A removal-batch.toml whose allowed dispositions the drop-down offers.",
)
def template(file: Path, force: bool, settings_path: Path | None) -> None:
    """Write an empty request workbook (FILE.xlsx) to fill in."""

    def write() -> int:
        from removal_batch.app import template_command

        return template_command(file, force, settings_path)

    _guarded(write)
