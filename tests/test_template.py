"""The request template workbook (SPEC section 9): what it offers and tells the user agrees
with the settings and rules the filled workbook is then checked by."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from conftest import CheckOne, codes

from removal_batch.app import load_settings
from removal_batch.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), terminal_width=400)


def bare(text: str) -> str:
    """Without white space: rich folds a long path anywhere."""
    return "".join(text.split())


def write(tmp_path: Path, settings: str | None = None) -> openpyxl.Workbook:
    """The template written by the command, with ``settings`` (TOML text) if given."""
    path = tmp_path / "request.xlsx"
    args = ["template", str(path)]
    if settings is not None:
        (tmp_path / "removal-batch.toml").write_text(settings)
        args += ["--settings", str(tmp_path / "removal-batch.toml")]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(path)


def instructions(book: openpyxl.Workbook) -> dict[str, str]:
    """The Instructions sheet's column help: column name -> what to enter."""
    return {str(a): str(b) for a, b in book["Instructions"].iter_rows(values_only=True) if a and b}


def drop_down(book: openpyxl.Workbook) -> list[str]:
    (disposition,) = [
        v
        for v in book["Removal Request"].data_validations.dataValidation
        if v.type == "list" and "B2" in str(v.sqref)
    ]
    return str(disposition.formula1).strip('"').split(",")


@pytest.mark.parametrize(
    ("settings", "offered"),
    [
        (None, ["Return", "Disposal"]),
        ('allowed_dispositions = ["Return"]\n', ["Return"]),
        ('allowed_dispositions = ["Return", "Liquidation"]\n', ["Return", "Liquidations"]),
        (
            'allowed_dispositions = ["Disposal", "Return", "Liquidations"]\n',
            ["Disposal", "Return", "Liquidations"],
        ),
    ],
)
def test_the_drop_down_offers_what_the_settings_allow(
    tmp_path: Path, settings: str | None, offered: list[str]
) -> None:
    """The drop-down was "Return,Disposal" whatever the settings: Liquidations could not be
    chosen where allowed, and Disposal was offered where the run refuses it."""
    book = write(tmp_path, settings)
    assert drop_down(book) == offered
    said = instructions(book)["RemovalDisposition"]
    for name in ("Return", "Disposal", "Liquidations"):
        assert (name in said) == (name in offered), said
    rules = [str(r[1]) for r in book["Instructions"].iter_rows(values_only=True) if r[1]]
    no_address = " ".join(s for r in rules for s in r.split(".") if "needs no address" in s)
    assert ("Disposal" in no_address) == ("Disposal" in offered)
    assert ("Liquidations" in no_address) == ("Liquidations" in offered)


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (None, "Settings file not found"),
        ('allowed_dispositions = ["Gift"]\n', "'Gift' is not one of"),
        ("allowed_dispositions = [", "is not valid TOML"),
    ],
)
def test_settings_the_template_cannot_use_are_a_usage_error(
    tmp_path: Path, settings: str | None, said: str
) -> None:
    toml = tmp_path / "removal-batch.toml"
    if settings is not None:
        toml.write_text(settings)
    path = tmp_path / "request.xlsx"
    result = invoke("template", str(path), "--settings", str(toml))
    assert result.exit_code == 2, result.output
    assert bare(said) in bare(result.output)
    assert not path.exists()


def fill(book: openpyxl.Workbook, rows: list[dict[str, Any]], path: Path) -> Path:
    sheet = book["Removal Request"]
    header = [c.value for c in sheet[1]]
    for i, values in enumerate(rows):
        for name, value in values.items():
            sheet.cell(row=i + 2, column=header.index(name) + 1, value=value)
    book.save(path)
    return path


def test_a_disposition_the_drop_down_offers_is_accepted(tmp_path: Path, check: CheckOne) -> None:
    toml = 'allowed_dispositions = ["Return", "Liquidations"]\n'
    book = write(tmp_path, toml)
    path = fill(
        book,
        [
            {
                "MerchantRemovalOrderID": "L-1",
                "RemovalDisposition": drop_down(book)[1],
                "MerchantSKU": "00123",
                "SellableQuantity": 2,
            }
        ],
        tmp_path / "filled.xlsx",
    )
    result = check(path, settings=load_settings(tmp_path / "removal-batch.toml"))
    assert codes(result) == set() and result.exit_code == 0
    assert list(result.decision.orders["disposition"]) == ["Liquidations"]
    # The Instructions sheet lists the fields down column A, as a feed's key lines: it
    # was named as another sheet of requests left unread (a review's finding).
    assert result.files[0].other_request_sheets == []


def rules_text(book: openpyxl.Workbook) -> str:
    """The Instructions sheet's rules, as one text."""
    sheet = book["Instructions"]
    (start,) = [r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "Rules"]
    return " ".join(str(sheet.cell(r, 2).value) for r in range(start + 1, sheet.max_row + 1))


def test_the_instructions_give_every_length_limit_validation_enforces(tmp_path: Path) -> None:
    """Only the SKU's limit was stated; the address, phone and notes limits were not."""
    from removal_batch.core.schema import length_limits

    book = write(tmp_path)
    said = instructions(book)
    limits = {k: v for k, v in length_limits().items() if k in said}
    assert limits["AddressName"] == 50 and limits["ShippingNotes"] == 250  # the schema's
    assert len(limits) == 10
    for name, limit in limits.items():
        assert f"At most {limit} characters." in said[name], name
    # Excel refuses the same lengths as they are typed.
    sheet = book["Removal Request"]
    header = [c.value for c in sheet[1]]
    typed = {}
    for rule in sheet.data_validations.dataValidation:
        if rule.type == "textLength":
            for cells in str(rule.sqref).split():
                typed[header[openpyxl.utils.column_index_from_string(cells[0]) - 1]] = int(
                    rule.formula1
                )
    assert typed == limits


def test_the_instructions_explain_the_order_rules(tmp_path: Path) -> None:
    """Missing were: a line needs a quantity above 0, ids used once across files and runs,
    long orders split into parts, rows of an order that disagree, and the options that
    send part of an order or cap a quantity."""
    book = write(tmp_path, "max_skus_per_order = 2500\n")
    said = rules_text(book)
    for words in (
        "at least one quantity above 0",
        "an id that another file of the same batch uses, or that an earlier run sent",
        "more than 2,500 rows is sent as several orders",
        "-P1, -P2",
        "rows of one order that disagree",
        "--allow-partial",
        "--on-excess cap",
    ):
        assert words in said, words
    assert "at least one of the two quantities above 0" in instructions(book)["UnsellableQuantity"]


@pytest.mark.parametrize(
    ("limit", "said"),
    [(1_572_864, "over 1.5 MB or"), (50_000, "over 50,000 bytes or"), (None, "over 100 MB or")],
)
def test_the_instructions_give_the_size_limit_as_the_reader_says_it(
    tmp_path: Path, limit: int | None, said: str
) -> None:
    """1.5 MB was said as "2 MB", and 50,000 bytes as "0 MB" (review of the session)."""
    book = write(tmp_path, None if limit is None else f"max_file_bytes = {limit}\n")
    assert said in rules_text(book)


def test_an_order_over_the_limit_is_split_as_the_instructions_say(
    tmp_path: Path, check: CheckOne
) -> None:
    book = write(tmp_path, "max_skus_per_order = 2\n")
    assert "more than 2 rows is sent as several orders" in rules_text(book)
    rows = [
        {"MerchantRemovalOrderID": "D-1", "RemovalDisposition": "Disposal"},
        {},
        {},
    ]
    for row, sku in zip(rows, ("00123", "ABC-1", "SKU-4"), strict=True):
        row.update(MerchantSKU=sku, SellableQuantity=1)
    path = fill(book, rows, tmp_path / "filled.xlsx")
    result = check(path, settings=load_settings(tmp_path / "removal-batch.toml"))
    assert codes(result) == {"order-split"}
    assert list(result.decision.orders["order_id"]) == ["D-1-P1", "D-1-P2"]


def marked(book: openpyxl.Workbook) -> tuple[set[str], set[str]]:
    """The bold and the italic headers of the Removal Request sheet."""
    header = list(book["Removal Request"][1])
    return {c.value for c in header if c.font.b}, {c.value for c in header if c.font.i}


RETURN_ADDRESS = {
    "AddressName": "Acme",
    "AddressFieldOne": "1 Main St",
    "AddressCity": "Boston",
    "AddressCountryCode": "US",
    "AddressStateOrRegion": "MA",
    "AddressPostalCode": "02134",
    "ContactPhoneNumber": "617-555-0142",
}


def test_bold_columns_are_the_ones_every_order_must_fill(tmp_path: Path, check: CheckOne) -> None:
    """The order id and both quantities were bold ("required"), though a blank id is made
    and a blank quantity is 0; the Return address was not marked at all."""
    book = write(tmp_path)
    bold, italic = marked(book)
    assert bold == {"RemovalDisposition", "MerchantSKU"}
    assert italic == set(RETURN_ADDRESS)
    legend = " ".join(str(r[0]) for r in book["Instructions"].iter_rows(values_only=True))
    assert "Bold columns must always be filled" in legend
    assert "Italic columns must be filled on the first row of each Return order" in legend
    # The marks say what the run does: bold cells alone make a Disposal order, bold and
    # italic ones a Return; one quantity above 0 is the line's only other need.
    path = fill(
        book,
        [
            {"RemovalDisposition": "Disposal", "MerchantSKU": "00123", "SellableQuantity": 1},
            {"MerchantRemovalOrderID": "R-1", "RemovalDisposition": "Return", **RETURN_ADDRESS},
            {"MerchantSKU": "ABC-1", "UnsellableQuantity": 0, "SellableQuantity": 2},
        ],
        tmp_path / "filled.xlsx",
    )
    result = check(path)
    assert codes(result) == {"value-missing"}  # row 3 has no SKU
    book = openpyxl.load_workbook(path)
    book["Removal Request"]["M3"] = "SKU-4"
    book["Removal Request"]["N3"] = 1
    book.save(path)
    result = check(path)
    assert codes(result) == set() and len(result.decision.orders) == 2


@pytest.mark.parametrize("blank", ["RemovalDisposition", "MerchantSKU", *RETURN_ADDRESS])
def test_a_marked_cell_left_blank_holds_the_order(
    tmp_path: Path, check: CheckOne, blank: str
) -> None:
    row = {
        "MerchantRemovalOrderID": "R-1",
        "RemovalDisposition": "Return",
        **RETURN_ADDRESS,
        "MerchantSKU": "00123",
        "SellableQuantity": 1,
    }
    del row[blank]
    result = check(fill(write(tmp_path), [row], tmp_path / "filled.xlsx"))
    assert result.exit_code == 1 and len(result.decision.orders) == 0


def test_a_folder_not_writable_is_a_usage_error(tmp_path: Path) -> None:
    """A PermissionError ended in "internal error" (exit 3)."""
    if os.geteuid() == 0:
        pytest.skip("root writes any folder")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        for path in (folder / "request.xlsx", folder / "sub" / "request.xlsx"):
            result = invoke("template", str(path))
            assert result.exit_code == 2, result.output
            assert "Permission denied" in result.output
            assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("failing", ["mkstemp", "mkdir", "save"])
def test_a_write_that_fails_names_the_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Whatever step of the writing fails (the folder, the temporary file, the disk filling
    up halfway through the workbook), the user is told which file and why, with exit 2, and
    no file is left at the name or beside it."""
    from removal_batch.writers import template

    folder = tmp_path / "out"
    path = folder / "request.xlsx"
    if failing == "mkstemp":
        folder.mkdir()

        def refuse(**kwargs: Any) -> Any:
            raise PermissionError(errno.EACCES, "Permission denied", str(folder / ".t.xlsx"))

        monkeypatch.setattr(template.tempfile, "mkstemp", refuse)
        said = f"The template {path} could not be written: Permission denied."
    elif failing == "mkdir":

        def refuse_folder(self: Path, *args: Any, **kwargs: Any) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))

        monkeypatch.setattr(template.Path, "mkdir", refuse_folder)
        said = f"The template {path} could not be written: {folder}: Permission denied."
    else:
        folder.mkdir()

        def full(self: openpyxl.Workbook, name: str) -> None:
            Path(name).write_bytes(b"PK half a workbook")
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(template.Workbook, "save", full)
        said = f"The template {path} could not be written: No space left on device."
    result = invoke("template", str(path))
    assert result.exit_code == 2, result.output
    assert bare(said + " No workbook was written there.") in bare(result.output)
    assert "internal error" not in result.output
    assert not folder.exists() or list(folder.iterdir()) == []


def test_every_column_but_the_quantities_is_text(tmp_path: Path) -> None:
    """Excel turns an address line typed 3-12 or 1-2-3 into a date, which the check then
    refuses (address-required, "format the column as Text"): the template's address and
    note columns were General (found by a read-through of the template). Every column a
    user types words or ids into is Text; the quantities stay numbers."""
    sheet = write(tmp_path)["Removal Request"]
    formats = {str(sheet.cell(1, c).value): sheet.cell(2, c).number_format for c in range(1, 16)}
    numbers = {"RemovalDisposition", "SellableQuantity", "UnsellableQuantity"}
    assert {name for name, f in formats.items() if f != "@"} == numbers
    assert sheet.cell(10_001, 4).number_format == "@"  # to the template's last row


def test_the_country_column_help_is_in_the_marketplaces_own_terms() -> None:
    """A CA seller's template said "such as US" and "never to US territories": for that
    seller a territory is abroad like any other place (address-foreign)."""
    from removal_batch.core.settings import settings_from_mapping
    from removal_batch.writers.template import column_help

    canadian = column_help(settings_from_mapping({"marketplace": "CA"}))["AddressCountryCode"]
    assert canadian.startswith("Return: two-letter country code, such as CA.")
    assert "within Canada (CA) only." in canadian and "territor" not in canadian
    home = column_help(settings_from_mapping({}))["AddressCountryCode"]
    assert "such as US" in home and "never to US territories (PR, GU" in home
