"""Load the declarative pandera schemas shipped in ``schemas/``."""

from __future__ import annotations

import copy
import threading
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from removal_batch.core.checks import register_checks

if TYPE_CHECKING:
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors


_IMPORTING = threading.Lock()


def pandera() -> ModuleType:
    """pandera.pandas, imported on first use by one thread at a time, with every custom
    check registered. It is not imported at start (a quarter of a second); the first thread
    to need it is usually the snapshot's, while the main thread reads the requests. Two
    threads importing pandera's modules at once can take them in different orders, which
    the import system stops with a deadlock error: hence the lock around the whole import."""
    with _IMPORTING:
        import pandera.pandas as pa

        register_checks()
    return pa


def schema_errors() -> type[SchemaErrors]:
    """pandera's SchemaErrors (the lazy validation's collected failures)."""
    errors: type[SchemaErrors] = pandera().errors.SchemaErrors
    return errors


def schema_dir() -> Path:
    """Installed wheels carry the schemas inside the package; a checkout has them on top."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_schemas", package.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the schemas folder is missing from this installation")


@cache
def _load(name: str) -> pa.DataFrameSchema:
    pa = pandera()
    text = (schema_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    return pa.DataFrameSchema.from_yaml(text)


@cache
def request_schema(
    allowed_dispositions: tuple[str, ...] = ("Return", "Disposal"),
    blank_country: str = "US",
) -> pa.DataFrameSchema:
    """The request schema for these settings: their dispositions, and their country for a
    blank AddressCountryCode (the YAML says US)."""
    pa = pandera()
    schema = _load("request")
    if set(allowed_dispositions) != {"Return", "Disposal"}:
        schema = schema.update_column(
            "RemovalDisposition",
            checks=[pa.Check.disposition_allowed(allowed=list(allowed_dispositions))],
        )
    if any(
        c.statistics.get("blank_country", blank_country) != blank_country for c in schema.checks
    ):
        schema = copy.deepcopy(schema)
        schema.checks = [
            getattr(pa.Check, c.name)(**{**c.statistics, "blank_country": blank_country})
            if "blank_country" in c.statistics
            else c
            for c in schema.checks
        ]
    return schema


@cache
def length_limits() -> dict[str, int]:
    """The most characters each text column takes (the request schema's text_length checks):
    what validation refuses as value-too-long, and what the template tells its users. Not
    to be changed by callers (it is cached)."""
    limits: dict[str, int] = {}
    for name, column in _load("request").columns.items():
        for check in column.checks:
            if check.name == "text_length" and check.statistics.get("max_value"):
                limits[name] = int(check.statistics["max_value"])
    return limits


def inventory_schema() -> pa.DataFrameSchema:
    return _load("inventory")
