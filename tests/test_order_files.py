"""Order and upload files: values that a tab-delimited reader could misread."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import INVENTORY_HEADER, RETURN_ADDRESS, request_rows, write_delimited
from invariants import check_written_outputs, read_back
from workspace_helpers import HEADER, age, cli, make_workspace, published_orders

import removal_batch.writers.order_files as order_files
from removal_batch.app import write_outputs
from removal_batch.core.fields import ORDER_FIELDS
from removal_batch.core.raw_table import TEXT
from removal_batch.core.settings import Settings
from removal_batch.pipeline import load_snapshot, run_batch


def test_values_with_quotes_tabs_and_breaks_read_back_as_sent(tmp_path: Path) -> None:
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [INVENTORY_HEADER, ["Q1", "X1", "B1", "Quoted", "5", "0", "0"]],
    )
    row = {
        **RETURN_ADDRESS,
        "MerchantRemovalOrderID": "R1",
        # As Excel writes a cell holding "Acme" Returns, and one with a quote inside.
        "AddressName": '"""Acme"" Returns"',
        "AddressFieldOne": '12" Dock St',
        "ShippingNotes": '"Fragile\tlabel"',  # a quoted tab: written as a space
        "MerchantSKU": "Q1",
        "SellableQuantity": "2",
    }
    request = write_delimited(tmp_path / "r.txt", request_rows([row]))
    result = run_batch([request], inventory, Settings())
    assert result.exit_code == 0, result.problems[["code", "message"]].to_string()
    out = tmp_path / "out"
    write_outputs(result, out)
    snapshot, _ = load_snapshot(inventory, Settings())
    check_written_outputs(
        out, result.decision.lines, result.decision.orders, snapshot.frame, 10_000
    )
    for path in [out / "orders" / "R1.txt", *sorted((out / "upload").glob("*.txt"))]:
        rows = read_back(path)
        assert rows["AddressName"].tolist() == ['"Acme" Returns']
        assert rows["AddressFieldOne"].tolist() == ['12" Dock St']
        assert rows["ShippingNotes"].tolist() == ["Fragile label"]
        assert rows["MerchantSKU"].tolist() == ["Q1"]


def test_a_sku_starting_with_a_double_quote_is_refused(tmp_path: Path) -> None:
    """Written as Excel writes it (quoted, its quote doubled), a reader that ignores quotes
    sees another SKU; written bare, one that honours them opens a quoted value. Amazon's
    reading is not known: such a SKU is refused, even where the snapshot lists it."""
    inventory = write_delimited(
        tmp_path / "inventory.txt",
        [INVENTORY_HEADER, ['"Q1', "X1", "B1", "Quoted", "5", "0", "0"]],
    )
    row = {"MerchantRemovalOrderID": "D1", "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": '"""Q1"', "SellableQuantity": "2"}
    request = write_delimited(tmp_path / "r.txt", request_rows([row]))
    result = run_batch([request], inventory, Settings())
    refused = result.problems[result.problems["code"].eq("sku-unknown")]
    assert refused["message"].tolist() == [
        "SKU '\"Q1' starts with a double quote, which the upload file cannot carry as it is: "
        "Amazon may read it as the start of a quoted value, and so as another SKU. Remove this "
        "line from the file and remove the units of this SKU in Seller Central."
    ]
    assert result.decision.orders.empty


@pytest.mark.parametrize(
    "mark", ["\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029", "\x1f", "\x07"]
)
def test_every_kind_of_line_break_in_a_value_is_written_as_a_space(
    tmp_path: Path, inventory: Path, mark: str
) -> None:
    """A vertical tab, form feed, NEL or line separator pasted into a note splits the row
    for a reader that takes it for a line break (Python's splitlines, Unicode-aware
    tools): the upload file's row would be cut in two."""
    row = {
        **RETURN_ADDRESS,
        "MerchantRemovalOrderID": "R1",
        "AddressFieldTwo": f"Suite 4{mark}Bay 2",
        "ShippingNotes": f"Call first{mark}{mark}fragile",
        "MerchantSKU": "SKU-4",
        "SellableQuantity": "1",
    }
    request = write_delimited(tmp_path / "r.txt", request_rows([row]))
    result = run_batch([request], inventory, Settings())
    assert result.exit_code == 0, result.problems[["code", "message"]].to_string()
    write_outputs(result, tmp_path / "out")
    (upload,) = (tmp_path / "out" / "upload").glob("*.txt")
    for path in (upload, tmp_path / "out" / "orders" / "R1.txt"):
        text = path.read_text(encoding="utf-8")
        assert mark not in text
        assert "Suite 4 Bay 2" in text and "Call first fragile" in text
    assert len(upload.read_text(encoding="utf-8").splitlines()) == 2


def test_columns_in_several_arrow_chunks_are_written_whole(tmp_path: Path, inventory: Path) -> None:
    """A text column built by concat is several Arrow chunks; the writers must not assume
    one (their line buffer is a single array)."""
    rows = [
        {
            "MerchantRemovalOrderID": oid,
            "RemovalDisposition": "Disposal",
            "MerchantSKU": sku,
            "SellableQuantity": "1",
        }
        for oid, sku in (("D1", "00123"), ("D2", "ABC-1"), ("D3", "SKU-4"))
    ]
    result = run_batch(
        [write_delimited(tmp_path / "r.txt", request_rows(rows))], inventory, Settings()
    )
    lines = result.decision.lines
    skus = lines["sku"].astype(TEXT)
    lines["sku"] = pd.concat([skus.iloc[:1], skus.iloc[1:]], ignore_index=True)
    assert lines["sku"].array._pa_array.num_chunks == 2  # the case this test is about
    out = tmp_path / "out"
    write_outputs(result, out)
    snapshot, _ = load_snapshot(inventory, Settings())
    check_written_outputs(out, lines, result.decision.orders, snapshot.frame, 10_000)


def test_lines_in_any_order_are_written_to_their_own_orders(
    tmp_path: Path, inventory: Path
) -> None:
    """Decide hands the writers lines grouped by order in the order of ``orders``; the
    writers check that, and put lines given any other way in their own order's files."""
    rows = [
        {
            "MerchantRemovalOrderID": oid,
            "RemovalDisposition": "Disposal",
            "MerchantSKU": sku,
            "SellableQuantity": "1",
        }
        for oid, sku in (("D1", "00123"), ("", "ABC-1"), ("D2", "ABC-1"), ("D3", "SKU-4"))
    ]
    result = run_batch(
        [write_delimited(tmp_path / "r.txt", request_rows(rows))], inventory, Settings()
    )
    decision = result.decision
    assert decision.lines["order_id"].tolist() == ["D1", "D1", "D2", "D3"]
    # Lines of D2, D1, D3, D1 (D1 apart), and the orders listed backwards.
    decision.lines = decision.lines.iloc[[2, 0, 3, 1]].reset_index(drop=True)
    decision.orders = decision.orders.iloc[::-1].reset_index(drop=True)
    out = tmp_path / "out"
    write_outputs(result, out)
    snapshot, _ = load_snapshot(inventory, Settings())
    check_written_outputs(out, decision.lines, decision.orders, snapshot.frame, 10_000)
    assert read_back(out / "orders" / "D1.txt")["MerchantSKU"].tolist() == ["00123", "ABC-1"]
    assert read_back(out / "orders" / "D2.txt")["MerchantSKU"].tolist() == ["ABC-1"]


def test_the_forked_order_writer_writes_what_the_in_place_one_does(
    tmp_path: Path, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many orders are written by a forked child, a few in place: the files are the same."""
    rows = [
        {
            **RETURN_ADDRESS,
            "MerchantRemovalOrderID": oid,
            "RemovalDisposition": disposition,
            "MerchantSKU": sku,
            "SellableQuantity": "1",
        }
        for oid, disposition, sku in (
            ("D1", "Disposal", "00123"),
            ("R1", "Return", "ABC-1"),
            ("R1", "Return", "SKU-4"),
            ("D2", "Disposal", "SKU-4"),
        )
    ]
    result = run_batch(
        [write_delimited(tmp_path / "r.txt", request_rows(rows))], inventory, Settings()
    )
    assert len(result.decision.orders) == 3

    def written(folder: Path) -> dict[str, bytes]:
        write_outputs(result, folder)
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.txt"))}

    in_place = written(tmp_path / "in-place")
    monkeypatch.setattr(order_files, "FORK_FROM_ORDERS", 1)
    forked = written(tmp_path / "forked")
    assert sorted(in_place) == [
        "orders/D1.txt",
        "orders/D2.txt",
        "orders/R1.txt",
        "upload/removal-orders-001.txt",
    ]
    assert forked == in_place


def _many_disposals(tmp_path: Path, inventory: Path, count: int):  # -> BatchResult
    rows = [
        {
            "MerchantRemovalOrderID": f"D{i:03d}",
            "RemovalDisposition": "Disposal",
            "MerchantSKU": "SKU-4",
            "SellableQuantity": "1",
        }
        for i in range(count)
    ]
    path = write_delimited(tmp_path / "many.txt", request_rows(rows))
    result = run_batch([path], inventory, Settings())
    assert len(result.decision.orders) == count
    return result


def test_the_run_and_its_writer_meet_in_the_middle(
    tmp_path: Path, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With many orders the run writes order files from the last one back while its child
    writes from the first: every file is written once, by one of them, as in place."""
    result = _many_disposals(tmp_path, inventory, 80)
    write_outputs(result, tmp_path / "in-place")
    expected = {p.name: p.read_bytes() for p in (tmp_path / "in-place" / "orders").iterdir()}

    monkeypatch.setattr(order_files, "FORK_FROM_ORDERS", 1)
    monkeypatch.setattr(order_files, "HELP_FROM_ORDERS", 1)
    real = order_files._write
    by_this_process: list[str] = []

    def slow(folder_fd: int, name: str, parts: list[bytes | memoryview]) -> None:
        time.sleep(0.005)  # both sides still writing when they meet
        real(folder_fd, name, parts)
        by_this_process.append(name)  # the child's list is its own copy

    monkeypatch.setattr(order_files, "_write", slow)
    folder = tmp_path / "two" / "orders"
    pending = order_files.begin_order_files(result.decision.orders, result.decision.lines, folder)
    pending.result()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == expected
    assert 0 < len(by_this_process) < 80
    assert by_this_process[0] == "D079.txt"


def test_a_gap_between_the_two_writers_is_an_error(
    tmp_path: Path, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each side stops at the first file it finds written. A file there before either
    began stops both short of it, leaving the orders between unwritten: never passed."""
    result = _many_disposals(tmp_path, inventory, 40)
    monkeypatch.setattr(order_files, "FORK_FROM_ORDERS", 1)
    monkeypatch.setattr(order_files, "HELP_FROM_ORDERS", 1)
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "D020.txt").write_text("not ours")
    pending = order_files.begin_order_files(result.decision.orders, result.decision.lines, folder)
    with pytest.raises(OSError, match="not all written"):
        pending.result()


def test_summary_names_the_files_that_hold_each_order(tmp_path: Path, inventory: Path) -> None:
    """Every order's output_file and upload_file in summary.json hold that order, with
    upload files of at most two lines (so orders spread over several)."""
    rows = [
        {
            "MerchantRemovalOrderID": oid,
            "RemovalDisposition": "Disposal",
            "MerchantSKU": sku,
            "SellableQuantity": "1",
        }
        for oid, sku in (
            ("D1", "00123"),
            ("D1", "ABC-1"),
            ("D2", "SKU-4"),
            ("D3", "00123"),
            ("D4", "SKU-4"),
            ("D4", "ABC-1"),
        )
    ]
    result = run_batch(
        [write_delimited(tmp_path / "r.txt", request_rows(rows))],
        inventory,
        Settings(max_skus_per_file=2),
    )
    out = tmp_path / "out"
    summary = json.loads(write_outputs(result, out))
    uploads = set()
    for order in summary["orders"]:
        in_own_file = read_back(out / order["output_file"])["MerchantRemovalOrderID"]
        assert in_own_file.unique().tolist() == [order["id"]]
        in_upload = read_back(out / order["upload_file"])["MerchantRemovalOrderID"]
        assert order["id"] in in_upload.tolist()
        uploads.add(order["upload_file"])
    assert len(summary["orders"]) == 4 and len(uploads) == 3


ORDER_LEVEL = ORDER_FIELDS[1:]  # every order field but the id


def test_every_order_is_written_with_its_own_disposition_and_address(
    tmp_path: Path, inventory: Path
) -> None:
    """Order-level values are gathered per order and spread back to its lines: each order
    and upload file must carry the values of its own order, never a neighbour's (units sent
    to the wrong address). Returns and disposals alternate, over two files, with order
    values on the first row only."""

    def address(n: int) -> dict[str, str]:
        return {
            **RETURN_ADDRESS,
            "AddressName": f"Warehouse {n}",
            "AddressFieldOne": f"{n} Dock St",
            "AddressFieldTwo": f"Bay {n}" if n % 2 else "",
            "AddressCity": ["Reno", "Austin", "Boise"][n % 3],
            "AddressStateOrRegion": ["NV", "TX", "ID"][n % 3],
            "AddressPostalCode": ["89502", "73301", "83702"][n % 3],
            "ShippingNotes": f"note {n}",
        }

    orders = {
        "a.txt": [
            ("R1", address(1)),
            ("D1", {"RemovalDisposition": "Disposal"}),
            ("R2", address(2)),
        ],
        "b.txt": [
            ("R3", address(3)),
            ("D2", {"RemovalDisposition": "Disposal", "ShippingNotes": "shred"}),
            ("R4", address(4)),
        ],
    }
    paths = []
    for name, listed in orders.items():
        rows = []
        for order_id, values in listed:
            rows.append(
                {
                    "MerchantRemovalOrderID": order_id,
                    **values,
                    "MerchantSKU": "00123",
                    "SellableQuantity": "1",
                }
            )
            rows.append({"MerchantSKU": "SKU-4", "UnsellableQuantity": "1"})  # continues it
        paths.append(write_delimited(tmp_path / name, request_rows(rows)))
    result = run_batch(paths, inventory, Settings())
    assert result.exit_code == 0, result.problems[["code", "message"]].to_string()
    out = tmp_path / "out"
    write_outputs(result, out)
    expected = {}
    for listed in orders.values():
        for order_id, values in listed:
            disposal = values["RemovalDisposition"] == "Disposal"
            expected[order_id] = {
                field: values.get(field, "")
                if not disposal or field in ("RemovalDisposition", "ShippingNotes")
                else ""
                for field in ORDER_LEVEL
            }
    uploads = pd.concat([read_back(p) for p in sorted((out / "upload").glob("*.txt"))])
    for order_id, want in expected.items():
        for rows in (
            read_back(out / "orders" / f"{order_id}.txt"),
            uploads[uploads["MerchantRemovalOrderID"].eq(order_id)],
        ):
            assert len(rows) == 2
            for field, value in want.items():
                assert rows[field].tolist() == [value, value], (order_id, field)


def _snapshot_csv(path: Path, skus: list[tuple[str, str, int]]) -> Path:
    """A snapshot saved as .csv (a quoted cell there may hold a tab or a line break)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(INVENTORY_HEADER)
        for sku, fnsku, sellable in skus:
            writer.writerow([sku, fnsku, "", "", str(sellable), "0", "0"])
    return path


def _request(path: Path, rows: list[list[str]]) -> Path:
    """A request file (.csv or .xlsx, by ``path``) with the columns of workspace_helpers."""
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [HEADER, *rows]:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([HEADER, *rows])
    return age(path)


@pytest.mark.parametrize("mark", ["\t", "\n", "\r\n", "\u2028"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_sku_holding_a_tab_or_line_break_is_refused_not_rewritten(
    tmp_path: Path, mark: str, suffix: str
) -> None:
    """'AB<tab>C' written as 'AB C' is another SKU: here one the snapshot lists too, so the
    two lines of one order asked for 10 units of 'AB C', which has 5."""
    inventory = _snapshot_csv(
        tmp_path / "inventory.csv", [(f"AB{mark}C", "X1", 5), ("AB C", "X2", 5)]
    )
    rows = [["R1", "Disposal", f"AB{mark}C", "5", "0"], ["R1", "", "AB C", "5", "0"]]
    request = _request(tmp_path / f"r{suffix}", rows)
    result = run_batch([request], inventory, Settings())
    problems = result.problems
    refused = problems[problems["code"].eq("sku-unknown")]
    assert refused["row"].tolist() == [2] and refused["column"].tolist() == ["C"]
    said = refused["message"].iloc[0]
    assert ("a tab" if mark == "\t" else "a line break") in said and "Alt+Enter" in said
    assert result.exit_code == 1 and result.decision.orders.empty
    out = tmp_path / "out"
    write_outputs(result, out)
    assert not list((out / "upload").glob("*.txt"))
    # With --allow-partial only the line of the SKU as it is listed is sent.
    partial = run_batch([request], inventory, Settings(allow_partial=True))
    assert partial.decision.lines["sku"].tolist() == ["AB C"]
    assert partial.decision.lines["sellable"].tolist() == [5]


@pytest.mark.parametrize("mark", ["\x1f", "\x07", "\x7f", "\x1b"])
def test_a_sku_holding_a_control_character_is_refused(tmp_path: Path, mark: str) -> None:
    """A unit separator, a bell or DEL in a SKU, listed so in a hand-edited snapshot, went
    into the upload file as it was: no Amazon SKU holds one, and a reader of the file may
    take it for a separator. Refused as a tab is, and named."""
    inventory = _snapshot_csv(tmp_path / "inventory.csv", [(f"A{mark}B", "X1", 5)])
    request = _request(tmp_path / "r.csv", [["R1", "Disposal", f"A{mark}B", "1", "0"]])
    result = run_batch([request], inventory, Settings())
    refused = result.problems[result.problems["code"].eq("sku-unknown")]
    assert refused["row"].tolist() == [2] and refused["column"].tolist() == ["C"]
    said = refused["message"].iloc[0]
    assert said.startswith("SKU 'A[control character]B' holds a control character")
    assert result.exit_code == 1 and result.decision.orders.empty


def test_an_fnsku_of_a_snapshot_sku_holding_a_tab_is_refused(tmp_path: Path) -> None:
    inventory = _snapshot_csv(tmp_path / "inventory.csv", [("AB\tC", "X1", 5), ("AB C", "X2", 5)])
    request = write_delimited(
        tmp_path / "r.txt",
        [
            ["MerchantRemovalOrderID", "RemovalDisposition", "FNSKU"] + HEADER[3:],
            ["R1", "Disposal", "X1", "5", "0"],
        ],
    )
    result = run_batch([request], inventory, Settings())
    refused = result.problems[result.problems["code"].eq("sku-unknown")]
    assert refused["column"].tolist() == ["C"]
    assert "FNSKU 'X1' is the FNSKU of SKU 'AB[tab]C'" in refused["message"].iloc[0]
    assert result.decision.orders.empty


def test_the_writer_never_rewrites_a_sku_or_an_order_id(tmp_path: Path) -> None:
    """A SKU or order id holding a tab that got past the rules stops the writing: written
    with a space, it would name another SKU (or order)."""
    lines = pd.DataFrame(
        {"order_id": ["R1"], "sku": ["AB\tC"], "sellable": [1], "unsellable": [0]}
    ).astype({"order_id": TEXT, "sku": TEXT})
    with pytest.raises(ValueError, match="SKU holding a tab"):
        order_files.item_lines(lines)
    # Quoted as free text is, '"Q' would be another SKU to a reader that ignores quotes.
    with pytest.raises(ValueError, match="SKU starting with a double quote"):
        order_files.item_lines(lines.assign(sku=pd.array(['"Q'], dtype=TEXT)))
    lines = lines.assign(order_id=pd.array(["R\n1"], dtype=TEXT), sku=pd.array(["C"], dtype=TEXT))
    orders = pd.DataFrame({name: [""] for name in ORDER_FIELDS[2:]}, dtype=TEXT).assign(
        order_id=lines["order_id"], disposition=pd.array(["Disposal"], dtype=TEXT), lines=[1]
    )
    with pytest.raises(ValueError, match="order id holding a tab"):
        order_files.write_upload_files(orders, lines, tmp_path / "upload", 10)
    with pytest.raises(ValueError, match="order id holding a tab"):
        order_files.order_file_layout(orders, lines)


def test_a_sku_holding_a_tab_is_refused_by_a_workspace_run(tmp_path: Path) -> None:
    """End to end: `run` on a workspace whose snapshot (.csv) lists 'AB<tab>C' and 'AB C'."""
    root = make_workspace(tmp_path / "ws")
    (root / "inventory" / "inventory.txt").unlink()
    age(_snapshot_csv(root / "inventory" / "inventory.csv", [("AB\tC", "", 5), ("AB C", "", 5)]))
    rows = [["R1", "Disposal", "AB\tC", "5", "0"], ["R1", "", "AB C", "5", "0"]]
    _request(root / "inbox" / "r.csv", [*rows, ["R2", "Disposal", "AB\nC", "1", "0"]])
    done = cli("run", str(root))
    assert done.returncode == 1, done.stderr
    assert published_orders(root) == []
    (run,) = [p for p in (root / "out").iterdir() if not p.name.startswith(".")]
    report = (run / "errors" / "r.csv.errors.csv").read_text(encoding="utf-8-sig")
    assert report.count(",sku-unknown,error,") == 2 and "AB[tab]C" in report


@pytest.mark.parametrize("order_id", ["SKU", "msku"])
def test_an_order_file_whose_id_names_a_column_reads_back(
    tmp_path: Path, inventory: Path, order_id: str
) -> None:
    """'MerchantRemovalOrderID<TAB>SKU' names two fields: it was taken for a table's header
    and our own order file refused as lacking the required columns. A key line above the
    SKU header is a key line, whatever its value."""
    row = {"MerchantRemovalOrderID": order_id, "RemovalDisposition": "Disposal"}
    row |= {"MerchantSKU": "ABC-1", "SellableQuantity": "2"}
    result = run_batch(
        [write_delimited(tmp_path / "r.txt", request_rows([row]))], inventory, Settings()
    )
    write_outputs(result, tmp_path / "out")
    again = run_batch([tmp_path / "out" / "orders" / f"{order_id}.txt"], inventory, Settings())
    assert again.files[0].shape == "feed"
    assert again.decision.orders["order_id"].tolist() == [order_id]
    assert again.decision.lines["sellable"].tolist() == [2]
