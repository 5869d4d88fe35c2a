"""The request budget of a process: a rate limit, and Retry-After pauses shared across shards.

Off unless installed (:func:`install`, done by a sharded apply). When installed, every
attempt of every request of the process, API requests and storage uploads alike, first
calls :func:`before_request` (from :meth:`labelsync.providers.retry.Attempts.begin`):

* ``rate`` (``--max-requests-per-second R``): a token bucket of R tokens a second (burst
  ``max(1, R)``) shared by all the process's threads; an attempt waits for a token;
* ``pause_file``: a small file in the shards' report directory holding one number, the
  epoch second until which every shard should send nothing. A 429/503 with Retry-After
  seen by any shard (:func:`retry_after`) moves it forward (never back), atomically
  (write then rename); each attempt reads it (at most every :data:`POLL` seconds) and
  sleeps until that time. Shards on one machine, or on machines sharing the report
  directory's volume, thus pause together. Machines must agree on the time (NTP); a pause
  is at most :data:`MAX_PAUSE` seconds whatever the file says.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL = 0.25
MAX_PAUSE = 300.0


class Budget:
    """One process's budget (see the module docstring); thread-safe."""

    def __init__(
        self,
        rate: float | None = None,
        pause_file: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.pause_file = pause_file
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = max(1.0, self.rate or 1.0)
        self._filled = clock()
        self._until = 0.0
        self._read_at = float("-inf")
        self.waited = 0.0
        """Seconds slept in :meth:`before_request` (for tests and reports)."""

    def before_request(self) -> None:
        pause = self._pause_left()
        if pause > 0:
            self._wait(pause)
        if self.rate is None:
            return
        with self._lock:
            now = self._clock()
            cap = max(1.0, self.rate)
            self._tokens = min(cap, self._tokens + (now - self._filled) * self.rate)
            self._filled = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._wait(wait)

    def retry_after(self, seconds: float) -> None:
        """A Retry-After of ``seconds`` was seen: pause every shard sharing the file."""
        until = self._clock() + min(max(0.0, seconds), MAX_PAUSE)
        with self._lock:
            self._until = max(self._until, until)
        if self.pause_file is None:
            return
        if _read_until(self.pause_file) >= until:
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=".retry-after.", dir=self.pause_file.parent)
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{until:.3f}\n")
            os.replace(tmp, self.pause_file)
        except OSError:
            pass  # the pause still holds for this process

    def _pause_left(self) -> float:
        now = self._clock()
        if self.pause_file is not None and now - self._read_at >= POLL:
            self._read_at = now
            until = min(_read_until(self.pause_file), now + MAX_PAUSE)
            with self._lock:
                self._until = max(self._until, until)
        return self._until - now

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self._sleep(seconds)


def _read_until(path: Path) -> float:
    try:
        return float(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0.0


_current: Budget | None = None


def install(budget: Budget | None) -> None:
    """Make ``budget`` the process's budget (``None``: none)."""
    global _current
    _current = budget


def before_request() -> None:
    """Called before each attempt of each request: waits as the budget says."""
    if _current is not None:
        _current.before_request()


def retry_after(seconds: float | None) -> None:
    """Called when an answer asked to retry after ``seconds``."""
    if _current is not None and seconds is not None:
        _current.retry_after(seconds)
