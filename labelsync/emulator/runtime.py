"""Running an emulator app: in-process on an ephemeral loopback port, or in the foreground.

Shared by both emulators (they share no other code with the client side). The
:class:`Knobs` middleware adds latency and injects faults for tests and benchmarks; both are
off by default.

* ``latency_ms``: sleep that long before every request (API and storage alike).
* ``fail_rate`` with ``seed``: answer that share of requests with, in turn chosen at
  random, a 500, a 503, a 429 with ``Retry-After: 1``, or a dropped connection (the
  response starts with a Content-Length and is cut off, so the client sees the peer close
  mid-response). Faults are decided *before* the request reaches the app, so a faulted
  request never changes state. Paths under ``/_admin`` are never faulted.
* ``client_bandwidth``: bytes/s each source address may send in request bodies, shared by
  its connections (:class:`~labelsync.emulator.bandwidth.ClientBandwidth`; 0: no cap).
* :meth:`Knobs.hold` (set while running): after ``after`` requests with that method and a
  path matching that regular expression, the next ones wait *before* reaching the app until
  :meth:`Knobs.release`; ``Knobs.holding`` counts the requests waiting. A test uses it to
  stop a client at a known point (e.g. mid-upload) instead of racing it with timing.
"""

from __future__ import annotations

import asyncio
import errno
import json
import random
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from labelsync.emulator.bandwidth import ClientBandwidth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class FaultConfig:
    """Latency and fault injection settings (all off by default)."""

    latency_ms: float = 0.0
    fail_rate: float = 0.0
    seed: int | None = None
    error_body: Callable[[int], dict[str, Any]] | None = None
    """Builds the JSON body of an injected error from its status (each emulator's format)."""
    client_bandwidth: float = 0.0
    """Request-body bytes per second per source address (0: unlimited)."""


class Knobs:
    """ASGI middleware applying a :class:`FaultConfig` to every HTTP request."""

    def __init__(self, app: ASGIApp, config: FaultConfig) -> None:
        self.bandwidth: ClientBandwidth | None = None
        if config.client_bandwidth > 0:
            from labelsync.emulator.bandwidth import ClientBandwidth

            app = self.bandwidth = ClientBandwidth(app, config.client_bandwidth)
        self.app = app
        self.config = config
        self._random = random.Random(config.seed)
        self._lock = threading.Lock()
        self.injected = 0
        self._hold: tuple[str, re.Pattern[str], int] | None = None
        self._released = threading.Event()
        self.holding = 0
        """Requests waiting at the :meth:`hold` now."""

    def hold(self, method: str, path: str, *, after: int = 0) -> None:
        """Let ``after`` more ``method`` requests whose path matches ``path`` through, then
        hold the following ones until :meth:`release`."""
        with self._lock:
            self._released.clear()
            self._hold = (method, re.compile(path), after)

    def release(self) -> None:
        """End the hold: the waiting requests go on to the app, later ones are not held."""
        with self._lock:
            self._hold = None
            self._released.set()

    def _held(self, scope: Scope) -> bool:
        with self._lock:
            if self._hold is None:
                return False
            method, path, after = self._hold
            if scope["method"] != method or path.search(scope["path"]) is None:
                return False
            if after > 0:
                self._hold = (method, path, after - 1)
                return False
            self.holding += 1
            return True

    async def _wait_release(self) -> None:
        try:
            while not self._released.is_set():
                await asyncio.sleep(0.01)
        finally:
            with self._lock:
                self.holding -= 1

    def _draw(self) -> str | None:
        with self._lock:
            if self.config.fail_rate <= 0 or self._random.random() >= self.config.fail_rate:
                return None
            self.injected += 1
            return self._random.choice(["500", "503", "429", "drop"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        if self._held(scope):
            await self._wait_release()
        fault = None if scope["path"].startswith("/_admin") else self._draw()
        if fault is None:
            await self.app(scope, receive, send)
            return
        # Drain the request body so the client is not blocked writing it.
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if fault == "drop":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("emulator fault injection: dropped connection")
        status = int(fault)
        body_obj = (
            self.config.error_body(status) if self.config.error_body else {"error": f"injected {status}"}
        )
        body = json.dumps(body_obj).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


STORAGE_FAILED = 507
"""The status both emulators answer when their own state cannot be read or written (a full
disk, a corrupt or vanished database): ``507 Insufficient Storage``, a server error that is
not worth retrying."""


def storage_failure(exc: BaseException) -> str | None:
    """A one-line description when ``exc`` is the emulator's storage failing (SQLite errors,
    a full disk), else None (a bug). Answered with :data:`STORAGE_FAILED`, no traceback."""
    if isinstance(exc, sqlite3.Error):
        return f"the emulator's database failed: {exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return f"the emulator's storage failed: {exc.strerror or exc}"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port on ``host`` (for tests that need to know the port up front)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedServer:
    """An ASGI app served by uvicorn on a background thread, on loopback.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. ``url`` is
    ``http(s)://127.0.0.1:<port>`` (no trailing slash) once started. ``port=0`` picks an
    ephemeral port.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self.app = app
        self.host = host
        # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on
        # sockets whose proto says TCP, and with Nagle on every answer written in two parts
        # (head, body) waits ~40 ms for the client's delayed ACK.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = int(self._sock.getsockname()[1])
        scheme = "https" if ssl_certfile else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        self._config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            timeout_keep_alive=30,
            limit_concurrency=None,
            timeout_graceful_shutdown=2,  # a client holding a connection open must not delay stop()
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None

    def start(self) -> EmbeddedServer:
        """Start serving; returns once the server accepts connections."""
        # uvicorn installs signal handlers only on the main thread, so none are installed here.
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="labelsync-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("emulator failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Serve ``app`` in the foreground until interrupted (``labelsync emulator ...``)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
