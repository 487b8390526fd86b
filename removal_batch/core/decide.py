"""From validated rows to decisions: which lines become orders, which are held.

This is the seam the order rules plug into (grouping, eligibility, allocation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from removal_batch.core.inventory import Snapshot
from removal_batch.core.settings import Settings
from removal_batch.core.shape import RequestTable


@dataclass
class ValidatedFile:
    name: str
    table: RequestTable
    row_has_error: pd.Series


@dataclass
class Decision:
    problems_by_file: dict[str, pd.DataFrame] = field(default_factory=dict)
    accepted_rows: dict[str, int] = field(default_factory=dict)
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)


def decide_orders(
    files: list[ValidatedFile], snapshot: Snapshot, settings: Settings, now: dt.datetime
) -> Decision:
    accepted = {f.name: int((~f.row_has_error).sum()) for f in files}
    return Decision(accepted_rows=accepted)
