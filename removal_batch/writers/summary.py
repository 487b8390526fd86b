"""summary.json: everything one run decided, for machines and for the record."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from removal_batch.pipeline import BatchResult


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def summary_dict(result: BatchResult) -> dict[str, Any]:
    orders = result.decision.orders
    order_records: list[dict[str, Any]] = []
    if len(orders):
        # Column lists zipped: DataFrame.to_dict("records") costs seconds for 50,000 orders.
        def column(name: str) -> list[Any]:
            return orders[name].tolist() if name in orders else [None] * len(orders)

        for oid, disp, n, s, u, src, out, up in zip(
            column("order_id"),
            column("disposition"),
            column("lines"),
            column("sellable_units"),
            column("unsellable_units"),
            column("source_file"),
            column("output_file"),
            column("upload_file"),
            strict=True,
        ):
            order_records.append(
                {
                    "id": oid,
                    "disposition": disp,
                    "lines": int(n),
                    "sellable_units": int(s),
                    "unsellable_units": int(u),
                    "source_file": src,
                    "output_file": _text(out),
                    "upload_file": _text(up),
                }
            )
    inputs = [
        {
            "file": f.name,
            "sha256": f.sha256,
            "shape": f.shape,
            "encoding": f.encoding,
            "sheet": f.sheet,
            "rows": f.rows,
            "accepted": f.accepted,
            "rejected": f.rejected,
            "status": f.status,
            "counts_by_code": f.counts_by_code(),
        }
        for f in result.files
    ]
    problems = result.problems
    by_severity = (
        {str(k): int(v) for k, v in problems["severity"].value_counts().items()}
        if len(problems)
        else {}
    )
    return {
        "run_id": result.run_id,
        "started": result.started,
        "finished": result.finished,
        "tool_version": result.tool_version,
        "snapshot": {
            "file": result.snapshot.file,
            "sha256": result.snapshot.sha256,
            "skus": result.snapshot.skus,
            "snapshot_time": result.snapshot.snapshot_time,
        },
        "inputs": inputs,
        "orders": order_records,
        "totals": {
            "files": len(inputs),
            "rows": sum(i["rows"] for i in inputs),
            "accepted_rows": sum(i["accepted"] for i in inputs),
            "rejected_rows": sum(i["rejected"] for i in inputs),
            "orders": len(order_records),
            "sellable_units": sum(o["sellable_units"] for o in order_records),
            "unsellable_units": sum(o["unsellable_units"] for o in order_records),
            "problems_by_severity": by_severity,
        },
        "exit_code": result.exit_code,
    }


def summary_json(result: BatchResult) -> str:
    """Indented for people when small; compact when large (the indenting encoder is pure
    Python and takes seconds on 50,000 orders)."""
    summary = summary_dict(result)
    indent = 2 if len(summary["orders"]) <= 1000 else None
    return json.dumps(summary, indent=indent, ensure_ascii=False)


def write_summary(result: BatchResult, path: Path) -> str:
    """Write summary.json atomically; returns its text (``--json`` prints the same)."""
    text = summary_json(result)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".summary-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for the team
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return text
