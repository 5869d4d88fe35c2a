"""The upload connection's one timer per connection, and the deadlines, over real loopback sockets.

Each server here reads a request, then does what its ``behave(n, conn)`` says (``n`` counts
requests from 0 over all connections): answer, stay silent, or drip bytes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pytest

from labelsync import errors
from labelsync.providers import limits, post_pool
from labelsync.providers.post_pool import PostPool
from labelsync.providers.retry import RetryPolicy
from tests.providers.test_post_pool import posts_to, run_all
from tests.support.loopback_http import LoopbackServer

OK = b"HTTP/1.1 204 No Content\r\n\r\n"
NO_RETRIES = RetryPolicy(max_retries=0)


class Behaving(LoopbackServer):
    """A loopback HTTP/1.1 server calling ``behave(n, conn)`` after each request it reads."""

    def __init__(self, behave: Callable[[int, socket.socket], None]) -> None:
        self.behave = behave
        super().__init__()

    def answer(self, conn: socket.socket, reader: BinaryIO, length: int) -> bool:
        reader.read(length)
        try:
            self.behave(self.next_request(), conn)
        except OSError:
            return False
        return True


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int, socket.socket], None]], Behaving]]:
    servers: list[Behaving] = []

    def make(behave: Callable[[int, socket.socket], None]) -> Behaving:
        servers.append(Behaving(behave))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def drip(conn: socket.socket, data: bytes, interval: float) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(interval)


def endless_head(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 204 No Content\r\n")
    drip(conn, b"X-Drip: " + b"y" * 400, 0.1)


def test_a_timed_out_reused_connection_is_not_resent_as_stale(serve: Callable[..., Behaving]) -> None:
    def behave(n: int, conn: socket.socket) -> None:
        if n == 0:
            conn.sendall(OK)  # keep-alive: the next request comes on this connection
        else:
            time.sleep(3)  # silent: the client's timer must cut it

    server = serve(behave)
    pool = PostPool(connections=1, timeout=0.5, policy=NO_RETRIES)
    try:
        start = time.monotonic()
        outcome = run_all(pool, [0, 1], posts_to(server.url))
        took = time.monotonic() - start
    finally:
        pool.close()
    assert outcome[0] is None
    assert isinstance(outcome[1], errors.LabelsyncError) and "stopped responding" in str(outcome[1]), repr(outcome[1])
    assert server.requests == 2 and server.connections == 1  # a timeout is not a stale connection: not sent again
    assert 0.4 < took < 2.5, took


def test_the_timer_of_one_request_does_not_cut_the_next_nor_an_idle_connection(serve: Callable[..., Behaving]) -> None:
    def behave(n: int, conn: socket.socket) -> None:
        time.sleep(0.25)  # each answer takes most of the timeout: a timer left from the last one must move on
        conn.sendall(OK)

    server = serve(behave)
    pool = PostPool(connections=1, timeout=0.4, policy=NO_RETRIES)
    try:
        assert run_all(pool, [0, 1, 2], posts_to(server.url)) == {0: None, 1: None, 2: None}
        time.sleep(0.6)  # idle past the timeout: the pending timer finds nothing to cut
        assert run_all(pool, [3, 4], posts_to(server.url)) == {3: None, 4: None}
    finally:
        pool.close()
    assert server.requests == 5 and server.connections == 1


def test_a_dripping_answer_is_cut_at_the_timeout(serve: Callable[..., Behaving]) -> None:
    server = serve(lambda n, conn: endless_head(conn))
    pool = PostPool(connections=1, timeout=0.6, policy=NO_RETRIES)
    try:
        start = time.monotonic()
        outcome = run_all(pool, [0], posts_to(server.url))
        took = time.monotonic() - start
    finally:
        pool.close()
    assert isinstance(outcome[0], errors.LabelsyncError) and "stopped responding" in str(outcome[0]), repr(outcome[0])
    assert 0.5 < took < 2.0, took  # bytes keep coming, but the whole answer must come within the timeout


def test_the_command_deadline_cuts_a_dripping_upload(serve: Callable[..., Behaving]) -> None:
    server = serve(lambda n, conn: endless_head(conn))
    pool = PostPool(connections=1, timeout=30, policy=RetryPolicy(backoff_base=0.01, backoff_cap=0.05))
    limits.set_command_deadline(0.6)
    try:
        start = time.monotonic()
        outcome = run_all(pool, [0], posts_to(server.url))
        took = time.monotonic() - start
    finally:
        limits.set_command_deadline(None)
        pool.close()
    assert isinstance(outcome[0], errors.DeadlineError), repr(outcome[0])
    assert str(outcome[0]) == "POST /upload: the command's deadline passed"
    assert took < 2.0, took
    assert server.requests == 1


def test_the_request_timeout_is_read_once_per_run(serve: Callable[..., Behaving], monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = limits.request_timeout

    def counted() -> float:
        reads.append(1)
        return real()

    monkeypatch.setattr(limits, "request_timeout", counted)
    monkeypatch.setattr(post_pool.limits, "request_timeout", counted)
    server = serve(lambda n, conn: conn.sendall(OK))
    pool = PostPool(connections=2)
    try:
        assert run_all(pool, list(range(20)), posts_to(server.url)) == {i: None for i in range(20)}
    finally:
        pool.close()
    assert server.requests == 20 and len(reads) == 1
