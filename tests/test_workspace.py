"""The folder workflow: init, run, the ledger across runs, dry runs, discovery, template."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import json
import os
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import INVENTORY_HEADER, RETURN_ADDRESS, request_rows, write_delimited
from workspace_helpers import (
    HEADER,
    age,
    cli,
    drop,
    ledger_orders,
    make_workspace,
    published_orders,
    run_summaries,
)

from removal_batch.workspace import discover_inputs


def test_init_with_samples_then_run(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert cli("init", str(root), "--samples").returncode == 0
    assert (root / "removal-batch.toml").read_text().startswith("# removal-batch settings")
    proc = cli("run", str(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = [p for p in (root / "out").iterdir()]
    assert sorted(p.name for p in (root / "archive" / run.name).iterdir()) == [
        "disposal-feed-RB-FEED-0001.txt",
        "removal-request-2026-11.xlsx",
        "returns-batch-2026-11.txt",
    ]
    assert list((root / "inbox").iterdir()) == []
    assert ledger_orders(root) == published_orders(root)
    assert len(ledger_orders(root)) == 6
    again = cli("run", str(root))
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_init_with_samples_refuses_a_workspace_with_a_real_snapshot(tmp_path: Path) -> None:
    """init --samples on a workspace in use copied the sample snapshot in as the newest
    (every later run checked the real requests against the sample SKUs) and the sample
    requests into the real inbox (the next run issued six sample orders). It is refused,
    and nothing is copied; the samples' own workspace may be set up again."""
    root = make_workspace(tmp_path / "ws")
    before = sorted(p.name for p in (root / "inventory").iterdir())
    proc = cli("init", str(root), "--samples")
    assert proc.returncode == 2
    said = " ".join(proc.stderr.split())
    assert "is a workspace in use: its inventory folder holds inventory.txt" in said
    assert "removal-batch init OTHER-FOLDER --samples" in said
    assert sorted(p.name for p in (root / "inventory").iterdir()) == before
    assert list((root / "inbox").iterdir()) == []
    samples = tmp_path / "samples"
    assert cli("init", str(samples), "--samples").returncode == 0
    assert cli("init", str(samples), "--samples").returncode == 0


def test_redropped_file_is_skipped_and_force_never_doubles_an_order(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    path = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    content = path.read_bytes()
    assert cli("run", str(root)).returncode == 0
    copy = root / "inbox" / "a-copy.txt"
    copy.write_bytes(content)
    age(copy)
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 0
    (summary,) = [s for s in run_summaries(root) if s["inputs"][0]["file"] == "a-copy.txt"]
    assert json.loads(proc.stdout) == summary  # --json prints summary.json's text
    assert summary["inputs"][0]["status"] == "skipped"
    assert summary["inputs"][0]["counts_by_code"] == {"file-already-processed": 1}
    assert (root / "archive").glob("*/a-copy.txt")
    # --force reads it again; its order id is already issued, so nothing is doubled.
    copy2 = root / "inbox" / "a-again.txt"
    copy2.write_bytes(content)
    age(copy2)
    forced = cli("run", str(root), "--force", "--json")
    assert forced.returncode == 1
    assert "order-id-duplicate" in forced.stdout
    assert ledger_orders(root) == ["D1"]


def test_an_id_issued_before_names_its_run_and_says_to_delete_a_repeat(tmp_path: Path) -> None:
    """A file fixed after a held order and dropped again repeats the orders already sent.
    The message said "Give this order a new id", which had the same order sent twice; it
    names the run that sent the id and says to delete the rows if it is that order."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)]), ("D2", [("00X", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    drop(root, "a.txt", [("D1", [("00A", 1, 0)]), ("D2", [("00B", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D1", "D2"]
    (report,) = [
        p for p in (root / "out").glob("*/errors/a.txt.errors.csv") if first_run not in str(p)
    ]
    text = report.read_text(encoding="utf-8-sig")
    assert (
        f"Order id D1 was already issued in run {first_run}. If this is that order, it was "
        "sent already: delete its rows. Only a different order needs a new id." in text
    )
    # Its order-held record does not say "fix it and run again", which sent it twice.
    assert (
        "Order D1 is held back and not written: row 2 says why (order-id-duplicate). Read it "
        "first: if this order was sent before, sending it again would send it twice." in text
    )


def test_an_order_sent_already_with_another_error_says_to_read_the_repeat_first(
    tmp_path: Path,
) -> None:
    """Held for a taken id and a second error, its order-held record said "fix them and
    run again": fixing both (a new id) sends it twice. It names the repeat first."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)]), ("D2", [("00X", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    drop(root, "a.txt", [("D1", [("00A", 1, 0), ("NOPE", 1, 0)]), ("D2", [("00B", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D1", "D2"]
    rows = list(csv.DictReader(io.StringIO(_other_report(root, "a.txt", first_run))))
    (held,) = [r for r in rows if r["code"] == "order-held"]
    assert held["message"] == (
        "Order D1 is held back and not written: row 2 says why (order-id-duplicate). Read it "
        "before you fix the 1 other error: if this order was sent before, sending it again "
        "would send it twice."
    )


def test_second_run_is_capped_by_what_the_first_took_since_the_snapshot(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", {"00A": (5, 0)})
    drop(root, "a.txt", [("D1", [("00A", 3, 0)])])
    snapshot_time = "2020-01-01T00:00:00Z"
    assert cli("run", str(root), "--inventory-time", snapshot_time).returncode == 0
    drop(root, "b.txt", [("D2", [("00A", 3, 0)])])
    proc = cli("run", str(root), "--inventory-time", snapshot_time, "--json")
    assert proc.returncode == 1
    assert "quantity-exceeds-sellable" in proc.stdout
    (report,) = (root / "out").glob("*/errors/b.txt.errors.csv")
    assert "only 2 are available" in report.read_text(encoding="utf-8-sig")
    # A snapshot taken after the first run already counts its units: nothing is deducted.
    # (A new report: one of the same content is the old one, see the test below.)
    age(
        write_delimited(
            root / "inventory" / "inventory.txt",
            [INVENTORY_HEADER, ["00A", "", "", "", "2", "0", "0"]],
        )
    )
    drop(root, "c.txt", [("D3", [("00A", 2, 0)])])
    after_first = dt.datetime.now(dt.UTC).isoformat()
    later = cli("run", str(root), "--inventory-time", after_first, "--json")
    assert later.returncode == 0
    assert ledger_orders(root) == ["D1", "D3"]


@pytest.mark.parametrize("how", ["copied in again", "saved again as csv"])
def test_the_same_report_given_a_later_time_still_has_earlier_orders_deducted(
    tmp_path: Path, how: str
) -> None:
    """The same report put in inventory/ again after a run (a copy has a new modification
    time), saved again by another program, or given a later --inventory-time, seemed
    taken after that run's orders, which were then not deducted: their units could be
    requested a second time. The same bytes, or the same figures, are the same report
    (one downloaded again with nothing changed shows none of those orders either): its
    time is the earliest a run used it at. (--inventory-time stands: the test below.)"""
    root = make_workspace(tmp_path / "ws", {"00A": (5, 0)})
    report = root / "inventory" / "inventory.txt"
    content = report.read_bytes()
    drop(root, "a.txt", [("D1", [("00A", 5, 0)])])
    assert cli("run", str(root)).returncode == 0
    # Modified after D1 was issued, and settled (a snapshot changed in the last 2 seconds
    # is not read): 2.2 s after the run, it is given a time 2.05 s ago.
    time.sleep(2.2)
    if how == "copied in again":
        report.unlink()
        report.write_bytes(content)
    elif how == "saved again as csv":
        # Opened and saved by another program: other bytes, the same figures.
        report.unlink()
        write_delimited(
            report.with_suffix(".csv"),
            [["sku", "afn-fulfillable-quantity", "afn-unsellable-quantity"], ["00A", "5", "0"]],
            sep=",",
            encoding="cp1252",
        )
    for written in (root / "inventory").iterdir():
        age(written, 2.05)
    drop(root, "b.txt", [("D2", [("00A", 5, 0)])])
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ledger_orders(root) == ["D1"]
    (report_csv,) = (root / "out").glob("*/errors/b.txt.errors.csv")
    assert "5 already requested by earlier orders" in report_csv.read_text(encoding="utf-8-sig")
    summary = json.loads(proc.stdout)
    assert summary["snapshot"]["snapshot_time_from"] == "earlier-run"
    # The time shown is the one the first run took for the report, not when it ran.
    drop(root, "c.txt", [("D3", [("00A", 1, 0)])])
    said = " ".join(cli("run", str(root), "--dry-run").stdout.split())
    assert f"as of {summary['snapshot']['snapshot_time'][:10]}" in said
    assert "(the time an earlier run took for this same report)" in said


def test_a_later_inventory_time_for_the_same_report_stands_and_is_questioned(
    tmp_path: Path,
) -> None:
    """--inventory-time is the user's word (SPEC 3.2), and the way to stop deducting
    orders that were written but never uploaded: it stands. But the same report used
    before cannot be newer than that run, so the snapshot line says what is skipped."""
    root = make_workspace(tmp_path / "ws", {"00A": (5, 0)})
    drop(root, "a.txt", [("D1", [("00A", 5, 0)])])
    assert cli("run", str(root)).returncode == 0
    time.sleep(1.1)
    drop(root, "b.txt", [("D2", [("00A", 5, 0)])])
    given = dt.datetime.now(dt.UTC).isoformat()
    proc = cli("run", str(root), "--inventory-time", given)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ledger_orders(root) == ["D1", "D2"]
    said = " ".join(proc.stdout.split())
    assert "(as given by --inventory-time)" in said
    assert "An earlier run used this same report at " in said
    assert "If the report is older than that run, run again without --inventory-time." in said


def test_units_issued_after_the_snapshot_count_to_the_second(tmp_path: Path) -> None:
    """The ledger deducts the units of every order issued after the snapshot time, however
    soon after; orders issued before it are in the snapshot's figures already."""
    from removal_batch.ledger import Ledger, RunRecord

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    taken_at = 1_800_000_000.0
    for run_id, issued_at, units in (("r1", -0.5, 1), ("r2", 0.5, 2), ("r3", 3600.0, 4)):
        order = f"O-{run_id}"
        ledger.record_run(
            RunRecord(
                run_id=run_id,
                started="",
                issued_at=taken_at + issued_at,
                snapshot_sha256="",
                snapshot_time=taken_at,
                inputs=[],
                orders=[
                    {
                        "order_id": order,
                        "disposition": "Disposal",
                        "lines": 1,
                        "sellable_units": units,
                        "unsellable_units": 1,
                    }
                ],
                lines=[(order, "00A", units, 1)],
            )
        )
    taken = ledger.taken_since(taken_at)
    ledger.close()
    assert taken.to_dict("index") == {"00A": {"sellable": 6, "unsellable": 2}}


def test_a_snapshot_saved_in_the_runs_first_second_still_has_its_orders_deducted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's start is kept to the second. A snapshot saved at 12:00:00.5, and a run begun
    at 12:00:00.7, made the run seem to start at 12:00:00, before the snapshot, and its
    orders were taken as already counted in it: a second run could ask for the same units.
    The orders' issue time is when they are published, to the microsecond."""
    import datetime as dt

    from removal_batch import pipeline
    from removal_batch.core.settings import Settings
    from removal_batch.ledger import Ledger
    from removal_batch.run import RunOptions, run_workspace
    from removal_batch.workspace import Workspace

    root = make_workspace(tmp_path / "ws", {"00A": (5, 0)})
    saved = time.time() - 30
    started = dt.datetime.fromtimestamp(int(saved), dt.UTC)  # the same second, cut
    monkeypatch.setattr(pipeline, "utc_now", lambda: started)
    options = RunOptions(inventory_time=dt.datetime.fromtimestamp(saved, dt.UTC).isoformat())
    space = Workspace(root)
    decided = []
    for name, order in (("a.txt", "D1"), ("b.txt", "D2")):
        drop(root, name, [(order, [("00A", 5, 0)])])
        ledger = Ledger(space.ledger_path)
        try:
            outcome = run_workspace(space, Settings(), options, ledger)
        finally:
            ledger.close()
        assert outcome.result is not None
        decided.append(set(outcome.result.problems["code"]))
    assert decided == [set(), {"quantity-exceeds-sellable", "order-held"}]
    assert ledger_orders(root) == ["D1"]


def test_a_file_dropped_twice_in_one_batch_makes_its_orders_once(tmp_path: Path) -> None:
    """Orders without ids get generated ones, different for each copy: the second copy
    of the same content is skipped (whatever --force says, which is about earlier runs),
    and both leave the inbox."""
    root = make_workspace(tmp_path / "ws")
    content = drop(root, "a.txt", [("", [("00A", 2, 0)])]).read_bytes()
    age(root / "inbox" / "a.txt")
    (root / "inbox" / "a-copy.txt").write_bytes(content)
    age(root / "inbox" / "a-copy.txt")
    drop(root, "b.txt", [("", [("00B", 2, 0)])])  # another file of the same size: read
    proc = cli("run", str(root), "--force", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    status = {i["file"]: (i["status"], i["counts_by_code"]) for i in summary["inputs"]}
    assert status == {
        "a-copy.txt": ("accepted", {}),
        "a.txt": ("skipped", {"file-already-processed": 1}),
        "b.txt": ("accepted", {}),
    }
    assert len(ledger_orders(root)) == 2
    assert list((root / "inbox").iterdir()) == []


def test_two_inputs_of_one_name_are_refused(tmp_path: Path) -> None:
    """Problems, reports and order sources go by the file name: d1/a.txt and d2/a.txt
    would have their problems mixed, one file's errors shown twice and the other's lost."""
    root = make_workspace(tmp_path / "ws")
    first = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    (tmp_path / "d2").mkdir()
    # The same name; and names that differ only in capitals, one report file on Windows
    # and macOS.
    for name, said in (
        ("a.txt", ["2 inputs are named a.txt"]),
        ("A.TXT", ["2 inputs are named A.TXT and a.txt", "which differ only in capitals"]),
    ):
        other = tmp_path / "d2" / name
        other.write_text("x")
        inventory = root / "inventory" / "inventory.txt"
        proc = cli("check", str(first), str(other), "--inventory", str(inventory))
        other.unlink()
        assert proc.returncode == 2
        assert all(part in " ".join(proc.stderr.split()) for part in said)
    # Capitals only: Windows and macOS keep straße.txt and strasse.txt apart.
    from removal_batch.pipeline import _refuse_same_names

    _refuse_same_names([tmp_path / "straße.txt", tmp_path / "d2" / "strasse.txt"])


def test_the_id_of_an_order_written_in_parts_stays_taken(tmp_path: Path) -> None:
    """O4 written as O4-P1 and O4-P2 is still order O4 to the user: a later run's O4 would
    be another order under the same name. The ledger keeps the id as taken."""
    root = make_workspace(tmp_path / "ws")
    (root / "removal-batch.toml").write_text("max_skus_per_file = 2\n")
    drop(root, "a.txt", [("O4", [("00A", 1, 0), ("00B", 1, 0), ("00C", 1, 0)])])
    assert cli("run", str(root)).returncode == 0
    assert ledger_orders(root) == ["O4-P1", "O4-P2"]
    drop(root, "b.txt", [("O4", [("00A", 1, 0)])])
    later = cli("run", str(root), "--json")
    assert later.returncode == 1
    (entry,) = json.loads(later.stdout)["inputs"]
    assert entry["counts_by_code"] == {"order-id-duplicate": 1, "order-held": 1}
    assert ledger_orders(root) == ["O4-P1", "O4-P2"]


def test_generated_ids_never_repeat_across_runs(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("", [("00A", 1, 0)])])
    assert cli("run", str(root)).returncode == 0
    drop(root, "b.txt", [("", [("00B", 1, 0)])])
    assert cli("run", str(root)).returncode == 0
    ids = ledger_orders(root)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert [i[-4:] for i in ids] == ["0001", "0002"]


def test_dry_run_writes_reports_only(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)]), ("D2", [("NOPE", 1, 0)])])
    proc = cli("run", str(root), "--dry-run")
    assert proc.returncode == 1
    (run,) = list((root / "out").iterdir())
    assert (run / "errors" / "a.txt.errors.csv").is_file()
    assert not (run / "orders").exists()
    assert ledger_orders(root) == []
    assert [p.name for p in (root / "inbox").iterdir()] == ["a.txt"]
    # Read later, the summary must not pass for a run whose orders went out.
    summary = json.loads((run / "summary.json").read_text())
    assert summary["dry_run"] is True and [o["id"] for o in summary["orders"]] == ["D1"]
    # It says where the reports are, not "reports and orders" (review H6).
    shown = "".join(proc.stdout.split())  # rich folds a long path anywhere
    assert f"Reports:{run}" in shown and "Reportsandorders" not in shown
    assert cli("run", str(root)).returncode == 1
    (issued,) = {p for p in (root / "out").iterdir() if p != run}
    assert json.loads((issued / "summary.json").read_text())["dry_run"] is False


def test_discovery_skips_lock_files_dot_files_and_files_being_written(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a.txt", "~$a.xlsx", ".hidden.txt", "fresh.txt"):
        (inbox / name).write_text("x")
    (inbox / "folder").mkdir()
    for name in ("a.txt", "~$a.xlsx", ".hidden.txt"):
        age(inbox / name)
    # A link to a file that is gone is an input (a run reports it), by the link's own time.
    for name in ("gone.txt", ".gone.txt"):
        (inbox / name).symlink_to(tmp_path / "nowhere.txt")
        os.utime(inbox / name, (time.time() - 60,) * 2, follow_symlinks=False)
    ready, busy = discover_inputs(inbox)
    assert [p.name for p in ready] == ["a.txt", "gone.txt"]
    assert [p.name for p in busy] == ["fresh.txt"]


def test_a_file_dated_in_the_future_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip unpacked from a time zone ahead gives its files a time hours in the future:
    such a file was never old enough, run left it with "run again in a moment" for hours
    and watch without a word (found by a read-through of the commands). A time within
    the settling time either side still waits."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    inbox = root / "inbox"
    for name, ahead in (("zipped.txt", 3 * 3600), ("skewed.txt", 1)):
        (inbox / name).write_text("x")
        os.utime(inbox / name, (time.time() + ahead,) * 2)
    ready, busy = discover_inputs(inbox)
    assert ([p.name for p in ready], [p.name for p in busy]) == (["zipped.txt"], ["skewed.txt"])
    (inbox / "skewed.txt").unlink()
    runs: list[int] = []
    monkeypatch.setattr(app, "run_command", lambda *args, **kwargs: runs.append(1) or 1)
    _stop_watching_after(monkeypatch, 12)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert runs == [1]


def test_office_lock_files_stay_in_the_inbox_unread_and_unmentioned(tmp_path: Path) -> None:
    """The lock files Excel (~$name.xlsx) and LibreOffice (.~lock.name.xlsx#) keep beside a
    workbook open for editing are no requests: a run leaves them where they are, neither
    read, reported nor archived (Excel holds its own locked: reading it fails)."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    locks = ["~$a.xlsx", ".~lock.a.xlsx#"]
    for name in locks:
        age(write_delimited(root / "inbox" / name, [["owner", "Jane"]]))
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (summary,) = run_summaries(root)
    assert [i["file"] for i in summary["inputs"]] == ["a.txt"]
    assert not summary["not_read"] and proc.stderr == ""
    assert sorted(p.name for p in (root / "inbox").iterdir()) == sorted(locks)
    assert [p.name for p in (root / "archive").glob("*/*")] == ["a.txt"]


@pytest.mark.skipif(not hasattr(fcntl, "F_SETLEASE"), reason="Linux: write leases")
def test_a_file_still_open_for_writing_is_left_for_the_next_run(tmp_path: Path) -> None:
    """A file written in bursts (a slow copy over the network, a script writing as it
    goes) can stay unchanged for longer than the settling time while its writer still has
    it open. By its time alone it was taken as settled and read half-written: its first
    orders were issued, and the rest came later as another file. It is left in the inbox,
    said, and taken by the run after it is closed."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    half = drop(root, "b.txt", [("D2", [("00B", 1, 0)])])
    with open(half, "a", encoding="utf-8", newline="") as writer:
        age(half)
        ready, busy = discover_inputs(root / "inbox")
        assert [p.name for p in ready] == ["a.txt"] and [p.name for p in busy] == ["b.txt"]
        proc = cli("run", str(root), "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert ledger_orders(root) == ["D1"]
        (summary,) = run_summaries(root)
        assert summary["not_read"] == [
            "b.txt is still open in the program writing it; it is left in the inbox for "
            "the next run."
        ]
        (root / "inbox" / "a.txt").unlink(missing_ok=True)
        alone = cli("run", str(root), "--json")
        assert alone.returncode == 0
        assert "still being written" in json.loads(alone.stdout)["message"]
        writer.write("D3\tDisposal\t00C\t1\t0\r\n")
    age(half)
    assert cli("run", str(root)).returncode == 0
    assert ledger_orders(root) == ["D1", "D2", "D3"]
    assert list((root / "inbox").iterdir()) == []


@pytest.mark.skipif(not hasattr(fcntl, "F_SETLEASE"), reason="Linux: write leases")
def test_a_snapshot_still_being_written_stops_the_run(tmp_path: Path) -> None:
    """A new snapshot copied into inventory/ while a run started was read half-written:
    a line asking for 50 units of a SKU the finished report lists with 120 was refused
    (or, with --on-excess cap, sent capped to the 12 written so far), and its file
    archived. The run stops with exit 2 and processes nothing; the next one, once the
    report is saved, sends the order."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 50, 0)])])
    snapshot = root / "inventory" / "inventory-new.txt"
    snapshot.write_text("\t".join(INVENTORY_HEADER) + "\r\n00A\t\t\t\t12", encoding="utf-8")
    with open(age(snapshot), "a", encoding="utf-8") as writer:
        proc = cli("run", str(root), "--on-excess", "cap")
        said = " ".join(proc.stderr.split())
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "inventory-new.txt is still open in the program writing it" in said
        assert "nothing was processed" in said
        assert ledger_orders(root) == [] and (root / "inbox" / "a.txt").exists()
        writer.write("0\t0\t0\r\n")
    age(snapshot)
    assert cli("run", str(root)).returncode == 0
    assert ledger_orders(root) == ["D1"]
    (order,) = (root / "out").glob("*/orders/D1.txt")
    assert "00A\t50\t0" in order.read_text()


def test_a_snapshot_changed_in_the_last_seconds_is_not_read_yet(tmp_path: Path) -> None:
    """The settling time of inbox files holds for the snapshot too; a time in the future
    (a zip from a time zone ahead) is no sign of writing, as for inputs."""
    from removal_batch.workspace import snapshot_still_written

    snapshot = write_delimited(tmp_path / "inventory.txt", [INVENTORY_HEADER])
    mtime = snapshot.stat().st_mtime
    said = snapshot_still_written(snapshot, now=mtime + 0.5)
    assert said is not None and "changed less than 2 seconds ago" in said
    assert snapshot_still_written(snapshot, now=mtime + 3) is None
    assert snapshot_still_written(snapshot, now=mtime - 3600) is None
    assert snapshot_still_written(tmp_path / "gone.txt") is None


def test_a_folder_or_a_pipe_in_the_inbox_is_named_not_passed_over(tmp_path: Path) -> None:
    """A folder of requests dragged into the inbox is not read (its files are not looked
    at), nor is a named pipe (reading it would wait forever); a run says so last, on
    stderr, whether it had other files or nothing to do, and the summary lists them. The
    summary on stdout stays JSON. Dot-names stay skipped without a word."""
    root = make_workspace(tmp_path / "ws")
    inbox = root / "inbox"
    (inbox / "Q4").mkdir()
    drop(root, "Q4/a.txt", [("D1", [("00A", 1, 0)])])
    (inbox / ".cache").mkdir()
    os.mkfifo(inbox / "pipe.txt")
    folder = "Q4/ is a folder: files inside folders are not read. Move them into the inbox"
    pipe = "pipe.txt is a named pipe, not a file; it is not read."

    alone = cli("run", str(root))
    assert alone.returncode == 0, alone.stderr
    assert "nothing to do" in alone.stdout
    told = " ".join(alone.stderr.split())  # rich wraps long lines
    assert f"Not read: {folder}" in told and f"Not read: {pipe}" in told
    assert ".cache" not in told

    drop(root, "b.txt", [("D2", [("00B", 1, 0)])])
    with_file = cli("run", str(root), "--json")
    assert with_file.returncode == 0, with_file.stderr
    summary = json.loads(with_file.stdout)
    assert summary["totals"]["orders"] == 1
    told = " ".join(with_file.stderr.split())
    assert folder in told and pipe in told
    # A script reading the summary learns the same, and so does summary.json.
    assert [n.split(" is ")[0] for n in summary["not_read"]] == ["Q4/", "pipe.txt"]
    assert run_summaries(root)[-1]["not_read"] == summary["not_read"]
    again = cli("run", str(root), "--json")
    assert json.loads(again.stdout)["not_read"] == summary["not_read"]
    assert ledger_orders(root) == ["D2"]
    assert sorted(os.listdir(inbox)) == [".cache", "Q4", "pipe.txt"]
    assert os.listdir(inbox / "Q4") == ["a.txt"]


def test_only_request_file_types_are_read_from_the_inbox(tmp_path: Path) -> None:
    """An editor's backup (orders.txt~, orders.bak) holds the same requests: read by its
    content it would make its orders a second time. Files without a request file's
    extension are named, not read, and stay in the inbox."""
    root = make_workspace(tmp_path / "ws")
    content = drop(root, "orders.txt", [("", [("00A", 1, 0)])]).read_bytes()
    for other in ("orders.txt~", "orders.bak", "desktop.ini"):
        (root / "inbox" / other).write_bytes(content)
        age(root / "inbox" / other)
    (root / "inbox" / "Orders.CSV").write_bytes(content.replace(b"\t", b","))
    age(root / "inbox" / "Orders.CSV")
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert [i["file"] for i in summary["inputs"]] == ["Orders.CSV", "orders.txt"]
    assert [n.split(" does not end")[0] for n in summary["not_read"]] == [
        "desktop.ini",
        "orders.bak",
        "orders.txt~",
    ]
    assert sorted(os.listdir(root / "inbox")) == ["desktop.ini", "orders.bak", "orders.txt~"]


def _stop_watching_after(monkeypatch: pytest.MonkeyPatch, polls: int) -> None:
    """watch's sleep between polls, replaced: Ctrl-C at the given poll."""
    done = {"n": 0}

    def poll(seconds: float) -> None:
        done["n"] += 1
        if done["n"] == polls:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", poll)


def test_watch_names_a_folder_in_the_inbox_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    (root / "inbox" / "Q4").mkdir()
    _stop_watching_after(monkeypatch, 6)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert capsys.readouterr().out.count("Q4/ is a folder") == 1


def test_not_a_workspace_and_missing_snapshot_exit_2(tmp_path: Path) -> None:
    proc = cli("run", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "removal-batch init" in proc.stderr
    root = make_workspace(tmp_path / "ws")
    (root / "inventory" / "inventory.txt").unlink()
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    proc = cli("run", str(root))
    assert proc.returncode == 2 and "No inventory snapshot" in proc.stderr
    assert [p.name for p in (root / "inbox").iterdir()] == ["a.txt"]


def test_bad_settings_exit_2_naming_the_key(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    (root / "removal-batch.toml").write_text('on_excess = "sometimes"\ncolour = "red"\n')
    proc = cli("run", str(root))
    assert proc.returncode == 2
    assert "colour" in proc.stderr
    (root / "removal-batch.toml").write_text('on_excess = "sometimes"\n')
    proc = cli("run", str(root))
    assert proc.returncode == 2 and "on_excess" in proc.stderr


def test_a_default_address_the_checks_refuse_stops_the_run(tmp_path: Path) -> None:
    # It is copied into Returns after their cells are checked: unless it is checked too,
    # 'Nevada' and a four-digit ZIP would reach the upload file.
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    (root / "removal-batch.toml").write_text(
        "[default_address]\n"
        'AddressCountryCode = "US"\nAddressStateOrRegion = "Nevada"\n'
        'AddressPostalCode = "8950"\nContactPhoneNumber = "775-555-0100"\n'
    )
    proc = cli("run", str(root))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())
    assert "[default_address]" in said and "'Nevada'" in said and "'8950'" in said
    assert "775-555-0100" not in said  # a possible US number: nothing to say about it
    assert [p.name for p in (root / "inbox").iterdir()] == ["a.txt"]
    assert ledger_orders(root) == [] and published_orders(root) == []


def test_filled_template_runs_clean_and_keeps_leading_zeros(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", {"00123": (10, 5), "0042-SLATE": (3, 0)})
    template = root / "inbox" / "request.xlsx"
    assert cli("template", str(template)).returncode == 0
    book = openpyxl.load_workbook(template)
    sheet = book["Removal Request"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["MerchantRemovalOrderID", "RemovalDisposition"]
    assert sheet["B1"].font.b and not sheet["A1"].font.b and sheet["C1"].font.i
    assert sheet.cell(row=2, column=header.index("MerchantSKU") + 1).number_format == "@"
    assert "Instructions" in book.sheetnames
    kinds = sorted({v.type for v in sheet.data_validations.dataValidation})
    assert kinds == ["list", "textLength", "whole"]
    values = {
        "MerchantRemovalOrderID": "R-1",
        "RemovalDisposition": "Return",
        "AddressName": "Acme",
        "AddressFieldOne": "1 Main St",
        "AddressCity": "Boston",
        "AddressCountryCode": "US",
        "AddressStateOrRegion": "MA",
        "AddressPostalCode": "02134",
        "ContactPhoneNumber": "617-555-0142",
        "MerchantSKU": "00123",
        "SellableQuantity": 2,
        "UnsellableQuantity": 1,
    }
    for j, name in enumerate(header):
        if name in values:
            sheet.cell(row=2, column=j + 1, value=values[name])
    sheet.cell(row=3, column=header.index("MerchantSKU") + 1, value="0042-SLATE")
    sheet.cell(row=3, column=header.index("SellableQuantity") + 1, value=3)
    book.save(template)
    age(template)
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = [p for p in (root / "out").iterdir()]
    text = (run / "orders" / "R-1.txt").read_text()
    assert "00123\t2\t1" in text and "0042-SLATE\t3\t0" in text and "02134" in text


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])  # Ctrl-C; a service manager
def test_watch_runs_when_a_file_settles_and_stops_on_ctrl_c_or_sigterm(
    tmp_path: Path, stop: str
) -> None:
    import signal
    import subprocess
    import sys

    root = make_workspace(tmp_path / "ws")
    proc = subprocess.Popen(
        [sys.executable, "-m", "removal_batch", "watch", str(root), "--poll", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
        deadline = time.time() + 60
        while time.time() < deadline and not list((root / "archive").glob("*/a.txt")):
            time.sleep(0.2)
        assert list((root / "archive").glob("*/a.txt"))
    finally:
        proc.send_signal(getattr(signal, stop))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped watching" in out
    assert ledger_orders(root) == ["D1"]
    assert os.listdir(root / "inbox") == []


def test_a_file_name_that_is_not_utf8_is_reported_and_left_in_the_inbox(tmp_path: Path) -> None:
    """A name in another system's encoding (byte 0xFF here) cannot be shown, reported or
    recorded as it is: the file is rejected with file-unreadable under its name with
    U+FFFD, stays in the inbox to be renamed, and the rest of the run goes on."""
    import os

    root = make_workspace(tmp_path / "ws")
    good = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    bad = Path(os.fsdecode(bytes(root / "inbox") + b"/b\xffd.txt"))
    bad.write_bytes(good.read_bytes().replace(b"D1", b"D2"))
    age(bad)
    proc = cli("run", str(root), "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (summary,) = run_summaries(root)
    inputs = {i["file"]: i for i in summary["inputs"]}
    assert inputs["b\ufffdd.txt"]["counts_by_code"] == {"file-unreadable": 1}
    assert inputs["a.txt"]["status"] == "accepted"
    assert ledger_orders(root) == ["D1"]
    assert bad.exists() and not good.exists()
    # check names it the same way, and reads the other file.
    checked = cli(
        "check",
        str(bad),
        str(root / "archive" / summary["run_id"] / "a.txt"),
        "--inventory",
        str(root / "inventory" / "inventory.txt"),
        "--json",
    )
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    named = {i["file"]: i for i in json.loads(checked.stdout)["inputs"]}
    assert named["b\ufffdd.txt"]["counts_by_code"] == {"file-unreadable": 1}
    assert named["a.txt"]["status"] == "accepted"


def test_watch_does_not_run_again_for_a_file_the_last_run_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file a run leaves in the inbox (here a name that is not UTF-8, which every run
    reports and leaves to be renamed) must not start run after run: once per change.
    A file still being written when a run starts is taken by a later run."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    bad = Path(os.fsdecode(bytes(root / "inbox") + b"/b\xffd.txt"))
    bad.write_bytes(b"anything\n")
    age(bad)
    runs: list[list[str]] = []
    monkeypatch.setattr(
        app,
        "run_command",
        lambda *args, **kwargs: runs.append(sorted(os.listdir(root / "inbox"))) or 1,
    )
    polls = {"n": 0}

    def poll(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 8:  # the user touches the file: one more run
            age(bad, 30)
        if polls["n"] == 16:  # a new file while nothing runs
            age(drop(root, "a.txt", [("D1", [("00A", 1, 0)])]))
        if polls["n"] == 24:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", poll)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert len(runs) == 3, runs


@pytest.mark.skipif(not hasattr(fcntl, "F_SETLEASE"), reason="Linux: write leases")
def test_watch_waits_for_a_file_to_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file unchanged but still open for writing is not settled: watch ran for it, the
    run left it in the inbox, and watch then took it as handled, so that closing it
    (nothing changed) never started the run that would take it."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    half = drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    writer = open(half, "a", encoding="utf-8")  # noqa: SIM115 (closed while watching)
    runs: list[int] = []
    polls = {"n": 0}
    monkeypatch.setattr(app, "run_command", lambda *args, **kwargs: runs.append(polls["n"]) or 0)

    def poll(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 8:
            writer.close()  # done writing, nothing changed since
        if polls["n"] == 16:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", poll)
    try:
        assert app.watch_command(root, 0.01, 0.0, None) == 0
    finally:
        writer.close()
    assert len(runs) == 1 and runs[0] >= 8, runs


# open_for_writing with another program opening the file for writing while it holds the
# lease (between taking it and closing the file).
LEASE_BROKEN = """
import os, subprocess, sys, time
from pathlib import Path
from removal_batch import workspace
path, real_close = Path(sys.argv[1]), os.close
def close(fd):
    os.close = real_close
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(path)!r}, 'a').close()"])
    time.sleep(1.0)
    real_close(fd)
    writer.wait()
os.close = close
print(workspace.open_for_writing(path))
"""


@pytest.mark.skipif(not hasattr(fcntl, "F_SETLEASE"), reason="Linux: write leases")
def test_a_lease_broken_while_it_is_held_does_not_end_the_run(tmp_path: Path) -> None:
    """A program opening the file for writing in the instant the lease is held breaks it,
    and the kernel signals the holder: by default with SIGIO, which ended the run."""
    import subprocess
    import sys

    path = tmp_path / "a.txt"
    path.write_text("x")
    proc = subprocess.run(
        [sys.executable, "-c", LEASE_BROKEN, str(path)], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "False"), proc.stderr


def test_watch_runs_once_for_a_broken_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link dropped into the inbox whose file is gone starts a run (which reports it), and
    only one while it stays as it is."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    link = root / "inbox" / "c.txt"
    link.symlink_to(tmp_path / "moved" / "c.txt")
    os.utime(link, (time.time() - 60,) * 2, follow_symlinks=False)
    runs: list[int] = []
    monkeypatch.setattr(app, "run_command", lambda *args, **kwargs: runs.append(1) or 1)
    _stop_watching_after(monkeypatch, 12)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert runs == [1]


def test_watch_collects_cycles_though_one_shot_commands_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command entry turns the cycle collector off (one batch, then the process ends);
    watch stays for run after run, so its runs must have it on, or cycles pile up."""
    import gc

    from removal_batch import app, cli

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    seen: list[bool] = []
    monkeypatch.setattr(app, "run_command", lambda *a, **k: seen.append(gc.isenabled()) or 0)

    def stop(seconds: float) -> None:
        if seen:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", stop)
    monkeypatch.setattr(cli.sys, "argv", ["removal-batch", "watch", str(root), "--poll", "0"])
    monkeypatch.setattr(cli.os, "_exit", lambda code: None)
    monkeypatch.setattr(cli, "_library_settings", lambda: None)  # this process's env stays
    try:
        cli.entry()
    finally:
        gc.enable()
    assert seen == [True]


def test_run_hashes_each_input_once_and_records_the_summary_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from click.testing import CliRunner

    import removal_batch.pipeline as pipeline
    import removal_batch.run as run
    from removal_batch.cli import main

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    drop(root, "b.txt", [("D2", [("00B", 1, 0)])])
    hashed: list[str] = []
    real = pipeline.sha256_of

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(pipeline, "sha256_of", counting)
    monkeypatch.setattr(run, "sha256_of", counting)
    assert CliRunner().invoke(main, ["run", str(root)]).exit_code == 0
    # Each input: once to consult the ledger, once more to archive it only if unchanged.
    assert sorted(hashed) == ["a.txt", "a.txt", "b.txt", "b.txt", "inventory.txt"]
    (summary,) = run_summaries(root)
    shown = {i["file"]: i["sha256"] for i in summary["inputs"]}  # type: ignore[index]
    with sqlite3.connect(root / ".removal-batch" / "ledger.sqlite3") as conn:
        recorded = dict(conn.execute("SELECT name, sha256 FROM inputs").fetchall())
    assert shown == recorded and all(len(d) == 64 for d in shown.values())


def test_watch_tries_again_after_a_run_that_processed_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that exits 2 (the workspace busy past --wait, no snapshot yet) processed
    nothing: its files were set aside as handled all the same, and stayed in the inbox
    until one of them changed (a review's finding). They are tried again after a pause."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    codes = iter([2, 0])
    runs: list[int] = []
    monkeypatch.setattr(
        app, "run_command", lambda *args, **kwargs: runs.append(1) or next(codes, 0)
    )
    monkeypatch.setattr(app, "WATCH_RETRY_AFTER", 0.0)
    _stop_watching_after(monkeypatch, 16)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert len(runs) == 2


def test_watch_starts_no_run_for_files_no_run_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor's backup (orders.txt~) or a .tmp file is named once and never read: watch
    started a run for it all the same, which found nothing, took the lock and used up a
    --max-runs (a review's finding). A request file dropped next is run as before."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    for name in ("orders.txt~", "notes.tmp"):
        (root / "inbox" / name).write_text("x")
        age(root / "inbox" / name)
    runs: list[int] = []
    monkeypatch.setattr(app, "run_command", lambda *args, **kwargs: runs.append(1) or 0)
    _stop_watching_after(monkeypatch, 12)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert runs == []
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    _stop_watching_after(monkeypatch, 12)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert runs == [1]


def test_a_file_deleted_as_the_run_starts_is_left_out_and_the_rest_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted between the inbox's listing and its hashing, one file stopped the batch:
    exit 2, nothing processed (a review's finding), where a file that changes a moment
    later is left out alone. It is left out, and named; the other file goes out."""
    from click.testing import CliRunner

    from removal_batch import run
    from removal_batch.cli import main

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    gone = drop(root, "b.txt", [("D2", [("00B", 1, 0)])])
    checkpoint = run.checkpoint

    def delete_at_discovery(name: str) -> None:
        if name == "discovered":
            gone.unlink()
        checkpoint(name)

    monkeypatch.setattr(run, "checkpoint", delete_at_discovery)
    result = CliRunner().invoke(main, ["run", str(root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["not_read"] == [
        "b.txt disappeared from the inbox as the run started; it was not processed."
    ]
    assert ledger_orders(root) == ["D1"]


def test_a_second_name_of_one_file_in_the_inbox_is_named_as_skipped(tmp_path: Path) -> None:
    """A link in the inbox to a file beside it: one of the two names vanished from the
    summary, and the link was read rather than the file (a review's finding). The file
    is read, the link named as skipped, and both are archived."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "b.txt", [("D1", [("00A", 1, 0)])])
    link = root / "inbox" / "a.txt"
    link.symlink_to("b.txt")
    os.utime(link, (time.time() - 60,) * 2, follow_symlinks=False)
    result = cli("run", str(root), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    status = {f["file"]: f["status"] for f in summary["inputs"]}
    assert status == {"a.txt": "skipped", "b.txt": "accepted"}
    assert [o["source_file"] for o in summary["orders"]] == ["b.txt"]
    (run,) = (root / "archive").iterdir()
    assert sorted(p.name for p in run.iterdir()) == ["a.txt", "b.txt"]


def test_run_piped_prints_no_progress_lines(tmp_path: Path) -> None:
    """As check: progress shows on an interactive terminal only. A run from cron over a
    thousand files printed a 'reading' line for each before its table (review H4)."""
    from click.testing import CliRunner

    from removal_batch.cli import main

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    result = CliRunner().invoke(main, ["run", str(root)])
    assert result.exit_code == 0
    assert "a.txt" in result.output  # the table names the file
    assert not [line for line in result.output.splitlines() if line.startswith("reading")]


def test_a_file_still_being_written_is_named_not_skipped_silently(tmp_path: Path) -> None:
    """'cp orders.txt inbox/ && removal-batch run' ended with exit 0, the new file left in
    the inbox without a word, not even in the summary's not_read (review H6)."""
    import json
    import os
    import time

    from click.testing import CliRunner

    from removal_batch.cli import main

    root = make_workspace(tmp_path / "ws")
    fresh = drop(root, "fresh.txt", [("D1", [("00A", 1, 0)])])
    now = time.time()
    os.utime(fresh, (now, now))
    alone = CliRunner().invoke(main, ["run", str(root), "--json"])
    assert alone.exit_code == 0
    said = json.loads(alone.stdout)
    assert "changed in the last 2 seconds. Run again in a moment" in said["message"]
    assert said["not_read"][0].startswith("fresh.txt changed less than 2 seconds ago")
    drop(root, "settled.txt", [("D2", [("00B", 1, 0)])])
    now = time.time()
    os.utime(fresh, (now, now))
    result = CliRunner().invoke(main, ["run", str(root)])
    assert result.exit_code == 0
    assert "Not read: fresh.txt changed less than 2 seconds ago" in " ".join(result.output.split())
    (summary,) = run_summaries(root)
    assert [n.split(" changed")[0] for n in summary["not_read"]] == ["fresh.txt"]
    assert (root / "inbox" / "fresh.txt").exists()


def _other_report(root: Path, name: str, first_run: str) -> str:
    """The error report of ``name`` from the run after ``first_run``."""
    (report,) = [
        p for p in (root / "out").glob(f"*/errors/{name}.errors.csv") if p.parts[-3] != first_run
    ]
    return report.read_text(encoding="utf-8-sig")


def test_a_fixed_file_dropped_again_does_not_send_its_order_without_an_id_twice(
    tmp_path: Path,
) -> None:
    """The order-held message says to fix the file and run again. Fixed and dropped again,
    the file's order without an id got a new generated id and went out a second time,
    exit 0. It is held as a repeat of the order sent (lines in another order, same
    content); the fixed order goes out."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("", [("00A", 1, 0), ("00C", 0, 1)]), ("D2", [("NOPE", 0, 1)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    (sent,) = ledger_orders(root)
    assert sent.startswith("RB-")
    drop(root, "a.txt", [("", [("00C", 0, 1), ("00A", 1, 0)]), ("D2", [("00B", 0, 1)])])
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D2", sent]
    rows = list(csv.DictReader(io.StringIO(_other_report(root, "a.txt", first_run))))
    (repeat,) = [r for r in rows if r["code"] == "order-id-duplicate"]
    assert (repeat["row"], repeat["column"], repeat["severity"]) == ("2", "A", "error")
    assert repeat["message"] == (
        f"This order repeats order {sent}, sent in run {first_run} from the same file: it "
        "was sent already. Delete its rows; to send the same removal again, give it an "
        "order id of your own."
    )


def _default_address_settings(phone: str) -> str:
    fields = {k: v for k, v in RETURN_ADDRESS.items() if k != "RemovalDisposition"}
    lines = [f'{k} = "{phone if k == "ContactPhoneNumber" else v}"' for k, v in fields.items()]
    return "[default_address]\n" + "\n".join(lines) + "\n"


def _return_to_the_default(root: Path, held_sku: str) -> None:
    """a.txt: a Return without an id or an address (it goes to the default address), and
    D2, which is held while ``held_sku`` is unknown."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "AddressName"] + HEADER[2:]
    rows = [header, ["", "Return", "", "00A", "1", "0"], ["D2", "Disposal", "", held_sku, "1", "0"]]
    age(write_delimited(root / "inbox" / "a.txt", rows))


@pytest.mark.parametrize("old_ledger", [False, True])
def test_a_re_drop_is_known_after_the_default_address_changed(
    tmp_path: Path, old_ledger: bool
) -> None:
    """The order without an id went to the settings' default address, whose phone was then
    changed. The fixed file, dropped again, sent the same removal a second time: the
    fingerprint held the default filled in, not the order as the file asked for it. Ledgers
    written before hold that fingerprint: a re-drop is matched against it too, while the
    default is unchanged."""
    import sqlite3

    root = make_workspace(tmp_path / "ws")
    (root / "removal-batch.toml").write_text(_default_address_settings("775-555-0100"))
    _return_to_the_default(root, "NOPE")
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    (sent,) = ledger_orders(root)
    if old_ledger:
        from removal_batch.core.fields import ADDRESS_FIELDS
        from removal_batch.core.fingerprint import order_fingerprints

        blank = dict.fromkeys(ADDRESS_FIELDS, "")
        filled = {**blank, **RETURN_ADDRESS, "order_no": 0, "disposition": "Return"}
        orders = pd.DataFrame({k: [v] for k, v in filled.items()})
        lines = pd.DataFrame({"order_no": [0], "sku": ["00A"], "sellable": [1], "unsellable": [0]})
        (recorded,) = order_fingerprints(orders, lines, "order_no")
        with sqlite3.connect(root / ".removal-batch" / "ledger.sqlite3") as conn:
            conn.execute("UPDATE orders SET fingerprint = ?", (recorded,))
    else:
        (root / "removal-batch.toml").write_text(_default_address_settings("775-555-0199"))
    _return_to_the_default(root, "00B")
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D2", sent]
    assert f"repeats order {sent}, sent in run {first_run}" in _other_report(
        root, "a.txt", first_run
    )


@pytest.mark.parametrize("option", ["--allow-partial", "--on-excess=cap"])
def test_an_order_sent_changed_is_still_known_when_its_file_is_dropped_again(
    tmp_path: Path, option: str
) -> None:
    """With --allow-partial (a bad line left out) or a line capped, the order sent is not
    the order asked for. It was fingerprinted as sent and the re-drop as asked, so the
    fixed file sent it a second time under a new generated id."""
    root = make_workspace(tmp_path / "ws")
    if option == "--allow-partial":
        second_line = ["", "", "NOPE", "1", "0"]  # left out
        held = ["D2", "Destroy", "00B", "1", "0"]  # held: no such disposition
    else:
        second_line = ["", "", "00B", "12", "0"]  # 10 available: capped
        held = ["D2", "Disposal", "NOPE", "1", "0"]  # held: no such SKU
    unchanged = [HEADER, ["", "Disposal", "00A", "1", "0"], second_line]
    age(write_delimited(root / "inbox" / "a.txt", [*unchanged, held]))
    assert cli("run", str(root), option).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    (sent,) = ledger_orders(root)
    fixed = ["D2", "Disposal", "00C", "1", "0"]
    age(write_delimited(root / "inbox" / "a.txt", [*unchanged, fixed]))
    assert cli("run", str(root), option).returncode == 1
    assert ledger_orders(root) == ["D2", sent]
    assert f"repeats order {sent}, sent in run {first_run}" in _other_report(
        root, "a.txt", first_run
    )


@pytest.mark.parametrize("option", ["--allow-partial", "--on-excess=cap"])
def test_an_order_sent_in_part_is_known_once_its_file_is_fixed_as_advised(
    tmp_path: Path, option: str
) -> None:
    """The order without an id went out without its refused line (--allow-partial), or
    with a line lowered (cap). The report's advice (give the refused line an id of its
    own, or ask for what is there) makes the order ask for just what was sent: matched
    only by what it had asked for, it went out a second time under a new generated id
    (a review's finding)."""
    root = make_workspace(tmp_path / "ws")
    if option == "--allow-partial":
        first = [["", "", "NOPE", "1", "0"]]  # left out
        fixed = [["FIXED-1", "Disposal", "00C", "1", "0"]]  # given an id of its own
    else:
        first = [["", "", "00B", "12", "0"]]  # 10 available: capped to 10
        fixed = [["", "", "00B", "10", "0"]]  # what was sent
    sent_line = [HEADER, ["", "Disposal", "00A", "1", "0"]]
    age(write_delimited(root / "inbox" / "a.txt", [*sent_line, *first]))
    assert cli("run", str(root), option).returncode in (0, 1)
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    (sent,) = ledger_orders(root)
    age(write_delimited(root / "inbox" / "a.txt", [*sent_line, *fixed]))
    assert cli("run", str(root), option).returncode == 1
    assert sorted(ledger_orders(root)) == sorted([sent, *[r[0] for r in fixed if r[0]]])
    assert f"repeats order {sent}, sent in run {first_run}" in _other_report(
        root, "a.txt", first_run
    )


def test_a_fixed_file_saved_again_as_a_copy_is_still_known(tmp_path: Path) -> None:
    """Downloaded again, the fixed file is "a (1).txt": matched by exact name, its order
    without an id went out a second time."""
    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("", [("00A", 1, 0)]), ("D2", [("NOPE", 0, 1)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    (sent,) = ledger_orders(root)
    drop(root, "A (1).txt", [("", [("00A", 1, 0)]), ("D2", [("00B", 0, 1)])])
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D2", sent]
    assert f"repeats order {sent}" in _other_report(root, "A (1).txt", first_run)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("a.xlsx", "a.xlsx"),
        ("a (1).xlsx", "a.xlsx"),
        ("a(2).xlsx", "a.xlsx"),
        ("A - Copy.XLSX", "a.xlsx"),
        ("a - Copy (2).xlsx", "a.xlsx"),
        ("a copy.xlsx", "a.xlsx"),
        ("a copy 2.xlsx", "a.xlsx"),
        ("requests (1)", "requests"),
        # Not marks of a copy: kept.
        ("a-2.txt", "a-2.txt"),
        ("copy.txt", "copy.txt"),
        ("report copyedit.txt", "report copyedit.txt"),
        ("(1).txt", "(1).txt"),
        (".hidden", ".hidden"),
    ],
)
def test_the_name_a_redrop_is_matched_by(name: str, key: str) -> None:
    from removal_batch.core.fingerprint import file_key

    assert file_key(name) == key


def test_a_repeat_with_an_id_of_its_own_or_from_another_file_is_sent(tmp_path: Path) -> None:
    """Only an order without an id from a file of the same name is taken for a repeat: the
    same removal sent again on purpose (any id typed, or another file) goes out. So does
    an order without an id whose content changed (a trimmed address is no change)."""
    root = make_workspace(tmp_path / "ws")
    line = {"MerchantSKU": "00A", "SellableQuantity": "1", "UnsellableQuantity": "0"}
    first = [{**RETURN_ADDRESS, **line, "MerchantRemovalOrderID": ""}]
    age(write_delimited(root / "inbox" / "r.txt", request_rows(first)))
    drop(root, "a.txt", [("", [("00A", 1, 0)])])
    assert cli("run", str(root)).returncode == 0
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    assert len(ledger_orders(root)) == 2
    padded = {**RETURN_ADDRESS, "AddressCity": " Reno ", "AddressName": "Acme Returns  "}
    again = [{**padded, **line, "MerchantRemovalOrderID": ""}]
    age(write_delimited(root / "inbox" / "r.txt", request_rows(again)))
    drop(root, "a.txt", [("D9", [("00A", 1, 0)])])
    # (Another order too: the same content is skipped as a file processed already.)
    drop(root, "b.txt", [("", [("00A", 1, 0)]), ("D5", [("00B", 1, 0)])])
    drop(root, "c.txt", [("", [("00A", 2, 0)])])
    assert cli("run", str(root)).returncode == 1
    assert "order-id-duplicate" in _other_report(root, "r.txt", first_run)
    orders = ledger_orders(root)
    assert len(orders) == 6 and {"D5", "D9"} <= set(orders)


def test_a_split_order_dropped_again_is_named_by_the_id_it_was_split_from(
    tmp_path: Path,
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "removal-batch.toml").write_text("max_skus_per_file = 2\n")
    three = [("00A", 1, 0), ("00B", 1, 0), ("00C", 1, 0)]
    drop(root, "a.txt", [("", three), ("D2", [("NOPE", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    parts = ledger_orders(root)
    assert [p[-3:] for p in parts] == ["-P1", "-P2"]
    drop(root, "a.txt", [("", three[::-1]), ("D2", [("00A", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    assert ledger_orders(root) == ["D2", *parts]
    assert f"repeats order {parts[0][:-3]}, sent in run {first_run}" in _other_report(
        root, "a.txt", first_run
    )


# The ledger as removal-batch wrote it before schema 2 (fingerprints of orders).
SCHEMA_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL, issued_at REAL NOT NULL,
    snapshot_sha256 TEXT NOT NULL, snapshot_time REAL NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0);
CREATE TABLE inputs (sha256 TEXT NOT NULL, name TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id), status TEXT NOT NULL,
    PRIMARY KEY (sha256, run_id));
CREATE TABLE orders (order_id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(run_id),
    issued_at REAL NOT NULL, disposition TEXT NOT NULL, lines INTEGER NOT NULL,
    sellable_units INTEGER NOT NULL, unsellable_units INTEGER NOT NULL);
CREATE TABLE order_lines (order_id TEXT NOT NULL REFERENCES orders(order_id),
    sku TEXT NOT NULL, sellable INTEGER NOT NULL, unsellable INTEGER NOT NULL);
CREATE INDEX order_lines_sku ON order_lines(sku);
CREATE TABLE split_ids (order_id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(run_id));
INSERT INTO runs VALUES ('20260101-000000-aaaa', '2026-01-01T00:00:00', 0, '', 0, 1);
INSERT INTO orders VALUES ('OLD1', '20260101-000000-aaaa', 0, 'Disposal', 1, 1, 0);
INSERT INTO orders VALUES ('RB-20260101-0001', '20260101-000000-aaaa', 0, 'Disposal', 1, 1, 0);
INSERT INTO order_lines VALUES ('OLD1', '00A', 1, 0);
"""


def test_a_ledger_of_schema_1_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    """Its orders keep their ids taken (with their run named) and match no repeat: they
    have no fingerprint. Orders issued since are recorded with theirs."""
    import sqlite3

    root = make_workspace(tmp_path / "ws")
    ledger = root / ".removal-batch" / "ledger.sqlite3"
    with sqlite3.connect(ledger) as conn:
        conn.executescript(SCHEMA_1)
    drop(root, "a.txt", [("OLD1", [("00A", 1, 0)])])
    drop(root, "b.txt", [("", [("00A", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    (first_run,) = [p.name for p in (root / "out").iterdir()]
    text = (root / "out" / first_run / "errors" / "a.txt.errors.csv").read_text("utf-8-sig")
    assert "Order id OLD1 was already issued in run 20260101-000000-aaaa." in text
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        rows = conn.execute(
            "SELECT order_id, generated, source_file, length(fingerprint) FROM orders "
            "ORDER BY order_id"
        ).fetchall()
    (new,) = [r for r in rows if r[0] not in ("OLD1", "RB-20260101-0001")]
    assert rows[:1] == [("OLD1", 0, None, None)] and new[1:] == (1, "b.txt", 64)
    drop(root, "b.txt", [("", [("00A", 1, 0)]), ("D3", [("00B", 1, 0)])])
    assert cli("run", str(root)).returncode == 1
    assert f"repeats order {new[0]}, sent in run {first_run}" in _other_report(
        root, "b.txt", first_run
    )


def test_an_orders_fingerprint_is_its_content_not_its_layout() -> None:
    """Lines in any order, spaces around address cells, an address a Disposal drops: the
    same order. Another quantity or another address: another order."""
    import pandas as pd

    from removal_batch.core.fields import ADDRESS_FIELDS
    from removal_batch.core.fingerprint import order_fingerprints

    address = {name: "" for name in ADDRESS_FIELDS} | {"AddressCity": "Reno"}
    orders = pd.DataFrame(
        [
            {"key": 1, "disposition": "Return", **address},
            {"key": 2, "disposition": "Return", **address, "AddressCity": " Reno "},
            {"key": 3, "disposition": "Return", **address, "AddressCity": "Sparks"},
            {"key": 4, "disposition": "Disposal", **address},
            {"key": 5, "disposition": "Disposal", **{n: "" for n in ADDRESS_FIELDS}},
            {"key": 6, "disposition": "Return", **address},
        ]
    )
    lines = pd.DataFrame(
        [(k, "00A", 1, 0) for k in (1, 3, 4, 5, 6)]
        + [(k, "00B", 0, 2) for k in (1, 2, 3, 4, 5)]
        + [(2, "00A", 1, 0), (6, "00B", 0, 3)],
        columns=["key", "sku", "sellable", "unsellable"],
    )
    found = order_fingerprints(orders, lines, "key").tolist()
    assert found[0] == found[1] and found[3] == found[4]
    assert len({found[0], found[2], found[3], found[5]}) == 4


def test_watch_tries_again_after_a_run_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that ends with exit 3 (a full disk, a read-only out folder) published nothing:
    its files were set aside as handled and never tried again until one changed. An
    unexpected error in a run ended the watch itself. Both are tried again after a pause."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
    outcomes: list[object] = [3, OSError(28, "No space left on device"), 0]
    runs: list[int] = []

    def run(*args: object, **kwargs: object) -> int:
        runs.append(1)
        outcome = outcomes.pop(0) if outcomes else 0
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, int)
        return outcome

    monkeypatch.setattr(app, "run_command", run)
    monkeypatch.setattr(app, "WATCH_RETRY_AFTER", 0.0)
    _stop_watching_after(monkeypatch, 24)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    assert len(runs) == 3
    captured = capsys.readouterr()
    assert captured.out.count("tried again") == 2
    assert "No space left on device" in captured.err and "Traceback" not in captured.err


def test_watch_waits_for_an_inbox_that_went_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The inbox renamed or deleted while watching (a network drive unmounted): watch ended
    as an internal error (FileNotFoundError). It says so once, waits, and runs for what
    lands in the inbox once it is back."""
    from removal_batch import app

    root = make_workspace(tmp_path / "ws")
    inbox, away = root / "inbox", tmp_path / "inbox-away"
    runs: list[list[str]] = []
    monkeypatch.setattr(
        app, "run_command", lambda *a, **k: runs.append(sorted(os.listdir(inbox))) or 0
    )
    polls = {"n": 0}

    def poll(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 2:
            inbox.rename(away)
        if polls["n"] == 8:
            away.rename(inbox)
            drop(root, "a.txt", [("D1", [("00A", 1, 0)])])
        if polls["n"] == 16:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", poll)
    assert app.watch_command(root, 0.01, 0.0, None) == 0
    captured = capsys.readouterr()
    err, out = " ".join(captured.err.split()), " ".join(captured.out.split())
    assert err.count("cannot be read (No such file or directory)") == 1, err
    assert "is back" in out
    assert runs == [["a.txt"]]
