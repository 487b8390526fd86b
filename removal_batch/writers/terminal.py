"""What a person sees in the terminal: a table per input, the orders, where the reports are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from removal_batch.core.codes import CODES
from removal_batch.core.problems import SEVERITY_RANK
from removal_batch.core.wording import counted, is_are, rows_said

if TYPE_CHECKING:
    from removal_batch.pipeline import BatchResult

SHOWN_ERRORS = 5
SHOWN_FILES = 50
SHOWN_ORDERS = 10
STATUS_STYLE = {"accepted": "green", "partial": "yellow", "rejected": "red", "skipped": "dim"}


# Control characters as escapes: C0 (tab and newline included: a cell's newline must
# not start a line that looks like the tool's own), DEL and C1.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS_BUT_NEWLINE = {c: e for c, e in _CONTROLS.items() if c != 0x0A}


def visible(text: str, newlines: bool = False) -> str:
    """``text`` fit for a terminal: a name or cell can hold control characters (an ESC
    starts a sequence that recolours, moves the cursor or erases lines, and could hide a
    rejection); they are shown as \\x1b and the like. ``newlines``: keep line breaks (in
    a message of our own that lists things line by line)."""
    return text.translate(_CONTROLS_BUT_NEWLINE if newlines else _CONTROLS)


# From this many lines, a batch whose SKUs are mostly unknown points at the snapshot.
WRONG_SNAPSHOT_LINES = 20


def _say_if_the_snapshot_looks_wrong(result: BatchResult, console: Console) -> None:
    """One sentence instead of a screen of sku-unknown: when most of the batch's lines
    name SKUs the snapshot lacks, the snapshot is the likelier mistake (another seller
    account's, or an old one)."""
    rows = sum(f.rows for f in result.files)
    unknown = sum(f.counts_by_code().get("sku-unknown", 0) for f in result.files)
    if unknown >= WRONG_SNAPSHOT_LINES and 2 * unknown > rows:
        console.print(
            Text(
                visible(
                    f"  Most lines ({unknown:,} of {rows:,}) name SKUs that the inventory "
                    f"snapshot {result.snapshot.file} does not list: check that it is this "
                    "seller account's latest Manage FBA Inventory report."
                ),
                style="bold",
            )
        )


# From this age on, the snapshot line says what an old snapshot does not know.
STALE_SNAPSHOT = dt.timedelta(days=2)
TIME_SOURCES = {
    "--inventory-time": "as given by --inventory-time",
    "snapshot-date": "the report's snapshot-date",
    "modified": "the file's modification time",
    "earlier-run": "the time an earlier run took for this same report",
}


def snapshot_line(result: BatchResult) -> tuple[str, bool]:
    """Which snapshot the batch was checked against, and how old it is: with several in
    inventory/, or a report downloaded last week, this is the line to read first. And
    whether it is old enough to say so."""
    info = result.snapshot
    when = dt.datetime.fromisoformat(info.snapshot_time).astimezone(dt.UTC)
    age = dt.datetime.fromisoformat(result.started) - when
    if age < dt.timedelta(0):
        old = "after this run started"
    elif age < dt.timedelta(hours=1):
        old = f"{counted(int(age.total_seconds() // 60), 'minute')} before this run"
    elif age < dt.timedelta(days=2):
        old = f"{counted(int(age.total_seconds() // 3600), 'hour')} before this run"
    else:
        old = f"{counted(age.days, 'day')} before this run"
    line = (
        f"Checked against inventory snapshot {info.file} ({counted(info.skus, 'SKU')}), "
        f"as of {when:%Y-%m-%d %H:%M} UTC ({TIME_SOURCES.get(info.snapshot_time_from, '?')}), "
        f"{old}."
    )
    if info.known_since:
        earlier = dt.datetime.fromisoformat(info.known_since).astimezone(dt.UTC)
        line += (
            f" An earlier run used this same report at {earlier:%Y-%m-%d %H:%M} UTC: the "
            "orders issued between then and the time given are not deducted. If the report "
            "is older than that run, run again without --inventory-time."
        )
    stale = age >= STALE_SNAPSHOT
    if stale:
        # Units sold since are still counted as available: an order may ask for more than
        # the warehouse holds now, and Amazon then removes fewer or refuses it.
        line += (
            " Units sold since then still count as available: if stock has moved, download "
            "a fresh Manage FBA Inventory report."
        )
    return line, stale or bool(info.known_since)


def hidden_sheet_line(name: str, sheet: str) -> str:
    """A hidden "Removal Request" sheet is the one read (SPEC 3.1), out of the user's sight."""
    return (
        f"{name}: sheet '{sheet}', which is hidden in the workbook, was read: a sheet of that "
        "name always is. If it holds old requests, delete or rename it."
    )


def other_sheets_line(name: str, read: str, others: list[str]) -> str:
    """One sheet of a workbook is read; other sheets of requests would go unsent."""
    listed = ", ".join(f"'{s}'" for s in others)
    sheets = "sheet" if len(others) == 1 else "sheets"
    return (
        f"{name}: only sheet '{read}' was read; {sheets} {listed} also "
        f"{'holds' if len(others) == 1 else 'hold'} a request table, which was not checked "
        "or sent. Move those rows into one sheet, or save each sheet as a file of its own."
    )


def hidden_rows_line(name: str, rows: list[int]) -> str:
    """Rows a workbook hides are sent like the others: a user may have hidden the ones
    already sent, or filtered the sheet to look at some, and not expect it."""
    return (
        f"{name}: {rows_said(rows)} {is_are(len(rows))} hidden in the workbook "
        f"(by hand or by a filter), and {'was' if len(rows) == 1 else 'were'} checked like "
        "every other row. Delete from the file any row that must not be sent."
    )


def hidden_columns_line(name: str, columns: dict[str, str]) -> str:
    """A column the workbook hides is read like the others: quantities or an address no
    one looking at the sheet can see would be sent."""
    said = ", ".join(f"{letter} ({field})" for letter, field in sorted(columns.items()))
    one = len(columns) == 1
    return (
        f"{name}: column{'' if one else 's'} {said} {'is' if one else 'are'} hidden in the "
        f"workbook, and {'was' if one else 'were'} read like every other column. Unhide "
        f"{'it' if one else 'them'} to see what was sent."
    )


def print_summary(result: BatchResult, console: Console, out_dir: Path | None) -> None:
    """Every text that comes from the user's files (names, cells, messages quoting them)
    goes out as rich Text, never through rich's markup: a file named '[bold]x.txt' would
    lose its brackets, and a cell holding '[/b]' made rich fail (exit 3, after the run).
    And through ``visible``: control characters are shown, not sent to the terminal."""
    table = Table(title=f"removal-batch {result.run_id}", title_justify="left")
    for name, justify in (
        ("file", "left"),
        ("rows", "right"),
        ("accepted", "right"),
        ("rejected", "right"),
        ("status", "left"),
        ("top problems", "left"),
    ):
        # A long name folds onto more lines rather than losing its end to an ellipsis:
        # "returns-batch-2026-1…" does not say which file it is.
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    files = result.files
    # A thousand rows scroll everything else away: past SHOWN_FILES, the files with
    # problems are listed (in name order) and the clean ones counted.
    shown = files
    if len(files) > SHOWN_FILES:
        troubled = [i for i, f in enumerate(files) if f.status != "accepted" or len(f.problems)]
        noted = set(troubled)
        clean = [i for i in range(len(files)) if i not in noted]
        chosen = sorted((troubled + clean)[:SHOWN_FILES])
        shown = [files[i] for i in chosen]
    for f in shown:
        # Worst first: errors before warnings; "order-held" (info) only follows from them.
        counts = sorted(
            f.counts_by_code().items(),
            key=lambda kv: (SEVERITY_RANK.get(str(CODES[kv[0]].severity), 9), -kv[1], kv[0]),
        )
        top = ", ".join(f"{code} x{n}" for code, n in counts[:3])
        style = STATUS_STYLE.get(f.status, "")
        table.add_row(
            Text(visible(f.name)),
            str(f.rows),
            str(f.accepted),
            str(f.rejected),
            Text(f.status, style=style),
            Text(top),
        )
    console.print(table)
    said, warn = snapshot_line(result)
    console.print(Text(visible(said), style="yellow" if warn else ""))
    for f in files:
        if f.sheet_hidden:
            console.print(Text(visible(hidden_sheet_line(f.name, f.sheet)), style="yellow"))
        if f.other_request_sheets:
            said = other_sheets_line(f.name, f.sheet, f.other_request_sheets)
            console.print(Text(visible(said), style="yellow"))
        if f.hidden_rows:
            console.print(Text(visible(hidden_rows_line(f.name, f.hidden_rows)), style="yellow"))
        if f.hidden_columns:
            said = hidden_columns_line(f.name, f.hidden_columns)
            console.print(Text(visible(said), style="yellow"))
    # Without --out nothing is written: the rest is pointed at where it will be.
    see = "see summary.json" if out_dir is not None else "run with --out DIR to see them all"
    if len(shown) < len(files):
        in_table = {id(f) for f in shown}
        rest = [f for f in files if id(f) not in in_table]
        by_status = {s: sum(1 for f in rest if f.status == s) for s in STATUS_STYLE}
        by = ", ".join(f"{n} {s}" for s, n in by_status.items() if n)
        console.print(f"  ... and {counted(len(rest), 'more file')}: {by} ({see}).")
    orders = result.decision.orders
    if len(orders):
        console.print(
            f"{counted(len(orders), 'order')} ready: "
            f"{counted(int(orders['lines'].sum()), 'line')}, "
            f"{int(orders['sellable_units'].sum()):,} sellable and "
            f"{counted(int(orders['unsellable_units'].sum()), 'unsellable unit')}."
        )
        for rec in orders.head(SHOWN_ORDERS).to_dict("records"):
            console.print(
                Text(
                    visible(
                        f"  {rec['order_id']}  {rec['disposition']}  "
                        f"{counted(rec['lines'], 'line')}, "
                        f"{rec['sellable_units']:,} sellable + {rec['unsellable_units']:,} "
                        f"unsellable, from {rec['source_file']}"
                    )
                )
            )
        if len(orders) > SHOWN_ORDERS:
            console.print(f"  ... and {len(orders) - SHOWN_ORDERS} more ({see}).")
    else:
        console.print("No orders ready.")
    problems = result.problems
    if len(problems):
        severe = problems[problems["severity"].isin(["fatal", "error"])]
        for rec in severe.head(SHOWN_ERRORS).to_dict("records"):
            place = rec["file"]
            if rec.get("sheet"):  # a workbook's: Excel shows the first sheet, maybe another
                place += f" sheet '{rec['sheet']}'"
            if rec["row"] is not None and str(rec["row"]) != "<NA>":
                place += f" row {rec['row']}"
            if rec["column"]:
                place += f" column {rec['column']}"
            console.print(
                Text.assemble("  ", (rec["code"], "red"), visible(f" {place}: {rec['message']}"))
            )
        if len(severe) > SHOWN_ERRORS:
            where = "in the error reports" if out_dir is not None else "(run with --out DIR)"
            console.print(f"  ... and {len(severe) - SHOWN_ERRORS} more {where}.")
        _say_if_the_snapshot_looks_wrong(result, console)
        warnings = problems[problems["severity"].eq("warning")]
        if len(warnings):
            listed = ", ".join(f"{c} x{n}" for c, n in warnings["code"].value_counts().items())
            console.print(
                Text.assemble(
                    "  ",
                    (counted(len(warnings), "warning"), "yellow"),
                    f", worth a look: {listed}",
                )
            )
    if out_dir is not None:
        # A dry run writes the reports only: "and orders" sent people looking for them.
        what = "Reports and orders" if (out_dir / "orders").is_dir() else "Reports"
        console.print(Text(visible(f"{what}: {out_dir}")))
    elif len(problems):
        console.print("Run with --out DIR to write the error reports.")
