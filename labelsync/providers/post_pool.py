"""Concurrent upload POSTs from one asyncio thread: the storage-upload engine, in every configuration.

An initial apply is thousands of small form POSTs. Sent from worker threads through an
HTTP library, each costs about a millisecond of client CPU, most of it the library's
per-request objects and the threads handing the GIL to each other; on a 2-core machine that
CPU, not the network, bounds the apply. One event loop writing prepared bytes on keep-alive
connections needs a quarter of that, and beats ``httpx.AsyncClient`` and aiohttp on the
same loop (benchmarks/README.md, "Upload engine"). So :class:`PostPool` runs a private event
loop on a daemon thread, and this module is its orchestration and its retry loop:

* :meth:`PostPool.run` sends one POST per item of an iterable, ``connections`` at a time.
  Each connection prepares its next small request (:data:`AHEAD_BODY`) on the loop while
  its current one is answered, so that an answer is followed at once by the next request
  (the loop's CPU per upload is off the round trip), and at most two bodies per connection
  are in memory; larger ones are prepared when a connection is free for them (on a worker
  thread above :data:`LARGE_BODY`). With ``read_ahead`` small items are instead prepared
  :data:`CHUNK` at a time on a reader thread, a bounded window ahead of the connections,
  so that reading and hashing files (mostly outside the GIL) runs beside the event loop
  instead of on it;
* each POST goes through a :class:`~labelsync.providers.transport.Transport`, once per
  attempt: :class:`~labelsync.providers.transport.Connections` (direct, TLS, through the
  environment's proxy) unless a test injects an ``httpx.BaseTransport``;
* failures and 429/5xx answers are retried here, by
  :class:`~labelsync.providers.retry.RetryPolicy` (backoff with jitter, ``Retry-After``,
  the command's deadline), the same policy as every other request;
* an answer may hold at most :data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES`
  (storage hosts answer a few hundred bytes; the transports stop reading past it): a larger
  one is a :class:`~labelsync.errors.BadAnswerError`, not retried;
* an answer of 300 or more becomes the labelsync error of
  :func:`~labelsync.providers.http.raise_for_api`, a transport failure that of
  :func:`~labelsync.providers.http.translate_transport_errors`, so callers see the same
  errors (redacted) as from any other request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from labelsync import errors
from labelsync.providers import http1, limits
from labelsync.providers.api_errors import RETRYABLE_ERRORS, raise_for_api, translate_transport_errors
from labelsync.providers.retry import RetryPolicy, Stats
from labelsync.providers.transport import Answer, Connections, InjectedTransport, Post, Transport

__all__ = ["Answer", "Batch", "Post", "PostPool"]

LARGE_BODY = 1 << 20
"""Bodies above this size are prepared on a worker thread instead of the event loop."""
LARGE_BUDGET = 256 << 20
"""Large bodies in memory at once, in bytes (one body is always let through)."""
AHEAD_BODY = 256 << 10
"""Without ``read_ahead``, each connection prepares its next request (when it is at most this
many bytes) while its current one is answered, so that a free connection writes at once."""
CHUNK = 16
"""Small items prepared per reader-thread task with ``read_ahead`` (one thread hop per chunk)."""
READERS = 2
"""Reader threads of a pool (``read_ahead``)."""
log = logging.getLogger("labelsync.http")
T = TypeVar("T")


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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``timeout`` bounds each step of a request (connect, each write, the answer);
        ``transport`` replaces the network with an ``httpx.BaseTransport`` (tests)."""
        self.connections = max(1, connections)
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.stats = stats if stats is not None else Stats()
        self.user_agent = user_agent
        self.transport: Transport = (
            InjectedTransport(transport, threads=self.connections, timeout=timeout) if transport is not None else Connections(timeout=timeout)
        )
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._budget = _Budget(LARGE_BUDGET)
        self._readers: concurrent.futures.ThreadPoolExecutor | None = None
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
        read_ahead: bool = False,
    ) -> Batch[T]:
        """POST one request per item, ``connections`` at a time; returns at once.

        ``prepare(item)`` builds the request while the connection's previous request is
        answered (at most :data:`AHEAD_BODY` bytes; a larger one when the connection is free),
        in item order per connection, so it may run before ``done`` of the item before. Items whose
        ``size(item)`` exceeds :data:`LARGE_BODY` are prepared on a worker thread, and only
        as many of them as fit in :data:`LARGE_BUDGET` bytes (at least one) are in memory at
        once. With ``read_ahead``, the other items are prepared on the pool's reader threads
        :data:`CHUNK` at a time, at most ``2 * connections`` (rounded up to chunks) ahead of
        the requests, in item order (``prepare`` must then be thread-safe). A prepared item
        is not sent, and not reported, once the batch stopped. ``done(item, error)`` is called on the pool's thread after each item:
        ``error`` is None once the answer is 2xx, else the labelsync error of the failed
        request or what ``prepare`` raised. It must be quick (``queue.put``). Should ``done``
        or the iteration of ``items`` raise, the batch stops and :meth:`Batch.wait` raises it.
        """
        if self._closed:
            raise RuntimeError("the upload pool is closed")
        batch: Batch[T] = Batch()
        request_timeout = limits.request_timeout()  # the environment, read once per run
        source = iter(items)
        ahead = _ReadAhead(source, prepare, size, self._reader_pool(), depth=max(2, -(-2 * self.connections // CHUNK))) if read_ahead else None

        pipelined = ahead is None

        def take() -> tuple[T, Post | BaseException | None] | None:
            """The next item (None at the end), with its request when it is at most
            :data:`AHEAD_BODY` bytes (what ``prepare`` raised in its place; None for a larger
            one: the worker prepares it). Raises what iterating ``items`` raised."""
            for item in source:
                if size(item) > AHEAD_BODY:
                    return item, None
                try:
                    return item, prepare(item)
                except Exception as exc:
                    return item, exc
            return None

        async def worker() -> None:
            loop = asyncio.get_running_loop()
            taken: tuple[T, Post | BaseException | None] | BaseException | None = None  # prepared while the last request was out
            ended = False

            def prepare_next() -> None:
                """Called by the transport once a request is written: take and prepare the
                next item while the answer comes (once; never raises)."""
                nonlocal taken, ended
                if taken is not None or ended or batch.stopped:
                    return
                try:
                    taken = take()
                except Exception as exc:
                    taken = exc
                ended = taken is None

            while not batch.stopped:
                got: tuple[T, Post | BaseException | None] | BaseException | None
                if taken is not None:
                    got, taken = taken, None
                elif ended:
                    return
                else:
                    try:
                        got = await ahead.next() if ahead is not None else take()
                    except Exception as exc:
                        got = exc
                    if got is None:
                        return
                if isinstance(got, BaseException):
                    batch.fail(got)
                    return
                if batch.stopped:
                    return  # prepared ahead, but the batch stopped meanwhile: not sent, not reported
                item, ready = got
                error: BaseException | None = None
                nbytes = size(item) if ready is None else 0
                large = nbytes > LARGE_BODY
                try:
                    if large:
                        await self._budget.acquire(nbytes)
                    try:
                        if isinstance(ready, BaseException):
                            raise ready
                        if ready is not None:
                            post = ready
                        else:
                            post = await loop.run_in_executor(None, prepare, item) if large else prepare(item)
                        await self._post(post, prepare_next if pipelined and not large else None, request_timeout)
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
        if self._readers is not None:
            self._readers.shutdown(wait=False, cancel_futures=True)

    def _reader_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._readers is None:
            self._readers = concurrent.futures.ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="labelsync-read")
        return self._readers

    # ------------------------------------------------------------------ loop side

    async def _shutdown(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.transport.aclose()

    async def _post(self, post: Post, sent: Callable[[], None] | None = None, request_timeout: float | None = None) -> Answer:
        """Send ``post`` with retries (the one upload retry loop); the 2xx answer, or raise
        the labelsync error. ``sent()`` is called once a request is written, while its answer
        is awaited (see :meth:`Transport.send`; it must not raise). Each step of an attempt
        waits at most the pool's ``timeout`` (a big body may take longer in all); the
        command's deadline cuts an attempt wherever it is (a DeadlineError)."""
        label = _label(post.url)
        attempts = self.policy.attempts("POST", post.url, label, self.stats, request_timeout=request_timeout)
        with translate_transport_errors(post.what):
            while True:
                attempts.begin()
                try:
                    answer = await self.transport.send(post, self.user_agent, sent, attempts.end if attempts.by_command else None)
                except http1.TooLarge:
                    self.stats._failed()
                    raise _too_large(post) from None
                except RETRYABLE_ERRORS as exc:
                    if attempts.by_command and attempts.past_end():  # cut at the command's deadline
                        self.stats._failed()
                        raise attempts.late() from exc
                    delay = attempts.failed(type(exc).__name__)
                    if delay is None:
                        raise
                else:
                    delay = attempts.answered(answer.status, answer.header("retry-after"))
                    if delay is None:
                        if answer.status >= 300:
                            raise_for_api(answer.response(), what=post.what)
                        return answer
                await asyncio.sleep(delay)


@functools.lru_cache(maxsize=64)
def _label(url: str) -> str:
    """``POST /path`` of ``url``, as retries and deadlines name a request."""
    return f"POST {urlsplit(url).path or '/'}"


def _too_large(post: Post) -> errors.BadAnswerError:
    cap = limits.MAX_UPLOAD_ANSWER_BYTES
    return errors.BadAnswerError(
        f"{post.what} (POST {urlsplit(post.url).path}): the answer is larger than the {cap / limits.MiB:g} MiB cap of an upload answer",
        hint="the storage host (or a proxy in front of it) is misbehaving; check the remote's url and try again later",
    )


class _ReadAhead(Generic[T]):
    """Items of ``source`` with their prepared request (or what ``prepare`` raised), made
    :data:`CHUNK` at a time on ``readers``, at most ``depth`` chunks ahead; lives on the loop.
    An item larger than :data:`LARGE_BODY` comes unprepared (``None``): the worker prepares
    it within the large-body budget."""

    def __init__(
        self,
        source: Iterator[T],
        prepare: Callable[[T], Post],
        size: Callable[[T], int],
        readers: concurrent.futures.ThreadPoolExecutor,
        *,
        depth: int,
    ) -> None:
        self.source, self.readers, self.depth = source, readers, depth
        self.chunks: deque[asyncio.Future[list[tuple[T, Post | BaseException | None]]]] = deque()
        self.ready: deque[tuple[T, Post | BaseException | None]] = deque()
        self.exhausted = False

        def prepare_all(chunk: list[T]) -> list[tuple[T, Post | BaseException | None]]:
            out: list[tuple[T, Post | BaseException | None]] = []
            for item in chunk:
                if size(item) > LARGE_BODY:
                    out.append((item, None))
                    continue
                try:
                    out.append((item, prepare(item)))
                except Exception as exc:
                    out.append((item, exc))
            return out

        self._prepare_all = prepare_all

    def _fill(self) -> None:
        """Start chunks until ``depth`` are under way; raises what iterating ``source`` raised."""
        while not self.exhausted and len(self.chunks) < self.depth:
            chunk = list(islice(self.source, CHUNK))
            if len(chunk) < CHUNK:
                self.exhausted = True
            if chunk:
                self.chunks.append(asyncio.wrap_future(self.readers.submit(self._prepare_all, chunk)))

    async def next(self) -> tuple[T, Post | BaseException | None] | None:
        """The next item and its request; None once every item was handed out."""
        while not self.ready:
            self._fill()
            if not self.chunks:
                return None
            self.ready.extend(await self.chunks.popleft())
        self._fill()
        return self.ready.popleft()


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
