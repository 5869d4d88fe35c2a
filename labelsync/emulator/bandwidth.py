"""A per-client bandwidth cap: one machine's uplink, simulated on loopback.

:class:`ClientBandwidth` is ASGI middleware that delivers each request's body to the app no
faster than ``rate`` bytes per second *per source address* (``scope["client"]`` host). All
connections from one address share one token bucket, so a client that opens more
connections does not get more bandwidth, while clients on different addresses (shards bound
to 127.0.0.2, 127.0.0.3, ...) each get their own ``rate``. It holds the body back by
delaying ``receive()``; the server then stops reading the socket and TCP flow control slows
the sender, as a real uplink would. Bodies of every request count (uploads are nearly all
of the bytes); responses are not capped. A bucket holds at most :data:`BURST_SECONDS` of
``rate`` (a short burst after idling), and starts full.

It also counts, per address, the requests and request-body bytes it saw
(:attr:`ClientBandwidth.requests`, :attr:`ClientBandwidth.received`), so tests can check
which address a client connected from.

:func:`parse_rate` reads ``10MB/s``-style values (the ``--client-bandwidth`` option).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from collections.abc import Callable

from labelsync.emulator.runtime import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BURST_SECONDS", "ClientBandwidth", "TokenBucket", "parse_rate"]

BURST_SECONDS = 0.05
"""The most a bucket can save up, in seconds of its rate."""

_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
}
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*(?:/\s*s)?\s*$", re.IGNORECASE)


def parse_rate(text: str) -> float:
    """Bytes per second from ``"10MB/s"``, ``"512KiB/s"``, ``"1.5 GB"`` or ``"250000"``.

    Decimal units (kB, MB, GB: powers of 1000) and binary ones (KiB, MiB, GiB); ``/s`` is
    optional. ValueError, naming the accepted forms, for anything else or a rate of 0.
    """
    match = _RATE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a bandwidth: write e.g. 10MB/s, 512KiB/s or 250000 (bytes/s)")
    return float(match.group(1)) * _UNITS[unit]


class TokenBucket:
    """Bytes per second with a burst of ``burst`` bytes; :meth:`delay` books bytes and says how
    long to wait before handing them on (0 when the bucket covers them)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        # When the bytes booked so far will have gone out; at most ``burst`` bytes' time in the
        # past (a full bucket), never further back however long the address was idle.
        self._free_at = self._clock() - burst / rate

    def delay(self, size: int) -> float:
        now = self._clock()
        self._free_at = max(self._free_at, now - self.burst / self.rate) + size / self.rate
        return max(0.0, self._free_at - now)


class ClientBandwidth:
    """ASGI middleware capping request bodies at ``rate`` bytes/s per source address (see the
    module docstring). Runs on the server's one event loop: the buckets need no lock."""

    def __init__(self, app: ASGIApp, rate: float) -> None:
        if not rate > 0:
            raise ValueError("the bandwidth cap must be positive")
        self.app = app
        self.rate = rate
        self._buckets: dict[str, TokenBucket] = {}
        self.requests: defaultdict[str, int] = defaultdict(int)
        self.received: defaultdict[str, int] = defaultdict(int)

    def bucket(self, address: str) -> TokenBucket:
        """The bucket shared by every connection from ``address``."""
        found = self._buckets.get(address)
        if found is None:
            found = self._buckets[address] = TokenBucket(self.rate, self.rate * BURST_SECONDS)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else ""
        self.requests[address] += 1
        bucket = self.bucket(address)

        async def capped() -> Message:
            message = await receive()
            size = len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if size:
                self.received[address] += size
                wait = bucket.delay(size)
                if wait > 0:
                    await asyncio.sleep(wait)
            return message

        await self.app(scope, capped, send)
