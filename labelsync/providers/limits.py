"""The documented limits on what a server may send, and the deadlines of requests and commands.

=============================  =========  ================================================
setting                        default    environment variable (flag)
=============================  =========  ================================================
largest JSON API answer        64 MiB     ``LABELSYNC_MAX_ANSWER_MB``
largest storage upload answer  1 MiB      (fixed; S3/GCS answer a few hundred bytes)
one request, end to end        120 s      ``LABELSYNC_REQUEST_TIMEOUT`` (seconds)
one command, end to end        none       ``LABELSYNC_DEADLINE`` (seconds), ``--deadline``
retries of a failed request    5          ``LABELSYNC_HTTP_RETRIES``
=============================  =========  ================================================

A request's deadline covers connecting, sending and the whole answer, head and body, however
slowly the server drips it (httpx's own timeouts only bound the gap between two bytes; every
socket wait is cut at the deadline by :mod:`labelsync.providers.deadline`). The command
deadline bounds each request the same way and is checked before every attempt. The upload
answer cap holds on every storage answer: the upload engine's own HTTP
(:mod:`~labelsync.providers.http1`), its injected transports
(:mod:`~labelsync.providers.transport`), and Deepen's session requests. Past either, or past a
cap, the request fails with one line naming it (:class:`~labelsync.errors.DeadlineError`,
:class:`~labelsync.errors.BadAnswerError`).
"""

from __future__ import annotations

import os
import time

from labelsync.errors import UsageError

MiB = 1024 * 1024
MAX_UPLOAD_ANSWER_BYTES = 1 * MiB

_deadline: float | None = None
"""The command's deadline (``time.monotonic()`` value), None for no deadline."""


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{name}={raw!r} is not a positive number", hint=f"unset {name} or set it to e.g. {default:g}")
    return value


def max_answer_bytes() -> int:
    """The cap on one JSON API answer, in bytes."""
    return int(_number("LABELSYNC_MAX_ANSWER_MB", 64) * MiB)


def request_timeout() -> float:
    """Seconds one request may take from first byte sent to last byte received."""
    return _number("LABELSYNC_REQUEST_TIMEOUT", 120.0)


def max_retries(default: int = 5) -> int:
    """How many times a failed request that is safe to repeat is repeated."""
    raw = os.environ.get("LABELSYNC_HTTP_RETRIES", "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise UsageError(f"LABELSYNC_HTTP_RETRIES={raw!r} is not a whole number", hint="set it to e.g. 5, or 0 for none")
    return int(raw)


def set_command_deadline(seconds: float | None) -> None:
    """Start the command's clock: it must end within ``seconds`` (None: no deadline)."""
    global _deadline
    _deadline = None if seconds is None else time.monotonic() + seconds


def command_deadline_from_env() -> float | None:
    """``LABELSYNC_DEADLINE`` in seconds, or None when unset."""
    return _number("LABELSYNC_DEADLINE", 0) if os.environ.get("LABELSYNC_DEADLINE", "").strip() else None


def command_remaining() -> float | None:
    """Seconds left before the command's deadline (may be negative), or None without one."""
    return None if _deadline is None else _deadline - time.monotonic()
