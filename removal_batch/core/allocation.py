"""First come, first served: which requested units each line actually gets.

The result equals deciding the orders one after another in batch order (files by
name, rows in file order, an order placed at its first row): every line is checked
against what is still available, and only lines that are written take units.

Most SKUs are not contested (everything asked for them fits), and their lines fit
whatever else happens, so they are decided in one vectorised step. Only orders
touching a contested SKU are walked in sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from removal_batch.core.findings import concat_findings, findings
from removal_batch.core.wording import counted, grouped, is_are

KINDS = ("sellable", "unsellable")
QUANTITIES = (
    ("sellable", "SellableQuantity", "quantity-exceeds-sellable", "sellable"),
    ("unsellable", "UnsellableQuantity", "quantity-exceeds-unsellable", "unsellable"),
)


@dataclass
class Allocation:
    granted: pd.DataFrame  # index: line; columns sellable, unsellable (what is written)
    findings: pd.DataFrame  # quantity-exceeds-* and quantity-capped
    held_orders: frozenset[int]  # orders held because a line did not fit (all-or-nothing)
    dropped_lines: frozenset[int]  # lines not written because they did not fit


@dataclass(frozen=True)
class Availability:
    """Units per SKU: the snapshot's, and those already requested since it was taken."""

    snapshot: pd.DataFrame  # index sku; sellable, unsellable
    taken: pd.DataFrame  # index sku; sellable, unsellable (ledger), may be empty

    def _left(self) -> list[np.ndarray]:
        """Per kind and snapshot row: the snapshot's units less the ledger's, below zero
        where earlier runs requested more than this snapshot lists."""
        left = [self.snapshot[k].to_numpy(dtype=np.int64).copy() for k in KINDS]
        if len(self.taken):
            rows = self.snapshot.index.get_indexer(self.taken.index)
            known = rows >= 0
            for units, kind in zip(left, KINDS, strict=True):
                units[rows[known]] -= self.taken[kind].to_numpy(dtype=np.int64)[known]
        return left

    def remaining(self) -> tuple[np.ndarray, np.ndarray]:
        """Sellable and unsellable units still free, per snapshot row (snapshot order)."""
        left = self._left()
        return left[0].clip(min=0), left[1].clip(min=0)

    def overdrawn(self) -> tuple[np.ndarray, np.ndarray]:
        """Units earlier runs requested beyond what the snapshot lists, per row: nothing
        is free then, and a message saying how many were requested counts them too."""
        left = self._left()
        return (-left[0]).clip(min=0), (-left[1]).clip(min=0)


def allocate_units(
    lines: pd.DataFrame,
    availability: Availability,
    on_excess: str,
    allow_partial: bool,
    positions: np.ndarray,
) -> Allocation:
    """``lines``: candidates in batch order, with order_no, order_id, sku, sellable, unsellable.
    ``positions``: each line's row in the snapshot (-1: not listed; Snapshot.positions)."""
    granted = lines[["sellable", "unsellable"]].copy()
    if lines.empty:
        return Allocation(granted, concat_findings([]), frozenset(), frozenset())
    # Demand per snapshot row in one pass; SKUs the snapshot lacks share one last row with
    # nothing available.
    available = [np.append(units, 0) for units in availability.remaining()]
    row = np.where(positions >= 0, positions, len(available[0]) - 1)
    short = np.zeros(len(available[0]), dtype=bool)  # rows asked for more than they have
    for units, kind in zip(available, KINDS, strict=True):
        asked_in_total = np.bincount(
            row, weights=lines[kind].to_numpy(dtype=np.float64), minlength=len(units)
        )
        short |= asked_in_total > units
    if not short.any():
        return Allocation(granted, concat_findings([]), frozenset(), frozenset())
    contested = short[row]
    contested_rows = row[contested]
    contested_skus = lines["sku"].to_numpy(dtype=object)[contested]

    def by_sku(per_row: list[np.ndarray]) -> dict[str, dict[str, int]]:
        """kind -> contested SKU -> units, from arrays per snapshot row."""
        return {
            kind: dict(zip(contested_skus, units[contested_rows].tolist(), strict=True))
            for kind, units in zip(KINDS, per_row, strict=True)
        }

    remaining = by_sku(available)
    listed = [np.append(availability.snapshot[k].to_numpy(dtype=np.int64), 0) for k in KINDS]
    snapshot_units = by_sku(listed)
    beyond = by_sku([np.append(units, 0) for units in availability.overdrawn()])
    walk = lines[contested]
    held: set[int] = set()
    dropped: set[int] = set()
    capped: dict[int, tuple[int, int]] = {}
    records: list[tuple[int, str, str, str, str]] = []
    for order_no, order_lines in walk.groupby("order_no", sort=True):
        skus = order_lines["sku"].tolist()
        asked = {k: order_lines[k].tolist() for k in ("sellable", "unsellable")}
        free = {k: [remaining[k][s] for s in skus] for k in ("sellable", "unsellable")}
        line_ids = order_lines.index.tolist()
        over = [
            (i, kind, field, code, word)
            for i in range(len(line_ids))
            for kind, field, code, word in QUANTITIES
            if asked[kind][i] > free[kind][i]
        ]
        if on_excess == "cap":
            gives = [{k: min(asked[k][i], free[k][i]) for k in free} for i in range(len(skus))]
            # A line with nothing left to give is refused (quantity-exceeds-*, an error):
            # its order is held whole, as for any error, unless --allow-partial sends the
            # rest without it. A held order takes nothing, so its capped lines say nothing.
            empty = {i for i, give in enumerate(gives) if not any(give.values())}
            over = [o for o in over if o[0] in empty]
            hold = bool(empty) and not allow_partial
        for i, kind, field, code, word in over:
            if on_excess == "cap":
                advice = _NONE_LEFT if hold else _DROPPED
            else:
                advice = _lower_it(
                    free[kind][i], min(asked[_OTHER[kind]][i], free[_OTHER[kind]][i])
                )
            message = _exceeds(
                skus[i],
                asked[kind][i],
                free[kind][i],
                word,
                snapshot_units[kind][skus[i]],
                beyond[kind][skus[i]],
            )
            records.append((line_ids[i], field, code, message + advice, str(asked[kind][i])))
        if on_excess == "cap":
            dropped.update(line_ids[i] for i in empty)
            if hold:
                held.add(int(order_no))
                continue
            for i, line in enumerate(line_ids):
                if i in empty:
                    continue
                give = gives[i]
                for kind, field, _code, word in QUANTITIES:
                    if give[kind] < asked[kind][i]:
                        records.append(
                            (
                                line,
                                field,
                                "quantity-capped",
                                f"{field} for SKU '{skus[i]}' reduced from {asked[kind][i]:,} "
                                f"to {give[kind]:,}: only "
                                f"{counted(free[kind][i], word + ' unit')} "
                                f"{is_are(free[kind][i])} still available.",
                                str(asked[kind][i]),
                            )
                        )
                    remaining[kind][skus[i]] -= give[kind]
                capped[line] = (give["sellable"], give["unsellable"])
            continue
        bad = {i for i, *_ in over}
        if bad and not allow_partial:
            held.add(int(order_no))
            continue
        for i, line in enumerate(line_ids):
            if i in bad:
                dropped.add(line)
                continue
            for kind in ("sellable", "unsellable"):
                remaining[kind][skus[i]] -= asked[kind][i]
    if capped:
        at = granted.index.get_indexer(list(capped))
        granted.iloc[at, [0, 1]] = np.array(list(capped.values()), dtype=np.int64)
    if dropped:
        granted.iloc[granted.index.get_indexer(list(dropped)), [0, 1]] = 0
    found = (
        pd.DataFrame.from_records(records, columns=["line", "field", "code", "message", "value"])
        if records
        else concat_findings([])
    )
    if len(found):
        found["line"] = found["line"].astype(np.int64)
    return Allocation(granted, found, frozenset(held), frozenset(dropped))


def units_left_for_held_lines(
    held: pd.DataFrame,
    written: pd.DataFrame,
    availability: Availability,
    held_positions: np.ndarray,
    written_positions: np.ndarray,
) -> list[np.ndarray]:
    """What each line of an order held before allocation could get, per quantity (in the
    order of QUANTITIES): what the orders before it left, as if it were decided in its
    place (0 for a SKU the snapshot does not list). ``held`` and ``written``: lines with
    order_no, sku, sellable, unsellable (``written``'s as granted); the positions are
    their rows in the snapshot."""
    listed = held_positions >= 0
    result = [np.zeros(len(held), dtype=np.int64) for _ in QUANTITIES]
    if not listed.any():
        return result
    rows = held_positions[listed]
    orders = held["order_no"].to_numpy(dtype=np.int64)[listed]
    span = int(max(orders.max(), written["order_no"].max() if len(written) else 0)) + 1
    keys = written_positions.astype(np.int64) * span + written["order_no"].to_numpy(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, by_row = keys[order], written_positions[order]
    # The last written line of the same SKU placed before each held line.
    before = np.searchsorted(keys, rows.astype(np.int64) * span + orders, side="left") - 1
    same = (before >= 0) & (by_row[np.maximum(before, 0)] == rows) if len(keys) else before >= 0
    for (kind, *_), free_now, free in zip(
        QUANTITIES, availability.remaining(), result, strict=True
    ):
        given = written[kind].to_numpy(dtype=np.int64)[order]
        total = np.cumsum(given)
        starts = np.searchsorted(by_row, by_row, side="left")  # each line's SKU's first
        within = total - np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0)
        taken = np.where(same, within[np.maximum(before, 0)] if len(keys) else 0, 0)
        free[listed] = free_now[rows] - taken
    return result


def excess_of_held_lines(
    held: pd.DataFrame,
    written: pd.DataFrame,
    availability: Availability,
    held_positions: np.ndarray,
    written_positions: np.ndarray,
    bad_cells: dict[str, np.ndarray] | None = None,
    nothing_left_only: bool = False,
) -> pd.DataFrame:
    """quantity-exceeds-* for lines of orders held before allocation (for an address, a
    bad SKU on another line...). They take nothing, but a line asking more than it could
    get is an error all the same: said now, not after the user fixed the first one and
    ran again. Arguments as units_left_for_held_lines; ``bad_cells``: per kind, the lines
    whose cell of that kind failed its check (it asks 0 here, but is no "nothing asked":
    the advice is then to set the quantity to 0, not to delete the row).
    ``nothing_left_only`` (--on-excess cap): only lines that could get nothing of either
    kind; the others would be lowered."""
    listed = held_positions >= 0
    if not listed.any():
        return concat_findings([])
    frees = units_left_for_held_lines(
        held, written, availability, held_positions, written_positions
    )
    found = []
    free_of = {kind: free for (kind, *_), free in zip(QUANTITIES, frees, strict=True)}
    if nothing_left_only:
        gets = sum(np.minimum(held[k].to_numpy(dtype=np.int64), free_of[k]) for k in free_of)
        listed = listed & (np.asarray(gets) <= 0)
    for (kind, field, code, word), free, overdrawn in zip(
        QUANTITIES, frees, availability.overdrawn(), strict=True
    ):
        asked = held[kind].to_numpy(dtype=np.int64)
        over = np.flatnonzero(listed & (asked > free))
        if not len(over):
            continue
        rows = held_positions[over]
        in_snapshot = availability.snapshot[kind].to_numpy(dtype=np.int64)[rows]
        message = _exceeds_each(
            pd.Series(held["sku"].to_numpy(dtype=object)[over]),
            asked[over],
            free[over],
            word,
            in_snapshot,
            overdrawn[rows],
            np.minimum(_others_asked(held, kind, bad_cells), free_of[_OTHER[kind]])[over],
            # With cap already on, it is no way out.
            "." if nothing_left_only else _BY_CAP,
        )
        found.append(findings(held.index[over], field, code, message, asked[over].astype(str)))
    return concat_findings(found)


def _others_asked(
    held: pd.DataFrame, kind: str, bad_cells: dict[str, np.ndarray] | None
) -> np.ndarray:
    """Each line's other quantity, a cell that failed its check counted as asking some."""
    other = held[_OTHER[kind]].to_numpy(dtype=np.int64)
    if bad_cells is None:
        return other
    return np.where(bad_cells[_OTHER[kind]], np.maximum(other, 1), other)


def _exceeds_each(
    skus: pd.Series,
    asked: np.ndarray,
    free: np.ndarray,
    word: str,
    in_snapshot: np.ndarray,
    overdrawn: np.ndarray,
    other: np.ndarray,
    by_cap: str,
) -> pd.Series:
    """_exceeds and _lower_it for many lines at once (every line of a large held batch may
    be over). ``by_cap``: what ends the advice to lower it (_BY_CAP, or "." under cap).
    ``other``: how much of each line's other quantity (unsellable for
    sellable) it could still send."""

    def text(numbers: np.ndarray) -> pd.Series:
        return grouped(pd.Series(numbers))

    earlier = in_snapshot - free + overdrawn
    taken = pd.Series(
        np.where(earlier > 0, ", " + text(earlier) + " already requested by earlier orders", "")
    )
    return (
        text(asked)
        + " "
        + word
        + pd.Series(np.where(asked == 1, " unit", " units"))
        + " of SKU '"
        + skus.astype(str)
        + "' requested, but only "
        + text(free)
        + pd.Series(np.where(free == 1, " is", " are"))
        + " available ("
        + text(in_snapshot)
        + " in the snapshot"
        + taken
        + ")."
        + pd.Series(
            np.select(
                [free > 0, other > 0],
                [" Lower the quantity to " + text(free) + " or less" + by_cap, _TO_ZERO + by_cap],
                _NONE_LEFT,
            )
        )
    )


# What to do about an over-request that is refused (with --on-excess cap, the line is
# lowered or dropped instead, and its message says so). Not "delete the line": its other
# quantity may be one that fits.
_TO_ZERO = " Set the quantity to 0"
_BY_CAP = ", or run with --on-excess cap to have it lowered for you."
# Nothing of it left, and nothing of the other kind asked: set to 0, the line would be
# quantity-zero. Capped, it holds its order as any error does; with --allow-partial it is
# dropped with its error and the rest of its order sent.
_NONE_LEFT = " None is left to remove: delete the row."
_DROPPED = " Nothing is left to remove, so the line is dropped."
_OTHER = {"sellable": "unsellable", "unsellable": "sellable"}


def _lower_it(free: int, other: int) -> str:
    """The way out of a refused over-request: _exceeds_each's, for one line. ``other``:
    how much of the line's other quantity it could still send (set to 0, a line whose
    other quantity has nothing left either would be quantity-zero: delete the row)."""
    if free > 0:
        return f" Lower the quantity to {free:,} or less" + _BY_CAP
    return _TO_ZERO + _BY_CAP if other > 0 else _NONE_LEFT


def _exceeds(sku: str, asked: int, free: int, word: str, in_snapshot: int, overdrawn: int) -> str:
    """``overdrawn``: units earlier runs requested beyond the snapshot's (Availability)."""
    earlier = in_snapshot - free + overdrawn
    taken = f", {earlier:,} already requested by earlier orders" if earlier > 0 else ""
    return (
        f"{counted(asked, word + ' unit')} of SKU '{sku}' requested, but only {free:,} "
        f"{is_are(free)} available ({in_snapshot:,} in the snapshot{taken})."
    )


__all__ = ["Allocation", "Availability", "allocate_units", "excess_of_held_lines", "findings"]
