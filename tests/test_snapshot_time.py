"""The snapshot time: a time no snapshot can have is refused (exit 2) before anything is
written, naming where it came from; one in the future would stop the ledger deducting."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import INVENTORY_ROWS, request_rows, write_delimited
from workspace_helpers import age, cli, drop, ledger_orders, make_workspace

from removal_batch.cli import main
from removal_batch.core.snapshot_time import CLOCK_SKEW


@pytest.fixture
def in_zone() -> Iterator[Callable[[str], None]]:
    """Sets this process's time zone for the test, and puts the old one back after."""
    import time

    before = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


FAR_EAST_YEAR_ONE = "0001-01-01T00:00:00+05:00"  # no UTC time: OverflowError once
FAR_WEST_LAST_DAY = "9999-12-31T23:59:59-05:00"


def _request(tmp_path: Path) -> Path:
    row = {
        "MerchantRemovalOrderID": "D1",
        "RemovalDisposition": "Disposal",
        "MerchantSKU": "SKU-4",
        "SellableQuantity": "1",
    }
    return write_delimited(tmp_path / "r.txt", request_rows([row]))


def _dated(tmp_path: Path, when: str) -> Path:
    """The test snapshot with a snapshot-date column holding ``when`` on every row."""
    rows = [[*INVENTORY_ROWS[0], "snapshot-date"]] + [[*r, when] for r in INVENTORY_ROWS[1:]]
    # Settled: a run refuses a snapshot written in the last 2 seconds.
    return age(write_delimited(tmp_path / "dated.txt", rows))


def _check(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["check", str(_request(tmp_path)), *args, "--out", str(out)], terminal_width=400
    )
    return result.exit_code, " ".join(result.output.split()), out


def _soon(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)).isoformat()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (FAR_EAST_YEAR_ONE, "is before the year 2000"),
        ("1999-12-31T23:59:59Z", "is before the year 2000"),
        (FAR_WEST_LAST_DAY, "is after this run started"),
        # A time without a zone is said to be read so (this machine's time is UTC).
        (
            "2999-01-01",
            "(read as 2999-01-01 00:00 UTC, the earlier of this computer's time and UTC: it "
            "gives no time zone, such as +09:00) is after this run started",
        ),
        ("11/20/2026", "is not a date or time; use ISO form"),
    ],
)
def test_an_impossible_inventory_time_is_refused_before_anything_is_written(
    tmp_path: Path, inventory: Path, given: str, said: str, in_zone: Callable[[str], None]
) -> None:
    in_zone("UTC")  # a time without a zone is read by this computer's zone too
    code, output, out = _check(tmp_path, "--inventory", str(inventory), "--inventory-time", given)
    assert code == 2, output
    assert f"--inventory-time '{given}' {said}" in output
    assert not out.exists()


def test_a_future_inventory_time_is_refused_only_past_the_clock_skew(
    tmp_path: Path, inventory: Path
) -> None:
    minutes = CLOCK_SKEW.total_seconds() / 60
    late = _soon(minutes + 1)
    code, output, _ = _check(tmp_path, "--inventory", str(inventory), "--inventory-time", late)
    assert code == 2 and "would let units already requested be requested again" in output
    near = _soon(minutes - 1)  # a clock a little ahead: taken
    code, output, _ = _check(tmp_path, "--inventory", str(inventory), "--inventory-time", near)
    assert code == 0, output
    assert "after this run started." in output


@pytest.mark.parametrize(
    ("column", "said"),
    [
        ("0001-01-01T00:00:00+01:00", "is before the year 2000"),
        (FAR_EAST_YEAR_ONE, "is before the year 2000"),
        (FAR_WEST_LAST_DAY, "is after this run started"),
        ("2999-01-01T00:00:00+00:00", "is after this run started"),
        ("11/20/2026", "is not a date or time in ISO form (year-month-day)"),
    ],
)
def test_an_impossible_snapshot_date_names_the_file_and_its_column(
    tmp_path: Path, column: str, said: str
) -> None:
    code, output, out = _check(tmp_path, "--inventory", str(_dated(tmp_path, column)))
    assert code == 2, output
    assert (
        f"Inventory snapshot dated.txt: the time in its snapshot-date column, '{column}', {said}"
    ) in output
    assert "give the time the report was taken with --inventory-time" in output
    assert not out.exists()


def test_inventory_time_stands_in_for_a_bad_snapshot_date(tmp_path: Path) -> None:
    dated = _dated(tmp_path, "11/20/2026")
    code, output, _ = _check(
        tmp_path, "--inventory", str(dated), "--inventory-time", "2026-01-02T03:04:00Z"
    )
    assert code == 0, output


def test_a_snapshot_modified_in_the_future_is_refused(tmp_path: Path, inventory: Path) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).timestamp()
    os.utime(inventory, (future, future))
    code, output, out = _check(tmp_path, "--inventory", str(inventory))
    assert code == 2, output
    assert "Inventory snapshot inventory.txt: the file's modification time" in output
    assert "is after this run started" in output
    assert not out.exists()


def test_run_refuses_a_future_snapshot_time_and_keeps_the_inbox(tmp_path: Path) -> None:
    """A snapshot time after the first run would not deduct its units: the second run
    could ask for them again."""
    root = make_workspace(tmp_path / "ws", {"00A": (5, 0)})
    drop(root, "a.txt", [("D1", [("00A", 3, 0)])])
    assert cli("run", str(root), "--inventory-time", "2020-01-01T00:00:00Z").returncode == 0
    drop(root, "b.txt", [("D2", [("00A", 3, 0)])])
    for args in (["--inventory-time", "2999-01-01"], ["--inventory-time", FAR_WEST_LAST_DAY]):
        proc = cli("run", str(root), *args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "is after this run started" in proc.stderr
    dated = _dated(tmp_path, FAR_WEST_LAST_DAY)
    proc = cli("run", str(root), "--inventory", str(dated))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "snapshot-date column" in " ".join(proc.stderr.split())
    assert (root / "inbox" / "b.txt").exists()
    assert ledger_orders(root) == ["D1"]
    assert len(list((root / "out").iterdir())) == 1  # the first run's only


def test_the_batch_itself_refuses_an_impossible_inventory_time(
    tmp_path: Path, inventory: Path
) -> None:
    """Not only the command line's check: a caller of run_batch (watch, a script) too."""
    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import UsageError, run_batch

    for given in (FAR_EAST_YEAR_ONE, "2999-01-01", "11/20/2026"):
        with pytest.raises(UsageError, match=re.escape(f"--inventory-time '{given}' ")):
            run_batch([_request(tmp_path)], inventory, Settings(), given)


@pytest.mark.parametrize(
    ("zone", "read"),
    [
        ("Asia/Tokyo", "2026-11-20T00:00:00+00:00"),  # east of UTC: Tokyo's 09:00
        ("America/New_York", "2026-11-20T09:00:00+00:00"),  # west of it: 09:00 UTC
        ("UTC", "2026-11-20T09:00:00+00:00"),
    ],
)
def test_a_time_without_a_zone_is_the_earlier_of_local_time_and_utc(
    in_zone: Callable[[str], None], zone: str, read: str
) -> None:
    """09:00 typed in Tokyo was read as 09:00 UTC, nine hours late: orders issued in those
    hours were not deducted, and their units could be requested again (review H2)."""
    from removal_batch.core.snapshot_time import parse_iso

    in_zone(zone)
    when = parse_iso("2026-11-20T09:00")
    assert when is not None
    assert when.astimezone(dt.UTC).isoformat() == read


def test_a_report_with_several_snapshot_dates_is_as_old_as_its_earliest(tmp_path: Path) -> None:
    """Rows dated differently (reports pasted together): the latest date was taken, so a
    row from the earlier day had the orders issued since that day not deducted, and their
    units could be requested again. The earliest is the time, compared as times (the
    text of +09:00 sorts after Z)."""
    root = make_workspace(tmp_path / "ws", {"00A": (5, 0), "00B": (5, 0)})
    early = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(microsecond=0)
    rows = [
        ["sku", "afn-fulfillable-quantity", "afn-unsellable-quantity", "snapshot-date"],
        ["00A", "5", "0", early.isoformat()],
        ["00B", "5", "0", early.isoformat()],
    ]
    report = root / "inventory" / "inventory.txt"
    age(write_delimited(report, rows))
    drop(root, "a.txt", [("D1", [("00A", 5, 0)])])
    assert cli("run", str(root)).returncode == 0
    # A later report of 00B pasted under the old one: 00A's row still shows the units of D1.
    later = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=9)))
    rows[2] = ["00B", "4", "0", later.isoformat()]
    age(write_delimited(report, rows))
    drop(root, "b.txt", [("D2", [("00A", 5, 0)])])
    proc = cli("run", str(root))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ledger_orders(root) == ["D1"]
