"""Load the declarative pandera schemas shipped in ``schemas/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandera.pandas as pa

from removal_batch.core import checks as _checks  # noqa: F401  (registers the custom checks)


def schema_dir() -> Path:
    """Installed wheels carry the schemas inside the package; a checkout has them on top."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_schemas", package.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the schemas folder is missing from this installation")


@cache
def _load(name: str) -> pa.DataFrameSchema:
    text = (schema_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    return pa.DataFrameSchema.from_yaml(text)


def request_schema(
    allowed_dispositions: tuple[str, ...] = ("Return", "Disposal"),
) -> pa.DataFrameSchema:
    schema = _load("request")
    if set(allowed_dispositions) == {"Return", "Disposal"}:
        return schema
    return schema.update_column(
        "RemovalDisposition",
        checks=[pa.Check.disposition_allowed(allowed=list(allowed_dispositions))],
    )


def inventory_schema() -> pa.DataFrameSchema:
    return _load("inventory")
