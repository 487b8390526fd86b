"""PO boxes written in other languages, or under the US Postal Service's other names, are
PO boxes; streets that only look like one pass."""

from __future__ import annotations

import pandas as pd
import pytest

from removal_batch.core.rules.address import PO_BOX, _contains

BOXES = [
    "Postfach 10 01 23",
    "Postfach",
    "Postbus 123",
    "Postbox 12",
    "Postboks 44",
    "Boîte postale 12",
    "Boite Postale 12",
    "BP 123",
    "B.P. 123",
    "B.P 12",
    "Apartado de correos 123",
    "Apartado de Correos",
    "Apartado 123",
    "Apartado nº 12",
    "Apartado postal 12",
    "Apdo. 45",
    "Apdo 45",
    "Casella postale 12",
    "C.P. 123",
    "CP 123",
    "C. P. 12",
    "CP 6128, succ. Centre-ville",
    "Case postale 8888",
    "Caixa Postal 123",
    "\uff30\uff4f\uff53\uff54\uff46\uff41\uff43\uff48 12",  # full-width letters
    "\u4e2d\u592e\u90f5\u4fbf\u5c40\u79c1\u66f8\u7bb1\u7b2c12\u53f7",  # 中央郵便局私書箱第12号
    "GPO Box 1234",
    "G.P.O. Box 99",
    "Locked Bag 2000",
    "Private Bag 92019",
    "Skrytka pocztowa 12",
    "skr. poczt. 12",
    "P.B. No. 5001",
    "Post Bag No. 5001",
    "PB 5001",
]
STREETS = [
    "Bpstraße 5",
    "Apartment 4",
    "Apt 4",
    "Apartamento 3",
    "Postfachstraße 3",
    "Postbuslaan 4",
    "Calle Mayor 5, C.P. 28013",  # a Spanish postal code
    "Col. Centro, C.P. 06000",  # a Mexican one
    "BP Tankstelle",
    "1 BP Way",
    "12 CP Rd",
    "RCP 12",
    "CP12",
    "Apartado, Antioquia",
    "Via Capri 3",
    "Case 12",
    "12 Gpo Street",
    "Locked Bag Rd 4",
    "Privatebag Lane",
    "ul. Skrzydlata 12",
    "12 PBR Road",
    "Post Bagot Street 4",
]


@pytest.mark.parametrize("line", BOXES)
def test_a_po_box_in_another_language_is_a_po_box(line: str) -> None:
    assert _contains(pd.Series([line]), PO_BOX).all()


@pytest.mark.parametrize("line", STREETS)
def test_a_street_that_only_looks_like_a_foreign_box_passes(line: str) -> None:
    assert not _contains(pd.Series([line]), PO_BOX).any()


# The Postal Service's names for a box at a post office: drawers, caller service, lockboxes.
US_BOXES = [
    "PO Drawer 5",
    "Post Office Drawer 5",
    "Drawer 12",
    "Caller Box 5",
    "Caller 1234",
    "Firm Caller 5",
    "Lockbox 5",
    "Lock Box 12",
    "Attn: Returns, Lockbox #4410",
]
US_STREETS = [
    "12 Drawer Rd",
    "Drawer Street 4",
    "1 Caller Way",
    "Caller St",
    "40 Lockbox Lane",
    "Boxwood Lane 7",
    "Lockwood Box Factory",
]


@pytest.mark.parametrize("line", US_BOXES)
def test_a_drawer_a_caller_box_and_a_lockbox_are_po_boxes(line: str) -> None:
    assert _contains(pd.Series([line]), PO_BOX).all()


@pytest.mark.parametrize("line", US_STREETS)
def test_a_street_that_only_looks_like_a_drawer_or_lockbox_passes(line: str) -> None:
    assert not _contains(pd.Series([line]), PO_BOX).any()
