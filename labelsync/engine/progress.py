"""Progress displays for apply: a rich bar on a terminal, plain throttled lines in CI.

:func:`make_progress` returns an :class:`~labelsync.engine.events.ApplyEvents`. Both
displays are thread-safe (``file_done`` and ``bytes_sent`` come from upload workers).

Counting: each ``files_planned(total_files, total_bytes)`` starts a new count (one per
dataset with files to send). Files count when ``file_done`` is called, whether or not they
had to be sent. Bytes count the larger of the bytes reported by ``bytes_sent`` and the sizes
of files done with ``uploaded=True``, so a provider may report either way without counting
twice. Rate and ETA use bytes (files when no bytes are planned) since ``files_planned``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from labelsync.engine.events import ApplyEvents
from labelsync.plan.model import format_bytes

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["PlainProgress", "RichProgress", "format_eta", "make_progress"]


def make_progress(
    stream: TextIO,
    *,
    ci: bool | None = None,
    clock: Callable[[], float] = time.monotonic,
    interval: float = 5.0,
) -> ApplyEvents:
    """The progress display for ``stream``.

    ``ci`` True (or None with ``CI`` set in the environment or ``stream`` not a terminal)
    gives :class:`PlainProgress`; otherwise :class:`RichProgress`.
    """
    if ci is None:
        ci = bool(os.environ.get("CI")) or not _isatty(stream)
    if ci:
        return PlainProgress(stream, clock=clock, interval=interval)
    return RichProgress(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def format_eta(seconds: float) -> str:
    """``19s``, ``3m05s``, ``1h02m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class _Counter:
    """Files and bytes done against the planned totals (callers hold the lock)."""

    def __init__(self) -> None:
        self.total_files = 0
        self.total_bytes = 0
        self.files = 0
        self.file_bytes = 0
        self.sent = 0
        self.started = 0.0

    def reset(self, total_files: int, total_bytes: int, now: float) -> None:
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.file_bytes = self.sent = 0
        self.started = now

    @property
    def bytes(self) -> int:
        """Bytes sent, never more than planned by file sizes: files registered with content
        sent once for another path report their size too."""
        return max(self.sent, min(self.file_bytes, self.total_bytes))

    def line(self, now: float) -> str:
        """``1,200/5,000 files done, 75.0 MiB/312.5 MiB sent, 12.3 MiB/s, ETA 19s``.

        Files and bytes are counted apart: a file is done once registered, whether its
        content had to be sent or not, so all bytes may be sent before every file is done.
        """
        text = (
            f"{self.files:,}/{self.total_files:,} files done, "
            f"{format_bytes(self.bytes)}/{format_bytes(self.total_bytes)} sent"
        )
        elapsed = now - self.started
        if elapsed <= 0:
            return text
        if self.total_bytes:
            rate = self.bytes / elapsed
            text += f", {format_bytes(int(rate))}/s"
            left = (self.total_bytes - self.bytes) / rate if rate else None
        else:
            rate = self.files / elapsed
            left = (self.total_files - self.files) / rate if rate else None
        if left is not None and self.files < self.total_files:
            text += f", ETA {format_eta(left)}"
        return text


class PlainProgress:
    """Line-oriented progress for CI logs.

    Prints ``<dataset>: <phase>`` on each phase, messages as they come, and a progress line
    (see :meth:`_Counter.line`) at most once per ``interval`` seconds, except that crossing
    each further 10% of the files also prints, and the last file always does.
    """

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic, interval: float = 5.0):
        self.stream = stream
        self.clock = clock
        self.interval = interval
        self._lock = threading.Lock()
        self._count = _Counter()
        self._last_time = 0.0
        self._last_decile = 0
        self._printed_files = -1

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def phase(self, dataset: str, name: str) -> None:
        with self._lock:
            self._write(f"{dataset}: {name}")

    def files_planned(self, total_files: int, total_bytes: int) -> None:
        with self._lock:
            now = self.clock()
            self._count.reset(total_files, total_bytes, now)
            self._last_time, self._last_decile, self._printed_files = now, 0, 0
            self._write(f"{total_files:,} files to register, {format_bytes(total_bytes)} to send")

    def file_done(self, remote_path: str, nbytes: int, uploaded: bool) -> None:
        with self._lock:
            self._count.files += 1
            if uploaded:
                self._count.file_bytes += nbytes
            self._maybe_print()

    def bytes_sent(self, n: int) -> None:
        with self._lock:
            self._count.sent += n
            self._maybe_print()

    def _maybe_print(self) -> None:
        now = self.clock()
        c = self._count
        decile = c.files * 10 // c.total_files if c.total_files else 0
        finished = c.total_files > 0 and c.files >= c.total_files and self._printed_files != c.files
        if finished or decile > self._last_decile or now - self._last_time >= self.interval:
            self._write(c.line(now))
            self._last_time, self._last_decile, self._printed_files = now, decile, c.files

    def message(self, text: str) -> None:
        with self._lock:
            self._write(text)

    def done(self) -> None:
        with self._lock:
            if self._count.total_files and self._printed_files != self._count.files:
                self._write(self._count.line(self.clock()))
                self._printed_files = self._count.files


class RichProgress:
    """A rich progress bar (files done/total, bytes, rate, ETA) for a terminal."""

    def __init__(self, stream: TextIO) -> None:
        # rich is imported here: CI runs (plain lines) do not pay its ~40 ms import
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._console = Console(file=stream)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]} files"),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=False,
        )
        self._lock = threading.Lock()
        self._count = _Counter()
        self._task: TaskID | None = None
        self._dataset = ""

    def phase(self, dataset: str, name: str) -> None:
        with self._lock:
            self._dataset = dataset
            if self._task is not None:
                self._progress.update(self._task, description=f"{dataset}: {name}")
            else:
                self._console.print(f"{dataset}: {name}", highlight=False)

    def files_planned(self, total_files: int, total_bytes: int) -> None:
        with self._lock:
            self._count.reset(total_files, total_bytes, 0.0)
            if self._task is None:
                self._progress.start()
                self._task = self._progress.add_task(self._dataset, total=total_bytes, files="")
            self._progress.reset(self._task, total=total_bytes, completed=0)
            self._refresh()

    def _refresh(self) -> None:
        c = self._count
        if self._task is None:
            return
        self._progress.update(
            self._task,
            completed=c.bytes,
            files=f"{c.files:,}/{c.total_files:,}",
        )

    def file_done(self, remote_path: str, nbytes: int, uploaded: bool) -> None:
        with self._lock:
            self._count.files += 1
            if uploaded:
                self._count.file_bytes += nbytes
            self._refresh()

    def bytes_sent(self, n: int) -> None:
        with self._lock:
            self._count.sent += n
            self._refresh()

    def message(self, text: str) -> None:
        self._console.print(text, highlight=False, markup=False)

    def done(self) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.stop()
                self._task = None
