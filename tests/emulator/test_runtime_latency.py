"""The embedded server answers at loopback speed: Nagle is off on its connections.

With Nagle on, an answer written in two parts (head, then body) waits for the client's
delayed ACK, about 40 ms on Linux, on every request: a plan against the local remote, and the
whole test suite, ran 40 ms per request slower.
"""

from __future__ import annotations

import socket
import statistics
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from labelsync.emulator.runtime import EmbeddedServer


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


def test_embedded_server_answers_without_the_delayed_ack_wait() -> None:
    app = Starlette(routes=[Route("/x", _hello)])
    with EmbeddedServer(app) as server, httpx.Client(base_url=server.url) as client:
        assert server._sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only then
        client.get("/x")
        times = []
        for _ in range(15):
            start = time.perf_counter()
            assert client.get("/x").status_code == 200
            times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.025, times
