"""The inventory snapshot: read as the report Seller Central gives, only its used columns."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from conftest import write_delimited

from removal_batch import pipeline
from removal_batch.core.inventory import looks_like_inventory_header, snapshot_columns
from removal_batch.core.settings import Settings
from removal_batch.pipeline import SnapshotLoad, UsageError, load_snapshot, run_batch
from removal_batch.readers import read_table

# The Manage FBA Inventory report's 21 columns, in its order: the benchmark's generator
# writes the same layout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from generate import INVENTORY_COLUMNS as REPORT_HEADER  # noqa: E402


def report_row(sku: str, sellable: str, unsellable: str, reserved: str = "0") -> list[str]:
    row = ["junk, not read"] * len(REPORT_HEADER)
    row[0], row[1], row[3] = sku, f"X{sku}", f"Product {sku}"
    row[10], row[11], row[12] = sellable, unsellable, reserved
    return row


def test_report_is_read_as_its_used_columns_with_their_positions(tmp_path: Path) -> None:
    path = write_delimited(
        tmp_path / "inv.txt", [REPORT_HEADER, report_row("00123", "5", "1")], sep="\t"
    )
    raw = read_table(path, looks_like_inventory_header, columns=snapshot_columns)
    # sku, fnsku, then columns K, L, M (positions 10-12).
    assert list(raw.cells.columns) == [0, 1, 10, 11, 12]
    assert raw.cells.loc[1, 10] == "5"


def test_an_invisible_character_does_not_hide_a_report_column(tmp_path: Path) -> None:
    header = list(REPORT_HEADER)
    header[0] = "\u200bsku"  # a zero-width space pasted along, as with a SKU
    header[10] = header[10].replace("-", "-\u00ad", 1)  # a soft hyphen
    path = write_delimited(tmp_path / "inv.txt", [header, report_row("00123", "5", "1")])
    snapshot, info = load_snapshot(path, Settings())
    assert info.skus == 1
    assert snapshot.frame.loc["00123", ["sellable", "unsellable"]].tolist() == [5, 1]


@pytest.mark.parametrize(
    "spelled",
    ["afn fulfillable quantity", "AFN_Fulfillable_Quantity", "afn - fulfillable  quantity"],
)
def test_a_report_column_is_found_however_its_words_are_joined(
    tmp_path: Path, spelled: str
) -> None:
    """Capitals and underscores were taken, spaces between the words were not: such a
    report stopped the run as one without the column (found by a read-through of the
    snapshot). Its words count, as the request's columns' do (SPEC 3.1)."""
    header = list(REPORT_HEADER)
    header[10] = spelled
    path = write_delimited(tmp_path / "inv.txt", [header, report_row("00123", "5", "1")])
    snapshot, info = load_snapshot(path, Settings())
    assert snapshot.frame.loc["00123", ["sellable", "unsellable"]].tolist() == [5, 1]


def test_quantities_blank_dashes_signs_and_decimals(tmp_path: Path) -> None:
    rows = [
        REPORT_HEADER,
        report_row("00123", "5", "--"),
        report_row("A-2", "", " 7 "),
        report_row("A-3", "+4", "2.0"),
        report_row("A-4", "0012", "-0"),
    ]
    snapshot, info = load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    frame = snapshot.frame
    assert info.skus == 4
    assert frame.loc["00123", ["sellable", "unsellable"]].tolist() == [5, 0]
    assert frame.loc["A-2", ["sellable", "unsellable"]].tolist() == [0, 7]
    assert frame.loc["A-3", ["sellable", "unsellable"]].tolist() == [4, 2]
    assert frame.loc["A-4", ["sellable", "unsellable"]].tolist() == [12, 0]
    assert frame.loc["00123", "fnsku"] == "X00123"


@pytest.mark.parametrize(
    ("rows_before", "at", "sep", "name"),
    [
        (1, 2, "\t", "inv.txt"),  # a small file: the csv module
        (150, 151, "\t", "inv.txt"),  # a large one, the row among the first 200 records
        (6000, 6001, "\t", "inv.txt"),  # a large one, the row further down
        (1, 2, ",", "inv.csv"),
    ],
)
def test_a_row_shifted_by_a_delimiter_in_a_value_stops_the_run(
    tmp_path: Path, rows_before: int, at: int, sep: str, name: str
) -> None:
    """A product name holding a tab (or a CSV name an unquoted comma) moves every value
    after it one column right: the report's afn-warehouse-quantity was read as the
    fulfillable units, and an over-request passed (review H2)."""
    rows = [REPORT_HEADER]
    rows += [report_row(f"A-{i}", "1", "0") for i in range(1, rows_before)]
    shifted = report_row("MAT", "5", "0")
    shifted[3:4] = ["Yoga Mat", "6mm"]  # the name's tab: one value more
    rows += [shifted, report_row("LAST", "1", "0")]
    rows = [[cell.replace(",", "") for cell in row] for row in rows]  # no other comma
    path = write_delimited(tmp_path / name, rows, sep=sep)
    with pytest.raises(UsageError) as caught:
        load_snapshot(path, Settings())
    assert f"Row {at:,} has values to the right of column U, the last column with a header" in (
        str(caught.value)
    )
    mark = "tab" if sep == "\t" else "comma"
    assert f"remove the extra {mark} from the row" in str(caught.value)


@pytest.mark.parametrize("rows_before", [1, 150, 6000])
def test_a_shifted_row_whose_last_value_is_blank_stops_the_run(
    tmp_path: Path, rows_before: int
) -> None:
    """The report's last columns (future supply, store) are often blank: a name's tab then
    leaves nothing past the header, only one cell more than the header row has. Read as
    it stood, afn-warehouse-quantity (12) was taken for the fulfillable units (5)."""
    header = REPORT_HEADER
    rows = [header] + [report_row(f"A-{i}", "1", "0") for i in range(1, rows_before)]
    shifted = report_row("MAT", "5", "0")
    shifted[9], shifted[-1] = "12", ""
    shifted[3:4] = ["Yoga Mat", "6mm"]
    rows += [shifted, report_row("LAST", "1", "0")]
    path = write_delimited(tmp_path / "inv.txt", rows, sep="\t")
    with pytest.raises(UsageError) as caught:
        load_snapshot(path, Settings())
    assert (
        f"Row {rows_before + 1:,} has more cells than the header row ({len(header)}): a "
        "value in the row holds a tab, so the values after it moved one column to the right"
    ) in str(caught.value)


@pytest.mark.parametrize("rows", [2, 300])
def test_rows_padded_alike_are_no_shift(tmp_path: Path, rows: int) -> None:
    """Trailing delimiters a program writes on every row but the header's leave nothing
    past the header and are the rows' common width: no row is shifted."""
    body = [report_row(f"A-{i}", "5", "1") + ["", ""] for i in range(rows)]
    path = write_delimited(tmp_path / "inv.txt", [REPORT_HEADER, *body])
    snapshot, info = load_snapshot(path, Settings())
    assert info.skus == rows
    assert snapshot.frame.loc["A-1", ["sellable", "unsellable"]].tolist() == [5, 1]


def test_a_header_without_rows_stops_the_run(tmp_path: Path) -> None:
    """A report downloaded before it was ready: every request would be sku-unknown and
    its file archived as processed, skipped when dropped again (review H2)."""
    path = write_delimited(tmp_path / "inv.txt", [REPORT_HEADER, [""] * len(REPORT_HEADER)])
    with pytest.raises(UsageError) as caught:
        load_snapshot(path, Settings())
    assert str(caught.value) == (
        "Inventory snapshot inv.txt has a header but no SKU rows. Download the Manage FBA "
        "Inventory report again from Seller Central."
    )


def test_a_used_column_twice_stops_the_run(tmp_path: Path) -> None:
    """afn-fulfillable-quantity and afn_fulfillable_quantity mean one thing: the first
    was used and the other's (smaller) units ignored without a word (review H2)."""
    header = ["sku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]
    rows = [header + ["AFN_Fulfillable_Quantity"], ["A1", "50", "0", "5"]]
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert str(caught.value) == (
        "Inventory snapshot inv.txt: the column afn-fulfillable-quantity appears more than "
        "once in the header, so which one holds the right values is unclear. Delete the "
        "extra column, or download the report again."
    )


def test_a_workbook_of_several_reports_stops_the_run(tmp_path: Path) -> None:
    """Two days' reports as two sheets: the first sheet was used without a word, though
    the current one said 5 units and not 50 (review H2). One report sheet beside a sheet
    of notes is read as before."""
    import openpyxl

    header = ["sku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]
    book = openpyxl.Workbook()
    older = book.active
    older.title = "2026-11-20"
    for row in (header, ["A1", 50, 0]):
        older.append(row)
    notes = book.create_sheet("Notes")
    notes.append(["downloaded by Sam"])
    book.save(tmp_path / "one.xlsx")
    snapshot, _ = load_snapshot(tmp_path / "one.xlsx", Settings())
    assert snapshot.frame.loc["A1", "sellable"] == 50
    current = book.create_sheet("2026-11-27")
    for row in (header, ["A1", 5, 0]):
        current.append(row)
    book.save(tmp_path / "two.xlsx")
    with pytest.raises(UsageError) as caught:
        load_snapshot(tmp_path / "two.xlsx", Settings())
    assert str(caught.value) == (
        "Inventory snapshot two.xlsx: the sheets '2026-11-20', '2026-11-27' each hold an "
        "inventory report, so which one is current is unclear. Keep only the current report "
        "in the workbook, or save it as a file of its own."
    )


def test_negative_quantity_names_its_row_and_column(tmp_path: Path) -> None:
    rows = [REPORT_HEADER, report_row("A-1", "5", "1"), report_row("A-2", "3", "-2")]
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert "row 3 afn-unsellable-quantity '-2'" in str(caught.value)


def test_a_stray_quote_in_an_unread_column_of_a_csv_report_stops_the_run(
    tmp_path: Path,
) -> None:
    # product-name is not read (the reader keeps the used columns only), but its quote
    # mark still swallows the SKUs below it, which would be "not in the snapshot".
    rows = [REPORT_HEADER, *[report_row(f"A-{i}", "5", "1") for i in range(1, 4)]]
    rows[1:] = [["junk" if c == "junk, not read" else c for c in row] for row in rows[1:]]
    rows[1][3] = '"Deluxe bowl, 12 in'
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.csv", rows, sep=","), Settings())
    assert "starts the cell at row 2, column D" in str(caught.value)
    assert "so lines 3-4 were not read as rows" in str(caught.value)


def test_empty_lines_keep_row_numbers_in_messages(tmp_path: Path) -> None:
    # An empty line sends the file past the fast reader; rows must still be the editor's.
    rows = [REPORT_HEADER, report_row("A-1", "5", "1"), [""], report_row("A-1", "3", "2")]
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert "SKU 'A-1' is listed more than once (rows 2, 4)" in str(caught.value)


def test_blank_rows_are_neither_skus_nor_repeats(tmp_path: Path) -> None:
    """SKUs are counted before blank rows are dropped: a blank row (blank in every column
    used, whatever the others hold) is no SKU, and two of them are no repeated SKU."""
    blank = report_row("", "", "", "")
    blank[1] = ""
    rows = [REPORT_HEADER, report_row("A-1", "5", "1"), blank, report_row("A-2", "3", "2"), blank]
    snapshot, info = load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert info.skus == 2
    assert snapshot.frame.index.tolist() == ["A-1", "A-2"]


def test_a_bad_quantity_is_named_before_a_repeated_sku(tmp_path: Path) -> None:
    """Both problems in one report: the quantity is reported, as it was before the SKU count
    ran beside the validation, and the count's thread does not outlive the load."""
    import threading

    rows = [REPORT_HEADER, report_row("A-1", "5", "x"), report_row("A-1", "3", "2")]
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert "row 2 afn-unsellable-quantity 'x'" in str(caught.value)
    assert "more than once" not in str(caught.value)
    assert not [t for t in threading.enumerate() if t.name.startswith("sku-count")]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    header = [h for h in REPORT_HEADER if h != "afn-unsellable-quantity"]
    rows = [header, ["A-1"] + ["1"] * (len(header) - 1)]
    with pytest.raises(UsageError) as caught:
        load_snapshot(write_delimited(tmp_path / "inv.txt", rows), Settings())
    assert "afn-unsellable-quantity" in str(caught.value)
    assert "missing" in str(caught.value)
    # The first row's names, whole, and how many more: cut at 300 characters, the last
    # one read "afn-inbou" (found by a read-through of the messages).
    said = str(caught.value)
    listed = said.split("(the first row holds: ", 1)[1].split(")", 1)[0]
    *names, last = listed.split(", ")
    assert all(name in header for name in names)
    assert last.split(" and ")[0] in header and last.endswith(" more")


def test_a_snapshot_found_bad_on_its_thread_stops_the_batch_before_the_next_file(
    tmp_path: Path,
) -> None:
    """The snapshot loads on a second thread while the inputs are read; once it has failed,
    no further input is read and its own message is what the user gets."""
    rows = [REPORT_HEADER, report_row("A-1", "5", "1"), report_row("A-2", "3", "-2")]
    load = SnapshotLoad.start(write_delimited(tmp_path / "inv.txt", rows), Settings())
    with pytest.raises(UsageError):
        load.result()  # the thread has finished, with its error
    requests = [write_delimited(tmp_path / f"r{i}.txt", [["sku"], ["A-1"]]) for i in range(3)]
    read: list[str] = []
    with pytest.raises(UsageError) as caught:
        run_batch(requests, tmp_path / "inv.txt", Settings(), progress=read.append, loaded=load)
    assert "afn-unsellable-quantity '-2'" in str(caught.value)
    assert read == []


def test_a_snapshot_that_fails_while_orders_are_decided_stops_the_batch(
    tmp_path: Path,
) -> None:
    """The decision groups and checks orders before the snapshot is there; a snapshot that
    fails only then still ends the batch with its own error, not with a decision. The
    ledger's units are asked for on the calling thread (its connection belongs there)."""
    import threading
    from concurrent.futures import Future

    header = [
        "MerchantRemovalOrderID",
        "RemovalDisposition",
        "MerchantSKU",
        "SellableQuantity",
        "UnsellableQuantity",
    ]
    requests = [write_delimited(tmp_path / "r.txt", [header, ["D1", "Disposal", "A-1", "1", "0"]])]
    future: Future[tuple[object, object]] = Future()
    failing = threading.Timer(
        0.3, lambda: future.set_exception(UsageError("Inventory snapshot inv.txt: bad"))
    )
    failing.start()
    asked: list[str] = []
    with pytest.raises(UsageError, match="inv.txt: bad"):
        run_batch(
            requests,
            tmp_path / "inv.txt",
            Settings(),
            loaded=SnapshotLoad(future),  # type: ignore[arg-type]
            taken=lambda info: asked.append(threading.current_thread().name),  # type: ignore[arg-type,return-value]
        )
    failing.join()
    assert asked == []

    # Loaded in time, the same batch is decided, its ledger units asked for on this thread.
    rows = [REPORT_HEADER, report_row("A-1", "5", "1")]
    load = SnapshotLoad.start(write_delimited(tmp_path / "inv.txt", rows), Settings())
    result = run_batch(
        requests,
        tmp_path / "inv.txt",
        Settings(),
        loaded=load,
        taken=lambda info: asked.append(threading.current_thread().name),  # type: ignore[arg-type,return-value]
    )
    assert asked == [threading.current_thread().name]
    assert [f.status for f in result.files] == ["accepted"]


def test_a_missing_snapshot_is_reported_before_any_thread_starts(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        SnapshotLoad.start(tmp_path / "nowhere.txt", Settings())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_fork_waits_for_a_snapshot_still_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child forked while the loading thread is inside Arrow inherits Arrow's locks as
    they were and can wait on them for ever; so a fork (a workbook's reader) waits until
    the load is over."""
    real_load = pipeline.load_snapshot

    def slow_load(*args: object) -> object:
        time.sleep(0.5)
        return real_load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "load_snapshot", slow_load)
    rows = [REPORT_HEADER, report_row("A-1", "5", "1")]
    load = SnapshotLoad.start(write_delimited(tmp_path / "inv.txt", rows), Settings())
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert load.done()
    assert load.result()[1].skus == 1


def test_pandera_waits_for_the_first_schema(tmp_path: Path) -> None:
    """Starting the program does not import pandera (a quarter of a second): the first
    schema loaded does, usually on the snapshot's thread while the requests are read.
    Threads needing pandera at once, by different entries (a schema, the error class), all
    get it whole, every check registered (without one lock around the import, pandera's
    modules taken in different orders at once ended in a _DeadlockError)."""
    import subprocess

    script = """
import sys, threading
import removal_batch.app, removal_batch.pipeline, removal_batch.cli
assert "pandera" not in sys.modules, "pandera imported at start"
from removal_batch.core import schema
ready = threading.Barrier(3)
loaded = {}
def load(name):
    ready.wait()
    loaded[name] = schema.schema_errors() if name == "errors" else schema._load(name)
names = ("request", "inventory", "errors")
threads = [threading.Thread(target=load, args=(n,)) for n in names]
for t in threads: t.start()
for t in threads: t.join()
from pandera.api.checks import Check
assert sorted(loaded) == sorted(names), loaded
assert hasattr(Check, "state_for_country") and hasattr(Check, "sku_present")
print("ok")
"""
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_snapshot_saved_as_a_workbook_is_read_like_the_report(tmp_path: Path) -> None:
    """The report saved from Excel as .xlsx: its workbook's child process is started by
    the main thread before the snapshot's thread (started from that thread, the fork
    waited for the thread's own work and the command hung). A workbook request is read
    beside it. The orders are those of the same report as text."""
    import json
    import subprocess

    import openpyxl

    samples = Path(__file__).resolve().parents[1] / "sample_files"
    text_report = samples / "inventory" / "fba-inventory-2026-11-20.txt"
    book = openpyxl.Workbook()
    for line in text_report.read_text(encoding="utf-8").splitlines():
        book.active.append(line.split("\t"))
    book.save(tmp_path / "inventory.xlsx")
    inputs = [str(p) for p in sorted((samples / "inbox").iterdir())]
    orders = {}
    for report in (tmp_path / "inventory.xlsx", text_report):
        done = subprocess.run(
            [sys.executable, "-m", "removal_batch", "check", *inputs, "--inventory", str(report)]
            + ["--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
        orders[report.suffix] = json.loads(done.stdout)["orders"]
    assert orders[".xlsx"] == orders[".txt"] and len(orders[".txt"]) == 6


def test_a_request_file_where_the_snapshot_should_be_says_so(tmp_path: Path) -> None:
    """The newest file in inventory/ was a request: 'download the report again' sent the
    user away from the real mistake (review H6)."""
    from conftest import RETURN_ADDRESS, request_rows

    row = {"MerchantRemovalOrderID": "R1", **RETURN_ADDRESS, "MerchantSKU": "00123"}
    path = write_delimited(tmp_path / "requests.txt", request_rows([row]))
    with pytest.raises(UsageError) as caught:
        load_snapshot(path, Settings())
    assert str(caught.value).startswith(
        "Inventory snapshot requests.txt is a removal request file, not an inventory report. "
        "Move it into the inbox"
    )
