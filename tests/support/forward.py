"""What the loopback test proxies (fault_proxy, gate_proxy) share: read one ASGI request whole
and forward it upstream with httpx, hop-by-hop headers (Host, Content-Length) left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Incoming:
    """One request as the proxy received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


async def read_request(scope: dict[str, Any], receive: Any) -> Incoming:
    """The whole request of an ``http`` ``scope`` (its body read to the end)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")]
    return Incoming(scope["method"], scope["path"], scope.get("query_string", b"").decode(), headers, b"".join(chunks))


async def forward(client: httpx.AsyncClient, upstream: str, request: Incoming) -> httpx.Response:
    """``request`` sent to ``upstream`` (the same path and query), its answer read whole."""
    url = upstream + request.path + (f"?{request.query}" if request.query else "")
    return await client.request(request.method, url, headers=request.headers, content=request.body)
