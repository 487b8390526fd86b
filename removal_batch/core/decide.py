"""From validated rows to decisions: which lines become orders, which are held, and why.

Stages, each a pure function: group rows into orders -> order rules (addresses,
ids) -> line rules (SKUs, quantities) -> hold orders with errors -> allocate
units first come, first served -> split big orders. Every finding keeps the line
it is about, and is placed at the user's row and column at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

from removal_batch.core.allocation import (
    Availability,
    allocate_units,
    excess_of_held_lines,
)
from removal_batch.core.codes import SEVERITY_NAMES
from removal_batch.core.fields import (
    ADDRESS_FIELDS,
    QUANTITY_FIELDS,
    ascii_upper,
    ascii_upper_text,
    in_set,
)
from removal_batch.core.findings import FilePlaces, concat_findings, findings, place_findings
from removal_batch.core.fingerprint import file_key, order_fingerprints
from removal_batch.core.inventory import Snapshot
from removal_batch.core.orders import codes_in_capitals, group_orders, list_numbers, run_starts
from removal_batch.core.problems import held_messages
from removal_batch.core.raw_table import TEXT
from removal_batch.core.rules.address import (
    FileFields,
    address_findings,
    apply_default_address,
)
from removal_batch.core.rules.lines import (
    fnsku_mismatch,
    parse_quantity,
    quantity_zero,
    resolve_skus,
    sku_duplicate,
    sku_unknown,
)
from removal_batch.core.settings import Settings
from removal_batch.core.shape import RequestTable
from removal_batch.core.validate import ValidationResult
from removal_batch.core.wording import counted

ORDER_COLUMNS = [
    "order_id",
    "base_order_id",
    "disposition",
    "lines",
    "sellable_units",
    "unsellable_units",
    "source_file",
    "first_row",
    "part",
    *ADDRESS_FIELDS,
    "ShippingNotes",
    "generated_id",  # the file gave no id (the ledger matches these against a re-drop)
    "fingerprint",  # of such an order as requested, before any line was dropped or capped
    "sent_fingerprint",  # and of what it sent, where less (None where the same)
]
LINE_COLUMNS = ["order_id", "sku", "sellable", "unsellable", "source_file", "source_row"]
# Codes that spoil only their own line; every other error spoils the whole order.
LINE_CODES = frozenset({"sku-unknown", "sku-duplicate", "quantity-zero"})
# No order issued before (check, tests): order id -> the run that issued it.
NO_IDS: Mapping[str, str] = MappingProxyType({})
# Orders issued before under a generated id: (source file key, fingerprint) -> (order id,
# run id). Empty for check and tests.
NO_REPEATS: Mapping[tuple[str, str], tuple[str, str]] = MappingProxyType({})


@dataclass
class ValidatedFile:
    name: str
    table: RequestTable
    validation: ValidationResult


@dataclass
class Decision:
    problems_by_file: dict[str, pd.DataFrame] = field(default_factory=dict)
    accepted_rows: dict[str, int] = field(default_factory=dict)
    orders: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORDER_COLUMNS))
    lines: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LINE_COLUMNS))
    # The order each input row belongs to: file name -> Series(source row -> order id).
    row_orders: dict[str, pd.Series] = field(default_factory=dict)
    # Cells whose validation problems no longer stand (row and field per file name): the
    # address cells of orders that leave their address out.
    withdrawn_cells: dict[str, pd.DataFrame] = field(default_factory=dict)
    # Held orders that --allow-partial would send in part: no order-level error, and a line
    # with no error of its own. Their order-held record says so; the others' does not.
    # (Keyed by file, then order id: an id may be used in two files, one order each.)
    partial_would_send: dict[str, frozenset[str]] = field(default_factory=dict)


def _combine(files: list[ValidatedFile]) -> pd.DataFrame:
    """Every file's rows in one frame, with the file's position and its validation flags.
    One concat and whole-column arrays: per-file frame edits cost milliseconds each."""
    lines = pd.concat([f.table.rows for f in files], ignore_index=True)
    sizes = [len(f.table.rows) for f in files]
    lines["file_pos"] = np.repeat(np.arange(len(files)), sizes)
    lines["section"] = list_numbers(sizes, [f.table.section_starts for f in files])
    flags = [f.validation.row_flags() for f in files]
    names = ("order_field_error", "address_errors", "line_field_error", "sku_cell_error")
    for k, name in enumerate(names):
        lines[name] = np.concatenate([f[k] for f in flags])
    # Which quantity cell of a row failed its check: its other quantity is still judged
    # against what is available (see decide_orders).
    quantities = [f.validation.bad_cells[list(QUANTITY_FIELDS)].to_numpy(dtype=bool) for f in files]
    lines["sellable_cell_error"] = np.concatenate([q[:, 0] for q in quantities])
    lines["unsellable_cell_error"] = np.concatenate([q[:, 1] for q in quantities])
    return lines


# Dispositions whose order file leaves the address out (address-ignored). The address rules
# judge Returns only; so do the address cells' value checks: a bad value in an address that
# is dropped holds nothing and is not reported.
ADDRESS_DROPPED = ("Disposal", "Liquidations")


def _order_cell_errors(
    lines: pd.DataFrame, orders: pd.DataFrame, allowed: tuple[str, ...]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Per line, whether a bad order-level cell spoils its order; and, placed as findings,
    the bad address cells of orders whose address is dropped (their problems are withdrawn).
    A disposition refused drops nothing: that order is not sent, and as a Return it would
    need its address."""
    spoils = lines["order_field_error"].to_numpy()
    bits = lines["address_errors"].to_numpy()
    bad_address = bits != 0
    if not bad_address.any():
        return spoils, concat_findings([])
    dropped_by_number = np.zeros(int(orders["order_no"].max()) + 1, dtype=bool)
    dropped_by_number[orders["order_no"].to_numpy()] = (
        orders["disposition"].isin([d for d in ADDRESS_DROPPED if d in allowed]).to_numpy()
    )
    dropped = dropped_by_number[lines["order_no"].to_numpy()]
    quiet = bad_address & dropped
    quiet_lines, quiet_bits = lines.index.to_numpy()[quiet], bits[quiet]
    # Findings only to be placed (place_findings knows a feed's one cell per order field);
    # their code and message are never shown.
    withdrawn = [
        findings(quiet_lines[(quiet_bits >> i) & 1 == 1], name, "address-ignored", "")
        for i, name in enumerate(ADDRESS_FIELDS)
    ]
    return spoils | (bad_address & ~dropped), concat_findings(withdrawn)


def decide_orders(
    files: list[ValidatedFile],
    snapshot: Snapshot | Callable[[], Snapshot],
    settings: Settings,
    now: dt.datetime,
    used_ids: Mapping[str, str] = NO_IDS,
    taken: pd.DataFrame | None | Callable[[], pd.DataFrame | None] = None,
    generated_before: Mapping[tuple[str, str], tuple[str, str]] = NO_REPEATS,
) -> Decision:
    """Decide a batch. ``used_ids``: order ids issued before -> the run of each (ledger; a
    run is asked for only for an id that clashes); ``taken``: units per SKU requested
    since the snapshot time (ledger); ``generated_before``: orders issued under a generated
    id, (file_key of the source file, fingerprint) -> (order id, run id) (ledger).

    ``snapshot`` may be a call that waits for one still being loaded, and ``taken`` a call
    made once it is there (on this thread): the orders are grouped and checked meanwhile."""
    if not files:
        return Decision()
    places = [
        FilePlaces(f.name, f.table.sheet, f.table.field_columns, f.table.fixed_cells) for f in files
    ]
    lines = _combine(files)
    # Arrow's hash join of every SKU against the snapshot (0.2-0.25 s for a million lines
    # against a million SKUs) runs without the GIL: a second thread waits for the snapshot
    # and does it, while this one groups the orders and applies every rule that needs no
    # snapshot (grouping keeps the lines and their index as they are).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sku-join") as pool:
        joined = pool.submit(_join_skus, lines[["MerchantSKU", "FNSKU"]], snapshot)
        grouping = group_orders(lines, settings.order_id_prefix, now.date(), used_ids)
        lines, orders = grouping.lines, grouping.orders
        # As the file asks for them: a re-drop is matched on what was typed, whatever
        # the settings' default address says by then.
        requested = orders
        orders = apply_default_address(orders, settings)
        order_cell_error, withdrawn = _order_cell_errors(
            lines, orders, settings.allowed_dispositions
        )
        lines["sellable"] = parse_quantity(lines["SellableQuantity"])
        lines["unsellable"] = parse_quantity(lines["UnsellableQuantity"])
        order_found = concat_findings(
            [
                grouping.findings,
                _disposition_missing(orders, places),
                _duplicate_ids(orders, used_ids, lines, places),
                address_findings(
                    orders,
                    grouping.value_lines,
                    settings,
                    [FileFields(f.table.shape, f.table.present_fields) for f in files],
                ),
            ]
        )
        inventory, sku, fnsku_findings, sku_pos = joined.result()
    taken_units = taken() if callable(taken) else taken
    lines["sku"] = sku
    lines["sku_pos"] = sku_pos
    # Taken as requested, not as written: with --allow-partial or on_excess = cap the
    # order sent differs from the file's, and a re-drop of the file must still match it.
    orders["fingerprint"] = _requested_fingerprints(requested, lines)
    # Ledgers written before 2026-11-29 hold the fingerprint with the default filled in.
    filled = _requested_fingerprints(orders, lines) if settings.default_address else None
    orders = codes_in_capitals(orders, settings.home_country)
    line_found = concat_findings(
        [
            fnsku_findings,
            sku_unknown(lines, inventory),
            sku_duplicate(lines),
            quantity_zero(lines),
            _repeated_orders(orders, places, generated_before, filled),
        ]
    )
    found = concat_findings([order_found, line_found])
    # From here on only these columns matter: copying the 16 text columns of a million
    # lines at every filter step would cost more than all the rules.
    core = lines[
        [
            "order_no",
            "order_id",
            "sku",
            "sku_pos",
            "sellable",
            "unsellable",
            "file_pos",
            "source_row",
        ]
    ]
    severity = found["code"].map(SEVERITY_NAMES) if len(found) else pd.Series(dtype=object)
    errors = found[severity.eq("error")] if len(found) else found
    line_bad = lines["line_field_error"].to_numpy().copy()
    line_bad[errors.loc[errors["code"].isin(LINE_CODES), "line"].to_numpy()] = True
    # Parts are counted on the lines that may be written: with --allow-partial, an order
    # whose bad lines are dropped may fit in one order, and no part id is made for it.
    sendable = lines[["order_no"]]
    if settings.allow_partial and line_bad.any():
        sendable = sendable[~line_bad]
    clashes = _part_id_clashes(orders, sendable, used_ids, part_limit(settings))
    if len(clashes):
        found = concat_findings([found, clashes])
        errors = concat_findings([errors, clashes])
    order_no = core["order_no"].to_numpy()
    order_bad_lines = errors.loc[~errors["code"].isin(LINE_CODES), "line"].to_numpy()
    spoiled = [order_no[order_bad_lines], order_no[order_cell_error]]
    if not settings.allow_partial:
        spoiled.append(order_no[line_bad])
    order_bad = set(np.unique(np.concatenate(spoiled)).tolist())
    keep = ~line_bad & ~np.isin(order_no, list(order_bad))
    # A filter copies every column: skipped when it would keep every line (nothing below
    # changes candidates or written in place).
    candidates = core if keep.all() else core[keep]
    availability = Availability(inventory.frame[["sellable", "unsellable"]], _taken(taken_units))
    allocation = allocate_units(
        candidates[["order_no", "order_id", "sku", "sellable", "unsellable"]],
        availability,
        settings.on_excess,
        settings.allow_partial,
        positions=candidates["sku_pos"].to_numpy(),
    )
    held = order_bad | set(allocation.held_orders)
    stays = ~np.isin(candidates["order_no"].to_numpy(), list(held)) & ~np.isin(
        candidates.index.to_numpy(), list(allocation.dropped_lines)
    )
    written = candidates if stays.all() else candidates[stays]
    granted = allocation.granted.loc[written.index]
    written = written.assign(sellable=granted["sellable"], unsellable=granted["unsellable"])
    # An order whose every line fell away is held too: there is nothing to send.
    order_nos = orders["order_no"].to_numpy()
    has_lines = np.zeros(int(order_nos.max(initial=-1)) + 1, dtype=bool)
    has_lines[written["order_no"].to_numpy()] = True
    emptied = set(order_nos[~has_lines[order_nos]].tolist()) - held
    held |= emptied
    held_excess = concat_findings([])
    # Lines of orders held before allocation: checked against what they could get, as if
    # decided in their place, so that all is said at once. So is a line refused for one
    # quantity cell only (1.5, abc): its other quantity asking too much was said only once
    # the first was fixed (the bad cell asks 0). With cap, only a line that could get
    # nothing of either kind is refused; one that could get some would be lowered.
    bad_sellable = lines["sellable_cell_error"].to_numpy(dtype=bool)
    bad_unsellable = lines["unsellable_cell_error"].to_numpy(dtype=bool)
    line_coded = np.zeros(len(lines), dtype=bool)
    line_coded[errors.loc[errors["code"].isin(LINE_CODES), "line"].to_numpy()] = True
    quantity_only = (
        lines["line_field_error"].to_numpy(dtype=bool)
        & ~lines["sku_cell_error"].to_numpy(dtype=bool)
        & ~line_coded
    )
    waiting = (~line_bad & np.isin(order_no, list(order_bad))) | quantity_only
    if waiting.any():
        checked = core[waiting]
        if quantity_only.any():
            checked = checked.assign(
                sellable=np.where(bad_sellable[waiting], 0, checked["sellable"]),
                unsellable=np.where(bad_unsellable[waiting], 0, checked["unsellable"]),
            )
        held_excess = excess_of_held_lines(
            checked,
            written,
            availability,
            core["sku_pos"].to_numpy()[waiting],
            written["sku_pos"].to_numpy(),
            {"sellable": bad_sellable[waiting], "unsellable": bad_unsellable[waiting]},
            nothing_left_only=settings.on_excess == "cap",
        )
    would_send = set()
    if not settings.allow_partial and held:
        over = np.concatenate(
            [
                allocation.findings["line"].to_numpy(dtype=np.int64),
                held_excess["line"].to_numpy(dtype=np.int64),
            ]
        )
        # Lines refused for what is available (held_excess: with cap, those that could
        # get nothing) send nothing with --allow-partial either: no reason to suggest it.
        clean = ~line_bad
        clean[over] = False
        order_level = np.concatenate([order_no[order_bad_lines], order_no[order_cell_error]])
        would_send = (set(order_no[clean].tolist()) & held) - set(order_level.tolist()) - emptied
    helped = orders[orders["order_no"].isin(would_send)]
    held_found = _held(orders, held, settings.allow_partial, would_send)
    out_orders, out_lines, split_found = _final_orders(orders, written, settings, places, requested)
    counted = _as_typed(concat_findings([allocation.findings, held_excess]), lines)
    all_found = concat_findings([found, counted, held_found, split_found])
    problems = place_findings(all_found, core, places)
    accepted = written.groupby("file_pos").size()
    # Lines come file by file: each file's lines are one slice (a view, where a groupby
    # would copy every column).
    bounds = np.searchsorted(core["file_pos"].to_numpy(), np.arange(len(places) + 1))
    order_ids, source_rows = core["order_id"].array, core["source_row"]
    row_orders = {
        place.name: pd.Series(order_ids[start:stop], index=source_rows.iloc[start:stop])
        for place, start, stop in zip(places, bounds[:-1], bounds[1:], strict=True)
        if stop > start
    }
    return Decision(
        row_orders=row_orders,
        problems_by_file=problems,
        withdrawn_cells=place_findings(withdrawn, core, places),
        accepted_rows={p.name: int(accepted.get(i, 0)) for i, p in enumerate(places)},
        orders=out_orders,
        lines=out_lines,
        partial_would_send={
            places[int(pos)].name: frozenset(part["order_id"])
            for pos, part in helped.groupby("file_pos")
        },
    )


def _as_typed(found: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Allocation's findings with the quantity cell as typed for their value ("0002",
    "2.0"), as every other record gives it; allocation counts the parsed number."""
    if found.empty:
        return found
    found = found.copy()
    for name in ("SellableQuantity", "UnsellableQuantity"):
        mine = found["field"].eq(name).to_numpy()
        if mine.any():
            at = found["line"].to_numpy()[mine]
            found.loc[mine, "value"] = lines[name].loc[at].to_numpy(dtype=object)
    return found


def _join_skus(
    skus: pd.DataFrame, snapshot: Snapshot | Callable[[], Snapshot]
) -> tuple[Snapshot, pd.Series, pd.DataFrame, np.ndarray]:
    """The snapshot, each line's SKU (MerchantSKU, or the owner of its FNSKU), the findings
    of that lookup, and each SKU's row in the snapshot (-1: not listed)."""
    if callable(snapshot):
        snapshot = snapshot()
    sku, found = resolve_skus(skus, snapshot)
    positions = snapshot.positions(sku)
    found = concat_findings([found, fnsku_mismatch(skus, snapshot, positions)])
    return snapshot, sku, found, positions


def _taken(taken: pd.DataFrame | None) -> pd.DataFrame:
    if taken is None or taken.empty:
        return pd.DataFrame(
            {"sellable": pd.Series(dtype="int64"), "unsellable": pd.Series(dtype="int64")}
        )
    return taken[["sellable", "unsellable"]]


def _disposition_missing(orders: pd.DataFrame, places: Sequence[FilePlaces]) -> pd.DataFrame:
    """An order with no disposition on any row cannot be placed. A feed's is typed on its
    key line: its "first row" is a SKU line."""
    blank = orders[orders["RemovalDisposition"].eq("")]
    is_feed = np.array([bool(place.fixed_cells) for place in places], dtype=bool)
    feed = is_feed[blank["file_pos"].to_numpy(dtype=np.int64)] if len(blank) else []
    where = pd.Series(
        np.where(
            feed, "after the tab on its line at the top of the file", "on the order's first row"
        ),
        index=blank.index,
    )
    message = (
        "Order "
        + blank["order_id"]
        + " has no RemovalDisposition. Enter Return or Disposal "
        + where
        + "."
    )
    return findings(blank["first_line"], "RemovalDisposition", "value-missing", message)


def _id_place(place: FilePlaces, first_row: int) -> str:
    """Where an order's id is typed, as the user finds it: the sheet of a workbook (its
    request sheet may not be the one it opens on), and a feed's id line rather than its
    first SKU line."""
    fixed = place.fixed_cells.get("MerchantRemovalOrderID")
    row = fixed[0] if fixed is not None else first_row
    sheet = f" sheet '{place.sheet}'" if place.sheet else ""
    return f"{place.name}{sheet} row {row:,}"


def _duplicate_ids(
    orders: pd.DataFrame,
    used_ids: Mapping[str, str],
    lines: pd.DataFrame,
    places: Sequence[FilePlaces],
) -> pd.DataFrame:
    """The same id in two input files of the run (the first file keeps it), or already
    issued. Ids are compared without regard to capitals: AB1 and ab1 would be one order
    file on Windows and macOS, the second written over the first. Capitals of A-Z only:
    an id refused for a dotless i or a long s must not take the id it capitalises to."""
    given = orders[~orders["generated_id"]]
    key = ascii_upper(given["order_id"])
    again = given[key.duplicated(keep="first")]
    first_id = given["order_id"].groupby(key.to_numpy()).first()
    # A year's ledger holds a million ids: capitalised by Arrow, not one by one.
    used_upper = ascii_upper(pd.Series(list(used_ids), dtype=TEXT))
    earlier = given[in_set(key, used_upper)]
    parts = []
    if len(again):
        ids = again["order_id"]
        other = key[again.index].map(first_id)
        # Where the order keeping the id starts, so the user can tell which one to change.
        keeper = given.groupby(key.to_numpy())[["file_pos", "first_line"]].first()
        at = keeper.loc[key[again.index].to_numpy()]
        rows = lines.loc[at["first_line"].to_numpy(), "source_row"].to_numpy()
        where = pd.Series(
            [
                f" ({_id_place(places[int(f)], int(r))})"
                for f, r in zip(at["file_pos"], rows, strict=True)
            ],
            index=ids.index,
        )
        message = (
            "Order id "
            + ids
            + " is also used by an order in another file of this batch"
            + where
            + ". Each removal order needs its own id."
        ).mask(
            ids.ne(other),
            "Order id "
            + ids
            + " differs only in capitals from order "
            + other
            + where
            + " of this batch: their order files would be one file on Windows and macOS. "
            "Give one of them another id.",
        )
        parts.append(
            findings(
                again["first_line"], "MerchantRemovalOrderID", "order-id-duplicate", message, ids
            )
        )
    if len(earlier):
        ids = earlier["order_id"]
        exact = in_set(ids, used_ids)
        issued = ids.copy()
        if not exact.all():  # an id issued in other capitals: which one (a few at most)
            hits = set(key[earlier.index][~exact])
            spelled = {ascii_upper_text(i): i for i in used_ids if ascii_upper_text(i) in hits}
            issued[~exact] = key[earlier.index][~exact].map(spelled)
        # The run of each, asked for these few ids only (the ledger holds up to a million).
        run = pd.Series([used_ids[i] for i in issued], index=issued.index, dtype=object)
        # Most often the same order dropped again after fixing another in its file: a new
        # id, as the message said before, had it sent twice.
        advice = (
            ". If this is that order, it was sent already: delete its rows. Only a different "
            "order needs a new id."
        )
        message = ("Order id " + ids + " was already issued in run " + run + advice).mask(
            ids.ne(issued),
            "Order id " + ids + " differs only in capitals from order " + issued + ", issued "
            "in run "
            + run
            + " (their order files would be one file on Windows and macOS)"
            + advice,
        )
        parts.append(
            findings(
                earlier["first_line"], "MerchantRemovalOrderID", "order-id-duplicate", message, ids
            )
        )
    return concat_findings(parts)


def _requested_fingerprints(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """The content fingerprint of each order without an id (None for the others, which
    the ledger never matches): its lines as the file asks for them."""
    is_generated = orders["generated_id"].to_numpy(dtype=bool)
    result = pd.Series(None, index=orders.index, dtype=object)
    if is_generated.any():
        own_lines = lines[lines["generated_id"].to_numpy(dtype=bool)]
        result[is_generated] = order_fingerprints(
            orders[is_generated], own_lines, "order_no"
        ).to_numpy()
    return result


def _repeated_orders(
    orders: pd.DataFrame,
    places: list[FilePlaces],
    generated_before: Mapping[tuple[str, str], tuple[str, str]],
    filled: pd.Series | None = None,
) -> pd.DataFrame:
    """An order without an id that repeats one sent before under a generated id, from a
    file of the same name: the file was fixed after another of its orders was held and
    dropped again, and the order would go out twice under a new generated id. Matched
    only so (any id typed in the file sends a repeat on purpose). A file has at most one
    order without an id: few orders to look at. ``filled``: each order's fingerprint with
    the default address filled in, as older versions recorded it."""
    is_generated = orders["generated_id"].to_numpy(dtype=bool)
    generated = orders[is_generated]
    if generated.empty:
        return concat_findings([])
    names = [file_key(places[int(pos)].name) for pos in generated["file_pos"]]
    keys = list(zip(names, generated["fingerprint"], strict=True))
    earlier = [generated_before.get(key) for key in keys]
    if filled is not None:
        old_keys = zip(names, filled[is_generated], strict=True)
        earlier = [e or generated_before.get(k) for e, k in zip(earlier, old_keys, strict=True)]
    messages: list[str | None] = [
        None
        if found is None
        else f"This order repeats order {found[0]}, sent in run {found[1]} from the same "
        "file: it was sent already. Delete its rows; to send the same removal again, give "
        "it an order id of your own."
        for found in earlier
    ]
    # The same file twice in one batch, saved apart (a.txt and "a (1).txt" with other line
    # ends): its order without an id would go out twice, under two generated ids.
    first_of: dict[tuple[str, str], int] = {}
    for at, key in enumerate(keys):
        if messages[at] is None and key in first_of:
            first = generated.iloc[first_of[key]]
            messages[at] = (
                "This order repeats the order without an id of "
                f"{places[int(first['file_pos'])].name}, in this batch: the same file was "
                "dropped twice. Delete one of the two; to send the same removal twice, give "
                "each an order id of your own."
            )
        first_of.setdefault(key, at)
    hit = np.array([m is not None for m in messages], dtype=bool)
    if not hit.any():
        return concat_findings([])
    # The cell as typed: blank (the message names the order sent).
    return findings(
        generated["first_line"].to_numpy()[hit],
        "MerchantRemovalOrderID",
        "order-id-duplicate",
        [m for m in messages if m is not None],
    )


def _sent_fingerprints(
    requested: pd.DataFrame, written: pd.DataFrame, lines: pd.DataFrame
) -> pd.Series:
    """Per written order (of ``written``; ``lines``: its lines, by order_no) without an
    id, the fingerprint of what it sent where that is
    less than it asked for (a line left out with --allow-partial, or lowered with
    --on-excess cap); None elsewhere. The file fixed as the error report advises (the
    refused line deleted, or given an id of its own) asks for just what was sent, and
    must be known as sent (_repeated_orders), not go out again under a new id."""
    result = pd.Series(None, index=written.index, dtype=object)
    generated = written["generated_id"].to_numpy(dtype=bool)
    if not generated.any():
        return result
    numbers = written.loc[generated, "order_no"].unique()
    asked = requested[requested["order_no"].isin(numbers)]
    sent_lines = lines[lines["order_no"].isin(numbers)]
    sent = order_fingerprints(asked, sent_lines, "order_no")
    by_order = pd.Series(sent.to_numpy(), index=asked["order_no"].to_numpy())
    result[generated] = written.loc[generated, "order_no"].map(by_order).to_numpy()
    return result.where(result.ne(written["fingerprint"]), None)


# Amazon's longest MerchantRemovalOrderID (SPEC 3.1).
MAX_ORDER_ID = 50


def part_limit(settings: Settings) -> int:
    """Lines per order above which an order is written as parts <id>-P1, -P2..."""
    return min(settings.max_skus_per_order, settings.max_skus_per_file)


def _part_id_clashes(
    orders: pd.DataFrame, lines: pd.DataFrame, used_ids: Mapping[str, str], limit: int
) -> pd.DataFrame:
    """An order long enough to be split whose part ids would take the id of another order
    of the batch, or one issued before: its parts and that order would otherwise share an
    id (and be written as one order). Counted on ``lines``, those that may be written,
    before allocation drops any: the order is held rather than risk it."""
    counts = np.bincount(lines["order_no"].to_numpy(), minlength=len(orders))
    long = orders[counts[orders["order_no"].to_numpy()] > limit]
    if long.empty:
        return concat_findings([])
    # In any capitals, as _duplicate_ids compares (X-P1 and x-p1 are one file on Windows).
    exact_ids = set(orders["order_id"].tolist())
    batch_ids = {ascii_upper_text(i) for i in exact_ids}
    used_upper = {upper for upper in map(ascii_upper_text, used_ids) if "-P" in upper}
    at: list[int] = []
    codes: list[str] = []
    messages: list[str] = []
    values: list[str] = []
    # Split orders are few (each has more lines than the limit): a loop over them is short.
    for order_no, order_id, first_line in zip(
        long["order_no"], long["order_id"], long["first_line"], strict=True
    ):
        count = int(counts[order_no])
        names = [f"{order_id}-P{k}" for k in range(1, -(-count // limit) + 1)]
        longest = max(len(n) for n in names)
        if longest > MAX_ORDER_ID:
            # Amazon takes ids of at most 50 characters: the parts would be refused there.
            at.append(first_line)
            values.append(order_id)
            codes.append("order-id-invalid")
            messages.append(
                f"Order {order_id} has {count:,} lines, more than {limit:,}, so it would be "
                f"written as orders {names[0]}, {names[1]}...; those ids run to {longest} "
                f"characters, over the {MAX_ORDER_ID} Amazon accepts. Shorten this order's id to "
                f"{len(order_id) - (longest - MAX_ORDER_ID)} characters or fewer."
            )
            continue
        clash = next(
            (n for n in names if (u := ascii_upper_text(n)) in batch_ids or u in used_upper), None
        )
        if clash is None:
            continue
        exact = clash in exact_ids or clash in used_ids
        capitals = "" if exact else " (in other capitals: one file on Windows and macOS)"
        where = (
            f"is the id of another order in this batch{capitals}. Give one of the two orders "
            "another id."
            if ascii_upper_text(clash) in batch_ids
            else f"was already issued in an earlier run{capitals}. Give this order another id."
        )
        at.append(first_line)
        values.append(order_id)
        codes.append("order-id-duplicate")
        messages.append(
            f"Order {order_id} has {count:,} lines, more than {limit:,}, so it would be written "
            f"as orders {names[0]}, {names[1]}...; but {clash} {where}"
        )
    found = pd.DataFrame({"at": at, "code": codes, "message": messages, "value": values})
    return concat_findings(
        [
            findings(
                part["at"], "MerchantRemovalOrderID", str(code), part["message"], part["value"]
            )
            for code, part in found.groupby("code", sort=False)
        ]
    )


def _held(
    orders: pd.DataFrame, held: set[int], allow_partial: bool, would_send: set[int]
) -> pd.DataFrame:
    if not held:
        return concat_findings([])
    held_orders = orders[orders["order_no"].isin(held)]
    # The general wording: the batch replaces it with the order's first error once the
    # value problems found before grouping are joined to these (point_held_orders_at_errors).
    hinted = held_orders["order_no"].isin(would_send).to_numpy()
    message = held_messages(held_orders["order_id"], allow_partial, hinted)
    # The cell as typed: blank for an order whose id was generated (the message names it).
    typed = held_orders["order_id"].mask(held_orders["generated_id"], "")
    return findings(
        held_orders["first_line"], "MerchantRemovalOrderID", "order-held", message, typed
    )


def _final_orders(
    orders: pd.DataFrame,
    written: pd.DataFrame,
    settings: Settings,
    places: list[FilePlaces],
    requested: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Accepted lines -> orders (split into -P1, -P2... above the per-order limit).
    ``requested``: the orders as the files gave them (see _sent_fingerprints)."""
    if written.empty:
        return (
            pd.DataFrame(columns=ORDER_COLUMNS),
            pd.DataFrame(columns=LINE_COLUMNS),
            concat_findings([]),
        )
    limit = part_limit(settings)
    if (np.diff(written["order_no"].to_numpy()) < 0).any():  # sorted already, as a rule
        written = written.sort_values(["order_no"], kind="stable")
    # Each order's lines are together now: runs of one order number, counted in numpy.
    order_no = written["order_no"].to_numpy()
    n = len(order_no)
    order_starts = run_starts(order_no)
    sizes = np.diff(np.r_[order_starts, n])
    position = np.arange(n) - np.repeat(order_starts, sizes)
    part = np.where(np.repeat(sizes, sizes) > limit, position // limit + 1, 0)
    final_id = written["order_id"]
    if (part > 0).any():  # building a million strings for no split costs a second
        parts = pd.Series(part, index=written.index)
        final_id = final_id.where(parts.eq(0), final_id + "-P" + parts.astype(str))
    # Text columns stay Arrow arrays: a trip through numpy objects costs 0.1-0.2 s each.
    # large_string, as pandas holds text, and wrapped as it is: pd.array(..., dtype=TEXT)
    # would convert a million names again (30 ms).
    names = pa.array([p.name for p in places], type=pa.large_string())
    out_lines = pd.DataFrame(
        {
            "order_id": final_id.array,
            "order_no": order_no,
            "part": part,
            "sku": written["sku"].array,
            "sellable": written["sellable"].to_numpy(),
            "unsellable": written["unsellable"].to_numpy(),
            "source_file": TEXT.__from_arrow__(names.take(written["file_pos"].to_numpy())),
            "source_row": written["source_row"].to_numpy(),
        },
        copy=False,  # fresh arrays: stacking them into one block would copy 40 MB
    )
    # One written order per run of lines of one order and part (the rules keep every
    # final id to one order), summed with reduceat rather than grouped by id text.
    starts = run_starts(order_no, part)
    agg = pd.DataFrame(
        {
            "order_id": out_lines["order_id"].array.take(starts),
            "order_no": order_no[starts],
            "lines": np.diff(np.r_[starts, n]),
            "sellable_units": np.add.reduceat(out_lines["sellable"].to_numpy(), starts),
            "unsellable_units": np.add.reduceat(out_lines["unsellable"].to_numpy(), starts),
            "source_file": out_lines["source_file"].array.take(starts),
            "first_row": np.minimum.reduceat(out_lines["source_row"].to_numpy(), starts),
            "part": part[starts],
        },
        copy=False,
    )
    info = orders.set_index("order_no")
    # Every written order is among the orders: one lookup, then a take per field (a map
    # per field would look every order number up again).
    at = info.index.get_indexer(agg["order_no"])

    def order_values(name: str) -> pd.Series:
        return pd.Series(info[name].array.take(at), index=agg.index)

    agg["base_order_id"] = order_values("order_id")
    agg["disposition"] = order_values("disposition")
    agg["generated_id"] = order_values("generated_id").astype(bool)
    agg["fingerprint"] = order_values("fingerprint")
    agg["sent_fingerprint"] = _sent_fingerprints(requested, agg, out_lines)
    # The part number travels with the lines: an id that merely ends in "-P2" is no part.
    agg["part"] = agg["part"].astype(str).where(agg["part"].gt(0), "")
    is_return = agg["disposition"].eq("Return")
    for name in (*ADDRESS_FIELDS, "ShippingNotes"):
        values = order_values(name).fillna("")
        agg[name] = values.where(is_return | (name == "ShippingNotes"), "")
    split = agg[agg["part"].ne("")].drop_duplicates("order_no")
    split_found = concat_findings([])
    if len(split):
        parts = split["order_no"].map(agg[agg["part"].ne("")].groupby("order_no").size())
        # Which setting: an upload file's limit splits an order too (never across files).
        setting = (
            "max_skus_per_file: an order is never split across upload files"
            if settings.max_skus_per_file < settings.max_skus_per_order
            else "max_skus_per_order"
        )
        base = split["base_order_id"]
        last = base + "-P" + parts.astype(str)
        message = (
            "Order " + base + " has more than " + f"{counted(limit, 'line')} ({setting}); it is "
            "written as "
            + parts.astype(str)
            + " orders, "
            + base
            + "-P1 "
            + pd.Series(np.where(parts.eq(2), "and ", "to "), index=split.index)
            + last
            + "."
        )
        split_found = findings(
            split["order_no"].map(info["first_line"]),
            "MerchantRemovalOrderID",
            "order-split",
            message,
            split["base_order_id"],
        )
    out_orders = agg[ORDER_COLUMNS].reset_index(drop=True)
    return out_orders, out_lines.drop(columns=["order_no", "part"]), split_found
