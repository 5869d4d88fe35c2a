"""A loopback HTTP proxy that forwards to a server and lets a test rewrite JSON answers.

For answers no faithful emulator gives (a hostile or broken server): the test's
``rewrite(path, query, body)`` returns the JSON to send instead (or ``body`` unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from labelsync.emulator.runtime import EmbeddedServer

Rewrite = Callable[[str, dict[str, str], Any], Any]
HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@contextmanager
def rewriting_proxy(upstream: str, rewrite: Rewrite) -> Iterator[str]:
    """Serve the proxy on loopback; yields its base url (the same paths as ``upstream``)."""
    client = httpx.Client(base_url=upstream, timeout=60)

    def forward(request: Request, body: bytes) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        answer = client.request(request.method, request.url.path, params=list(request.query_params.multi_items()), content=body, headers=headers)
        content = answer.content
        if answer.headers.get("content-type", "").startswith("application/json") and content:
            content = json.dumps(rewrite(request.url.path, dict(request.query_params), answer.json())).encode()
        out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
        return Response(content, status_code=answer.status_code, headers=out)

    async def handle(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        return await run_in_threadpool(forward, request, body)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    app = Starlette(routes=[Route("/{path:path}", handle, methods=methods)])
    try:
        with EmbeddedServer(app) as server:
            yield server.url
    finally:
        client.close()
