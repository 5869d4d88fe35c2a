"""One keep-alive HTTP/1.1 client connection as an ``asyncio.Protocol``: the upload path's exchange.

:class:`Connection` sends a request and returns its answer with no Task, stream object or
``asyncio.timeout`` per request: the answer is parsed from the bytes received
(:func:`~labelsync.providers.http1.parse_response`) when they arrive, and one timer per
connection (re-armed lazily: a request only moves the connection's deadline) cuts a
silent server. Its contract, for :class:`~labelsync.providers.transport.Connections`:

* :meth:`Connection.exchange` writes the request (in one piece up to :data:`SMALL_WRITE`,
  else in :data:`WRITE_CHUNK` pieces), each wait for the socket to take more bytes bounded
  by ``timeout``; then the whole answer, head and body, must come within ``timeout``.
* An answer that comes before the body is all sent (a 413 from a server that stops
  reading) is returned, with ``early`` set (the connection is then not reused).
* Failures raise: ``TimeoutError`` (the timer: never reported as a stale connection),
  :class:`Lost` (the connection closed or reset before a complete answer; ``answered``
  says whether the answer's head had come), ``ValueError`` (a malformed answer) and
  :class:`~labelsync.providers.http1.TooLarge` (past the cap). After any failure the
  connection is closed.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from labelsync.providers import http1, limits

__all__ = ["SMALL_WRITE", "WRITE_CHUNK", "Connection", "Lost"]

WRITE_CHUNK = 1 << 20
SMALL_WRITE = 256 * 1024
"""A request whose head and body together are at most this size is written in one piece
(one send: one wake-up of the server instead of two, and a server that reads what arrived
finds the whole body, not its head alone; the copy costs less than the second send)."""


class Lost(ConnectionError):
    """The connection closed (or was reset) before the answer was complete."""

    def __init__(self, message: str, *, answered: bool, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.answered = answered
        self.__cause__ = cause


class Connection(asyncio.Protocol):
    """A client connection (see the module docstring); ``transport`` is set once connected."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, cap: int = limits.MAX_UPLOAD_ANSWER_BYTES) -> None:
        self.loop, self.timeout, self.cap = loop, timeout, cap
        self.transport: asyncio.Transport | None = None
        self.used = False
        self.closed = False
        self._buf = bytearray()
        self._eof = False
        self._lost: BaseException | None = None
        self._waiter: asyncio.Future[http1.Response] | None = None
        self._head_only = False
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._deadline = math.inf
        self._limit = math.inf
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self._parse()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._parse()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._eof = True
        self._lost = exc
        self._parse()
        self._wake_drain()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drain()

    # ------------------------------------------------------------------ requests

    async def exchange(
        self, head: bytes, body: bytes, sent: Callable[[], None] | None = None, within: float = math.inf
    ) -> tuple[http1.Response, bool]:
        """Send one request; its answer and whether it came ``early`` (see the module docstring).
        ``sent()`` (quick, never raising) is called once the request is written, before its
        answer is awaited. ``within``: seconds from now past which no wait of this request
        goes on (the command's deadline: ``TimeoutError`` there too)."""
        transport = self.transport
        assert transport is not None
        self.used = True
        self._limit = self.loop.time() + within
        waiter = self._begin(head_only=False)
        written = False
        try:
            if not waiter.done():
                if len(head) + len(body) <= SMALL_WRITE:
                    transport.write(head + body)
                    written = True
                else:
                    transport.write(head)
                    with memoryview(body) as view:
                        for start in range(0, max(len(view), 1), WRITE_CHUNK):
                            await self._writable()
                            if waiter.done():
                                break
                            transport.write(view[start : start + WRITE_CHUNK])
                        else:
                            written = True
                await self._writable()
            # an answer while the body is not all on its way: the server stopped reading it
            early = waiter.done() and (not written or self._paused or transport.get_write_buffer_size() > 0)
            if written and sent is not None:
                sent()
            return await self.answer(waiter), early
        except BaseException:
            self.close()
            raise
        finally:
            self._end()

    async def connect(self, head: bytes) -> http1.Response:
        """Send a ``CONNECT`` head; the proxy's answer head (closed on failure)."""
        assert self.transport is not None
        waiter = self._begin(head_only=True)
        try:
            self.transport.write(head)
            return await self.answer(waiter)
        except BaseException:
            self.close()
            raise
        finally:
            self._end()

    async def answer(self, waiter: asyncio.Future[http1.Response]) -> http1.Response:
        """The answer of the request just written, within ``timeout``."""
        if not waiter.done():
            self._arm(self.timeout)
        return await waiter

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def idle_usable(self) -> bool:
        """Whether an idle connection still looks open (no EOF, no leftover bytes)."""
        return not (self.closed or self._eof or self._buf)

    # ------------------------------------------------------------------ internals

    def _begin(self, *, head_only: bool) -> asyncio.Future[http1.Response]:
        self._head_only = head_only
        waiter = self._waiter = self.loop.create_future()
        if self.closed:
            waiter.set_exception(Lost("the connection was closed", answered=False, cause=self._lost))
        return waiter

    def _end(self) -> None:
        self._waiter = None
        self._deadline = self._limit = math.inf  # idle: a timer still pending finds nothing to cut

    async def _writable(self) -> None:
        """Wait (at most ``timeout``) until the transport takes more bytes, the answer came, or it failed."""
        waiter = self._waiter
        assert waiter is not None
        while self._paused and not waiter.done():
            self._drain = self.loop.create_future()
            self._arm(self.timeout)
            await self._drain

    def _wake_drain(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _arm(self, seconds: float) -> None:
        """The connection must progress within ``seconds`` from now (and by the request's
        limit): one timer, moved lazily."""
        self._deadline = min(self.loop.time() + seconds, self._limit)
        timer = self._timer
        if timer is None or timer.when() > self._deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(self._deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._expire)
            return
        waiter.set_exception(TimeoutError())
        self._wake_drain()
        if self.transport is not None:
            self.closed = True
            self.transport.abort()

    def _parse(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            got = http1.parse_response(self._buf, self._eof, self.cap, head_only=self._head_only)
        except (ValueError, http1.TooLarge) as exc:
            waiter.set_exception(exc)
        else:
            if got is not None:
                del self._buf[: got[0]]
                waiter.set_result(got)
            elif self._eof:
                answered = b"\r\n\r\n" in self._buf
                message = "the server closed the connection in the middle of the answer" if self._buf else "the server closed the connection"
                waiter.set_exception(Lost(message, answered=answered, cause=self._lost))
        if waiter.done():
            self._wake_drain()
