"""Process checks for tests that start and stop worker processes."""

from __future__ import annotations

import os


def gone(pid: int) -> bool:
    """True once process ``pid`` has exited: no such process, or a zombie not yet reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].startswith("Z")
