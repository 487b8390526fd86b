"""The ledger: what every run processed and issued, in SQLite (.removal-batch/ledger.sqlite3).

It is how order ids stay unique across runs, how a re-dropped file is recognised,
and how units already requested since the snapshot are kept from being requested
again. A run is recorded in one transaction, after its outputs are published.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from removal_batch.core.fingerprint import file_key
from removal_batch.faults import checkpoint

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    issued_at REAL NOT NULL,          -- seconds since the epoch, UTC
    snapshot_sha256 TEXT NOT NULL,
    snapshot_time REAL NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inputs (
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    status TEXT NOT NULL,
    PRIMARY KEY (sha256, run_id)
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    issued_at REAL NOT NULL,
    disposition TEXT NOT NULL,
    lines INTEGER NOT NULL,
    sellable_units INTEGER NOT NULL,
    unsellable_units INTEGER NOT NULL,
    -- Since schema 2 (older orders have no source file or fingerprint, and match nothing):
    generated INTEGER NOT NULL DEFAULT 0,  -- 1: the file gave no id, it was generated
    source_file TEXT,                      -- the input's file name
    fingerprint TEXT                       -- its content (core/fingerprint.py)
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL REFERENCES orders(order_id),
    sku TEXT NOT NULL,
    sellable INTEGER NOT NULL,
    unsellable INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS order_lines_sku ON order_lines(sku);
-- What each run's snapshot said (Snapshot.content_digest): the same report saved again,
-- with another file digest, is known by it. A table of its own, so that older versions
-- of removal-batch still open the ledger.
CREATE TABLE IF NOT EXISTS run_snapshots (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    content TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_snapshots_content ON run_snapshots(content);
-- What an order without an id sent, where that was less than it asked for (lines left
-- out with --allow-partial, lowered with --on-excess cap): its file fixed as advised
-- (the refused line deleted, or given an id of its own) asks for just that. A table of
-- its own, as run_snapshots.
CREATE TABLE IF NOT EXISTS sent_fingerprints (
    order_id TEXT PRIMARY KEY REFERENCES orders(order_id),
    fingerprint TEXT NOT NULL
);
-- The id of an order written as parts <id>-P1, -P2...: taken as well, though no order
-- carries it (a later order of that id would be another order under the same name).
CREATE TABLE IF NOT EXISTS split_ids (
    order_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id)
);
"""
# Schema 1 -> 2: what a re-dropped file's order without an id is matched by.
MIGRATE_1_TO_2 = (
    "ALTER TABLE orders ADD COLUMN generated INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE orders ADD COLUMN source_file TEXT",
    "ALTER TABLE orders ADD COLUMN fingerprint TEXT",
)
# After any migration (the columns exist): orders with a generated id are one per file at
# most, found without reading a year's million orders.
INDEXES = "CREATE INDEX IF NOT EXISTS orders_generated ON orders(source_file) WHERE generated = 1"
# A generated id's part suffix (RB-20261128-0001-P2): a generated id ends in digits.
PART_SUFFIX = re.compile(r"-P[0-9]+$")


class LedgerError(Exception):
    """The ledger cannot be read or written; the message says what to do."""


@dataclass(frozen=True)
class RunRecord:
    """Everything one run adds to the ledger (also kept as the pending record on disk)."""

    run_id: str
    started: str
    issued_at: float
    snapshot_sha256: str
    snapshot_time: float
    inputs: list[dict[str, str]]  # sha256, name, status
    # order_id, disposition, lines, units; generated, source_file, fingerprint,
    # sent_fingerprint
    orders: list[dict[str, object]]
    lines: list[tuple[str, str, int, int]]  # order_id, sku, sellable, unsellable
    # Ids of orders written as parts (a pending record written before them has none).
    split_ids: list[str] = field(default_factory=list)
    # Snapshot.content_digest of the snapshot used ("": not known, an older record).
    snapshot_content: str = ""


def _in_use(exc: sqlite3.DatabaseError) -> bool:
    """SQLite's refusal while another connection holds the file: nothing is wrong with it."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


# How long to wait for another connection to let go of the ledger (another run's is kept
# out by the workspace lock; this is for other programs).
LOCK_TIMEOUT = 30.0


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> LedgerError:
    """What to say of a ledger SQLite refuses: in use, or damaged (found on opening it, or
    only by a query reaching a damaged page)."""
    if _in_use(exc):
        return LedgerError(
            f"The ledger {path} is in use by another program ({exc}). Close the program that "
            "has it open (a database browser, a sync or backup tool), then run again. Do not "
            "move the ledger aside: it holds every order id and unit issued so far."
        )
    return LedgerError(
        f"The ledger {path} cannot be read ({exc}). It may be damaged: restore it from a "
        "backup, or move it aside to start a new one (ids and units issued before are then "
        "no longer checked)."
    )


class IssuedIds(Mapping[str, str]):
    """Every order id issued so far -> the run that issued it. The ids are all loaded (each
    run checks its orders against them); a run is looked up only when asked, for the few
    ids that clash: loading a million run ids with them would slow every run."""

    def __init__(self, ids: frozenset[str], run_of: Callable[[str], str | None]) -> None:
        self._ids = ids
        self._run_of = run_of

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, order_id: str) -> str:
        run_id = self._run_of(order_id) if order_id in self._ids else None
        if run_id is None:
            raise KeyError(order_id)
        return run_id


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=DELETE")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SCHEMA)
            found = self.conn.execute("SELECT version FROM schema_version").fetchall()
            if not found:
                self.conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif found[0][0] == 1:
                self._migrate_from_1()
            elif found[0][0] != SCHEMA_VERSION:
                raise LedgerError(
                    f"The ledger {path} has schema version {found[0][0]}; this removal-batch "
                    f"knows version {SCHEMA_VERSION}. Use the matching removal-batch version."
                )
            self.conn.execute(INDEXES)
        except sqlite3.DatabaseError as exc:
            raise _unreadable(path, exc) from exc

    def _migrate_from_1(self) -> None:
        """Add schema 2's columns, in one transaction (a ledger is never half migrated);
        another program may have migrated it meanwhile."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = self.conn.execute("SELECT version FROM schema_version").fetchone()
            if version == 1:
                for statement in MIGRATE_1_TO_2:
                    self.conn.execute(statement)
                self.conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, exc) from exc

    def processed_inputs(self) -> dict[str, str]:
        """sha256 -> run id, for every input a run processed (skipped ones excluded)."""
        rows = self._query("SELECT sha256, run_id FROM inputs WHERE status != 'skipped'")
        return {str(sha): str(run) for sha, run in rows}

    def order_ids(self) -> IssuedIds:
        """Every order id issued, each with the run that issued it (looked up when asked)."""
        rows = self._query("SELECT order_id FROM orders UNION SELECT order_id FROM split_ids")
        return IssuedIds(frozenset(str(r[0]) for r in rows), self._run_of)

    def _run_of(self, order_id: str) -> str | None:
        rows = self._query(
            "SELECT run_id FROM orders WHERE order_id = ? "
            "UNION ALL SELECT run_id FROM split_ids WHERE order_id = ?",
            (order_id, order_id),
        )
        return str(rows[0][0]) if rows else None

    def generated_orders(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(source file key, fingerprint) -> (order id, run id) of every order issued under
        a generated id (a split order by the id it was split from), by what it asked for
        and, where less, by what it sent. One per file at most: a small table, even after
        a year."""
        rows = self._query(
            "SELECT source_file, fingerprint, order_id, run_id FROM orders "
            "WHERE generated = 1 AND fingerprint IS NOT NULL AND source_file IS NOT NULL "
            "UNION ALL SELECT o.source_file, s.fingerprint, o.order_id, o.run_id "
            "FROM sent_fingerprints s JOIN orders o USING (order_id) "
            "WHERE o.source_file IS NOT NULL"
        )
        return {
            (file_key(str(name)), str(fingerprint)): (
                PART_SUFFIX.sub("", str(order_id)),
                str(run_id),
            )
            for name, fingerprint, order_id, run_id in rows
        }

    def has_run(self, run_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))

    def first_known(self, snapshot_sha256: str, content: str = "") -> float | None:
        """The earliest time an earlier run knew this snapshot, by its file's sha256 or by
        what it says (Snapshot.content_digest): the snapshot time that run used, or its
        start if that was earlier. None when no run used it.

        The same report is the same report, whatever time it is given now: a copy of it
        put in the inventory folder again, or the file opened and saved again, has a new
        modification time, and a report downloaded again with nothing changed shows none
        of the orders issued since. Either way those orders are not in its figures, and
        must still be deducted."""
        if not snapshot_sha256 and not content:
            return None
        rows = self._query(
            "SELECT snapshot_time, started FROM runs WHERE (snapshot_sha256 = ? AND ? != '') "
            "OR run_id IN (SELECT run_id FROM run_snapshots WHERE content = ? AND ? != '')",
            (snapshot_sha256, snapshot_sha256, content, content),
        )
        times: list[float] = []
        for snapshot_time, started in rows:
            times.append(float(str(snapshot_time)))
            try:
                begun = dt.datetime.fromisoformat(str(started))
            except ValueError:
                continue
            # The run's start (to the second, so never after it): a snapshot time up to a
            # few minutes ahead (clock skew) was accepted, and would leave out that run's
            # own orders.
            times.append((begun if begun.tzinfo else begun.replace(tzinfo=dt.UTC)).timestamp())
        return min(times) if times else None

    def taken_since(self, snapshot_time: float) -> pd.DataFrame:
        """Units per SKU of orders issued after the snapshot was taken."""
        rows = self._query(
            "SELECT l.sku, SUM(l.sellable), SUM(l.unsellable) FROM order_lines l "
            "JOIN orders o ON o.order_id = l.order_id WHERE o.issued_at > ? GROUP BY l.sku",
            (snapshot_time,),
        )
        frame = pd.DataFrame(rows, columns=["sku", "sellable", "unsellable"])
        return frame.set_index("sku").astype("int64")

    def record_run(self, record: RunRecord) -> None:
        """Add a run in one transaction; recording the same run twice changes nothing."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.conn.execute(
                "SELECT 1 FROM runs WHERE run_id = ?", (record.run_id,)
            ).fetchall():
                self.conn.execute("ROLLBACK")
                return
            self.conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, 0)",
                (
                    record.run_id,
                    record.started,
                    record.issued_at,
                    record.snapshot_sha256,
                    record.snapshot_time,
                ),
            )
            checkpoint("ledger-run-inserted")
            self.conn.executemany(
                "INSERT OR IGNORE INTO inputs VALUES (?, ?, ?, ?)",
                [(i["sha256"], i["name"], record.run_id, i["status"]) for i in record.inputs],
            )
            self.conn.executemany(
                "INSERT INTO orders (order_id, run_id, issued_at, disposition, lines, "
                "sellable_units, unsellable_units, generated, source_file, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o["order_id"],
                        record.run_id,
                        record.issued_at,
                        o["disposition"],
                        o["lines"],
                        o["sellable_units"],
                        o["unsellable_units"],
                        # A pending record of an older version has none of these.
                        int(bool(o.get("generated", False))),
                        o.get("source_file"),
                        o.get("fingerprint"),
                    )
                    for o in record.orders
                ],
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO sent_fingerprints VALUES (?, ?)",
                [
                    (o["order_id"], o["sent_fingerprint"])
                    for o in record.orders
                    if o.get("sent_fingerprint")
                ],
            )
            if record.snapshot_content:
                self.conn.execute(
                    "INSERT OR IGNORE INTO run_snapshots VALUES (?, ?)",
                    (record.run_id, record.snapshot_content),
                )
            self.conn.executemany("INSERT INTO order_lines VALUES (?, ?, ?, ?)", record.lines)
            self.conn.executemany(
                "INSERT OR IGNORE INTO split_ids VALUES (?, ?)",
                [(order_id, record.run_id) for order_id in record.split_ids],
            )
            checkpoint("ledger-lines-inserted")
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            busy = " (another program has the ledger open)" if _in_use(exc) else ""
            raise LedgerError(
                f"The run could not be recorded in {self.path} ({exc}){busy}."
            ) from exc

    def mark_archived(self, run_id: str) -> None:
        try:
            self.conn.execute("UPDATE runs SET archived = 1 WHERE run_id = ?", (run_id,))
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"The ledger {self.path} cannot be written ({exc}).") from exc
