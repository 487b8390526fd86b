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
ORDER_MISTAKES = SAMPLES / "mistakes" / "order-mistakes.txt"
INBOX = [
    SAMPLES / "inbox" / "removal-request-2026-11.xlsx",
    SAMPLES / "inbox" / "returns-batch-2026-11.txt",
    SAMPLES / "inbox" / "disposal-feed-RB-FEED-0001.txt",
]
TABLE_HEADER = "| row | column | code | what is wrong |"
MISTAKES_HEADING = "## What the mistakes file should report"
ORDER_MISTAKES_HEADING = "## What the order-mistakes file should report"

Place = tuple[int | None, str, str]


def readme_expected(heading: str) -> set[Place]:
    """(row, column, code) of every line of the README table under `heading`.

    The table is the first one after the heading, and must come before the next heading.
    """
    lines = (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines.count(heading) == 1, f"README needs exactly one {heading!r}"
    after = lines.index(heading) + 1
    section_end = next(
        (i for i in range(after, len(lines)) if lines[i].startswith("#")), len(lines)
    )
    assert TABLE_HEADER in lines[after:section_end], f"no mistakes table under {heading!r}"
    start = lines.index(TABLE_HEADER, after) + 2  # skip the |---| line
    expected: list[Place] = []
    for line in lines[start:section_end]:
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


def assert_same(got: set[Place], expected: set[Place]) -> None:
    assert got == expected, (
        f"reported but not in the README: {sorted(got - expected, key=str)}; "
        f"in the README but not reported: {sorted(expected - got, key=str)}"
    )


@pytest.fixture(scope="module")
def order_mistakes_result() -> BatchResult:
    return run_batch([ORDER_MISTAKES], INVENTORY, Settings())


def test_readme_tables_are_told_apart() -> None:
    values = readme_expected(MISTAKES_HEADING)
    orders = readme_expected(ORDER_MISTAKES_HEADING)
    assert (1, "P", "header-unknown") in values
    assert (1, "P", "header-unknown") not in orders
    assert (20, "G", "order-conflict") in orders
    assert (20, "G", "order-conflict") not in values


def test_mistakes_file_reports_exactly_the_readme_table() -> None:
    expected = readme_expected(MISTAKES_HEADING)
    assert len(expected) >= 12
    result = run_batch([MISTAKES], INVENTORY, Settings())
    assert_same(found(result.files[0].problems), expected)


def test_mistakes_file_writes_only_the_clean_orders() -> None:
    result = run_batch([MISTAKES], INVENTORY, Settings())
    assert sorted(result.decision.orders["order_id"]) == ["RMV-OK-01", "RMV-OK-10"]
    assert result.files[0].status == "partial"


def test_order_mistakes_file_reports_exactly_the_readme_table(
    order_mistakes_result: BatchResult,
) -> None:
    expected = readme_expected(ORDER_MISTAKES_HEADING)
    codes = {code for _, _, code in expected}
    assert codes >= {
        "sku-unknown",
        "sku-duplicate",
        "quantity-zero",
        "quantity-exceeds-sellable",
        "quantity-exceeds-unsellable",
        "address-required",
        "address-ignored",
        "address-po-box",
        "address-military",
        "address-territory",
        "address-foreign",
        "order-conflict",
        "order-not-contiguous",
        "order-held",
    }
    (outcome_,) = order_mistakes_result.files
    assert outcome_.shape == "table"
    assert_same(found(outcome_.problems), expected)


def test_order_mistakes_file_holds_every_order_with_an_error(
    order_mistakes_result: BatchResult,
) -> None:
    problems = order_mistakes_result.files[0].problems
    by_severity = {
        code: set(problems.loc[problems["code"] == code, "severity"])
        for code in ("address-ignored", "order-not-contiguous", "order-held")
    }
    assert by_severity == {
        "address-ignored": {"warning"},
        "order-not-contiguous": {"warning"},
        "order-held": {"info"},
    }
    held = set(problems.loc[problems["code"] == "order-held", "order_id"])
    with_errors = set(problems.loc[problems["severity"] == "error", "order_id"])
    assert held == with_errors
    assert len(held) == 12


def test_order_mistakes_file_writes_the_clean_and_warned_orders(
    order_mistakes_result: BatchResult,
) -> None:
    orders = order_mistakes_result.decision.orders
    assert sorted(orders["order_id"]) == ["ORD-DISP-09", "ORD-OK-01", "ORD-OK-16", "ORD-SPLIT-15"]
    lines = order_mistakes_result.decision.lines
    split = lines[lines["order_id"] == "ORD-SPLIT-15"]
    assert sorted(split["source_row"]) == [21, 23]
    (disposal,) = orders[orders["order_id"] == "ORD-DISP-09"].itertuples()
    assert disposal.AddressName == "" and disposal.ContactPhoneNumber == ""
    assert (int(lines["sellable"].sum()), int(lines["unsellable"].sum())) == (11, 6)
    assert order_mistakes_result.files[0].status == "partial"
    assert order_mistakes_result.exit_code == 1


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
