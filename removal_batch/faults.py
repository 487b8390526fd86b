"""Named crash points for the crash drill: a run can be killed at an exact step.

``checkpoint(name)`` does nothing unless REMOVAL_BATCH_KILL_AT names this point
(``name`` or ``name#k`` for its k-th pass); then the process kills itself with
SIGKILL, as a power cut or the OOM killer would, with no cleanup at all.
REMOVAL_BATCH_HOLD_AT=name instead stops the process that reaches the point there until
a signal ends it: a step caught in the middle, for the signal drills.
"""

from __future__ import annotations

import os
import signal

_ENV = "REMOVAL_BATCH_KILL_AT"
# Read once: checkpoints sit on paths taken per order file, and must cost nothing.
_TARGET, _, _NTH = os.environ.get(_ENV, "").partition("#")
_HOLD = os.environ.get("REMOVAL_BATCH_HOLD_AT", "")
_ARMED = frozenset(name for name in (_TARGET, _HOLD) if name)
_passes: dict[str, int] = {}
# The process that imported this module: a forked helper (the order-file writer) that
# reaches a crash point takes the whole run down with it, as a power cut would.
_RUN_PID = os.getpid()


def checkpoint(name: str) -> None:
    if name not in _ARMED:
        return
    if name == _HOLD:
        while True:
            signal.pause()
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(_NTH or 1):
        if os.getpid() != _RUN_PID:
            os.kill(_RUN_PID, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
