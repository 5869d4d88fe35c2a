"""The per-request deadline at the socket: no read or write waits past the request's end.

httpx bounds each wait for the network separately (its timeouts are per read), so a server
that sends one byte every few seconds, in the head or in the body, can hold a request open
for ever. :class:`DeadlineBackend` wraps httpcore's network backend: every connect, read and
write of a request waits at most until that request's deadline, set by
:func:`request_deadline` around it (per thread: a request runs on one thread). A wait cut
short raises httpcore's own timeout, which the caller then reports as a
:class:`~labelsync.errors.DeadlineError` (:func:`passed` tells it the deadline is why).
"""

from __future__ import annotations

import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore

__all__ = ["DeadlineBackend", "install", "passed", "request_deadline"]

_local = threading.local()


@contextmanager
def request_deadline(end: float | None) -> Iterator[None]:
    """Bound every network wait on this thread inside the block by ``end`` (a
    ``time.monotonic()`` value; None: no bound)."""
    before = getattr(_local, "end", None)
    _local.end = end
    try:
        yield
    finally:
        _local.end = before


def passed() -> bool:
    """Whether this thread's current request deadline has passed."""
    end = getattr(_local, "end", None)
    return end is not None and time.monotonic() >= end


def _bound(timeout: float | None) -> float | None:
    end = getattr(_local, "end", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _bound(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, _bound(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self.inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's backend with every wait bounded by the thread's request deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_tcp(host, port, _bound(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_unix_socket(path, _bound(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def install(transport: typing.Any) -> None:
    """Put :class:`DeadlineBackend` under an ``httpx.HTTPTransport`` (its connection pool's
    backend; a transport without one, e.g. a mock, is left as it is)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, DeadlineBackend):
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
