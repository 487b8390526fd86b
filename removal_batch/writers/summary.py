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
        for rec in orders.to_dict("records"):
            order_records.append(
                {
                    "id": rec["order_id"],
                    "disposition": rec["disposition"],
                    "lines": int(rec["lines"]),
                    "sellable_units": int(rec["sellable_units"]),
                    "unsellable_units": int(rec["unsellable_units"]),
                    "source_file": rec["source_file"],
                    "output_file": _text(rec.get("output_file")),
                    "upload_file": _text(rec.get("upload_file")),
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


def write_summary(result: BatchResult, path: Path) -> None:
    text = json.dumps(summary_dict(result), indent=2, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".summary-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for the team
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
