"""Property test: random snapshots and batches keep the order invariants, and the
allocation equals deciding the orders one after another (a plain reference model)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from conftest import write_delimited
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import check_written_outputs

from removal_batch.app import write_outputs
from removal_batch.core.settings import Settings
from removal_batch.pipeline import run_batch

SKUS = ["A", "B", "C", "D", "GONE"]  # GONE is never in the snapshot
HEADER = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]

quantity = st.integers(min_value=0, max_value=6)
line = st.tuples(st.sampled_from(SKUS), quantity, quantity)
order = st.lists(line, min_size=1, max_size=4)
batch = st.lists(st.lists(order, min_size=1, max_size=3), min_size=1, max_size=3)
snapshot = st.fixed_dictionaries({s: st.tuples(quantity, quantity) for s in SKUS[:4]})


Over = set[tuple[int, int, str]]  # (file, row, kind) of lines over what is left


def _policy(on_excess: str, partial: bool, per_order: int, per_file: int) -> Settings:
    """The settings the property tests draw."""
    return Settings(
        on_excess=on_excess,
        allow_partial=partial,
        max_skus_per_order=per_order,
        max_skus_per_file=per_file,
    )


def reference(
    files: list[list[list[tuple[str, int, int]]]],
    snap: dict[str, tuple[int, int]],
    policy: Settings,
    over_lines: Over | None = None,
) -> dict[str, dict[str, tuple[int, int]]]:
    """Decide orders one after another, the way the SPEC describes it. ``over_lines``
    collects, with excess rejected, every line asking more than is left when its turn
    comes: also in an order held for other errors (it takes nothing all the same)."""
    left = {s: list(v) for s, v in snap.items()}
    written: dict[str, dict[str, tuple[int, int]]] = {}
    for f, orders in enumerate(files):
        row = 2
        for o, lines in enumerate(orders):
            oid = f"F{f}O{o}"
            keep, bad = [], False
            seen: set[str] = set()
            for k, (sku, s, u) in enumerate(lines):
                if sku not in snap or sku in seen or (s == 0 and u == 0):
                    bad = True
                else:
                    keep.append((row + k, sku, s, u))
                seen.add(sku)
            row += len(lines)
            if policy.on_excess == "reject" and over_lines is not None:
                for at, sku, s, u in keep:
                    over_lines |= {(f, at, kind) for kind, n, free in
                                   (("sellable", s, left[sku][0]), ("unsellable", u, left[sku][1]))
                                   if n > free}  # fmt: skip
            if bad and not policy.allow_partial:
                continue
            taken: dict[str, tuple[int, int]] = {}
            over = False
            for _, sku, s, u in keep:
                free_s, free_u = left[sku]
                if policy.on_excess == "cap":
                    gs, gu = min(s, free_s), min(u, free_u)
                    if gs == 0 and gu == 0:
                        over = True  # nothing left: refused, and its order held
                        continue
                    taken[sku] = (gs, gu)
                elif s > free_s or u > free_u:
                    over = True
                else:
                    taken[sku] = (s, u)
            if over and not policy.allow_partial:
                continue
            for sku, (s, u) in taken.items():
                left[sku][0] -= s
                left[sku][1] -= u
            if taken:
                written[oid] = taken
    return written


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch,
    snapshot,
    st.sampled_from(["reject", "cap"]),
    st.booleans(),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=5),
)
def test_orders_keep_their_invariants(files, snap, on_excess, partial, per_order, per_file) -> None:
    policy = _policy(on_excess, partial, per_order, per_file)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inv = [["sku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]]
        inv += [[s, str(v[0]), str(v[1])] for s, v in snap.items()]
        inventory = write_delimited(root / "inv.txt", inv)
        paths = []
        # Written in reverse so that the batch must sort them by name itself.
        for f in reversed(range(len(files))):
            rows = [HEADER]
            for o, lines in enumerate(files[f]):
                for i, (sku, s, u) in enumerate(lines):
                    rows.append(
                        [
                            f"F{f}O{o}" if i == 0 else "",
                            "Disposal" if i == 0 else "",
                            sku,
                            str(s),
                            str(u),
                        ]
                    )
            paths.append(write_delimited(root / f"in-{f}.txt", rows))
        result = run_batch(paths, inventory, policy)
        lines = result.decision.lines
        got: dict[str, dict[str, tuple[int, int]]] = {}
        for oid, sku, s, u in zip(
            lines["order_id"], lines["sku"], lines["sellable"], lines["unsellable"], strict=True
        ):
            base = oid.split("-P")[0]
            got.setdefault(base, {})[sku] = (int(s), int(u))
        over_lines: Over = set()
        assert got == reference(files, snap, policy, over_lines)
        if on_excess == "reject":
            problems = result.problems
            said = problems[problems["code"].str.startswith("quantity-exceeds-")]
            assert {
                (int(name[3:-4]), int(row), code.rsplit("-", 1)[1])
                for name, row, code in zip(said["file"], said["row"], said["code"], strict=True)
            } == over_lines
        sizes = lines.groupby("order_id").size() if len(lines) else pd.Series(dtype=int)
        assert (sizes <= min(per_order, per_file)).all()
        write_outputs(result, root / "out")
        snap_frame = pd.DataFrame(
            {
                "sellable": [v[0] for v in snap.values()],
                "unsellable": [v[1] for v in snap.values()],
            },
            index=list(snap),
        )
        check_written_outputs(root / "out", lines, result.decision.orders, snap_frame, per_file)


@given(
    st.lists(
        st.lists(st.sampled_from(["", "", "R1", "R2", "r1", "R3"]), min_size=0, max_size=8),
        min_size=1,
        max_size=4,
    )
)
def test_orders_are_grouped_as_a_forward_fill_and_ngroup_would(files: list[list[str]]) -> None:
    """group_orders numbers orders from integer keys; the plain pandas statement of the
    rule (fill blank ids down within each file, number (file, id) pairs by first
    appearance) gives the same ids and numbers, leading blanks included."""
    import datetime as dt

    import numpy as np

    from removal_batch.core.fields import ALL_FIELDS
    from removal_batch.core.orders import group_orders
    from removal_batch.core.raw_table import TEXT

    ids = [i for f in files for i in f]
    lines = pd.DataFrame({name: pd.Series([""] * len(ids), dtype=TEXT) for name in ALL_FIELDS})
    lines["MerchantRemovalOrderID"] = pd.Series(ids, dtype=TEXT)
    lines["file_pos"] = np.repeat(np.arange(len(files)), [len(f) for f in files])
    lines["source_row"] = np.arange(len(ids)) + 2
    grouping = group_orders(lines, "RB", dt.date(2026, 11, 27), frozenset({"RB-20261127-0001"}))

    given = lines["MerchantRemovalOrderID"].mask(lines["MerchantRemovalOrderID"].eq(""))
    filled = given.groupby(lines["file_pos"]).ffill()
    leading = filled.isna().to_numpy()
    expected_ids = filled.astype(object).to_numpy().copy()
    generated = iter(f"RB-20261127-{n:04d}" for n in range(2, 100))
    for pos in pd.unique(lines["file_pos"][leading]):
        expected_ids[leading & (lines["file_pos"] == pos).to_numpy()] = next(generated)
    expected_no = (
        pd.DataFrame({"f": lines["file_pos"], "i": expected_ids})
        .groupby(["f", "i"], sort=False)
        .ngroup()
    )
    assert grouping.lines["order_id"].tolist() == expected_ids.tolist()
    assert grouping.lines["generated_id"].tolist() == leading.tolist()
    assert grouping.lines["order_no"].tolist() == expected_no.tolist()


@given(
    st.lists(
        st.lists(
            st.lists(
                st.tuples(st.sampled_from(["", "", "R1", "R2"]), st.sampled_from(["", "", "CA"])),
                min_size=1,  # a list begins at a row (core.shape)
                max_size=5,
            ),
            min_size=1,
            max_size=2,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_lines_order_value_is_the_one_group_orders_gives_its_order(
    files: list[list[list[tuple[str, str]]]],
) -> None:
    """Validation judges a row's postal code by its order's country before the orders are
    grouped (core.orders.order_values): each line gets the value group_orders gives its
    order, across files, repeated header rows (lists) and rows of an order apart."""
    import datetime as dt

    import numpy as np

    from removal_batch.core.fields import ALL_FIELDS
    from removal_batch.core.orders import group_orders, list_numbers, order_values
    from removal_batch.core.raw_table import TEXT

    rows = [row for f in files for part in f for row in part]
    lines = pd.DataFrame({name: pd.Series([""] * len(rows), dtype=TEXT) for name in ALL_FIELDS})
    lines["MerchantRemovalOrderID"] = pd.Series([i for i, _ in rows], dtype=TEXT)
    lines["AddressCountryCode"] = pd.Series([c for _, c in rows], dtype=TEXT)
    sizes = [sum(len(part) for part in f) for f in files]
    starts = [tuple(np.cumsum([len(part) for part in f])[:-1].tolist()) for f in files]
    lines["file_pos"] = np.repeat(np.arange(len(files)), sizes)
    lines["section"] = list_numbers(sizes, starts)
    lines["source_row"] = np.arange(len(rows)) + 2
    grouping = group_orders(lines, "RB", dt.date(2026, 11, 27))
    of_order = grouping.orders.set_index("order_no")["AddressCountryCode"]
    expected = grouping.lines["order_no"].map(of_order).tolist()
    assert order_values(lines, "AddressCountryCode", np.arange(len(rows))).tolist() == expected


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1)), max_size=12))
def test_run_starts_are_where_any_column_changes(pairs: list[tuple[int, int]]) -> None:
    import numpy as np

    from removal_batch.core.orders import run_starts

    first = np.array([a for a, _ in pairs], dtype=np.int64)
    second = np.array([b for _, b in pairs], dtype=np.int64)
    expected = [i for i in range(len(pairs)) if i == 0 or pairs[i] != pairs[i - 1]]
    assert run_starts(first, second).tolist() == expected
    assert run_starts(first).tolist() == [
        i for i in range(len(pairs)) if i == 0 or first[i] != first[i - 1]
    ]


def test_skus_written_alike_share_their_units(tmp_path: Path) -> None:
    """A snapshot saved from a spreadsheet may list 'A B' and 'A<line break>B' apart; the
    order files write a line break as a space, so both would go to Amazon as 'A B', with
    the units of each: twice what 'A B' has. A SKU holding a tab or a line break is refused."""
    inventory = tmp_path / "inv.csv"
    inventory.write_bytes(
        b'sku,afn-fulfillable-quantity,afn-unsellable-quantity\r\nA B,5,0\r\n"A\nB",5,0\r\n'
        b'"A\tC",5,0\r\nA C,5,0\r\n'
    )
    request = tmp_path / "a.csv"
    request.write_bytes(
        b"MerchantRemovalOrderID,RemovalDisposition,MerchantSKU,SellableQuantity,"
        b'UnsellableQuantity\r\nO1,Disposal,A B,5,0\r\nO2,Disposal,"A\nB",5,0\r\n'
        b'O3,Disposal,"A\tC",5,0\r\nO4,Disposal,A C,5,0\r\n'
    )
    result = run_batch([request], inventory, Settings())
    write_outputs(result, tmp_path / "out")
    sent: dict[str, int] = {}
    for upload in (tmp_path / "out" / "upload").glob("*.txt"):
        rows = upload.read_text(encoding="utf-8").splitlines()
        at = rows[0].split("\t").index("MerchantSKU")
        for row in rows[1:]:
            cells = row.split("\t")
            sent[cells[at]] = sent.get(cells[at], 0) + int(cells[at + 1])
    assert sent == {"A B": 5, "A C": 5}
    problems = result.problems
    refused = problems[problems["code"].eq("sku-unknown")]
    assert sorted(refused["row"].astype(int)) == [3, 4]


# Runs in one workspace: FNSKU-typed lines, ids reused across files and runs, orders
# without an id, orders written in parts, file names used again by later runs. Each SKU's
# FNSKU is "X" + the SKU; XGONE is no item's.
RUN_SKUS = ["A", "B", "C", "GONE"]
typed_line = st.tuples(st.sampled_from(RUN_SKUS), st.booleans(), quantity, quantity)
# (id: None for a fresh one, "" for none (first order of a file only), or a shared one;
# lines as (sku, typed as its FNSKU, sellable, unsellable))
run_order = st.tuples(
    st.sampled_from([None, None, "", "", "X1", "x1", "X2"]),
    st.lists(typed_line, min_size=1, max_size=4),
)
# A run's files, the stem of their names ("a": a-0.txt, a-1.txt...), and whether its first
# file is the last run's first file dropped again as it was, saved with other line ends.
run_files = st.tuples(
    st.sampled_from(["a", "b"]),
    st.lists(st.lists(run_order, min_size=1, max_size=3), min_size=1, max_size=2),
    st.booleans(),
)

Placed = tuple[str, int]  # (file name, order's place in it)
Written = dict[Placed, dict[str, tuple[int, int]]]  # what each order got, per SKU


def _request_rows(run: int, f: int, orders: list[tuple[str | None, list]]) -> list[list[str]]:
    """A request file's rows (a blank id is kept for the first order only: below another
    it would continue that order; an id used twice in one file would join two orders)."""
    rows = [["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "FNSKU"]]
    rows[0] += ["SellableQuantity", "UnsellableQuantity"]
    used: set[str] = set()
    for o, (oid, lines) in enumerate(orders):
        if oid is None or (oid == "" and o > 0) or oid.upper() in used:
            oid = f"R{run}F{f}O{o}"
        used.add(oid.upper())
        for i, (sku, by_fnsku, s, u) in enumerate(lines):
            rows.append(
                [
                    oid if i == 0 else "",
                    "Disposal" if i == 0 else "",
                    "" if by_fnsku else sku,
                    "X" + sku if by_fnsku else "",
                    str(s),
                    str(u),
                ]
            )
    return rows


def _orders_of(rows: list[list[str]]) -> list[tuple[str, list[list[str]]]]:
    """Each order's id as written (blank: none) and its rows, in file order."""
    orders: list[tuple[str, list[list[str]]]] = []
    for at, row in enumerate(rows[1:]):
        if row[0] or at == 0:
            orders.append((row[0], []))
        orders[-1][1].append(row)
    return orders


def reference_runs(
    runs: list[list[tuple[str, bytes, list[list[str]]]]],
    snap: dict[str, tuple[int, int]],
    policy: Settings,
) -> list[Written]:
    """Every order of every run decided one after another, as SPEC 4 and 6 say, in the
    plainest way. A file whose bytes were seen before is skipped. An id issued before, or
    given to an order of an earlier file of the batch, holds its order; so does an order
    without an id that a file of the same name sent before as it stands. What a run
    writes is gone for the runs after it."""
    left = {s: list(v) for s, v in snap.items()}
    issued: set[str] = set()
    sent_without_id: set[tuple[str, tuple[tuple[str, int, int], ...]]] = set()
    seen: set[bytes] = set()
    decided = []
    for files in runs:
        written: Written = {}
        in_batch: set[str] = set()
        for name, content, rows in sorted(files):
            if content in seen:
                continue
            seen.add(content)
            for place, (oid, lines) in enumerate(_orders_of(rows)):
                # The SKU each line names (an FNSKU of no item names none).
                named = [(sku or snap.get(fnsku[1:]) and fnsku[1:] or "", s, u)
                         for _, _, sku, fnsku, s, u in lines]  # fmt: skip
                asked = (name, tuple(sorted((sku, int(s), int(u)) for sku, s, u in named)))
                if oid:
                    held = oid.upper() in issued or oid.upper() in in_batch
                    in_batch.add(oid.upper())
                else:
                    held = asked in sent_without_id
                keep, bad, skus = [], False, set()
                for sku, s, u in named:
                    if sku not in snap or sku in skus or (s == "0" and u == "0"):
                        bad = True
                    else:
                        keep.append((sku, int(s), int(u)))
                    skus.add(sku)
                if held or (bad and not policy.allow_partial):
                    continue
                taken: dict[str, tuple[int, int]] = {}
                over = False
                for sku, s, u in keep:
                    free_s, free_u = left[sku]
                    if policy.on_excess == "cap":
                        give = (min(s, free_s), min(u, free_u))
                        over |= give == (0, 0)  # nothing left: refused, its order held
                    elif s > free_s or u > free_u:
                        over = True
                        continue
                    else:
                        give = (s, u)
                    if give != (0, 0):
                        taken[sku] = give
                if over and not policy.allow_partial:
                    continue
                for sku, (s, u) in taken.items():
                    left[sku][0] -= s
                    left[sku][1] -= u
                if taken:
                    written[(name, place)] = taken
                    if oid:
                        issued.add(oid.upper())
                    else:
                        sent_without_id.add(asked)
        decided.append(written)
    return decided


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(run_files, min_size=2, max_size=3),
    st.fixed_dictionaries({s: st.tuples(quantity, quantity) for s in RUN_SKUS[:3]}),
    st.sampled_from(["reject", "cap"]),
    st.booleans(),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=4),
)
def test_runs_in_a_workspace_equal_deciding_every_order_in_turn(
    runs, snap, on_excess, partial, per_order, per_file
) -> None:
    """Consecutive runs in one workspace, each deducting what the ledger says earlier runs
    issued since the snapshot: the order files of all runs are what deciding every order
    of every run one after another writes. No unit is requested twice, no order is written
    twice or lost, and no order id is issued twice."""
    import json
    import re

    from invariants import read_back
    from workspace_helpers import age, make_workspace

    from removal_batch.ledger import Ledger
    from removal_batch.run import RunOptions, run_workspace
    from removal_batch.workspace import Workspace

    policy = _policy(on_excess, partial, per_order, per_file)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_workspace(Path(tmp) / "ws", snap)
        inv = [["sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]]
        inv += [[s, "X" + s, str(v[0]), str(v[1])] for s, v in snap.items()]
        age(write_delimited(root / "inventory" / "inventory.txt", inv), 3600)
        space = Workspace(root)
        dropped = []
        got: list[Written] = []
        every_id: list[str] = []
        for r, (stem, files, again) in enumerate(runs):
            again = again and r > 0
            if again:
                stem, files = runs[r - 1][0], [runs[r - 1][1][0], *files[1:]]
            batch = []
            for f, orders in enumerate(files):
                rows = _request_rows(r - 1 if again and f == 0 else r, f, orders)
                path = write_delimited(root / "inbox" / f"{stem}-{f}.txt", rows)
                if again and f == 0:
                    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
                batch.append((age(path).name, path.read_bytes(), rows))
            dropped.append(batch)
            ledger = Ledger(space.ledger_path)
            try:
                outcome = run_workspace(space, policy, RunOptions(), ledger)
            finally:
                ledger.close()
            assert outcome.out_dir is not None
            assert not list(space.inbox.iterdir())  # every input archived
            summary = json.loads((outcome.out_dir / "summary.json").read_text())
            ids_in = {name: [oid for oid, _ in _orders_of(rows)] for name, _, rows in batch}
            written: Written = {}
            for entry in summary["orders"]:
                rows = read_back(outcome.out_dir / entry["output_file"])
                uploaded = read_back(outcome.out_dir / entry["upload_file"])
                order_id = entry["id"]
                every_id.append(order_id)
                assert rows["MerchantRemovalOrderID"].eq(order_id).all()
                assert uploaded["MerchantRemovalOrderID"].eq(order_id).sum() == len(rows)
                assert int(entry["lines"]) == len(rows) <= min(per_order, per_file)
                base = re.sub(r"-P[0-9]+$", "", order_id)  # no id given ends so
                ids = ids_in[entry["source_file"]]
                place = ids.index(base) if base in ids else ids.index("")
                units = [
                    (sku, int(s), int(u))
                    for sku, s, u in zip(
                        rows["MerchantSKU"],
                        rows["SellableQuantity"],
                        rows["UnsellableQuantity"],
                        strict=True,
                    )
                ]
                assert int(entry["sellable_units"]) == sum(s for _, s, _ in units)
                assert int(entry["unsellable_units"]) == sum(u for _, _, u in units)
                mine = written.setdefault((entry["source_file"], place), {})
                for sku, s, u in units:
                    assert sku not in mine  # a SKU once per order, in all its parts
                    mine[sku] = (s, u)
            got.append(written)
        assert got == reference_runs(dropped, snap, policy)
        assert len(every_id) == len({i.upper() for i in every_id})
        ledger = Ledger(space.ledger_path)
        try:
            parts = {re.sub(r"-P[0-9]+$", "", i) for i in every_id if re.search("-P[0-9]+$", i)}
            assert set(ledger.order_ids()) == set(every_id) | parts
            taken = ledger.taken_since(0)
        finally:
            ledger.close()
        for sku, units in taken.iterrows():
            assert units["sellable"] <= snap[str(sku)][0]
            assert units["unsellable"] <= snap[str(sku)][1]
