"""How one upload POST reaches its host, once: the network half of the upload path.

A transport sends one :class:`Post` and returns its :class:`Answer`, or raises an
``httpx.TransportError`` (connect failure, timeout, dropped connection, proxy refusal), or
:class:`~labelsync.providers.http1.TooLarge` for an answer body past
:data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES` (storage hosts answer a few
hundred bytes; refused by its ``Content-Length`` before it is read, or as soon as the bytes
read pass the cap, however it is framed). It never retries: :class:`~labelsync.providers.post_pool.PostPool` does, by
:class:`~labelsync.providers.retry.RetryPolicy`. Two transports exist:

* :class:`Connections`, what every real upload uses: keep-alive HTTP/1.1 connections per
  origin on the caller's event loop, ``http`` or ``https`` (httpx's default TLS context:
  certifi, or ``SSL_CERT_FILE``), directly or through the proxy the environment names
  (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``, lower-case first, ``NO_PROXY`` honoured):
  an ``http://`` URL is sent to the proxy in absolute form, an ``https://`` one through a
  ``CONNECT`` tunnel with TLS to the storage host inside it. The proxy itself is reached
  over plain ``http://`` (user info becomes ``Proxy-Authorization: Basic``).
* :class:`InjectedTransport`, for tests: any ``httpx.BaseTransport`` (a mock, a fault
  injector) called on worker threads, under the same pool and retry loop.

:class:`Connections` details: each connection is a
:class:`~labelsync.providers.http1conn.Connection` (an ``asyncio.Protocol``: no stream objects
or ``asyncio.timeout`` per request). A request that fails on a *reused* connection before any
answer (the server closed it while idle) is sent again at once on a fresh one; a request that
timed out is not. Each wait for the socket to take more of the request must end within
``timeout``, and the whole answer must come within ``timeout`` of the request being written
(a big body may take longer in all); the command's deadline (``end``) cuts any wait. An answer
that comes before the body is all sent (a 413 from a server that stops reading) is returned.
Connections bind :func:`~labelsync.providers.source_address.source_address` when it is set.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

import httpx

from labelsync.errors import UsageError
from labelsync.providers import http1, limits
from labelsync.providers.http1conn import SMALL_WRITE, WRITE_CHUNK, Connection, Lost
from labelsync.providers.source_address import source_address
from labelsync.redact import redact_url, register_secret

__all__ = ["SMALL_WRITE", "WRITE_CHUNK", "Answer", "Connections", "InjectedTransport", "Post", "Transport", "proxy_for"]

ROUTES = 64
"""URLs whose parsed route a :class:`Connections` remembers."""
_Origin = tuple[str, str, int]
_Route = tuple[_Origin, str, str, dict[str, str]]


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
    headers: list[tuple[str, str]] = field(default_factory=list)
    content: bytes = b""

    def header(self, name: str) -> str | None:
        return http1.header(self.headers, name) or None

    def response(self) -> httpx.Response:
        """The answer as an ``httpx.Response`` (for :func:`~labelsync.providers.http.raise_for_api`)."""
        return httpx.Response(self.status, headers=self.headers, content=self.content, request=_request(self.url))


class Transport(Protocol):
    """Sends one POST, once (see the module docstring)."""

    async def send(self, post: Post, user_agent: str, sent: Callable[[], None] | None = None, end: float | None = None) -> Answer:
        """``post`` once; ``sent()`` (when given, quick, never raising) is called after the
        request is written, before its answer is awaited (possibly more than once). ``end``
        (a ``time.monotonic()`` value: the command's deadline) cuts every wait of the request
        there, as a timeout (``httpx.TimeoutException``)."""
        ...

    async def aclose(self) -> None: ...


def proxy_for(url: str) -> SplitResult | None:
    """The proxy the environment names for ``url`` (parsed), or None to go direct.

    Raises UsageError for a proxy that is not ``http://`` (the uploads cannot use it).
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if proxy_parts.scheme.lower() != "http" or not proxy_parts.hostname:
        raise UsageError(
            f"the proxy {redact_url(proxy)} for {parts.scheme} uploads is not an http:// proxy",
            hint="set HTTPS_PROXY/HTTP_PROXY to http://HOST:PORT (or add the storage host to NO_PROXY)",
        )
    if proxy_parts.password:
        register_secret(proxy_parts.password)
    return proxy_parts


class _Stale(Exception):
    """A reused connection was closed under the request before any answer."""


class Connections:
    """Keep-alive HTTP/1.1 connections on the running event loop (direct, TLS, proxied)."""

    def __init__(self, *, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._idle: dict[_Origin, list[Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._proxies: dict[_Origin, SplitResult | None] = {}
        self._routes: dict[str, _Route] = {}
        bind = source_address()
        self._local = (bind, 0) if bind else None

    async def send(self, post: Post, user_agent: str, sent: Callable[[], None] | None = None, end: float | None = None) -> Answer:
        route = self._routes.get(post.url)
        if route is None:
            route = self._route(post.url)
        origin, target, host, proxy_auth = route
        headers = {**post.headers, **proxy_auth} if proxy_auth else post.headers
        head = http1.request_head(target, host, headers, len(post.body), user_agent)
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.idle_usable():
                conn.close()
                continue
            try:
                return await self._exchange(conn, origin, post.url, head, post.body, sent, end)
            except _Stale:
                break  # the server closed it while idle: once more on a fresh connection
        conn = await self._open(origin, post.url)
        try:
            return await self._exchange(conn, origin, post.url, head, post.body, sent, end)
        except _Stale as exc:
            raise httpx.RemoteProtocolError("the server closed the connection without answering", request=_request(post.url)) from exc.__cause__

    def _route(self, url: str) -> _Route:
        """``(origin, request target, Host, proxy headers)`` of ``url`` (remembered: every
        upload of a run goes to one storage URL)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=_request(url))
        origin = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        if origin not in self._proxies:
            self._proxies[origin] = proxy_for(url)
        forward = self._proxies[origin] is not None and scheme == "http"
        target = _without_userinfo(parts) if forward else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        route = (origin, target, parts.netloc.rsplit("@", 1)[-1], self._proxy_auth(origin) if forward else {})
        if len(self._routes) >= ROUTES:
            self._routes.clear()
        self._routes[url] = route
        return route

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def _proxy_auth(self, origin: _Origin) -> dict[str, str]:
        proxy = self._proxies.get(origin)
        return http1.proxy_authorization(proxy.username, proxy.password) if proxy else {}

    async def _open(self, origin: _Origin, url: str) -> Connection:
        scheme, host, port = origin
        proxy = self._proxies.get(origin)
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            tls = self._tls
        loop = asyncio.get_running_loop()
        conn = Connection(loop, self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                if proxy is None:
                    await loop.create_connection(lambda: conn, host, port, ssl=tls, local_addr=self._local)
                else:
                    await loop.create_connection(lambda: conn, proxy.hostname or "", proxy.port or 80, local_addr=self._local)
                    if tls is not None:
                        await self._tunnel(conn, origin, url)
                        assert conn.transport is not None
                        conn.transport = await loop.start_tls(conn.transport, conn, tls, server_hostname=host)
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout("timed out connecting to the storage host", request=_request(url)) from exc
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            where = "through the proxy " if proxy is not None else ""
            raise httpx.ConnectError(f"{where}{exc}" if str(exc) else f"{where}{type(exc).__name__}", request=_request(url)) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def _tunnel(self, conn: Connection, origin: _Origin, url: str) -> None:
        """``CONNECT host:port`` through the proxy; raises ProxyError unless it answers 2xx."""
        _, host, port = origin
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            _, _, status, _, _, _ = await conn.connect(http1.connect_head(authority, self._proxy_auth(origin)))
        except ValueError as exc:
            raise httpx.ProxyError(f"the proxy gave a malformed answer to CONNECT: {exc}", request=_request(url)) from exc
        except Lost as exc:
            raise httpx.ProxyError(f"the proxy closed the connection during CONNECT {authority}", request=_request(url)) from exc
        if not 200 <= status < 300:
            conn.close()
            raise httpx.ProxyError(f"the proxy answered HTTP {status} to CONNECT {authority}", request=_request(url))

    async def _exchange(
        self, conn: Connection, origin: _Origin, url: str, head: bytes, body: bytes, sent: Callable[[], None] | None, end: float | None
    ) -> Answer:
        """One request on ``conn`` (see the module docstring)."""
        reused = conn.used
        within = math.inf if end is None else end - time.monotonic()
        try:
            (_, version, status, headers, content, reusable), early = await conn.exchange(head, body, sent, within)
        except Lost as exc:
            if reused and not exc.answered:
                raise _Stale from exc.__cause__
            cause = exc.__cause__
            raise _as_httpx(cause if isinstance(cause, OSError) else exc, url, "the answer") from exc
        except TimeoutError as exc:  # never stale: a timed-out request is not resent at once
            raise httpx.ReadTimeout("the storage host stopped responding", request=_request(url)) from exc
        except (OSError, ValueError) as exc:
            raise _as_httpx(exc, url, "the answer") from exc
        if reusable and not early and version == "HTTP/1.1" and http1.header(headers, "connection").lower() != "close":
            self._idle.setdefault(origin, []).append(conn)
        else:
            conn.close()
        return Answer(url, status, headers, content)


class InjectedTransport:
    """An ``httpx.BaseTransport`` (tests: mocks, fault injectors) as an upload transport.

    Each POST runs ``transport.handle_request`` on one of ``threads`` worker threads with
    ``timeout`` for each phase (``end`` is not enforced inside a call: the retry loop checks
    the command's deadline before each attempt); its body is read there, at most ``cap`` bytes of it
    (:class:`~labelsync.providers.http1.TooLarge` past them). No retries of its own.
    """

    def __init__(
        self, transport: httpx.BaseTransport, *, threads: int, timeout: float = 120.0, cap: int = limits.MAX_UPLOAD_ANSWER_BYTES
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.cap = cap
        self._threads = ThreadPoolExecutor(max(1, threads), thread_name_prefix="labelsync-post")

    async def send(self, post: Post, user_agent: str, sent: Callable[[], None] | None = None, end: float | None = None) -> Answer:
        answer = asyncio.get_running_loop().run_in_executor(self._threads, self._send, post, user_agent)
        if sent is not None:
            sent()  # the request is on its way on a worker thread
        return await answer

    def _send(self, post: Post, user_agent: str) -> Answer:
        request = httpx.Request("POST", post.url, headers={**post.headers, "User-Agent": user_agent}, content=post.body)
        request.extensions["timeout"] = httpx.Timeout(self.timeout).as_dict()
        response = self.transport.handle_request(request)
        chunks: list[bytes] = []
        size = 0
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.cap:
                raise http1.TooLarge
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.cap:
                    raise http1.TooLarge
                chunks.append(chunk)
        finally:
            response.close()
        content = b"".join(chunks)
        return Answer(post.url, response.status_code, [(k.lower(), v) for k, v in response.headers.items()], content)

    async def aclose(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


def _without_userinfo(parts: SplitResult) -> str:
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1], fragment="").geturl()


def _request(url: str) -> httpx.Request:
    return httpx.Request("POST", url)


def _as_httpx(exc: BaseException, url: str, during: str) -> httpx.TransportError:
    """A transport failure as the httpx error the rest of labelsync maps and retries."""
    if isinstance(exc, httpx.TransportError):
        return exc
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout("timed out waiting for the storage host", request=_request(url))
    if isinstance(exc, (asyncio.IncompleteReadError, Lost)):
        return httpx.RemoteProtocolError(f"the server closed the connection in the middle of {during}", request=_request(url))
    if isinstance(exc, (asyncio.LimitOverrunError, ValueError)):
        return httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}", request=_request(url))
    return httpx.ReadError(str(exc) or type(exc).__name__, request=_request(url))
