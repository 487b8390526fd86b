"""The request template workbook (SPEC section 9): what it offers and tells the user agrees
with the settings and rules the filled workbook is then checked by."""

from __future__ import annotations

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
    assert said in " ".join(result.output.split())
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
