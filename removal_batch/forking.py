"""What a forked helper process (a workbook's reader, the order-file writer) lets go of.

A child inherits every open descriptor, the workspace lock's among them, and an flock is
held while any descriptor of it is open. A run killed while its child still works would
leave the child holding the lock: the next run would be told the workspace is busy
though no run is going. The child closes the lock's descriptor first thing; the run
keeps the lock through its own.
"""

from __future__ import annotations

import contextlib
import os
import signal

# Descriptors a child must close: the workspace lock while a run holds it.
_HELD: set[int] = set()


def hold(fd: int) -> None:
    _HELD.add(fd)


def let_go(fd: int) -> None:
    _HELD.discard(fd)


def in_child() -> None:
    """Called by a forked child before anything else. SIGTERM ends a child at once: the
    run's handler (cli.Terminated) would raise in the child's own work instead."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()
