"""A loopback HTTP proxy that holds chosen requests at a gate, to order races (tests only).

It forwards every request to ``upstream`` and returns the answer unchanged. A :class:`Gate`
(method, a regular expression on the path, ``stage``) holds the first ``times`` matching
requests until the test opens it: with ``stage="request"`` before the request is forwarded
(nothing happened upstream yet), with ``stage="answer"`` after upstream answered (the effect
happened, the client does not know yet). ``log`` lists every answered ``(method, path,
status)`` in order; :meth:`GateProxy.wait_for` blocks until a predicate on it holds, so a test
can open a gate exactly when another client reached a given point (e.g. its create got 409).
A gate never held longer than ``timeout`` seconds: a test that forgets to open it fails slowly
instead of hanging.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from labelsync.emulator.runtime import EmbeddedServer
from tests.support.forward import forward, read_request

Entry = tuple[str, str, int]


@dataclass
class Gate:
    method: str
    path: str
    stage: str = "request"
    times: int = 1
    timeout: float = 60.0
    opened: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    """How many requests reached the gate (a test checks the race was really staged)."""

    def open(self) -> None:
        self.opened.set()

    def takes(self, method: str, path: str) -> bool:
        if self.held >= self.times or method != self.method or re.search(self.path, path) is None:
            return False
        self.held += 1
        return True


class GateProxy:
    """The proxy app; :meth:`serve` runs it on loopback (``url`` then set)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.gates: list[Gate] = []
        self.log: list[Entry] = []
        self._changed = threading.Condition()
        self.server: EmbeddedServer | None = None
        self.url = ""
        self._client: httpx.AsyncClient | None = None

    def gate(self, method: str, path: str, *, stage: str = "request", times: int = 1) -> Gate:
        assert stage in ("request", "answer"), stage
        gate = Gate(method, path, stage, times)
        with self._changed:
            self.gates.append(gate)
        return gate

    def wait_for(self, predicate: Callable[[list[Entry]], bool], timeout: float = 60.0) -> bool:
        """Block until ``predicate(log)`` holds (True) or ``timeout`` passes (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.log), timeout)

    def _gate_for(self, method: str, path: str, stage: str) -> Gate | None:
        with self._changed:
            return next((g for g in self.gates if g.stage == stage and g.takes(method, path)), None)

    @staticmethod
    async def _hold(gate: Gate | None) -> None:
        if gate is not None:
            await asyncio.to_thread(gate.opened.wait, gate.timeout)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        method, path = request.method, request.path
        await self._hold(self._gate_for(method, path, "request"))
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=120, verify=False)
        upstream = await forward(self._client, self.upstream, request)
        await self._hold(self._gate_for(method, path, "answer"))
        keep = [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() in ("content-type", "retry-after", "location")]
        out = [*keep, (b"content-length", str(len(upstream.content)).encode())]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out})
        await send({"type": "http.response.body", "body": upstream.content})
        with self._changed:
            self.log.append((method, path, upstream.status_code))
            self._changed.notify_all()

    def serve(self) -> GateProxy:
        self.server = EmbeddedServer(self).start()  # type: ignore[arg-type]
        self.url = self.server.url
        return self

    def stop(self) -> None:
        for gate in self.gates:
            gate.open()
        if self.server is not None:
            self.server.stop()
