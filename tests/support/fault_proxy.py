"""A fault-injecting loopback HTTP proxy to put in front of an emulator (tests only).

The proxy forwards every request to ``upstream`` and returns its answer, except for requests
matching an armed :class:`Rule` (method and a regular expression on the path), whose answer
is replaced by one of :data:`FAULTS`:

* ``html``: a 200 HTML page; ``text``: a 200 ``text/plain`` body that is not JSON;
* ``empty``: a 200 with an empty body; ``truncated``: the real body cut in half (with a
  matching ``Content-Length``, so it is a complete but unparsable answer);
* ``null``, ``list``, ``string``: JSON ``null``, ``[]``, ``"x"`` in place of the object;
* ``missing``: the real object with its keys removed (``{}``);
* ``nulls``: the real object with every value ``null``;
* ``huge_total``: the real object with ``totalCount`` set to 10**12;
* ``bad_items``: every list in the real object replaced by ``[null, 1, "x"]``;
* ``drop``: the request *is* forwarded (its effect happens upstream), then the connection is
  closed without an answer: the lost answer of item 5.

``hits`` counts the answers each rule replaced, so a test can prove the fault was reached;
``seen`` lists every ``(method, path)`` forwarded (to find which routes a command uses).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from labelsync.emulator.runtime import EmbeddedServer
from tests.support.forward import forward, read_request

FAULTS = ("html", "text", "empty", "truncated", "null", "list", "string", "missing", "nulls", "huge_total", "bad_items", "drop")


@dataclass
class Rule:
    method: str
    path: str
    fault: str
    times: int = -1
    """How many answers to replace (-1: every one)."""
    hits: int = 0
    query: str | None = None
    """A regular expression the query string must match too (None: any query)."""

    def matches(self, method: str, path: str, query: str = "") -> bool:
        if self.times == 0 or method != self.method or re.search(self.path, path) is None:
            return False
        return self.query is None or re.search(self.query, query) is not None


def _reshape(fault: str, body: bytes) -> tuple[int, str, bytes]:
    """The faulted ``(status, content type, body)`` for a real answer ``body``."""
    if fault == "html":
        return 200, "text/html", b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"
    if fault == "text":
        return 200, "text/plain", b"OK not json"
    if fault == "empty":
        return 200, "application/json", b""
    if fault == "truncated":
        return 200, "application/json", body[: max(1, len(body) // 2)]
    if fault in ("null", "list", "string"):
        return 200, "application/json", {"null": b"null", "list": b"[]", "string": b'"x"'}[fault]
    try:
        obj: Any = json.loads(body)
    except ValueError:
        obj = {}
    if not isinstance(obj, dict):
        obj = {}
    if fault == "missing":
        obj = {}
    elif fault == "nulls":
        obj = dict.fromkeys(obj)
    elif fault == "huge_total":
        obj = {**obj, "totalCount": 10**12}
    elif fault == "bad_items":
        obj = {k: ([None, 1, "x"] if isinstance(v, list | dict) else v) for k, v in obj.items()}
    return 200, "application/json", json.dumps(obj).encode()


class FaultProxy:
    """The proxy app; :meth:`serve` runs it on loopback (``url`` then set)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        self.server: EmbeddedServer | None = None
        self.url = ""
        self.seen: list[tuple[str, str]] = []
        self._client: httpx.AsyncClient | None = None
        """One upstream client for every request (built on the server's loop): a client per
        request costs an SSL context and a connection each, most of a case's time."""

    def arm(self, method: str, path: str, fault: str, *, times: int = -1, query: str | None = None) -> Rule:
        assert fault in FAULTS, fault
        rule = Rule(method, path, fault, times, query=query)
        with self._lock:
            self.rules.append(rule)
        return rule

    def disarm(self) -> None:
        with self._lock:
            self.rules.clear()

    def _rule_for(self, method: str, path: str, query: str = "") -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, query):
                    rule.hits += 1
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        method, path, query = request.method, request.path, request.query
        self.seen.append((method, path))
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60, verify=False)
        upstream = await forward(self._client, self.upstream, request)
        rule = self._rule_for(method, path, query)
        if rule is not None and rule.fault == "drop":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("fault proxy: answer dropped")
        if rule is None or upstream.status_code >= 300:
            status, ctype, body = upstream.status_code, upstream.headers.get("content-type", ""), upstream.content
            extra = [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() in ("retry-after", "location")]
        else:
            status, ctype, body = _reshape(rule.fault, upstream.content)
            extra = []
        out = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    def serve(self) -> FaultProxy:
        self.server = EmbeddedServer(self).start()  # type: ignore[arg-type]
        self.url = self.server.url
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
