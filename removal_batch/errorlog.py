"""Where an exit 3 leaves its details: one line on screen, the whole trace in a log."""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path


def write_error_log(exc: BaseException) -> str:
    """Write ``exc``'s trace (its causes included) to the log; " Details: <log>" for the
    one line on screen, or "" when the log cannot be written either."""
    log = Path(tempfile.gettempdir()) / "removal-batch-error.log"
    try:
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        return ""
    return f" Details: {log}"
