"""The emulator's storage host streams large uploads: the policy is checked on the fields,
before the file part is read, and the file goes to disk as it arrives (bounded memory)."""

from __future__ import annotations

import hashlib
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from labelsync.providers.tensorbay.form import multipart_form
from tests.emulator.conftest import TENSORBAY_TOKEN, TensorbayDriver

SIZE = 16 << 20


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[tuple[TensorbayDriver, str, dict, Path]]:
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN])) as server:
        tb = TensorbayDriver(httpx.Client(base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}))
        ds = tb.dataset()
        tb.draft(ds)
        tb.segment(ds, 1)
        yield tb, ds, tb.policy(ds, 1), tmp_path


def _post_raw(host: str, content_type: str, head: bytes, body_len: int, rest: Iterator[bytes] | None) -> tuple[int, bytes]:
    """POST ``head`` (then ``rest``, if any) on a raw socket declaring ``body_len`` bytes; the
    status and body of the answer, read as soon as it comes."""
    parts = urlsplit(host)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {body_len}\r\n\r\n".encode() + head
        )
        if rest is not None:
            for block in rest:
                sock.sendall(block)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, content = answer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
        while len(content) < length:
            content += sock.recv(65536)
        return int(head.split(b" ", 2)[1]), content


def test_a_refused_policy_is_answered_before_the_file_is_sent(storage: tuple[TensorbayDriver, str, dict, Path]) -> None:
    tb, _ds, policy, _root = storage
    data = b"x" * SIZE
    key = policy["extra"]["objectPrefix"] + hashlib.sha1(data).hexdigest()
    fields = {**tb.form(policy, key), "x-amz-signature": "0" * 64}
    content_type, body = multipart_form(fields, data)
    start = time.monotonic()
    status, answer = _post_raw(policy["extra"]["host"], content_type, body[: len(body) - SIZE + 65536], len(body), None)
    assert status == 403 and b"SignatureDoesNotMatch" in answer
    assert time.monotonic() - start < 5  # 16 MiB were declared, 64 KiB of them sent: no waiting for the rest


def test_a_large_upload_is_streamed_to_disk(storage: tuple[TensorbayDriver, str, dict, Path]) -> None:
    tb, ds, policy, _root = storage
    data = bytes(range(256)) * (SIZE // 256)
    sha1 = hashlib.sha1(data).hexdigest()
    content_type, body = multipart_form(tb.form(policy, policy["extra"]["objectPrefix"] + sha1), data)
    view = memoryview(body)
    tracemalloc.start()
    try:
        status, _ = _post_raw(policy["extra"]["host"], content_type, b"", len(body), (view[i : i + 65536] for i in range(0, len(body), 65536)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 200 <= status < 300
    assert peak < SIZE // 4, f"{peak / (1 << 20):.1f} MiB allocated for a {SIZE >> 20} MiB upload"
    tb.callback(ds, 1, [{"remotePath": "big.bin", "checksum": sha1, "fileSize": SIZE}])
    (item,) = tb.details(ds, draftNumber=1)
    assert hashlib.sha1(httpx.get(item["url"]).content).hexdigest() == sha1


def test_a_streamed_upload_whose_bytes_do_not_match_is_refused_and_leaves_nothing(storage: tuple[TensorbayDriver, str, dict, Path]) -> None:
    tb, _ds, policy, root = storage
    data = b"y" * SIZE
    key = policy["extra"]["objectPrefix"] + hashlib.sha1(b"something else").hexdigest()
    content_type, body = multipart_form(tb.form(policy, key), data)
    view = memoryview(body)
    status, answer = _post_raw(policy["extra"]["host"], content_type, b"", len(body), (view[i : i + 65536] for i in range(0, len(body), 65536)))
    assert status == 400 and b"BadDigest" in answer
    assert list((root / "blobs" / "incoming").iterdir()) == []
    assert sum(p.stat().st_size for p in (root / "blobs" / "packs").glob("*.pack")) < SIZE
