"""One upload path in every configuration: direct, TLS, HTTP(S)_PROXY through a real proxy
process, NO_PROXY, and injected transports, all under the one retry loop (RetryPolicy)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelsync import errors
from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.providers import limits
from labelsync.providers.post_pool import PostPool
from labelsync.providers.retry import RetryPolicy
from labelsync.providers.transport import Post
from tests.providers.test_post_pool import FAST, TOKEN, form_posts, run_all, upload_policy
from tests.support.http_proxy import running_proxy
from tests.support.tls import self_signed

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def https_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN]), ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        yield server.url


@pytest.fixture
def http_emulator(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as server:
        yield server.url


def upload(url: str, count: int, **pool_args: object) -> tuple[list[bytes], PostPool]:
    """POST ``count`` blobs to the emulator at ``url`` (policy fetched directly); all must land."""
    blobs, prepare = form_posts(upload_policy(url), count)
    pool = PostPool(connections=3, policy=FAST, **pool_args)  # type: ignore[arg-type]
    try:
        assert run_all(pool, list(range(count)), prepare) == {i: None for i in range(count)}
    finally:
        pool.close()
    return blobs, pool


def stored(tmp_path: Path, blobs: list[bytes]) -> bool:
    store = BlobStore(tmp_path / "tb" / "blobs")
    return all(store.size(hashlib.sha1(b).hexdigest()) == len(b) for b in blobs)


def test_https_uploads_go_through_the_https_proxy_tunnel(tmp_path: Path, https_emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_proxy(tmp_path) as (proxy, log):
        blobs, prepare = form_posts(upload_policy(https_emulator), 6)  # the policy directly, before the proxy is set
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        pool = PostPool(connections=3, policy=FAST)
        try:
            assert run_all(pool, list(range(6)), prepare) == {i: None for i in range(6)}
        finally:
            pool.close()
        seen = log.read_text().splitlines()
    port = https_emulator.rsplit(":", 1)[1]
    assert seen and all(line == f"CONNECT 127.0.0.1:{port}" for line in seen), seen
    assert len(seen) <= 3  # keep-alive inside the tunnels
    assert stored(tmp_path, blobs)


def test_http_uploads_are_forwarded_by_the_http_proxy(tmp_path: Path, http_emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_proxy(tmp_path, auth="user:s3cret-pass") as (proxy, log):
        blobs, prepare = form_posts(upload_policy(http_emulator), 5)
        monkeypatch.setenv("HTTP_PROXY", proxy.replace("http://", "http://user:s3cret-pass@"))
        pool = PostPool(connections=2, policy=FAST)
        try:
            assert run_all(pool, list(range(5)), prepare) == {i: None for i in range(5)}
        finally:
            pool.close()
        seen = log.read_text().splitlines()
    assert seen == [f"POST {http_emulator}/storage/upload"] * 5, seen  # absolute form, through the proxy
    assert stored(tmp_path, blobs)


def test_a_proxy_refusing_the_tunnel_is_one_clear_error(tmp_path: Path, https_emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_proxy(tmp_path, auth="user:right") as (proxy, log):
        _, prepare = form_posts(upload_policy(https_emulator), 1)
        monkeypatch.setenv("HTTPS_PROXY", proxy.replace("http://", "http://user:wrong-secret@"))
        pool = PostPool(connections=1, policy=FAST)
        try:
            outcome = run_all(pool, [0], prepare)
        finally:
            pool.close()
    error = outcome[0]
    assert isinstance(error, errors.RemoteError) and "407" in str(error), error
    assert "wrong-secret" not in str(error)
    assert len(log.read_text().splitlines()) == 1  # a refusal is not retried


def test_no_proxy_sends_directly(tmp_path: Path, http_emulator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    blobs, _ = upload(http_emulator, 3)
    assert stored(tmp_path, blobs)


def test_a_proxy_that_is_not_http_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:hidden-pw@127.0.0.1:1080")
    pool = PostPool(connections=1, policy=FAST)
    try:
        outcome = run_all(pool, [0], lambda i: Post("https://storage.example/upload", {}, b"x"))
    finally:
        pool.close()
    error = outcome[0]
    assert isinstance(error, errors.UsageError) and "not an http:// proxy" in str(error)
    assert "hidden-pw" not in str(error)


def test_https_direct(tmp_path: Path, https_emulator: str) -> None:
    blobs, _ = upload(https_emulator, 4)
    assert stored(tmp_path, blobs)


# ---------------------------------------------------------------------- injected transports


def test_an_injected_transport_reaches_the_server_under_the_same_retry_loop(tmp_path: Path, http_emulator: str) -> None:
    sent: list[str] = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.url.path)
            if len(sent) == 1:
                raise httpx.ConnectError("injected", request=request)  # retried by the pool's policy
            return super().handle_request(request)

    blobs, pool = upload(http_emulator, 4, transport=Counting())
    assert len(sent) == 5 and set(sent) == {"/storage/upload"}
    assert pool.stats.retries == 1 and pool.stats.transport_errors == 1
    assert stored(tmp_path, blobs)


def test_retry_after_is_honoured_not_the_backoff() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(204)])
    # backoff would wait 5 s (rand 1.0, base 5): only Retry-After explains a ~0.3 s wait
    pool = PostPool(connections=1, policy=RetryPolicy(backoff_base=5.0, rand=lambda: 1.0), transport=httpx.MockTransport(lambda r: next(answers)))
    start = time.monotonic()
    try:
        outcome = run_all(pool, [0], lambda i: Post("http://storage.invalid/upload", {}, b"x"))
    finally:
        pool.close()
    assert outcome == {0: None}
    assert 0.3 <= time.monotonic() - start < 2.5
    assert pool.stats.retries == 1 and pool.stats.by_status == {429: 1, 204: 1}


def test_uploads_stop_at_the_command_deadline() -> None:
    busy = httpx.MockTransport(lambda r: httpx.Response(503, headers={"Retry-After": "30"}))
    pool = PostPool(connections=1, policy=RetryPolicy(), transport=busy)
    limits.set_command_deadline(2.0)
    start = time.monotonic()
    try:
        outcome = run_all(pool, [0], lambda i: Post("http://storage.invalid/upload", {}, b"x"))
    finally:
        limits.set_command_deadline(None)
        pool.close()
    assert isinstance(outcome[0], errors.DeadlineError), outcome[0]
    assert time.monotonic() - start < 1.5  # it did not wait 30 s, nor until the deadline
