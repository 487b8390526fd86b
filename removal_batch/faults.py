"""Named crash points for the crash drill: a run can be killed at an exact step.

``checkpoint(name)`` does nothing unless REMOVAL_BATCH_KILL_AT names this point
(``name`` or ``name#k`` for its k-th pass); then the process kills itself with
SIGKILL, as a power cut or the OOM killer would, with no cleanup at all.
"""

from __future__ import annotations

import os
import signal

_ENV = "REMOVAL_BATCH_KILL_AT"
# Read once: checkpoints sit on paths taken per order file, and must cost nothing.
_TARGET, _, _NTH = os.environ.get(_ENV, "").partition("#")
_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    if not _TARGET or name != _TARGET:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(_NTH or 1):
        os.kill(os.getpid(), signal.SIGKILL)
