"""Fault and latency knobs apply to the TensorBay API and its storage host alike."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from labelsync.cli.emulator import emulator
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from tests.emulator.conftest import TENSORBAY_TOKEN


def test_fail_rate_injects_every_fault_kind_with_tensorbay_bodies(tmp_path: Path) -> None:
    app = create_app(tmp_path, tokens=[TENSORBAY_TOKEN], faults=FaultConfig(fail_rate=1.0, seed=7))
    seen: dict[str, int] = {}
    with EmbeddedServer(app) as server, httpx.Client(headers={"X-Token": TENSORBAY_TOKEN}) as client:
        for i in range(40):
            url = f"{server.url}{API_PREFIX}/datasets" if i % 2 else f"{server.url}/storage/upload"
            try:
                response = client.get(url) if i % 2 else client.post(url, files={"file": ("", b"x")})
            except httpx.TransportError:
                seen["drop"] = seen.get("drop", 0) + 1
                continue
            code = response.json()["code"]
            assert (
                code
                == {500: "InternalServerError", 503: "ServiceUnavailable", 429: "TooManyRequests"}[
                    response.status_code
                ]
            )
            if response.status_code == 429:
                assert response.headers["retry-after"] == "1"
            seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
    assert set(seen) == {"500", "503", "429", "drop"}


def test_latency_applies_to_api_and_storage(tmp_path: Path) -> None:
    app = create_app(tmp_path, tokens=[TENSORBAY_TOKEN], faults=FaultConfig(latency_ms=150))
    with EmbeddedServer(app) as server, httpx.Client(headers={"X-Token": TENSORBAY_TOKEN}) as client:
        for method, url in (
            ("GET", f"{server.url}{API_PREFIX}/datasets"),
            ("GET", f"{server.url}/files/x/y"),
        ):
            start = time.monotonic()
            client.request(method, url)
            assert time.monotonic() - start >= 0.15


def test_no_tokens_means_the_local_token(tmp_path: Path) -> None:
    from labelsync.emulator.tensorbay import LOCAL_TOKEN

    with EmbeddedServer(create_app(tmp_path, tokens=[])) as server:
        assert (
            httpx.get(f"{server.url}{API_PREFIX}/users", headers={"X-Token": LOCAL_TOKEN}).status_code == 200
        )
        assert (
            httpx.get(f"{server.url}{API_PREFIX}/users", headers={"X-Token": "Accesskey-x"}).status_code
            == 401
        )


def test_cli_lists_both_emulators_and_options() -> None:
    runner = CliRunner()
    result = runner.invoke(emulator, ["tensorbay", "--help"])
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--token",
        "--latency-ms",
        "--fail-rate",
        "--seed",
        "--certfile",
        "--keyfile",
    ):
        assert option in result.output
    assert runner.invoke(emulator, ["deepen", "--help"]).exit_code == 0


def test_cli_serves_and_prints_its_url(tmp_path: Path) -> None:
    import subprocess
    import sys

    from labelsync.emulator.runtime import free_port

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "labelsync",
        "emulator",
        "tensorbay",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
        "--token",
        TENSORBAY_TOKEN,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}{API_PREFIX}/" in line
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}{API_PREFIX}/users", headers={"X-Token": TENSORBAY_TOKEN}
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
