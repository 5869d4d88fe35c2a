"""The upload route served by several worker processes (``StorageHost``, ``--storage-workers``)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelsync.emulator.runtime import EmbeddedServer, FaultConfig, free_port
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from labelsync.emulator.tensorbay.storage_host import StorageHost
from tests.emulator.conftest import TENSORBAY_TOKEN, TensorbayDriver
from tests.support.processes import gone


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[tuple[StorageHost, EmbeddedServer, TensorbayDriver]]:
    with StorageHost(tmp_path / "tb", 3) as storage:
        app = create_app(tmp_path / "tb", tokens=[TENSORBAY_TOKEN], storage_port=storage.port)
        with EmbeddedServer(app) as server:
            api = httpx.Client(base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}, timeout=30)
            with api:
                yield storage, server, TensorbayDriver(api)


def _upload_policy(tb: TensorbayDriver) -> tuple[str, int, dict[str, Any]]:
    """A new dataset with an open draft and a segment, and the draft's upload policy."""
    ds = tb.dataset()
    draft = tb.draft(ds)
    tb.segment(ds, draft)
    return ds, draft, tb.policy(ds, draft)


def test_uploads_through_several_workers_are_registered_and_readable(hosted: tuple[StorageHost, EmbeddedServer, TensorbayDriver]) -> None:
    storage, server, tb = hosted
    ds, draft, policy = _upload_policy(tb)
    assert policy["extra"]["host"] == f"{storage.url}/storage/upload" != f"{server.url}/storage/upload"
    files = {f"f{i:03}.bin": f"content {i}".encode() * 50 for i in range(60)}
    for data in files.values():
        with httpx.Client(timeout=30) as fresh:  # a new connection each: the kernel spreads them
            assert tb.put_object(policy, data, fresh).status_code == 200
    served = [row["uploads"] for row in storage.stats()]
    assert sum(served) == 60 and sum(1 for n in served if n) >= 2, served
    assert all(row["first"] <= row["last"] for row in storage.stats())
    storage.reset()
    assert [(row["uploads"], row["first"]) for row in storage.stats()] == [(0, 0.0)] * 3
    assert all(row["cpu_s"] > 0 for row in storage.stats())
    objects = [{"checksum": hashlib.sha1(d).hexdigest(), "fileSize": len(d), "remotePath": p} for p, d in files.items()]
    tb.callback(ds, draft, objects)
    commit = tb.commit(ds, draft)
    details = {item["remotePath"]: item for item in tb.details(ds, commit=commit)}
    assert sorted(details) == sorted(files)
    for path in ("f000.bin", "f031.bin", "f059.bin"):
        assert httpx.get(details[path]["url"]).content == files[path]


def test_a_bad_policy_is_refused_by_the_workers(hosted: tuple[StorageHost, EmbeddedServer, TensorbayDriver]) -> None:
    storage, _, tb = hosted
    ds, draft, policy = _upload_policy(tb)
    data = b"refused bytes"
    key = policy["extra"]["objectPrefix"] + hashlib.sha1(data).hexdigest()
    forged = {**tb.form(policy, key), "x-amz-signature": "0" * 64}
    response = httpx.post(policy["extra"]["host"], data=forged, files={"file": ("", data)})
    assert response.status_code == 403 and response.json()["code"] == "SignatureDoesNotMatch"
    other = "0" * 32 + "/" + hashlib.sha1(data).hexdigest()
    response = httpx.post(policy["extra"]["host"], data=tb.form(policy, other), files={"file": ("", data)})
    assert response.status_code == 403 and response.json()["code"] == "AccessDenied"
    body = {"segmentName": "seg", "objects": [{"checksum": key[-40:], "fileSize": len(data), "remotePath": "x"}], "draftNumber": draft}
    assert tb.api.put(f"datasets/{ds}/multi/callback", json=body).status_code == 400  # nothing was stored
    assert httpx.get(f"{storage.url}{API_PREFIX}/users").status_code == 404  # only uploads live there


def test_the_workers_apply_the_latency_and_stop_with_the_host(tmp_path: Path) -> None:
    with StorageHost(tmp_path, 2, faults=FaultConfig(latency_ms=150)) as storage:
        pids = storage.pids
        started = time.monotonic()
        assert httpx.get(storage.url + "/nothing").status_code == 404
        assert time.monotonic() - started >= 0.15
    assert all(gone(pid) for pid in pids)
    with pytest.raises(httpx.ConnectError):
        httpx.get(storage.url + "/nothing")


def test_a_bandwidth_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="bandwidth cap"):
        StorageHost(Path("unused-never-created"), 2, faults=FaultConfig(client_bandwidth=1e6))


def test_the_workers_end_when_the_emulator_is_killed(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "labelsync", "emulator", "tensorbay", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "tb"), "--storage-workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = ""
        while "storage workers" not in line:
            line = process.stdout.readline()
            assert line, "the emulator exited before its storage workers started"
        pids = [int(p) for p in line.rsplit("pids ", 1)[1].rstrip(")\n").split(",")]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not all(gone(pid) for pid in pids):
            assert time.monotonic() < deadline, "storage workers outlived the emulator"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()


def test_a_killed_worker_leaves_the_uploads_to_the_others(hosted: tuple[StorageHost, EmbeddedServer, TensorbayDriver]) -> None:
    storage, _, tb = hosted
    ds, draft, policy = _upload_policy(tb)
    victim = storage.pids[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not gone(victim):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for i in range(20):  # new connections only reach the listening sockets that are left
        with httpx.Client(timeout=30) as fresh:
            assert tb.put_object(policy, f"after the kill {i}".encode(), fresh).status_code == 200
    assert storage.stats()[0]["uploads"] == 0 and sum(row["uploads"] for row in storage.stats()) == 20
