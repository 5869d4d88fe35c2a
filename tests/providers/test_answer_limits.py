"""Caps on what a server may send and the per-request deadline, against a hostile loopback
server (``tests/support/hostile_server.py``): each ends in one clear labelsync error, quickly.

RSS stays bounded too; that is measured in ``benchmarks/answer_limits.py``, not here.
"""

from __future__ import annotations

import queue
import time

import httpx
import pytest

from labelsync import errors
from labelsync.providers import limits
from labelsync.providers.answers import request_json
from labelsync.providers.deepen.client import DeepenClient
from labelsync.providers.http import RetryPolicy, make_client
from labelsync.providers.post_pool import Post, PostPool
from tests.support.hostile_server import HostileServer


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "0")


@pytest.mark.parametrize("mode", ["huge", "huge_undeclared", "huge_chunked"])
def test_a_json_answer_past_the_cap_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    if mode != "huge":  # nothing declared: the cap stops the reading, so keep it small
        monkeypatch.setenv("LABELSYNC_MAX_ANSWER_MB", "2")
    with HostileServer(mode, size=256 << 20) as server, make_client(server.url, headers={}) as client:
        start = time.monotonic()
        with pytest.raises(errors.BadAnswerError) as caught:
            request_json(client, "GET", "/v1/datasets", what="list datasets")
    cap = "64" if mode == "huge" else "2"
    assert str(caught.value) == f"GET /v1/datasets: the answer is larger than the {cap} MiB cap"
    assert "LABELSYNC_MAX_ANSWER_MB" in (caught.value.hint or "")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("mode", ["drip", "drip_head"])
def test_a_server_dripping_bytes_meets_the_request_deadline(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("LABELSYNC_REQUEST_TIMEOUT", "0.8")
    with HostileServer(mode, interval=0.2) as server, make_client(server.url, headers={}) as client:
        start = time.monotonic()
        with pytest.raises(errors.DeadlineError) as caught:
            request_json(client, "GET", "/v1/datasets", what="list datasets")
        took = time.monotonic() - start
    assert str(caught.value) == "GET /v1/datasets: no complete answer within 0.8 s"
    assert "LABELSYNC_REQUEST_TIMEOUT" in (caught.value.hint or "")
    assert 0.7 < took < 2.0, took


def test_the_command_deadline_bounds_a_dripping_server(monkeypatch: pytest.MonkeyPatch) -> None:
    limits.set_command_deadline(0.6)
    try:
        with HostileServer("drip_head", interval=0.2) as server, make_client(server.url, headers={}) as client:
            start = time.monotonic()
            with pytest.raises(errors.DeadlineError, match="the command's deadline passed"):
                request_json(client, "GET", "/v1/x", what="x")
            assert time.monotonic() - start < 1.5
    finally:
        limits.set_command_deadline(None)


def _upload(pool: PostPool, url: str) -> BaseException | None:
    results: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
    pool.run([0], lambda _: Post(f"{url}/storage/upload", {"Content-Type": "application/octet-stream"}, b"x" * 100, what="upload a.png"),
             lambda _, error: results.put(error)).wait(timeout=30)  # fmt: skip
    return results.get(timeout=1)


@pytest.mark.parametrize("mode", ["huge", "huge_undeclared", "huge_chunked"])
@pytest.mark.parametrize("through", ["pool", "injected"])
def test_an_upload_answer_past_its_cap_is_one_clear_error(mode: str, through: str) -> None:
    transport = httpx.HTTPTransport() if through == "injected" else None
    pool = PostPool(connections=1, policy=RetryPolicy(max_retries=0), transport=transport)
    try:
        with HostileServer(mode, size=64 << 20) as server:
            start = time.monotonic()
            error = _upload(pool, server.url)
    finally:
        pool.close()
    assert isinstance(error, errors.BadAnswerError), repr(error)
    assert "upload" in str(error) and "1 MiB cap" in str(error), str(error)
    assert time.monotonic() - start < 10


def test_deepen_storage_answers_are_capped_like_uploads() -> None:
    with HostileServer("huge", size=64 << 20) as server:
        client = DeepenClient(server.url, "token-0123456789", "c1")
        try:
            with pytest.raises(errors.BadAnswerError, match="larger than the 1 MiB cap"):
                client.storage.put(f"{server.url}/upload/storage/x", content=b"abc")
        finally:
            client.close()
