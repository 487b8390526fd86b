"""The bundled sample files do what sample_files/README.md says they do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from removal_batch.core.settings import Settings
from removal_batch.pipeline import BatchResult, FileOutcome, run_batch

SAMPLES = Path(__file__).resolve().parents[1] / "sample_files"
INVENTORY = SAMPLES / "inventory" / "fba-inventory-2026-11-20.txt"
MISTAKES = SAMPLES / "mistakes" / "removal-request-with-mistakes.csv"
INBOX = [
    SAMPLES / "inbox" / "removal-request-2026-11.xlsx",
    SAMPLES / "inbox" / "returns-batch-2026-11.txt",
    SAMPLES / "inbox" / "disposal-feed-RB-FEED-0001.txt",
]
TABLE_HEADER = "| row | column | code | what is wrong |"

Place = tuple[int | None, str, str]


def readme_expected() -> set[Place]:
    """(row, column, code) of every line of the README's mistakes table."""
    lines = (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER) + 2  # skip the |---| line
    expected: list[Place] = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        row, column, code = (cell.strip() for cell in line.strip().strip("|").split("|")[:3])
        expected.append((int(row) if row else None, column, code))
    assert len(expected) == len(set(expected)), "the README table lists a line twice"
    return set(expected)


def found(problems: pd.DataFrame) -> set[Place]:
    return {
        (None if pd.isna(row) else int(row), str(column), str(code))
        for row, column, code in zip(
            problems["row"], problems["column"], problems["code"], strict=True
        )
    }


@pytest.fixture(scope="module")
def inbox_result() -> BatchResult:
    return run_batch(INBOX, INVENTORY, Settings())


def outcome(result: BatchResult, name: str) -> FileOutcome:
    (match,) = [f for f in result.files if f.name == name]
    return match


def test_mistakes_file_reports_exactly_the_readme_table() -> None:
    expected = readme_expected()
    assert len(expected) >= 12
    result = run_batch([MISTAKES], INVENTORY, Settings())
    got = found(result.files[0].problems)
    assert got == expected, (
        f"reported but not in the README: {sorted(got - expected, key=str)}; "
        f"in the README but not reported: {sorted(expected - got, key=str)}"
    )


def test_mistakes_file_writes_only_the_clean_orders() -> None:
    result = run_batch([MISTAKES], INVENTORY, Settings())
    assert sorted(result.decision.orders["order_id"]) == ["RMV-OK-01", "RMV-OK-10"]
    assert result.files[0].status == "partial"


def test_inbox_files_are_accepted_whole(inbox_result: BatchResult) -> None:
    problems = inbox_result.problems
    bad = problems[problems["severity"].isin(["error", "fatal"])] if len(problems) else problems
    assert bad.empty, bad[["file", "row", "column", "code", "message"]].to_string()
    assert sorted(f.name for f in inbox_result.files) == sorted(p.name for p in INBOX)
    for f in inbox_result.files:
        assert f.status == "accepted", f.name
        assert f.rows == f.accepted > 0, f.name
    assert inbox_result.exit_code == 0


def test_inbox_shapes_and_orders(inbox_result: BatchResult) -> None:
    shapes = {f.name: f.shape for f in inbox_result.files}
    assert shapes == {
        "removal-request-2026-11.xlsx": "table",
        "returns-batch-2026-11.txt": "table",
        "disposal-feed-RB-FEED-0001.txt": "feed",
    }
    assert outcome(inbox_result, "removal-request-2026-11.xlsx").sheet == "Removal Request"
    assert sorted(inbox_result.decision.orders["order_id"]) == [
        "FEED-0001",
        "RB-RET-1101",
        "RB-RET-1102",
        "RR-2026-11-001",
        "RR-2026-11-002",
        "RR-2026-11-003",
    ]


@pytest.mark.parametrize(
    ("name", "skus"),
    [
        ("removal-request-2026-11.xlsx", ["00123-BLK", "00123-BLU", "000981-RED", "123456789012"]),
        ("returns-batch-2026-11.txt", ["00124-GRN", "00123-BLK", "0042-SLATE"]),
    ],
)
def test_leading_zeros_survive(inbox_result: BatchResult, name: str, skus: list[str]) -> None:
    table = outcome(inbox_result, name).table
    assert table is not None
    read = set(table.rows["MerchantSKU"])
    for sku in skus:
        assert sku in read, f"{sku} not read back exactly from {name}: {sorted(read)}"


@pytest.mark.parametrize(
    ("name", "zips"),
    [
        ("removal-request-2026-11.xlsx", ["02134", "08837"]),
        ("returns-batch-2026-11.txt", ["06103", "02134"]),
    ],
)
def test_zip_codes_keep_leading_zeros(
    inbox_result: BatchResult, name: str, zips: list[str]
) -> None:
    table = outcome(inbox_result, name).table
    assert table is not None
    read = [z for z in table.rows["AddressPostalCode"] if z]
    assert read == zips
