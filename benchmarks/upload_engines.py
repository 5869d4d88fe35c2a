"""Candidate upload engines for ``apply_tensorbay.py --engines`` (benchmark only).

Each candidate keeps labelsync's orchestration (:class:`~labelsync.providers.post_pool.PostPool`:
one event loop thread, ``connections`` workers, prepare-when-free, the same ``done``
reporting) and replaces only how one POST is sent and retried:

* ``pool``: labelsync's own HTTP/1.1 connections (what ships);
* ``httpx``: one ``httpx.AsyncClient`` whose transport is an async retry transport driven
  by the same :class:`~labelsync.providers.http.RetryPolicy`;
* ``aiohttp``: one ``aiohttp.ClientSession`` (``pip install aiohttp``), the same policy in
  a loop around ``session.post``.

``python benchmarks/upload_engines.py ENGINE ARGS...`` runs ``labelsync ARGS...`` with
ENGINE in place of the shipped one.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import httpx

from labelsync.providers.http import RetryPolicy, Stats, log_retry, raise_for_api, translate_transport_errors
from labelsync.providers.post_pool import Post, PostPool


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Retries another async transport by :class:`RetryPolicy` (Retry-After, full jitter)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy, stats: Stats) -> None:
        self.inner, self.policy, self.stats = inner, policy, stats

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            self.stats._sent()
            try:
                response = await self.inner.handle_async_request(request)
                await response.aread()
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self.stats._failed()
                delay = self.policy.after_error(attempt)
                if delay is None:
                    raise
                reason = type(exc).__name__
            else:
                self.stats._answered(response.status_code)
                delay = self.policy.after_status(attempt, response.status_code, response.headers.get("retry-after"))
                if delay is None:
                    return response
                await response.aclose()
                reason = f"HTTP {response.status_code}"
            attempt += 1
            self.stats._retried()
            log_retry(attempt, self.policy.max_retries, request.method, request.url, reason, delay)
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        await self.inner.aclose()


class HttpxPool(PostPool):
    """PostPool's orchestration, each POST through ``httpx.AsyncClient``."""

    _async: httpx.AsyncClient | None = None

    async def _post(self, post: Post, sent: Callable[[], None] | None = None) -> Any:  # sent: not pipelined here
        if self._async is None:
            inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=self.connections, max_keepalive_connections=self.connections))
            self._async = httpx.AsyncClient(transport=AsyncRetryTransport(inner, self.policy, self.stats), timeout=self.timeout)
        with translate_transport_errors(post.what):
            response = await self._async.post(post.url, content=post.body, headers={**post.headers, "User-Agent": self.user_agent})
        raise_for_api(response, what=post.what)
        return None

    async def _shutdown(self) -> None:
        await super()._shutdown()
        if self._async is not None:
            await self._async.aclose()


class AiohttpPool(PostPool):
    """PostPool's orchestration, each POST through ``aiohttp.ClientSession``."""

    _session: Any = None

    async def _post(self, post: Post, sent: Callable[[], None] | None = None) -> Any:  # sent: not pipelined here
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections), timeout=aiohttp.ClientTimeout(sock_read=self.timeout)
            )
        attempt = 0
        headers = {**post.headers, "User-Agent": self.user_agent}
        while True:
            self.stats._sent()
            try:
                async with self._session.post(post.url, data=post.body, headers=headers) as response:
                    content = await response.read()
                    status, answer_headers = response.status, list(response.headers.items())
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.stats._failed()
                delay = self.policy.after_error(attempt)
                if delay is None:
                    with translate_transport_errors(post.what):
                        raise httpx.ConnectError(str(exc), request=httpx.Request("POST", post.url)) from exc
                reason = type(exc).__name__
            else:
                self.stats._answered(status)
                delay = self.policy.after_status(attempt, status, dict(answer_headers).get("Retry-After"))
                if delay is None:
                    raise_for_api(httpx.Response(status, headers=answer_headers, content=content, request=httpx.Request("POST", post.url)), what=post.what)
                    return None
                reason = f"HTTP {status}"
            attempt += 1
            self.stats._retried()
            log_retry(attempt, self.policy.max_retries, "POST", post.url, reason, delay or 0.0)
            await asyncio.sleep(delay or 0.0)

    async def _shutdown(self) -> None:
        await super()._shutdown()
        if self._session is not None:
            await self._session.close()


ENGINES: dict[str, type[PostPool]] = {"pool": PostPool, "httpx": HttpxPool, "aiohttp": AiohttpPool}


def main() -> None:
    engine = ENGINES[sys.argv[1]]
    from labelsync.providers.tensorbay import client

    client.PostPool = engine  # type: ignore[misc]
    from labelsync.cli import main as cli

    sys.argv = ["labelsync", *sys.argv[2:]]
    cli()


if __name__ == "__main__":
    main()
