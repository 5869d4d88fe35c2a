"""The asyncio POST engine over real loopback sockets: the emulator, and a scripted HTTP server."""

from __future__ import annotations

import asyncio
import hashlib
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest

from labelsync import errors
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.providers.http import RetryPolicy
from labelsync.providers.http1conn import SMALL_WRITE, WRITE_CHUNK, Connection
from labelsync.providers.post_pool import AHEAD_BODY, Batch, Post, PostPool
from labelsync.providers.tensorbay.form import multipart_form
from tests.support.loopback_http import LoopbackServer
from tests.support.tls import self_signed

TOKEN = "Accesskey-" + "7" * 32
FAST = RetryPolicy(backoff_base=0.01, backoff_cap=0.05)


def run_all(pool: PostPool, items: list[int], prepare: Callable[[int], Post]) -> dict[int, BaseException | None]:
    """Run a batch to the end; the outcome of every item."""
    results: queue.SimpleQueue[tuple[int, BaseException | None]] = queue.SimpleQueue()
    pool.run(items, prepare, lambda item, error: results.put((item, error))).wait(timeout=60)
    out: dict[int, BaseException | None] = {}
    while not results.empty():
        item, error = results.get()
        out[item] = error
    return out


# ---------------------------------------------------------------------- against the emulator


def upload_policy(url: str) -> dict:
    api = httpx.Client(base_url=f"{url}{API_PREFIX}/", headers={"X-Token": TOKEN}, timeout=30, verify=False)
    dataset = api.post("datasets", json={"name": "pp", "type": 0}).json()["id"]
    draft = api.post(f"datasets/{dataset}/drafts", json={"branchName": "main", "title": "t"}).json()["draftNumber"]
    api.post(f"datasets/{dataset}/segments", json={"name": "s", "draftNumber": draft})
    return api.get(f"datasets/{dataset}/policies", params={"expired": 240, "segmentName": "s", "draftNumber": draft}).json()


def form_posts(policy: dict, count: int) -> tuple[list[bytes], Callable[[int], Post]]:
    fields = {k: str(v) for k, v in policy["result"].items() if v is not None and k != "multipleUploadLimit"}
    blobs = [f"blob {i} ".encode() * (50 + i) for i in range(count)]

    def prepare(i: int) -> Post:
        key = policy["extra"]["objectPrefix"] + hashlib.sha1(blobs[i]).hexdigest()
        content_type, body = multipart_form({**fields, "key": key, "Content-Type": ""}, blobs[i])
        return Post(policy["extra"]["host"], {"Content-Type": content_type}, body)

    return blobs, prepare


def test_every_upload_lands_through_injected_faults(tmp_path: Path) -> None:
    app = create_app(tmp_path / "tb", tokens=[TOKEN], faults=FaultConfig(fail_rate=0.15, seed=3))
    with EmbeddedServer(app) as server:
        app.config.fail_rate = 0.0  # type: ignore[attr-defined]
        policy = upload_policy(server.url)
        app.config.fail_rate = 0.15  # type: ignore[attr-defined]
        blobs, prepare = form_posts(policy, 60)
        pool = PostPool(connections=8, policy=FAST)
        try:
            outcome = run_all(pool, list(range(60)), prepare)
        finally:
            pool.close()
    assert outcome == {i: None for i in range(60)}
    assert pool.stats.retries > 0  # the faults were met, and retried
    store = BlobStore(tmp_path / "tb" / "blobs")
    assert all(store.size(hashlib.sha1(b).hexdigest()) == len(b) for b in blobs)


def test_https_with_a_trusted_self_signed_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN]), ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        assert server.url.startswith("https://")
        policy = upload_policy(server.url)
        _, prepare = form_posts(policy, 5)
        pool = PostPool(connections=2, policy=FAST)
        try:
            assert run_all(pool, list(range(5)), prepare) == {i: None for i in range(5)}
        finally:
            pool.close()


# ---------------------------------------------------------------------- a scripted server


class Scripted(LoopbackServer):
    """A loopback HTTP/1.1 server answering each request with ``script(n)`` (n counts from 0).

    ``script`` returns the raw answer bytes, and whether to close the connection after it.
    """

    def __init__(self, script: Callable[[int], tuple[bytes, bool]], *, read_body: bool = True, pace: float = 0.0) -> None:
        self.script = script
        self.read_body = read_body  # False: answer after the head, without reading the body
        self.pace = pace  # seconds between 256 KiB reads of a body (a slow, steady reader)
        self.bodies: list[bytes] = []
        super().__init__()

    def answer(self, conn: socket.socket, reader: BinaryIO, length: int) -> bool:
        body = bytearray()
        while self.read_body and len(body) < length:
            body += reader.read(min(256 * 1024, length - len(body)))
            time.sleep(self.pace)
        n = self.next_request()
        self.bodies.append(bytes(body))
        answer, close = self.script(n)
        conn.sendall(answer)
        if not self.read_body:  # like a server refusing an upload early: answer, stop reading
            conn.shutdown(socket.SHUT_WR)
            time.sleep(2.0)
            return False
        return not close


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[int], tuple[bytes, bool]]], Scripted]]:
    servers: list[Scripted] = []

    def make(script: Callable[[int], tuple[bytes, bool]], **options: Any) -> Scripted:
        servers.append(Scripted(script, **options))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


OK = b"HTTP/1.1 204 No Content\r\n\r\n"


def posts_to(url: str) -> Callable[[int], Post]:
    return lambda i: Post(url, {"Content-Type": "application/octet-stream"}, f"body {i}".encode(), what=f"upload {i}")


def test_a_keep_alive_connection_closed_while_idle_is_resent_at_once(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (OK, True))  # answers, then closes without saying so
    pool = PostPool(connections=1, policy=RetryPolicy(max_retries=0))
    try:
        assert run_all(pool, [0, 1, 2], posts_to(server.url)) == {0: None, 1: None, 2: None}
    finally:
        pool.close()
    assert server.bodies == [b"body 0", b"body 1", b"body 2"]
    assert server.connections == 3 and pool.stats.retries == 0


def test_connections_are_reused(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (OK, False))
    pool = PostPool(connections=2)
    try:
        assert run_all(pool, list(range(10)), posts_to(server.url)) == {i: None for i in range(10)}
    finally:
        pool.close()
    assert server.requests == 10 and server.connections <= 2


def test_interim_answers_and_chunked_bodies_are_read(scripted: Callable[..., Scripted]) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    server = scripted(lambda n: (answer, False))
    pool = PostPool(connections=1)
    try:
        assert run_all(pool, [0, 1], posts_to(server.url)) == {0: None, 1: None}
    finally:
        pool.close()
    assert server.connections == 1  # the chunked body was read to its end, so the connection was reused


def test_429_with_retry_after_then_success(scripted: Callable[..., Scripted]) -> None:
    busy = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
    server = scripted(lambda n: (busy if n < 2 else OK, False))
    pool = PostPool(connections=1, policy=RetryPolicy(max_retries=3))
    try:
        assert run_all(pool, [0], posts_to(server.url)) == {0: None}
    finally:
        pool.close()
    assert server.requests == 3 and pool.stats.retries == 2


def test_an_error_answer_becomes_one_labelsync_error(scripted: Callable[..., Scripted]) -> None:
    body = b'{"code": "AccessDenied", "message": "Invalid according to Policy: Policy expired."}'
    denied = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server = scripted(lambda n: (denied, False))
    pool = PostPool(connections=1)
    try:
        outcome = run_all(pool, [7], posts_to(server.url))
    finally:
        pool.close()
    error = outcome[7]
    assert isinstance(error, errors.LabelsyncError)
    assert "upload 7" in str(error) and "Policy expired" in str(error)
    assert server.requests == 1  # a 403 is not retried


def test_a_server_that_is_not_there_is_a_transient_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = PostPool(connections=1, policy=RetryPolicy(max_retries=1, backoff_base=0.01))
    try:
        outcome = run_all(pool, [0], posts_to(f"http://127.0.0.1:{port}/upload"))
    finally:
        pool.close()
    assert isinstance(outcome[0], errors.TransientError)
    assert "cannot reach 127.0.0.1" in str(outcome[0])
    assert pool.stats.requests == 2


def test_a_failed_prepare_is_reported_and_stop_starts_nothing_more(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (OK, False))
    pool = PostPool(connections=1)
    send = posts_to(server.url)
    results: queue.SimpleQueue[tuple[int, BaseException | None]] = queue.SimpleQueue()

    def prepare(i: int) -> Post:
        if i == 1:
            raise errors.LocalDataError("data/1.bin: file changed since it was planned")
        return send(i)

    batches: list[Batch[int]] = []

    def done(item: int, error: BaseException | None) -> None:
        results.put((item, error))
        if error is not None:
            batches[0].stop()

    try:
        batches.append(pool.run(range(100), prepare, done))
        batches[0].wait(timeout=30)
    finally:
        pool.close()
    seen = []
    while not results.empty():
        seen.append(results.get())
    assert seen[0] == (0, None)
    assert isinstance(seen[1][1], errors.LocalDataError)
    assert len(seen) == 2 and server.requests == 1


def test_an_answer_sent_before_the_body_is_read_is_reported(scripted: Callable[..., Scripted]) -> None:
    body = b'{"code": "EntityTooLarge", "message": "Your proposed upload exceeds the maximum allowed size"}'
    answer = b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server = scripted(lambda n: (answer, True), read_body=False)
    big = b"x" * (64 << 20)  # more than the socket buffers hold: the client's write stalls
    pool = PostPool(connections=1, timeout=0.5, policy=FAST)
    try:
        outcome = run_all(pool, [0], lambda i: Post(server.url, {}, big, what="upload big"))
    finally:
        pool.close()
    assert isinstance(outcome[0], errors.LabelsyncError)
    assert "413" in str(outcome[0]) or "maximum allowed size" in str(outcome[0]), str(outcome[0])
    assert server.requests == 1  # a 413 is an answer, not a dropped connection to retry


def test_the_timeout_is_for_silence_not_for_the_whole_upload(scripted: Callable[..., Scripted]) -> None:
    # 48 MiB read 256 KiB at a time every 10 ms: two seconds in all, never silent for 1 s. The
    # answer's wait starts once the last bytes are in the kernel's socket buffers, which still
    # hold ~5 MiB (0.2 s of this reader): the timeout leaves 0.8 s for a stall of a loaded machine
    server = scripted(lambda n: (OK, False), pace=0.01)
    pool = PostPool(connections=1, timeout=1.0, policy=RetryPolicy(max_retries=0))
    try:
        outcome = run_all(pool, [0], lambda i: Post(server.url, {}, b"y" * (48 << 20)))
    finally:
        pool.close()
    assert outcome == {0: None}
    assert server.bodies == [b"y" * (48 << 20)]


def test_a_done_callback_that_raises_stops_the_batch_and_close_is_clean(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (OK, False))
    pool = PostPool(connections=4)
    calls: list[int] = []

    def done(item: int, error: BaseException | None) -> None:
        calls.append(item)
        raise ValueError("bug in done")

    try:
        batch = pool.run(range(50), posts_to(server.url), done)
        with pytest.raises(ValueError, match="bug in done"):
            batch.wait(timeout=30)
    finally:
        pool.close()
    assert 1 <= len(calls) <= 4  # each worker stopped at its first failure
    assert server.requests == len(calls)


def test_read_ahead_prepares_off_the_event_loop_and_a_stop_sends_nothing_more(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (OK, False))
    pool = PostPool(connections=4)
    send = posts_to(server.url)
    threads: set[str] = set()
    results: queue.SimpleQueue[tuple[int, BaseException | None]] = queue.SimpleQueue()
    batches: list[Batch[int]] = []

    def prepare(i: int) -> Post:
        threads.add(threading.current_thread().name)
        if i == 150:
            raise errors.LocalDataError("data/150.bin: file changed since it was planned")
        return send(i)

    def done(item: int, error: BaseException | None) -> None:
        results.put((item, error))
        if error is not None:
            batches[0].stop()

    try:
        batches.append(pool.run(range(1000), prepare, done, read_ahead=True))
        batches[0].wait(timeout=30)
    finally:
        pool.close()
    seen = dict(results.get() for _ in range(results.qsize()))
    assert threads and all(name.startswith("labelsync-read") for name in threads), threads  # reading and hashing beside the loop
    assert isinstance(seen[150], errors.LocalDataError)
    assert all(seen[i] is None for i in range(150))  # in order, every item before the failure sent
    assert server.requests == len(seen) - 1 < 150 + 4  # after the stop, only the requests in flight


def test_the_next_request_is_prepared_while_the_current_one_is_answered(scripted: Callable[..., Scripted]) -> None:
    def slow(n: int) -> tuple[bytes, bool]:
        time.sleep(0.2)  # the answer takes a while: the pool prepares the next request meanwhile
        return OK, False

    server = scripted(slow)
    pool = PostPool(connections=1)
    send = posts_to(server.url)
    events: list[str] = []
    sizes = {0: 10, 1: 10, 2: AHEAD_BODY + 1, 3: 10}

    def prepare(i: int) -> Post:
        events.append(f"prepare {i}")
        return send(i)

    def done(item: int, error: BaseException | None) -> None:
        assert error is None
        events.append(f"done {item}")

    try:
        pool.run(range(4), prepare, done, size=sizes.__getitem__).wait(timeout=30)
    finally:
        pool.close()
    # 1 is prepared while 0 is out; 2 (larger than AHEAD_BODY) only once the connection is free
    assert events == ["prepare 0", "prepare 1", "done 0", "done 1", "prepare 2", "prepare 3", "done 2", "done 3"], events
    assert server.bodies == [b"body 0", b"body 1", b"body 2", b"body 3"]


def test_a_request_prepared_ahead_is_not_sent_once_the_batch_stopped(scripted: Callable[..., Scripted]) -> None:
    server = scripted(lambda n: (time.sleep(0.1), (OK, False))[1])
    pool = PostPool(connections=1)
    send = posts_to(server.url)
    prepared: list[int] = []
    results: list[tuple[int, BaseException | None]] = []
    batches: list[Batch[int]] = []

    def prepare(i: int) -> Post:
        prepared.append(i)
        return send(i)

    def done(item: int, error: BaseException | None) -> None:
        results.append((item, error))
        batches[0].stop()

    try:
        batches.append(pool.run(range(10), prepare, done))
        batches[0].wait(timeout=30)
    finally:
        pool.close()
    assert prepared == [0, 1]  # 1 was prepared while 0 was answered ...
    assert results == [(0, None)] and server.requests == 1  # ... and neither sent nor reported after the stop


def test_close_while_a_pipelined_request_waits_for_its_answer(scripted: Callable[..., Scripted]) -> None:
    gate = threading.Event()
    server = scripted(lambda n: (gate.wait(5), (OK, False))[1])
    pool = PostPool(connections=2)
    reported: list[int] = []
    batch = pool.run(range(10), posts_to(server.url), lambda item, error: reported.append(item))
    deadline = time.monotonic() + 10
    while server.requests < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    pool.close()  # cancels the workers and the requests they wait for
    gate.set()
    assert time.monotonic() - started < 5
    batch.wait(timeout=5)
    assert reported == []


class _Writes(asyncio.Transport):
    """The transport of a connection, recording each ``write`` (what the kernel is asked to send)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        pass


def test_a_small_request_is_written_in_one_piece_and_a_large_one_in_chunks() -> None:
    def written(head: bytes, body: bytes) -> list[bytes]:
        writer = _Writes()

        async def send() -> None:
            conn = Connection(asyncio.get_running_loop(), timeout=5)
            conn.connection_made(writer)
            asyncio.get_running_loop().call_soon(conn.data_received, OK)  # answered once all is written
            await conn.exchange(head, body)

        asyncio.run(send())
        assert b"".join(writer.writes) == head + body
        return writer.writes

    assert written(b"POST / HTTP/1.1\r\n\r\n", b"x" * 256) == [b"POST / HTTP/1.1\r\n\r\n" + b"x" * 256]  # one send, one wake-up
    assert len(written(b"h" * 10, b"y" * (SMALL_WRITE - 10))) == 1
    assert len(written(b"h" * 10, b"y" * (2 * WRITE_CHUNK + 1))) == 4  # the head, then the body chunk by chunk
