"""Wall-clock phase timers, printed at exit when ``LABELSYNC_PROFILE`` is set (off by default).

``LABELSYNC_PROFILE=1 labelsync apply ...`` prints, on stderr after the command, the wall
time of each phase (start-up, load and hash, plan, apply: open, files, labels, commit ...)
and its share of the process's wall time. Off, :func:`phase` is a shared no-op context and
:func:`mark` a single attribute test: nothing is recorded and nothing printed.

Contract: phases may nest (a nested phase's time is also inside its parent's); a phase
entered several times (e.g. per dataset) adds up. Only names and seconds are recorded, never
arguments or values, so nothing secret can reach the output.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TextIO

ENABLED = bool(os.environ.get("LABELSYNC_PROFILE"))
"""Whether the timers record (read once, at import)."""

_totals: dict[str, float] = {}
_order: list[str] = []
_lock = threading.Lock()
_NULL: AbstractContextManager[None] = nullcontext()


def process_age() -> float:
    """Seconds since this process started (Linux ``/proc``; 0.0 where unknown)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def add(name: str, seconds: float) -> None:
    """Add ``seconds`` to phase ``name`` (no-op when disabled)."""
    if not ENABLED:
        return
    with _lock:
        if name not in _totals:
            _order.append(name)
            _totals[name] = 0.0
        _totals[name] += seconds


@contextmanager
def _timed(name: str) -> Iterator[None]:
    add(name, 0.0)  # listed in the order phases are entered
    start = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - start)


def phase(name: str) -> AbstractContextManager[None]:
    """A context timing phase ``name`` (a shared no-op when disabled)."""
    return _timed(name) if ENABLED else _NULL


def report(stream: TextIO | None = None) -> None:
    """Print the phases and their shares of the process's wall time (when enabled)."""
    if not ENABLED:
        return
    out = stream or sys.stderr
    wall = process_age()
    with _lock:
        rows = [(name, _totals[name]) for name in _order]
    out.write(f"labelsync profile: {wall:.3f} s since the process started\n")
    for name, seconds in rows:
        share = f"{100 * seconds / wall:5.1f}%" if wall else "  n/a"
        out.write(f"  {name:<32} {seconds:8.3f} s {share}\n")
    out.flush()
