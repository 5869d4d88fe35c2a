"""Concurrent HTTP/1.1 POSTs from one asyncio thread: the storage-upload engine's network half.

An initial apply is thousands of small form POSTs. Sent from worker threads through an
HTTP library, each costs about a millisecond of client CPU, most of it the library's
per-request objects and the threads handing the GIL to each other (some 30 context switches
per upload); on a 2-core machine that CPU, not the network, bounds the apply. One event loop
writing prepared bytes on keep-alive connections needs a quarter of that
(benchmarks/README.md). So :class:`PostPool` runs a private event loop on a daemon thread and
speaks just the HTTP/1.1 a storage host needs:

* ``POST`` with a body in memory and ``Content-Length``; status line, headers, and a body by
  ``Content-Length``, ``chunked`` or connection close; ``1xx`` answers skipped;
* :meth:`PostPool.run` sends one POST per item of an iterable, ``connections`` at a time,
  each on a keep-alive connection per origin (``http``, or ``https`` with httpx's default
  TLS context: certifi, or ``SSL_CERT_FILE``); an item's request is prepared only when a
  connection is free for it, so at most ``connections`` bodies are in memory (prepared on
  the loop for small items, on a worker thread for large ones);
* a request that fails on a *reused* connection before any answer (the server closed it
  while idle) is sent again at once on a fresh one; otherwise failures and 429/5xx answers
  are retried with :class:`~labelsync.providers.http.RetryPolicy` (backoff with jitter,
  ``Retry-After``), exactly like the threaded clients;
* an answer may hold at most :data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES`
  (storage hosts answer a few hundred bytes): a larger one is a
  :class:`~labelsync.errors.BadAnswerError`, refused by its ``Content-Length`` before it is
  read, or as soon as the bytes read pass the cap (the httpx path caps it the same way);
* an answer of 300 or more becomes the labelsync error of
  :func:`~labelsync.providers.http.raise_for_api`, a transport failure that of
  :func:`~labelsync.providers.http.translate_transport_errors`, so callers see the same
  errors (redacted) as from any other request.

No proxies: given an ``httpx.Client`` (when :func:`proxied` says the environment sets a
proxy, or a test injects a transport), the pool sends each request through that client on a
worker thread instead, with the same orchestration.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from labelsync import errors
from labelsync.providers import limits
from labelsync.providers.http import (
    MAX_BYTES,
    RetryPolicy,
    Stats,
    log_retry,
    raise_for_api,
    translate_transport_errors,
)

__all__ = ["Answer", "Batch", "Post", "PostPool", "proxied"]

LARGE_BODY = 1 << 20
"""Bodies above this size are prepared on a worker thread instead of the event loop."""
LARGE_BUDGET = 256 << 20
"""Large bodies in memory at once, in bytes (one body is always let through)."""
WRITE_CHUNK = 1 << 20
MAX_HEAD = 64 * 1024
_Origin = tuple[str, str, int]
log = logging.getLogger("labelsync.http")
T = TypeVar("T")


def proxied() -> bool:
    """Whether the environment sets an HTTP(S) proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


@dataclass(frozen=True)
class Post:
    """One prepared request: ``POST url`` with ``headers`` and ``body``; ``what`` names it in errors."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    what: str = "upload"


@dataclass(frozen=True)
class Answer:
    """A response: status, headers (names lower-case) and the whole body."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    content: bytes

    def header(self, name: str) -> str | None:
        return _value(self.headers, name) or None

    def response(self) -> httpx.Response:
        """The answer as an ``httpx.Response`` (for :func:`raise_for_api`)."""
        return httpx.Response(self.status, headers=self.headers, content=self.content, request=_request(self.url))


class _Stale(Exception):
    """A reused connection was closed under the request before any answer."""


class _TooLarge(Exception):
    """An answer larger than :data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES`."""


def _too_large(post: Post) -> errors.BadAnswerError:
    cap = limits.MAX_UPLOAD_ANSWER_BYTES
    return errors.BadAnswerError(
        f"{post.what} (POST {urlsplit(post.url).path}): the answer is larger than the {cap / limits.MiB:g} MiB cap of an upload answer",
        hint="the storage host (or a proxy in front of it) is misbehaving; check the remote's url and try again later",
    )


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = False

    def close(self) -> None:
        self.writer.close()


class Batch(Generic[T]):
    """The handle of one :meth:`PostPool.run`."""

    def __init__(self) -> None:
        self.stopped = False
        self.error: BaseException | None = None
        self.future: concurrent.futures.Future[None] = concurrent.futures.Future()

    def fail(self, error: BaseException) -> None:
        """Stop the batch because of ``error`` (raised by :meth:`wait`)."""
        self.error = self.error or error
        self.stopped = True

    def stop(self) -> None:
        """Start no further items; those in flight finish (and are reported)."""
        self.stopped = True

    def wait(self, timeout: float | None = None) -> None:
        """Block until every started item is done (or the pool was closed); raises what
        stopped the batch (see :meth:`PostPool.run`)."""
        try:
            self.future.result(timeout)
        except concurrent.futures.CancelledError:
            pass


class PostPool:
    """POSTs on a private event loop thread; see the module docstring. Thread-safe."""

    def __init__(
        self,
        *,
        connections: int,
        timeout: float = 120.0,
        policy: RetryPolicy | None = None,
        stats: Stats | None = None,
        user_agent: str = "labelsync",
        client: httpx.Client | None = None,
    ) -> None:
        self.connections = max(1, connections)
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.stats = stats if stats is not None else Stats()
        self.user_agent = user_agent
        self._client = client
        self._threads = ThreadPoolExecutor(self.connections, thread_name_prefix="labelsync-post") if client else None
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._budget = _Budget(LARGE_BUDGET)
        self._closed = False
        self._thread = threading.Thread(target=self._loop.run_forever, name="labelsync-uploads", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public

    def run(
        self,
        items: Iterable[T],
        prepare: Callable[[T], Post],
        done: Callable[[T, BaseException | None], None],
        *,
        size: Callable[[T], int] = lambda item: 0,
    ) -> Batch[T]:
        """POST one request per item, ``connections`` at a time; returns at once.

        ``prepare(item)`` builds the request when a connection is free. Items whose
        ``size(item)`` exceeds :data:`LARGE_BODY` are prepared on a worker thread, and only
        as many of them as fit in :data:`LARGE_BUDGET` bytes (at least one) are in memory at
        once. ``done(item, error)`` is called on the pool's thread after each item:
        ``error`` is None once the answer is 2xx, else the labelsync error of the failed
        request or what ``prepare`` raised. It must be quick (``queue.put``). Should ``done``
        or the iteration of ``items`` raise, the batch stops and :meth:`Batch.wait` raises it.
        """
        if self._closed:
            raise RuntimeError("the upload pool is closed")
        batch: Batch[T] = Batch()
        source = iter(items)

        async def worker() -> None:
            loop = asyncio.get_running_loop()
            while not batch.stopped:
                try:
                    item = next(source)
                except StopIteration:
                    return
                except Exception as exc:
                    batch.fail(exc)
                    return
                error: BaseException | None = None
                nbytes = size(item)
                large = nbytes > LARGE_BODY
                try:
                    if large:
                        await self._budget.acquire(nbytes)
                    try:
                        post = await loop.run_in_executor(None, prepare, item) if large else prepare(item)
                        await self._post(post)
                    finally:
                        if large:
                            await self._budget.release(nbytes)
                except Exception as exc:
                    error = exc
                try:
                    done(item, error)
                except Exception as exc:
                    batch.fail(exc)
                    return

        async def main() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await asyncio.gather(*(worker() for _ in range(self.connections)))
            finally:
                self._tasks.discard(task)
            if batch.error is not None:
                raise batch.error

        def start() -> None:
            task = self._loop.create_task(main())
            task.add_done_callback(lambda t: _settle(batch.future, t))

        self._loop.call_soon_threadsafe(start)
        return batch

    def close(self) -> None:
        """Cancel what is still running, close the connections and stop the thread."""
        if self._closed:
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("PostPool.close() called from its own event loop")
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        except (concurrent.futures.TimeoutError, TimeoutError):
            log.warning("the upload engine did not stop within 10 s; abandoning its connections")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ loop side

    async def _shutdown(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    async def _post(self, post: Post) -> Answer | None:
        """Send ``post`` with retries; the 2xx answer, or raise the labelsync error."""
        if self._client is not None:
            await asyncio.get_running_loop().run_in_executor(self._threads, self._post_with_client, post)
            return None
        parts = urlsplit(post.url)
        scheme = parts.scheme.lower()
        origin = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = _request_head(target, parts.netloc, post.headers, len(post.body), self.user_agent)
        attempt = 0
        with translate_transport_errors(post.what):
            while True:
                self.stats._sent()
                try:
                    answer = await self._send(origin, post.url, head, post.body)
                except _TooLarge:
                    self.stats._failed()
                    raise _too_large(post) from None
                except (httpx.TransportError, TimeoutError) as exc:
                    self.stats._failed()
                    error = _as_httpx(exc, post.url, "the request")
                    delay = self.policy.after_error(attempt)
                    if delay is None:
                        raise error from exc
                    reason = type(error).__name__
                else:
                    self.stats._answered(answer.status)
                    delay = self.policy.after_status(attempt, answer.status, answer.header("retry-after"))
                    if delay is None:
                        if answer.status >= 300:
                            raise_for_api(answer.response(), what=post.what)
                        return answer
                    reason = f"HTTP {answer.status}"
                attempt += 1
                self.stats._retried()
                log_retry(attempt, self.policy.max_retries, "POST", post.url, reason, delay)
                await asyncio.sleep(delay)

    def _post_with_client(self, post: Post) -> None:
        assert self._client is not None
        with translate_transport_errors(post.what):
            response = self._client.post(
                post.url, content=post.body, headers={**post.headers, "User-Agent": self.user_agent},
                extensions={MAX_BYTES: limits.MAX_UPLOAD_ANSWER_BYTES},
            )
        raise_for_api(response, what=post.what)

    async def _send(self, origin: _Origin, url: str, head: bytes, body: bytes) -> Answer:
        idle = self._idle.setdefault(origin, [])
        while idle:
            conn = idle.pop()
            if conn.reader.at_eof():
                conn.close()
                continue
            try:
                return await self._exchange(conn, origin, url, head, body)
            except _Stale:
                break  # the server closed it while idle: once more on a fresh connection
        conn = await self._open(origin, url)
        try:
            return await self._exchange(conn, origin, url, head, body)
        except _Stale as exc:
            raise httpx.RemoteProtocolError("the server closed the connection without answering", request=_request(url)) from exc.__cause__

    async def _open(self, origin: _Origin, url: str) -> _Connection:
        scheme, host, port = origin
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=_request(url))
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            tls = self._tls
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=MAX_HEAD)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("timed out connecting to the storage host", request=_request(url)) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=_request(url)) from exc
        return _Connection(reader, writer)

    async def _exchange(self, conn: _Connection, origin: _Origin, url: str, head: bytes, body: bytes) -> Answer:
        """One request on ``conn``. Every step must make progress within ``timeout`` (an idle
        timeout: a big body may take longer in all). An answer that comes before the body is
        all sent (a 413 or 403 from a server that stops reading) is read and returned."""
        reused, conn.used = conn.used, True
        answered = early = False
        try:
            try:
                await self._write(conn, head, body)
            except (ConnectionError, TimeoutError) as exc:
                try:
                    async with asyncio.timeout(1.0):
                        block = await conn.reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
                    raise exc from None
                version, status, headers = _parse_head(block)
                if 100 <= status < 200:  # no final answer came: the write failure stands
                    raise exc from None
                early = answered = True
                try:
                    async with asyncio.timeout(1.0):
                        content, reusable = await _read_body(conn.reader, status, headers)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                    content, reusable = b"", False
            else:
                async with asyncio.timeout(self.timeout):  # the answer: a head and a small body
                    block = await conn.reader.readuntil(b"\r\n\r\n")
                    answered = True
                    version, status, headers = _parse_head(block)
                    while 100 <= status < 200:
                        block = await conn.reader.readuntil(b"\r\n\r\n")
                        version, status, headers = _parse_head(block)
                    content, reusable = await _read_body(conn.reader, status, headers)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, (ConnectionError, asyncio.IncompleteReadError)) and reused and not answered:
                raise _Stale from exc
            if isinstance(exc, TimeoutError):
                raise httpx.ReadTimeout("the storage host stopped responding", request=_request(url)) from exc
            if isinstance(exc, (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)):
                raise _as_httpx(exc, url, "the answer") from exc
            raise
        if reusable and not early and version == "HTTP/1.1" and _value(headers, "connection").lower() != "close":
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()
        return Answer(url, status, headers, content)

    async def _write(self, conn: _Connection, head: bytes, body: bytes) -> None:
        """Send head and body, waiting at most ``timeout`` for each chunk to leave."""
        writer = conn.writer
        writer.write(head)
        with memoryview(body) as view:
            for start in range(0, max(len(view), 1), WRITE_CHUNK):
                writer.write(view[start : start + WRITE_CHUNK])
                if writer.transport.get_write_buffer_size() > 0:  # drain() may wait: bound it
                    async with asyncio.timeout(self.timeout):
                        await writer.drain()
                else:
                    await writer.drain()


class _Budget:
    """Bytes of large bodies in memory at once: at most ``limit``, or one body of any size."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._cond: asyncio.Condition | None = None

    async def acquire(self, nbytes: int) -> None:
        if self._cond is None:
            self._cond = asyncio.Condition()
        async with self._cond:
            await self._cond.wait_for(lambda: self.used == 0 or self.used + nbytes <= self.limit)
            self.used += nbytes

    async def release(self, nbytes: int) -> None:
        assert self._cond is not None
        async with self._cond:
            self.used -= nbytes
            self._cond.notify_all()


def _settle(future: concurrent.futures.Future[None], task: asyncio.Task[None]) -> None:
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(None)


# ---------------------------------------------------------------------- HTTP/1.1 framing


def _request_head(target: str, netloc: str, headers: Mapping[str, str], length: int, user_agent: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {netloc.rsplit('@', 1)[-1]}", f"User-Agent: {user_agent}", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(block: bytes) -> tuple[str, int, list[tuple[str, str]]]:
    """``(version, status, headers)`` of a response head; ValueError if malformed."""
    lines = block.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    status = int(rest[:3])
    headers = []
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed header line: {line[:60]!r}")
            headers.append((name.strip().lower(), value.strip()))
    return version, status, headers


def _value(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key == name), "")


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: list[tuple[str, str]], cap: int = limits.MAX_UPLOAD_ANSWER_BYTES
) -> tuple[bytes, bool]:
    """The body of a response, and whether the connection may carry another request.

    Raises :class:`_TooLarge` as soon as the body is known to exceed ``cap`` bytes.
    """
    if status in (204, 304):
        return b"", True
    if "chunked" in _value(headers, "transfer-encoding").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks), True
            total += size
            if total > cap:
                raise _TooLarge
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = _value(headers, "content-length")
    if length:
        if int(length) > cap:
            raise _TooLarge
        return await reader.readexactly(int(length)), True
    body = await reader.read(cap + 1)  # delimited by the server closing the connection
    while len(body) <= cap:
        more = await reader.read(cap + 1 - len(body))
        if not more:
            return body, False
        body += more
    raise _TooLarge


def _request(url: str) -> httpx.Request:
    return httpx.Request("POST", url)


def _as_httpx(exc: BaseException, url: str, during: str) -> httpx.TransportError:
    """A transport failure as the httpx error the rest of labelsync maps and retries."""
    if isinstance(exc, httpx.TransportError):
        return exc
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout("timed out waiting for the storage host", request=_request(url))
    if isinstance(exc, asyncio.IncompleteReadError):
        return httpx.RemoteProtocolError(f"the server closed the connection in the middle of {during}", request=_request(url))
    if isinstance(exc, (asyncio.LimitOverrunError, ValueError)):
        return httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}", request=_request(url))
    return httpx.ReadError(str(exc) or type(exc).__name__, request=_request(url))
