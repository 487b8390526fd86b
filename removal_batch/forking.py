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
from collections.abc import Callable
from typing import Any

# Descriptors a child must close: the workspace lock while a run holds it.
_HELD: set[int] = set()
# Work still running on side threads (snapshot loads, validation's preparation). A fork
# copies Arrow's locks and the import system's as they are at that instant, and a lock
# held by a side thread stays held for ever in the child (a workbook reader's child was
# seen stuck in pyarrow's ``take``): so a fork waits for them.
_SIDE_WORK: set[Any] = set()  # concurrent.futures.Future


def side_work_started(future: Any) -> None:
    """Have every fork wait for ``future`` (a Future of work on a side thread)."""
    _SIDE_WORK.add(future)
    future.add_done_callback(_SIDE_WORK.discard)


def finish_side_work() -> None:
    running = list(_SIDE_WORK)
    if running:
        from concurrent.futures import wait

        wait(running)


_BEFORE: list[Callable[[], None]] = []


def before_fork(wait: Callable[[], None]) -> None:
    """Have every fork call ``wait`` first: fork() in plain code, and an at-fork hook for
    a fork made any other way."""
    _BEFORE.append(wait)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=wait)


def fork() -> int:
    """os.fork, once the side threads are done. Waited for here, in plain code, where
    Ctrl-C and SIGTERM stop the wait as they stop anything: raised inside the at-fork
    hook, they were dropped as unraisable, and the run went on to publish its orders and
    exit 0. (The hook then finds nothing left to wait for.)"""
    for wait in _BEFORE:
        wait()
    return os.fork()


before_fork(finish_side_work)


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
