"""The one httpx client factory of labelsync: retries, timeouts, caps, secrets registered.

Every provider builds its API client with :func:`make_client` and turns answers into
labelsync errors with :func:`raise_for_api` and :func:`translate_transport_errors`
(:mod:`labelsync.providers.api_errors`, re-exported here). Storage uploads go through
:mod:`labelsync.providers.post_pool` under the same :class:`RetryPolicy`.

Retries live in :class:`RetryTransport`, a transport wrapping another transport (httpx's
documented way to add behaviour). It retries:

* responses with status 429, 500, 502, 503, 504;
* transport failures: connect errors, read/write errors, a peer closing the connection
  mid-response (``RemoteProtocolError``) and timeouts.

To retry a connection dropped in the middle of a response body, the transport reads every
body before returning the response (what ``client.get`` does anyway). Only requests marked
``extensions={"labelsync_stream": True}`` keep their body unread for ``client.stream``;
such a body cut off mid-way is not retried. Every attempt must be answered, head and whole
body, by its end (the request's deadline or the command's, from
:class:`~labelsync.providers.retry.Attempts`): :func:`make_client` puts
:mod:`labelsync.providers.deadline` under httpx's transport so every socket wait is cut
there, and a failure past the end is that deadline's one
:class:`~labelsync.errors.DeadlineError`, not retried.

Only requests that are safe to repeat are retried: the idempotent methods (GET, HEAD,
OPTIONS, PUT, DELETE). A POST or PATCH is sent once, unless its caller knows that repeating
it is harmless (an upsert, an upload to a content-addressed key) and marks it with
``extensions={"labelsync_retry": True}``; ``False`` forbids retrying any method. After an
ambiguous failure of a write that is not safe to repeat, the caller looks for its effect
before writing again (:func:`labelsync.providers.answers.converge`). When and how long to
wait is :class:`~labelsync.providers.retry.RetryPolicy` (backoff with jitter,
``Retry-After``, the command's deadline), the same policy the storage uploads follow.

Request bodies must be replayable to be retried: ``content=bytes``, ``json=``, ``data=`` and
``files=`` with bytes or seekable files are. A body given as an iterator or generator can be
sent only once, so such a request is never retried (it is sent once and any failure is
returned or raised as it is); buffer the body into bytes, or resume at a higher level (the
Deepen resumable upload does), when retries matter.

Redaction: the values of secret headers (``X-Token``, ``Authorization``, ...) and the secrets
passed to :func:`make_client` are registered with :mod:`labelsync.redact` (the one rule set),
and every exception message and log line built here goes through its :func:`redact` and
:func:`redact_url`.
"""

from __future__ import annotations

import logging
import random
import time
import weakref
from collections.abc import Callable, Mapping, Sequence

import httpx

from labelsync import errors
from labelsync.providers import deadline, limits
from labelsync.providers.api_errors import (
    RETRYABLE_ERRORS,
    extract_error,
    header_secrets,
    raise_for_api,
    translate_transport_errors,
)
from labelsync.providers.retry import RETRY_STATUSES, Attempts, RetryPolicy, Stats, log_retry
from labelsync.providers.source_address import source_address
from labelsync.redact import redact, redact_url, register_secret

__all__ = [
    "NO_RETRY",
    "RETRYABLE_ERRORS",
    "RETRY_STATUSES",
    "STREAM",
    "RetryPolicy",
    "RetryTransport",
    "Stats",
    "client_stats",
    "extract_error",
    "log_retry",
    "make_client",
    "raise_for_api",
    "redact",
    "redact_url",
    "register_secret",
    "translate_transport_errors",
]

log = logging.getLogger("labelsync.http")

NO_RETRY = "labelsync_retry"
"""Request extension key: ``False`` sends a request at most once, ``True`` retries a POST or
PATCH that is safe to repeat; absent, the method decides (:data:`SAFE_METHODS`)."""

RETRY = NO_RETRY

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods retried without being marked: repeating them has the effect of sending them once."""

MAX_BYTES = "labelsync_max_bytes"
"""Request extension key: the cap on this answer's size (default
:func:`labelsync.providers.limits.max_answer_bytes`)."""

STREAM = "labelsync_stream"
"""Request extension key; ``extensions={STREAM: True}`` leaves the response body unread for
``client.stream(...)`` (large downloads). Such a body cut off mid-way is not retried."""


def _replayable(request: httpx.Request) -> bool:
    stream = request.stream
    # MultipartStream re-renders its fields (seeking file objects back to 0) on each iteration.
    return isinstance(stream, httpx.ByteStream) or type(stream).__name__ == "MultipartStream"


class RetryTransport(httpx.BaseTransport):
    """A transport that retries another one; see the module docstring for the policy.

    ``max_retries`` is the number of repeats after the first attempt; the other keywords
    are those of :class:`RetryPolicy`, and ``sleep`` waits. After the budget is spent, the
    last response is returned (the caller maps it with :func:`raise_for_api`) or the last
    transport error is raised (map it with :func:`translate_transport_errors`).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        max_retries: int = 5,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        retry_after_max: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        stats: Stats | None = None,
    ) -> None:
        self.inner = inner
        self.policy = RetryPolicy(max_retries, backoff_base, backoff_cap, retry_after_max, rand, clock)
        self.sleep = sleep
        self.stats = stats if stats is not None else Stats()

    def backoff(self, attempt: int) -> float:
        """The full-jitter wait before retry number ``attempt`` (0-based)."""
        return self.policy.backoff(attempt)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        marked = request.extensions.get(NO_RETRY)
        safe = request.method in SAFE_METHODS if marked is None else marked is True
        streaming = request.extensions.get(STREAM, False) is True
        attempts = self.policy.attempts(request.method, request.url, describe(request), self.stats, retryable=safe and _replayable(request))
        while True:
            attempts.begin()
            try:
                with deadline.request_deadline(attempts.end):
                    response = self.inner.handle_request(request)
                    if not streaming:
                        response = _buffered(request, response, attempts)
            except RETRYABLE_ERRORS as exc:
                if attempts.past_end():  # the socket waits were cut at the deadline
                    attempts.stats._failed()
                    raise attempts.late() from exc
                delay = attempts.failed(type(exc).__name__)
                if delay is None:
                    raise
            else:
                delay = attempts.answered(response.status_code, response.headers.get("retry-after"))
                if delay is None:
                    return response
                _discard(response)
            self.sleep(delay)

    def close(self) -> None:
        self.inner.close()


def describe(request: httpx.Request) -> str:
    """``METHOD /path`` of a request, for messages (no host, no query: nothing secret)."""
    return f"{request.method} {request.url.path}"


def _buffered(request: httpx.Request, response: httpx.Response, attempts: Attempts) -> httpx.Response:
    """``response`` with its raw (still encoded) body read, so a cut-off body is retried here.

    The body may hold at most the request's cap (:data:`MAX_BYTES`) and must arrive by the
    attempt's end (:attr:`~labelsync.providers.retry.Attempts.end`; the socket waits are
    bounded by it too, see :mod:`labelsync.providers.deadline`).
    """
    stream = response.stream
    assert isinstance(stream, httpx.SyncByteStream)
    cap = int(request.extensions.get(MAX_BYTES) or limits.max_answer_bytes())
    declared = response.headers.get("content-length", "")
    chunks: list[bytes] = []
    size = 0
    try:
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(request, cap)
        for chunk in stream:
            size += len(chunk)
            if size > cap:
                raise _too_large(request, cap)
            chunks.append(chunk)
            if attempts.past_end():
                raise attempts.late()
        raw = b"".join(chunks)
    finally:
        stream.close()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(raw),
        extensions=response.extensions,
        request=request,
    )


def _too_large(request: httpx.Request, cap: int) -> errors.BadAnswerError:
    return errors.BadAnswerError(
        f"{describe(request)}: the answer is larger than the {cap / limits.MiB:g} MiB cap",
        hint="the remote sent far more than expected; raise LABELSYNC_MAX_ANSWER_MB if that is right",
    )


def _discard(response: httpx.Response) -> None:
    """Release a response's connection before retrying (its body may be cut off)."""
    try:
        response.read()
    except httpx.HTTPError:
        pass
    finally:
        response.close()


# Stats of clients built here, so benchmarks can ask a client for its counts.
_client_stats: weakref.WeakKeyDictionary[httpx.Client, Stats] = weakref.WeakKeyDictionary()


def make_client(
    base_url: str,
    *,
    headers: Mapping[str, str],
    secrets: Sequence[str] = (),
    timeout: float = 30,
    transport: httpx.BaseTransport | None = None,
    max_retries: int | None = None,
    pool: int = 32,
    stats: Stats | None = None,
    sleep: Callable[[float], None] = time.sleep,
    follow_redirects: bool = False,
) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` whose transport retries (see :class:`RetryTransport`).

    ``headers`` are sent on every request; the values of secret headers (``X-Token``,
    ``Authorization``) and every string in ``secrets`` are registered for redaction.
    ``transport`` replaces the network (``httpx.MockTransport`` in tests) and is wrapped by
    the retrying transport too. ``pool`` bounds the connections kept to one host; set it at
    least to the number of worker threads sharing the client. ``timeout`` applies to connect,
    read, write and pool waits separately. Redirects are not followed by default (a GCS
    resumable upload answers 308 without meaning a redirect). The counts of requests and
    retries are in ``stats`` (or :func:`client_stats`). Connections bind
    ``LABELSYNC_SOURCE_ADDRESS`` when set (:mod:`~labelsync.providers.source_address`).
    """
    for secret in [*secrets, *header_secrets(headers)]:
        register_secret(secret)
    inner = transport or httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool), retries=0, local_address=source_address()
    )
    deadline.install(inner)
    retries = limits.max_retries() if max_retries is None else max_retries
    retrying = RetryTransport(inner, max_retries=retries, sleep=sleep, stats=stats)
    client = httpx.Client(
        base_url=base_url,
        headers=dict(headers),
        timeout=httpx.Timeout(timeout),
        transport=retrying,
        follow_redirects=follow_redirects,
    )
    _client_stats[client] = retrying.stats
    return client


def client_stats(client: httpx.Client) -> Stats:
    """The :class:`Stats` of a client built by :func:`make_client` (``KeyError`` otherwise)."""
    return _client_stats[client]
