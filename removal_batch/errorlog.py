"""Where an exit 3 leaves its details: one line on screen, the whole trace in a log."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback


def write_error_log(exc: BaseException) -> str:
    """Write ``exc``'s trace (its causes included) to a log of its own; " Details: <log>"
    for the one line on screen, or "" when no log can be written. A new file each time:
    one fixed name was overwritten by the next failure, and could not be written at all
    once another user's run had made it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    try:
        fd, log = tempfile.mkstemp(prefix=f"removal-batch-error-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(traceback.format_exception(exc)))
    except OSError:
        return ""
    return f" Details: {log}"
