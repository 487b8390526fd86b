"""Glue between the CLI and the pipeline: settings, printing, writing outputs."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from rich.console import Console

from removal_batch.core.settings import Settings, SettingsError, settings_from_mapping
from removal_batch.pipeline import EXIT_USAGE, BatchResult, UsageError, run_batch


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    if not path.is_file():
        raise UsageError(f"Settings file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name} is not valid TOML: {exc}") from exc
    try:
        return settings_from_mapping(data, source=path.name)
    except SettingsError as exc:
        raise UsageError(str(exc)) from exc


def write_outputs(result: BatchResult, out_dir: Path, with_orders: bool = True) -> None:
    """Every output of a run into ``out_dir`` (which the caller publishes)."""
    from removal_batch.writers.error_report import write_errors_csv, write_errors_xlsx
    from removal_batch.writers.order_files import write_order_files, write_upload_files
    from removal_batch.writers.summary import write_summary

    decision = result.decision
    if with_orders and len(decision.orders):
        names = write_order_files(decision.orders, decision.lines, out_dir / "orders")
        decision.orders["output_file"] = decision.orders["order_id"].map(names)
        uploads = write_upload_files(
            decision.orders, decision.lines, out_dir / "upload", result.settings.max_skus_per_file
        )
        decision.orders["upload_file"] = decision.orders["order_id"].map(uploads)
    errors_dir = out_dir / "errors"
    errors_dir.mkdir(parents=True, exist_ok=True)
    for outcome in result.files:
        if outcome.problems.empty:
            continue
        base = errors_dir / f"{outcome.name}.errors"
        write_errors_csv(outcome.problems, base.with_name(base.name + ".csv"))
        raw = outcome.table.raw if outcome.table is not None else None
        write_errors_xlsx(outcome.problems, raw, base.with_name(base.name + ".xlsx"))
    write_summary(result, out_dir / "summary.json")


def publish_into(result: BatchResult, out_dir: Path) -> None:
    """Write everything into a staging folder inside ``out_dir``, then move it in place,
    so a crash never leaves half a file where a reader would take it for whole."""
    from removal_batch.writers.order_files import fsync_tree

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{result.run_id}-", dir=out_dir))
    try:
        write_outputs(result, staging)
        fsync_tree(staging)
        for entry in sorted(staging.iterdir(), key=lambda p: p.name == "summary.json"):
            target = out_dir / entry.name
            if entry.is_dir() and target.is_dir():
                for item in entry.iterdir():
                    os.replace(item, target / item.name)
            else:
                os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_check(
    files: list[Path],
    inventory: Path,
    inventory_time: str | None,
    on_excess: str | None,
    allow_partial: bool | None,
    settings_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
) -> int:
    err = Console(stderr=True)
    try:
        settings = load_settings(settings_path).with_overrides(
            on_excess=on_excess, allow_partial=allow_partial or None
        )
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise UsageError(f"File(s) not found: {', '.join(missing)}")
        console = Console(stderr=as_json)
        show_progress = console.is_terminal and not as_json and len(files) > 1
        result = run_batch(
            files,
            inventory,
            settings,
            inventory_time,
            progress=(lambda name: console.print(f"reading {name}")) if show_progress else None,
        )
    except UsageError as exc:
        err.print(f"[red]removal-batch:[/] {exc}", highlight=False)
        return EXIT_USAGE
    if out_dir is not None:
        publish_into(result, out_dir)
    if as_json:
        from removal_batch.writers.summary import summary_dict

        sys.stdout.write(json.dumps(summary_dict(result), indent=2, ensure_ascii=False) + "\n")
    else:
        from removal_batch.writers.terminal import print_summary

        print_summary(result, console, out_dir)
    return result.exit_code
