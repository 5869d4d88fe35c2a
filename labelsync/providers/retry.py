"""The one retry policy of labelsync: what is retried, how long to wait, when to give up. No I/O.

Retried: answers with status 429, 500, 502, 503, 504 (:data:`RETRY_STATUSES`) and transport
failures (connect, read or write errors, a connection dropped mid-answer, timeouts), at most
``max_retries`` times after the first attempt. The wait before retry *n* (0-based) is
full-jitter exponential backoff, ``uniform(0, min(cap, base * 2**n))`` with base 0.2 s and
cap 10 s, except that a 429/503 with ``Retry-After`` (seconds or an HTTP date) waits exactly
that long; a ``Retry-After`` longer than ``retry_after_max`` ends the retries (the answer is
returned and the caller reports it). No attempt starts after the command's deadline
(:mod:`labelsync.providers.limits`), and no wait is begun that would end after it.

Each attempt also has an end (:attr:`Attempts.end`, from :func:`request_end`): the request's
deadline (``LABELSYNC_REQUEST_TIMEOUT``) or the command's, whichever comes first. A loop that
enforces it (the httpx one: every socket wait is cut there by
:mod:`labelsync.providers.deadline`) reports an attempt past it with :meth:`Attempts.late`,
the one :class:`~labelsync.errors.DeadlineError` of either deadline.

Both request loops follow this policy through :class:`Attempts`, the bookkeeping of one
request (count, log, deadline), so the loop that sends is a few lines of I/O:

* :class:`labelsync.providers.http.RetryTransport` (httpx, API requests, downloads);
* :class:`labelsync.providers.post_pool.PostPool` (storage uploads, every configuration).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from labelsync import errors
from labelsync.providers import budget, limits
from labelsync.redact import redact_url

__all__ = [
    "RETRY_STATUSES",
    "Attempts",
    "RetryPolicy",
    "Stats",
    "check_deadline",
    "deadline_error",
    "log_retry",
    "parse_retry_after",
    "request_end",
]

log = logging.getLogger("labelsync.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses answered with a retry (the TensorBay SDK's ``status_forcelist``)."""


@dataclass
class Stats:
    """Counts of what a client sent (thread-safe); benchmarks print them.

    ``requests`` counts every attempt that reached the transport (first tries and retries),
    ``retries`` the attempts that were repeats, ``by_status`` the responses per status, and
    ``transport_errors`` the attempts that failed without a response.
    """

    requests: int = 0
    retries: int = 0
    transport_errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _sent(self) -> None:
        with self._lock:
            self.requests += 1

    def _answered(self, status: int) -> None:
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1

    def _failed(self) -> None:
        with self._lock:
            self.transport_errors += 1

    def _retried(self) -> None:
        with self._lock:
            self.retries += 1

    def summary(self) -> str:
        """One line, e.g. ``412 requests, 3 retries``."""
        with self._lock:
            return f"{self.requests:,} requests, {self.retries:,} retries"


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass
class RetryPolicy:
    """When to retry and how long to wait (the policy of the module docstring).

    ``rand`` returns a float in [0, 1); ``clock`` gives epoch seconds for an HTTP-date
    ``Retry-After``. Both are injectable for tests.
    """

    max_retries: int = 5
    backoff_base: float = 0.2
    backoff_cap: float = 10.0
    retry_after_max: float = 120.0
    rand: Callable[[], float] = random.random
    clock: Callable[[], float] = time.time

    def backoff(self, attempt: int) -> float:
        """The full-jitter wait before retry number ``attempt`` (0-based)."""
        return self.rand() * min(self.backoff_cap, self.backoff_base * (2**attempt))

    def after_error(self, attempt: int) -> float | None:
        """Seconds to wait before retrying a transport failure, or None to give up."""
        return None if attempt >= self.max_retries else self.backoff(attempt)

    def after_status(self, attempt: int, status: int, retry_after: str | None) -> float | None:
        """Seconds to wait before retrying a response, or None to return it as it is."""
        if attempt >= self.max_retries or status not in RETRY_STATUSES:
            return None
        if status in (429, 503):
            after = parse_retry_after(retry_after, self.clock)
            if after is not None:
                return None if after > self.retry_after_max else after
        return self.backoff(attempt)

    def attempts(
        self, method: str, url: object, label: str, stats: Stats, *, retryable: bool = True, request_timeout: float | None = None
    ) -> Attempts:
        """The bookkeeping of one request under this policy (see :class:`Attempts`);
        ``request_timeout``: the request deadline's seconds when the caller read them once
        (:func:`~labelsync.providers.limits.request_timeout`), else read per attempt."""
        return Attempts(self, method, url, label, stats, retryable, request_timeout)


class Attempts:
    """The attempts of one request: the loop around a send, minus the I/O.

    ::

        attempts = policy.attempts("POST", url, "POST /upload", stats)
        while True:
            attempts.begin()                         # deadline check, counted
            try:
                answer = send()
            except RETRYABLE_ERRORS as exc:
                delay = attempts.failed(type(exc).__name__)
                if delay is None:
                    raise
            else:
                delay = attempts.answered(answer.status, answer.header("retry-after"))
                if delay is None:
                    return answer
            sleep(delay)

    ``failed``/``answered`` return the wait before the next attempt (already counted and
    logged), or None when the outcome stands. ``label`` names the request in a deadline
    error (``METHOD /path``: nothing secret); ``url`` is logged redacted.
    """

    def __init__(
        self, policy: RetryPolicy, method: str, url: object, label: str, stats: Stats, retryable: bool, request_timeout: float | None = None
    ) -> None:
        self.policy, self.method, self.url, self.label, self.stats, self.retryable = policy, method, url, label, stats, retryable
        self.request_timeout = request_timeout
        self.attempt = 0
        self.end, self.by_command = float("inf"), False

    def begin(self) -> None:
        """Before each attempt: raises DeadlineError past the command's deadline; starts
        the attempt's clock (:attr:`end`, :attr:`by_command`)."""
        check_deadline(self.label)
        budget.before_request()  # the process's rate budget and shared Retry-After pauses (off by default)
        self.stats._sent()
        self.end, self.by_command = request_end(self.request_timeout)

    def past_end(self) -> bool:
        """Whether this attempt's end (:func:`request_end`) has passed."""
        return time.monotonic() >= self.end

    def late(self) -> errors.DeadlineError:
        """The error of this attempt passing its end (the request's or the command's deadline)."""
        return deadline_error(self.label, by_command=self.by_command)

    def failed(self, reason: str) -> float | None:
        """A transport failure: the wait before retrying, or None to raise it."""
        self.stats._failed()
        return self._next(self.policy.after_error(self.attempt) if self.retryable else None, reason)

    def answered(self, status: int, retry_after: str | None) -> float | None:
        """An answer: the wait before asking again, or None to return it."""
        self.stats._answered(status)
        if status in (429, 503) and retry_after is not None:
            budget.retry_after(parse_retry_after(retry_after, self.policy.clock))
        delay = self.policy.after_status(self.attempt, status, retry_after) if self.retryable else None
        return self._next(delay, f"HTTP {status}")

    def _next(self, delay: float | None, reason: str) -> float | None:
        if delay is None:
            return None
        self.attempt += 1
        left = limits.command_remaining()
        if left is not None and delay > left:
            check_deadline(self.label, at_least=delay)
        self.stats._retried()
        log_retry(self.attempt, self.policy.max_retries, self.method, self.url, reason, delay)
        return delay


def request_end(timeout: float | None = None) -> tuple[float, bool]:
    """The ``time.monotonic()`` by which a request starting now must be answered, and
    whether the command's deadline (not the request's) sets it; ``timeout``: the request
    deadline's seconds (None: :func:`~labelsync.providers.limits.request_timeout`)."""
    now = time.monotonic()
    end = now + (limits.request_timeout() if timeout is None else timeout)
    left = limits.command_remaining()
    if left is not None and now + left < end:
        return now + left, True
    return end, False


def deadline_error(label: str, *, by_command: bool) -> errors.DeadlineError:
    """The one line of a request ``label`` (``METHOD /path``) stopped by the command's
    deadline (``by_command``) or by its own."""
    if by_command:
        return errors.DeadlineError(
            f"{label}: the command's deadline passed",
            hint="the remote is slow or stuck; raise the deadline with --deadline SECONDS or LABELSYNC_DEADLINE",
        )
    return errors.DeadlineError(
        f"{label}: no complete answer within {limits.request_timeout():g} s",
        hint="the remote is slow or stuck; raise the limit with LABELSYNC_REQUEST_TIMEOUT (seconds)",
    )


def check_deadline(label: str, *, at_least: float = 0.0) -> None:
    """Raise DeadlineError when less than ``at_least`` seconds are left of the command's deadline."""
    left = limits.command_remaining()
    if left is not None and left <= at_least:
        raise deadline_error(label, by_command=True)


def log_retry(attempt: int, limit: int, method: str, url: object, reason: str, delay: float) -> None:
    """The one log line of a retry (the URL redacted)."""
    log.info("retry %d/%d of %s %s after %s in %.2f s", attempt, limit, method, redact_url(url), reason, delay)
